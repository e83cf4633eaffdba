/*
 * libFuzzer target: the receive path of protected messages, SK
 * (ike_sk_unprotect) and SKF (the RFC 7383 reassembler), with the fixed
 * keys of sk_fixed.h (AES-GCM-16-256, AES-CBC-256 + HMAC-SHA2-512-256).
 *
 * Input octet 0 picks the suite (bit 0) and the mode (bits 1-2):
 *  0 RAW     the rest is one datagram, decoded and decrypted as received
 *            (the captured strongSwan messages decrypt with these keys);
 *  1 SEAL    rest = exchange, flags, first inner type, plaintext: the
 *            plaintext (inner chain, padding and Pad Length as given,
 *            zero-extended to the block size) is sealed into an SK payload
 *            with the right key, then received. A fuzzer cannot forge an
 *            ICV, so this is how mutations reach the padding checks and
 *            the inner decoder behind the integrity check;
 *  2 FRAG    rest = exchange, flags, first inner type, total selector,
 *            order selector, inner chain: split into 1..4 SKF fragments,
 *            each padded and sealed, fed to one reassembler in an order
 *            (rotated, reversed, one duplicated, one mis-numbered) the
 *            selectors pick;
 *  3 MULTI   rest = (16-bit length, datagram)*: datagrams received in
 *            turn through one reassembler (fragment sets from the seeds).
 * Every message that decrypts and decodes is rule-checked, must re-encode
 * to itself (inv_roundtrip), and must survive ike_sk_protect() and a
 * second receive with an identical inner chain.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ike/const.h>
#include <ike/message.h>
#include <ike/sk.h>

#include "inv_msg.h"
#include "sk_fixed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MODE_RAW = 0, MODE_SEAL = 1, MODE_FRAG = 2, MODE_MULTI = 3 };
#define FRAG_MAX 4

static bool same_inner(const struct ike_msg *a, const struct ike_msg *b)
{
    uint8_t *x = NULL, *y = NULL;
    size_t xl = 0, yl = 0;
    uint8_t fx = 0, fy = 0;
    struct ike_diag diag = {0};
    bool same = ike_msg_encode_inner(a, &x, &xl, &fx, &diag) == IKE_OK &&
                ike_msg_encode_inner(b, &y, &yl, &fy, &diag) == IKE_OK && fx == fy &&
                xl == yl && (xl == 0 || memcmp(x, y, xl) == 0);
    ike_msg_free_buf(x, xl);
    ike_msg_free_buf(y, yl);
    return same;
}

/* What a receiver's next steps would do with a decrypted message. */
static void received(const struct ike_msg *msg, enum sk_fixed_suite suite)
{
    INV_REQUIRE(msg->inner_decoded, "decrypted message without inner_decoded");
    inv_walk(msg);
    struct ike_diag diag = {0};
    enum ike_status st = ike_msg_check_rules(msg, &diag);
    if (st != IKE_OK)
        inv_peer_error(st, &diag, "ike_msg_check_rules");
    inv_roundtrip(msg);
    if (msg->hdr.exchange == IKE_EXCH_IKE_SA_INIT)
        return; /* never protected: ike_sk_protect refuses it */

    /* Protect what we understood and receive it again. */
    struct ike_sk_cipher *c = sk_fixed_cipher_for(suite, &msg->hdr);
    uint8_t *buf = NULL;
    size_t len = 0;
    st = ike_sk_protect(msg, c, &buf, &len, &diag);
    INV_REQUIRE(st == IKE_OK, "received message does not protect: %s (%s)", ike_status_str(st),
                diag.reason);
    struct ike_msg again = {0};
    st = ike_msg_decode(&again, buf, len, &diag);
    INV_REQUIRE(st == IKE_OK, "protected message does not decode: %s (%s)", ike_status_str(st),
                diag.reason);
    st = ike_sk_unprotect(&again, c, &diag);
    INV_REQUIRE(st == IKE_OK, "protected message does not unprotect: %s (%s)",
                ike_status_str(st), diag.reason);
    INV_REQUIRE(same_inner(msg, &again), "protect/unprotect changed the inner chain");
    ike_msg_clear(&again);
    ike_msg_free_buf(buf, len);
}

static bool has_inner_payload(const struct ike_msg *msg)
{
    for (const struct ike_pld *p = msg->first; p; p = p->next)
        if (p->inside_sk)
            return true;
    return false;
}

/* Receives one datagram; SKF goes to reasm. */
static void receive(const uint8_t *dgram, size_t len, enum sk_fixed_suite suite,
                    struct ike_sk_reasm *reasm)
{
    struct ike_msg msg = {0};
    struct ike_diag diag = {0};
    enum ike_status st = ike_msg_decode(&msg, dgram, len, &diag);
    if (st != IKE_OK) {
        inv_peer_error(st, &diag, "ike_msg_decode");
        goto out;
    }
    if (!msg.sk) {
        /* Plain message (IKE_SA_INIT): the codec target covers it. */
        inv_roundtrip(&msg);
        goto out;
    }
    struct ike_sk_cipher *c = sk_fixed_cipher_for(suite, &msg.hdr);
    if (msg.sk->type == IKE_PLD_SK) {
        st = ike_sk_unprotect(&msg, c, &diag);
        if (st != IKE_OK) {
            inv_peer_error(st, &diag, "ike_sk_unprotect");
            if (st == IKE_E_INTEGRITY)
                INV_REQUIRE(!msg.inner_decoded && !msg.inner.ptr && !has_inner_payload(&msg),
                            "IKE_E_INTEGRITY but inner payloads were decoded");
            goto out;
        }
        received(&msg, suite);
        goto out;
    }
    struct ike_msg whole = {0};
    enum ike_sk_reasm_result res = IKE_SK_REASM_NEED_MORE;
    st = ike_sk_reasm_add(reasm, &msg, c, &whole, &res, &diag);
    if (st != IKE_OK) {
        inv_peer_error(st, &diag, "ike_sk_reasm_add");
        INV_REQUIRE(whole.first == NULL && whole.arena == NULL,
                    "reassembler failed but left a message in out");
    } else if (res == IKE_SK_REASM_COMPLETE) {
        INV_REQUIRE(!ike_sk_reasm_pending(reasm, NULL), "reassembly complete but still pending");
        received(&whole, suite);
    } else {
        INV_REQUIRE(whole.first == NULL, "reassembler wrote out without completing");
    }
    ike_msg_clear(&whole);
out:
    ike_msg_clear(&msg);
}

/* Seals padded (any length; zero-extended to the block) into one SK or
 * SKF datagram; NULL when the encoder refuses it. */
static uint8_t *seal(enum sk_fixed_suite suite, uint8_t exchange, uint8_t flags, uint8_t sk_type,
                     const struct ike_pld_sk *frame, const uint8_t *pt, size_t pt_len,
                     uint8_t iv_seed, size_t *out_len)
{
    struct ike_msg outer;
    ike_msg_init(&outer, sk_fixed_spi_i[suite], sk_fixed_spi_r[suite], exchange, flags, 1);
    struct ike_sk_cipher *c = sk_fixed_cipher(suite, (flags & IKE_FLAG_INITIATOR) != 0);
    size_t block = ike_sk_cipher_block_len(c);
    size_t padded_len = (pt_len + block - 1) / block * block;
    uint8_t *padded = calloc(1, padded_len ? padded_len : 1);
    uint8_t iv[16];
    INV_REQUIRE(padded != NULL, "out of memory");
    if (pt_len)
        memcpy(padded, pt, pt_len);
    for (size_t i = 0; i < sizeof(iv); i++)
        iv[i] = (uint8_t)(iv_seed + 17 * i);
    uint8_t *out = NULL;
    enum ike_status st =
        sk_fixed_seal(&outer, sk_type, frame, padded, padded_len, c, iv, &out, out_len);
    free(padded);
    ike_msg_clear(&outer);
    /* The encoder refuses what the decoder would (a fragment number out
     * of range, a message over IKE_MSG_MAX_LEN): nothing to receive then. */
    return st == IKE_OK ? out : NULL;
}

static void mode_seal(enum sk_fixed_suite suite, const uint8_t *d, size_t n)
{
    if (n < 3)
        return;
    struct ike_pld_sk frame = {.first_inner = d[2]};
    size_t len = 0;
    uint8_t *dgram = seal(suite, d[0], d[1], IKE_PLD_SK, &frame, d + 3, n - 3, 0, &len);
    if (dgram)
        receive(dgram, len, suite, NULL);
    ike_msg_free_buf(dgram, len);
}

static void mode_frag(enum sk_fixed_suite suite, const uint8_t *d, size_t n)
{
    if (n < 5)
        return;
    uint8_t exchange = d[0], flags = d[1], first = d[2], tsel = d[3], osel = d[4];
    const uint8_t *pt = d + 5;
    size_t pt_len = n - 5;
    size_t total = 1 + (tsel & 3u);
    struct ike_sk_cipher *c = sk_fixed_cipher(suite, (flags & IKE_FLAG_INITIATOR) != 0);
    uint8_t *dgram[FRAG_MAX] = {0};
    size_t dlen[FRAG_MAX] = {0};
    for (size_t i = 0; i < total; i++) {
        size_t from = i * pt_len / total, to = (i + 1) * pt_len / total;
        size_t cap = to - from + 256;
        uint8_t *padded = malloc(cap);
        INV_REQUIRE(padded != NULL, "out of memory");
        size_t plen = sk_fixed_pad(c, pt + from, to - from, padded, cap);
        struct ike_pld_sk frame = {
            .first_inner = (i == 0 || (osel & 0x20)) ? first : IKE_PLD_NONE,
            .frag_num = (uint16_t)(i + 1),
            .frag_total = (uint16_t)total,
        };
        if (i == 0 && (tsel & 0x10))
            frame.frag_num = (uint16_t)(tsel >> 5); /* 0..7: maybe out of range */
        /* The block-aligned padded chunk is sealed as is. */
        dgram[i] = seal(suite, exchange, flags, IKE_PLD_SKF, &frame, padded, plen,
                        (uint8_t)(0x40 + i), &dlen[i]);
        free(padded);
    }
    struct ike_sk_reasm *r = ike_sk_reasm_new(0, 0);
    INV_REQUIRE(r != NULL, "out of memory");
    size_t rot = osel % total;
    bool reverse = osel & 0x80, dup = osel & 0x40;
    for (size_t k = 0; k < total + (dup ? 1 : 0); k++) {
        size_t j = (k % total + rot) % total;
        if (reverse)
            j = total - 1 - j;
        if (dgram[j])
            receive(dgram[j], dlen[j], suite, r);
    }
    ike_sk_reasm_free(r);
    for (size_t i = 0; i < total; i++)
        ike_msg_free_buf(dgram[i], dlen[i]);
}

static void mode_multi(enum sk_fixed_suite suite, const uint8_t *d, size_t n)
{
    struct ike_sk_reasm *r = ike_sk_reasm_new(8, 0);
    INV_REQUIRE(r != NULL, "out of memory");
    while (n >= 2) {
        size_t len = (size_t)d[0] << 8 | d[1];
        d += 2;
        n -= 2;
        if (len > n)
            len = n;
        receive(d, len, suite, r);
        d += len;
        n -= len;
    }
    ike_sk_reasm_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum sk_fixed_suite suite = (data[0] & 1) ? SK_FIXED_CBC : SK_FIXED_GCM;
    const uint8_t *d = data + 1;
    size_t n = size - 1;
    switch ((data[0] >> 1) & 3) {
    case MODE_RAW: {
        struct ike_sk_reasm *r = ike_sk_reasm_new(0, 0);
        INV_REQUIRE(r != NULL, "out of memory");
        receive(d, n, suite, r);
        ike_sk_reasm_free(r);
        break;
    }
    case MODE_SEAL: mode_seal(suite, d, n); break;
    case MODE_FRAG: mode_frag(suite, d, n); break;
    case MODE_MULTI: mode_multi(suite, d, n); break;
    }
    return 0;
}
