/* Encoding: header and payload chains. Every length and Next Payload field
 * is computed here; the payload bodies come from the pld_*.c encoders,
 * which validate what they write. */
#include <stdlib.h>

#include <openssl/crypto.h>

#include "msg_codec.h"
#include "pld.h"

static bool is_sk(uint8_t type)
{
    return type == IKE_PLD_SK || type == IKE_PLD_SKF;
}

static enum ike_status wr_check(struct ike_wr *wr, struct ike_diag *diag, const char *what)
{
    enum ike_status st = ike_wr_status(wr);
    if (st == IKE_E_TOO_BIG)
        return ike_diag_fail(diag, st, "%s exceeds %zu octets", what, wr->max);
    if (st != IKE_OK)
        return ike_diag_fail(diag, st, "%s: %s", what, ike_status_str(st));
    return IKE_OK;
}

static enum ike_status pld_write(struct ike_pld_ctx *ctx, struct ike_wr *wr,
                                 const struct ike_pld *pld, uint8_t next)
{
    const struct ike_pld_ops *ops = pld->unknown ? ike_pld_ops_unknown()
                                                 : ike_pld_ops_find(pld->type);
    if (!ops)
        return ike_diag_fail(ctx->diag, IKE_E_INVALID_ARG,
                             "cannot encode payload type %u (not marked unknown)", pld->type);
    size_t start = wr->len;
    ike_wr_u8(wr, next);
    ike_wr_u8(wr, 0); /* critical bit clear: we only send types we know */
    size_t len_off = ike_wr_reserve(wr, 2);
    enum ike_status st = ops->encode(ctx, wr, pld);
    if (st == IKE_OK)
        st = wr_check(wr, ctx->diag, ike_payload_name(pld->type));
    if (st != IKE_OK)
        return st;
    size_t len = wr->len - start;
    if (len > UINT16_MAX)
        return ike_diag_fail(ctx->diag, IKE_E_TOO_BIG, "%s payload length %zu > %u",
                             ike_payload_name(pld->type), len, UINT16_MAX);
    ike_wr_patch_u16(wr, len_off, (uint16_t)len);
    return IKE_OK;
}

/* Payloads of one section: inside SK, or outside SK but not SK itself. */
static bool in_section(const struct ike_pld *p, bool inner)
{
    return inner ? p->inside_sk : !p->inside_sk && !is_sk(p->type);
}

static const struct ike_pld *section_next(const struct ike_pld *p, bool inner)
{
    while (p && !in_section(p, inner))
        p = p->next;
    return p;
}

/* Writes one section's chain; the last payload points at `tail` (the SK
 * payload that follows it, or NONE). */
static enum ike_status chain_write(struct ike_pld_ctx *ctx, struct ike_wr *wr,
                                   const struct ike_msg *msg, bool inner, uint8_t tail)
{
    const struct ike_pld *p = section_next(msg->first, inner);
    while (p) {
        const struct ike_pld *n = section_next(p->next, inner);
        enum ike_status st = pld_write(ctx, wr, p, n ? n->type : tail);
        if (st != IKE_OK)
            return st;
        p = n;
    }
    return IKE_OK;
}

static uint8_t section_first(const struct ike_msg *msg, bool inner, uint8_t tail)
{
    const struct ike_pld *p = section_next(msg->first, inner);
    return p ? p->type : tail;
}

static enum ike_status msg_precheck(const struct ike_msg *msg, struct ike_diag *diag)
{
    if (msg->build_err.status != IKE_OK) {
        if (diag)
            *diag = msg->build_err;
        return msg->build_err.status;
    }
    if (msg->hdr.version >> 4 != IKE_VERSION_2 >> 4)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "version octet 0x%02x is not IKEv2",
                             msg->hdr.version);
    return IKE_OK;
}

enum ike_status ike_msg_write_inner(const struct ike_msg *msg, struct ike_wr *wr,
                                    uint8_t *first_type, struct ike_diag *diag)
{
    struct ike_pld_ctx ctx = {NULL, diag, ike_msg_is_response(msg)};
    enum ike_status st = msg_precheck(msg, diag);
    if (st != IKE_OK)
        return st;
    *first_type = section_first(msg, true, IKE_PLD_NONE);
    st = chain_write(&ctx, wr, msg, true, IKE_PLD_NONE);
    return st == IKE_OK ? wr_check(wr, diag, "inner payloads") : st;
}

/* Header + outer section + optional SK payload `sk` (with its type). */
static enum ike_status outer_write(const struct ike_msg *msg, const struct ike_pld *sk,
                                   struct ike_wr *wr, size_t *body_off, struct ike_diag *diag)
{
    struct ike_pld_ctx ctx = {NULL, diag, ike_msg_is_response(msg)};
    uint8_t tail = sk ? sk->type : IKE_PLD_NONE;
    size_t start = wr->len;
    ike_hdr_write(wr, &msg->hdr, section_first(msg, false, tail));
    enum ike_status st = chain_write(&ctx, wr, msg, false, tail);
    if (st == IKE_OK && sk)
        st = pld_write(&ctx, wr, sk, sk->sk.first_inner);
    if (st == IKE_OK)
        st = wr_check(wr, diag, "message");
    if (st != IKE_OK)
        return st;
    ike_wr_patch_u32(wr, start + IKE_HDR_LENGTH_OFF, (uint32_t)(wr->len - start));
    if (body_off)
        *body_off = sk ? wr->len - start - sk->sk.body.len : 0;
    return wr_check(wr, diag, "message");
}

enum ike_status ike_msg_write_outer(const struct ike_msg *msg, uint8_t sk_type,
                                    const struct ike_pld_sk *sk, struct ike_wr *wr,
                                    size_t *body_off, struct ike_diag *diag)
{
    enum ike_status st = msg_precheck(msg, diag);
    if (st != IKE_OK)
        return st;
    if (!is_sk(sk_type) || !sk)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "encode_outer: payload type %u is not SK/SKF",
                             sk_type);
    struct ike_pld frame = {.type = sk_type, .sk = *sk};
    return outer_write(msg, &frame, wr, body_off, diag);
}

/* The SK/SKF payload in the list (at most one), or NULL. */
static enum ike_status find_sk(const struct ike_msg *msg, const struct ike_pld **sk,
                               struct ike_diag *diag)
{
    size_t n_inner = 0;
    *sk = NULL;
    for (const struct ike_pld *p = msg->first; p; p = p->next) {
        n_inner += p->inside_sk;
        if (p->inside_sk || !is_sk(p->type))
            continue;
        if (*sk)
            return ike_diag_fail(diag, IKE_E_INVALID_ARG, "message has more than one SK/SKF");
        *sk = p;
    }
    if (n_inner && !*sk)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG,
                             "%zu payloads marked inside SK but no SK payload: use the SK "
                             "layer to encrypt them",
                             n_inner);
    return IKE_OK;
}

static enum ike_status wr_hand_over(struct ike_wr *wr, enum ike_status st, uint8_t **out,
                                    size_t *out_len, struct ike_diag *diag)
{
    *out = NULL;
    *out_len = 0;
    if (st != IKE_OK) {
        ike_wr_release(wr);
        return st;
    }
    *out = ike_wr_take(wr, out_len);
    if (!*out)
        return ike_diag_fail(diag, IKE_E_NOMEM, "no memory for the encoded message");
    return IKE_OK;
}

enum ike_status ike_msg_encode(const struct ike_msg *msg, uint8_t **out, size_t *out_len,
                               struct ike_diag *diag)
{
    struct ike_wr wr;
    const struct ike_pld *sk = NULL;
    ike_wr_init(&wr, IKE_MSG_MAX_LEN);
    enum ike_status st = msg_precheck(msg, diag);
    if (st == IKE_OK)
        st = find_sk(msg, &sk, diag);
    if (st == IKE_OK)
        st = outer_write(msg, sk, &wr, NULL, diag);
    return wr_hand_over(&wr, st, out, out_len, diag);
}

enum ike_status ike_msg_encode_inner(const struct ike_msg *msg, uint8_t **out, size_t *out_len,
                                     uint8_t *first_type, struct ike_diag *diag)
{
    struct ike_wr wr;
    ike_wr_init(&wr, IKE_MSG_MAX_LEN);
    enum ike_status st = ike_msg_write_inner(msg, &wr, first_type, diag);
    return wr_hand_over(&wr, st, out, out_len, diag);
}

enum ike_status ike_msg_encode_outer(const struct ike_msg *msg, uint8_t sk_type,
                                     const struct ike_pld_sk *sk, uint8_t **out, size_t *out_len,
                                     size_t *body_off, struct ike_diag *diag)
{
    struct ike_wr wr;
    ike_wr_init(&wr, IKE_MSG_MAX_LEN);
    enum ike_status st = ike_msg_write_outer(msg, sk_type, sk, &wr, body_off, diag);
    return wr_hand_over(&wr, st, out, out_len, diag);
}

void ike_msg_free_buf(uint8_t *buf, size_t len)
{
    if (!buf)
        return;
    OPENSSL_cleanse(buf, len);
    free(buf);
}
