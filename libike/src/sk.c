/*
 * The Encrypted payload layer (contract in <ike/sk.h>): padding, layout of
 * IV | ciphertext | ICV, and the length checks on a peer's body. The
 * plaintext is written straight into the reserved body of the outgoing
 * datagram and sealed in place, so the only plaintext copy outside it is
 * the codec's inner buffer, wiped on release.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <ike/const.h>
#include <ike/sk.h>

#include "msg_codec.h"
#include "sk_layer.h"

/* Octets of padding that make len + padding + the Pad Length octet a
 * multiple of block (RFC 7296 §3.14: the sender SHOULD use the minimum). */
static size_t sk_pad_len(size_t len, size_t block)
{
    size_t rem = (len + 1) % block;
    return rem ? block - rem : 0;
}

/* Writes pt | padding | pad length at ct, returns its length. */
static size_t sk_fill_plaintext(uint8_t *ct, const uint8_t *pt, size_t pt_len, size_t pad)
{
    if (pt_len)
        memcpy(ct, pt, pt_len);
    memset(ct + pt_len, 0, pad);
    ct[pt_len + pad] = (uint8_t)pad;
    return pt_len + pad + 1;
}

enum ike_status ike_sk_seal_msg(const struct ike_msg *outer, uint8_t sk_type,
                                const struct ike_pld_sk *frame, const uint8_t *pt, size_t pt_len,
                                struct ike_sk_cipher *c, struct ike_wr *wr, struct ike_diag *diag)
{
    size_t iv_len = ike_sk_cipher_iv_len(c);
    size_t icv_len = ike_sk_cipher_icv_len(c);
    size_t block = ike_sk_cipher_block_len(c);
    if (block == 0 || block > 255)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "cipher block length %zu unusable", block);
    if (pt_len > IKE_MSG_MAX_LEN)
        return ike_diag_fail(diag, IKE_E_TOO_BIG, "%zu octets of inner payloads > %u", pt_len,
                             IKE_MSG_MAX_LEN);
    size_t pad = sk_pad_len(pt_len, block);
    struct ike_pld_sk sk = *frame;
    sk.body = (struct ike_slice){NULL, iv_len + pt_len + pad + 1 + icv_len};
    size_t aad_len = 0;
    enum ike_status st = ike_msg_write_outer(outer, sk_type, &sk, wr, &aad_len, diag);
    if (st != IKE_OK)
        return st;
    if (aad_len > wr->len || wr->len - aad_len != sk.body.len)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG,
                             "%s body at %zu does not end the %zu-octet "
                             "message",
                             ike_payload_name(sk_type), aad_len, wr->len);
    uint8_t *iv = wr->buf + aad_len;
    uint8_t *ct = iv + iv_len;
    size_t ct_len = sk_fill_plaintext(ct, pt, pt_len, pad);
    st = ike_sk_cipher_next_iv(c, iv);
    if (st != IKE_OK)
        return ike_diag_fail(diag, st, "no fresh IV for the %s payload: %s",
                             ike_payload_name(sk_type), ike_status_str(st));
    st = ike_sk_cipher_seal(c, wr->buf, aad_len, iv, ct, ct_len, ct, ct + ct_len);
    if (st != IKE_OK)
        return ike_diag_fail(diag, st, "sealing %zu octets of %s data failed: %s", ct_len,
                             ike_payload_name(sk_type), ike_status_str(st));
    return IKE_OK;
}

/* Length checks on IV | ciphertext | ICV before any crypto. */
static enum ike_status sk_body_check(const struct ike_pld *p, const struct ike_sk_cipher *c,
                                     size_t *ct_len, struct ike_diag *diag)
{
    const char *name = ike_payload_name(p->type);
    size_t body = p->sk.body.len;
    size_t iv_len = ike_sk_cipher_iv_len(c);
    size_t icv_len = ike_sk_cipher_icv_len(c);
    size_t block = ike_sk_cipher_block_len(c);
    if (block == 0)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "cipher block length 0");
    if (body < iv_len + icv_len + block)
        return ike_diag_fail(diag, IKE_E_MALFORMED,
                             "%s body %zu octets < IV %zu + ICV %zu + one block %zu", name, body,
                             iv_len, icv_len, block);
    *ct_len = body - iv_len - icv_len;
    if (*ct_len % block != 0)
        return ike_diag_fail(diag, IKE_E_MALFORMED,
                             "%s encrypted data %zu octets not a multiple of block length %zu",
                             name, *ct_len, block);
    return IKE_OK;
}

enum ike_status ike_sk_open_msg(const struct ike_msg *msg, struct ike_sk_cipher *c, uint8_t **pt,
                                size_t *pt_cap, size_t *pt_len, struct ike_diag *diag)
{
    *pt = NULL;
    *pt_cap = *pt_len = 0;
    const struct ike_pld *p = msg->sk;
    if (!p || !msg->raw.ptr || p->sk.body_off > msg->raw.len ||
        p->sk.body.len > msg->raw.len - p->sk.body_off)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "message was not decoded with an SK/SKF");
    size_t ct_len = 0;
    enum ike_status st = sk_body_check(p, c, &ct_len, diag);
    if (st != IKE_OK)
        return st;
    uint8_t *buf = malloc(ct_len);
    if (!buf)
        return ike_diag_fail(diag, IKE_E_NOMEM, "no memory for %zu octets of plaintext", ct_len);
    const uint8_t *iv = msg->raw.ptr + p->sk.body_off;
    const uint8_t *ct = iv + ike_sk_cipher_iv_len(c);
    st =
        ike_sk_cipher_open(c, msg->raw.ptr, p->sk.body_off, iv, ct, ct_len, ct + ct_len, buf, diag);
    size_t pad = st == IKE_OK ? buf[ct_len - 1] : 0;
    if (pad > ct_len - 1)
        st = ike_diag_fail(diag, IKE_E_MALFORMED, "%s pad length %zu > %zu octets before it",
                           ike_payload_name(p->type), pad, ct_len - 1);
    if (st != IKE_OK) {
        ike_msg_free_buf(buf, ct_len);
        return st;
    }
    *pt = buf;
    *pt_cap = ct_len;
    *pt_len = ct_len - 1 - pad;
    return IKE_OK;
}

enum ike_status ike_sk_protect(const struct ike_msg *msg, struct ike_sk_cipher *c, uint8_t **out,
                               size_t *out_len, struct ike_diag *diag)
{
    *out = NULL;
    *out_len = 0;
    if (msg->hdr.exchange == IKE_EXCH_IKE_SA_INIT)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "IKE_SA_INIT is never encrypted");
    struct ike_wr inner, wr;
    struct ike_pld_sk frame = {0};
    ike_wr_init(&inner, IKE_MSG_MAX_LEN);
    ike_wr_init(&wr, IKE_MSG_MAX_LEN);
    enum ike_status st = ike_msg_write_inner(msg, &inner, &frame.first_inner, diag);
    if (st == IKE_OK)
        st = ike_sk_seal_msg(msg, IKE_PLD_SK, &frame, inner.buf, inner.len, c, &wr, diag);
    ike_wr_release(&inner);
    if (st != IKE_OK) {
        ike_wr_release(&wr);
        return st;
    }
    *out = ike_wr_take(&wr, out_len);
    if (!*out)
        return ike_diag_fail(diag, IKE_E_NOMEM, "no memory for the protected message");
    return IKE_OK;
}

enum ike_status ike_sk_unprotect(struct ike_msg *msg, struct ike_sk_cipher *c,
                                 struct ike_diag *diag)
{
    if (!msg->sk || msg->sk->type != IKE_PLD_SK)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG,
                             "unprotect needs an SK payload (%s: use the reassembler)",
                             msg->sk ? ike_payload_name(msg->sk->type) : "none");
    if (msg->inner_decoded || msg->inner.ptr)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "SK payload already decrypted");
    uint8_t *pt = NULL;
    size_t cap = 0, len = 0;
    enum ike_status st = ike_sk_open_msg(msg, c, &pt, &cap, &len, diag);
    if (st != IKE_OK)
        return st;
    st = ike_msg_decode_inner(msg, pt, len, msg->sk->sk.first_inner, diag);
    ike_msg_free_buf(pt, cap);
    return st;
}
