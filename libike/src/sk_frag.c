/*
 * IKE message fragmentation, RFC 7383 (contract in <ike/sk.h>). Sending
 * splits the inner payload chain into chunks that each fill one Encrypted
 * Fragment payload; receiving verifies every fragment before keeping its
 * plaintext, so only authenticated data ever occupies the bounded store.
 */
#include <stdlib.h>
#include <string.h>

#include <ike/const.h>
#include <ike/sk.h>

#include "msg_codec.h"
#include "sk_layer.h"

#define SK_IPV4_HDR       20
#define SK_IPV6_HDR       40
#define SK_UDP_HDR        8
#define SK_NON_ESP_MARKER 4
#define SK_FRAGS_MAX      65535u /* Total Fragments is a 16-bit field */

size_t ike_sk_frag_max_len(size_t path_mtu, bool ipv6, bool non_esp_marker)
{
    size_t over =
        (ipv6 ? SK_IPV6_HDR : SK_IPV4_HDR) + SK_UDP_HDR + (non_esp_marker ? SK_NON_ESP_MARKER : 0);
    return path_mtu > over ? path_mtu - over : 0;
}

/* ---- sending ------------------------------------------------------------ */

/* Octets before the SKF body (the AAD) when outer's unencrypted payloads
 * precede it; measured by encoding, so it always matches the real layout. */
static enum ike_status frag_aad_len(const struct ike_msg *outer, size_t *aad, struct ike_diag *diag)
{
    struct ike_wr wr;
    struct ike_pld_sk probe = {.frag_num = 1, .frag_total = 1, .body = {NULL, 1}};
    ike_wr_init(&wr, IKE_MSG_MAX_LEN);
    enum ike_status st = ike_msg_write_outer(outer, IKE_PLD_SKF, &probe, &wr, aad, diag);
    ike_wr_release(&wr);
    return st;
}

/* Most plaintext octets (before padding) one fragment with aad octets in
 * front of its body can carry within max_len; 0 if none. */
static size_t frag_room(size_t max_len, size_t aad, const struct ike_sk_cipher *c)
{
    size_t fixed = aad + ike_sk_cipher_iv_len(c) + ike_sk_cipher_icv_len(c);
    size_t block = ike_sk_cipher_block_len(c);
    if (block == 0 || max_len <= fixed)
        return 0;
    size_t ct = (max_len - fixed) / block * block;
    return ct ? ct - 1 : 0; /* minus the Pad Length octet */
}

struct frag_plan {
    size_t room_first, room_rest; /* plaintext octets per fragment */
    size_t n;
};

static enum ike_status frag_plan(const struct ike_msg *msg, const struct ike_msg *bare,
                                 const struct ike_sk_cipher *c, size_t max_len, size_t inner_len,
                                 struct frag_plan *plan, struct ike_diag *diag)
{
    size_t aad_first = 0, aad_rest = 0;
    enum ike_status st = frag_aad_len(msg, &aad_first, diag);
    if (st == IKE_OK)
        st = frag_aad_len(bare, &aad_rest, diag);
    if (st != IKE_OK)
        return st;
    plan->room_first = frag_room(max_len, aad_first, c);
    plan->room_rest = frag_room(max_len, aad_rest, c);
    if (plan->room_first == 0 || plan->room_rest == 0)
        return ike_diag_fail(diag, IKE_E_TOO_BIG,
                             "fragment size %zu leaves no room for content (%zu octets before "
                             "the body, IV %zu, ICV %zu)",
                             max_len, aad_first, ike_sk_cipher_iv_len(c), ike_sk_cipher_icv_len(c));
    plan->n = 1;
    if (inner_len > plan->room_first)
        plan->n += (inner_len - plan->room_first + plan->room_rest - 1) / plan->room_rest;
    if (plan->n > SK_FRAGS_MAX)
        return ike_diag_fail(diag, IKE_E_TOO_BIG, "%zu fragments needed > %u", plan->n,
                             SK_FRAGS_MAX);
    return IKE_OK;
}

static enum ike_status frag_seal_all(const struct ike_msg *msg, const struct ike_msg *bare,
                                     struct ike_sk_cipher *c, const struct ike_wr *inner,
                                     uint8_t first_inner, const struct frag_plan *plan,
                                     struct ike_sk_frag *frags, struct ike_diag *diag)
{
    size_t off = 0;
    for (size_t i = 0; i < plan->n; i++) {
        size_t room = i == 0 ? plan->room_first : plan->room_rest;
        size_t len = inner->len - off < room ? inner->len - off : room;
        struct ike_pld_sk frame = {
            .first_inner = i == 0 ? first_inner : IKE_PLD_NONE,
            .frag_num = (uint16_t)(i + 1),
            .frag_total = (uint16_t)plan->n,
        };
        struct ike_wr wr;
        ike_wr_init(&wr, IKE_MSG_MAX_LEN);
        enum ike_status st =
            ike_sk_seal_msg(i == 0 ? msg : bare, IKE_PLD_SKF, &frame,
                            inner->buf ? inner->buf + off : NULL, len, c, &wr, diag);
        if (st != IKE_OK) {
            ike_wr_release(&wr);
            return st;
        }
        frags[i].buf = ike_wr_take(&wr, &frags[i].len);
        if (!frags[i].buf)
            return ike_diag_fail(diag, IKE_E_NOMEM, "no memory for fragment %zu", i + 1);
        off += len;
    }
    return IKE_OK;
}

enum ike_status ike_sk_protect_fragments(const struct ike_msg *msg, struct ike_sk_cipher *c,
                                         size_t max_len, struct ike_sk_frag **frags,
                                         size_t *n_frags, struct ike_diag *diag)
{
    *frags = NULL;
    *n_frags = 0;
    if (msg->hdr.exchange == IKE_EXCH_IKE_SA_INIT)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG,
                             "IKE_SA_INIT is never fragmented (RFC 7383)");
    /* Fragments 2..N carry the header alone in front of the SKF payload. */
    const struct ike_msg bare = {.hdr = msg->hdr};
    struct ike_wr inner;
    struct frag_plan plan = {0};
    uint8_t first_inner = IKE_PLD_NONE;
    ike_wr_init(&inner, IKE_MSG_MAX_LEN);
    enum ike_status st = ike_msg_write_inner(msg, &inner, &first_inner, diag);
    if (st == IKE_OK)
        st = frag_plan(msg, &bare, c, max_len, inner.len, &plan, diag);
    struct ike_sk_frag *out = NULL;
    if (st == IKE_OK) {
        out = calloc(plan.n, sizeof(*out));
        if (!out)
            st = ike_diag_fail(diag, IKE_E_NOMEM, "no memory for %zu fragments", plan.n);
    }
    if (st == IKE_OK)
        st = frag_seal_all(msg, &bare, c, &inner, first_inner, &plan, out, diag);
    ike_wr_release(&inner);
    if (st != IKE_OK) {
        ike_sk_frags_free(out, out ? plan.n : 0);
        return st;
    }
    *frags = out;
    *n_frags = plan.n;
    return IKE_OK;
}

void ike_sk_frags_free(struct ike_sk_frag *frags, size_t n_frags)
{
    if (!frags)
        return;
    for (size_t i = 0; i < n_frags; i++)
        ike_msg_free_buf(frags[i].buf, frags[i].len);
    free(frags);
}

/* ---- receiving ---------------------------------------------------------- */

struct reasm_chunk {
    uint8_t *pt; /* decrypted fragment content (NULL: not received) */
    size_t cap;  /* allocation size, for wiping */
    size_t len;  /* content without padding */
};

struct ike_sk_reasm {
    size_t max_frags, max_bytes;
    bool active;
    struct ike_hdr bind; /* the message being reassembled */
    uint16_t total, held;
    size_t bytes;        /* plaintext + first datagram kept */
    uint8_t first_inner; /* Next Payload of fragment 1 */
    uint8_t *first_raw;  /* fragment 1's datagram */
    size_t first_raw_len;
    struct reasm_chunk *chunks; /* [total], fragment number - 1 */
};

struct ike_sk_reasm *ike_sk_reasm_new(size_t max_frags, size_t max_bytes)
{
    struct ike_sk_reasm *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->max_frags = max_frags ? max_frags : IKE_SK_REASM_MAX_FRAGS;
    if (r->max_frags > SK_FRAGS_MAX)
        r->max_frags = SK_FRAGS_MAX;
    r->max_bytes = max_bytes ? max_bytes : IKE_SK_REASM_MAX_BYTES;
    return r;
}

void ike_sk_reasm_reset(struct ike_sk_reasm *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->chunks && i < r->total; i++)
        ike_msg_free_buf(r->chunks[i].pt, r->chunks[i].cap);
    free(r->chunks);
    ike_msg_free_buf(r->first_raw, r->first_raw_len);
    size_t max_frags = r->max_frags, max_bytes = r->max_bytes;
    memset(r, 0, sizeof(*r));
    r->max_frags = max_frags;
    r->max_bytes = max_bytes;
}

void ike_sk_reasm_free(struct ike_sk_reasm *r)
{
    ike_sk_reasm_reset(r);
    free(r);
}

bool ike_sk_reasm_pending(const struct ike_sk_reasm *r, uint32_t *message_id)
{
    if (r->active && message_id)
        *message_id = r->bind.message_id;
    return r->active;
}

/* Same IKE SA, exchange, direction and Message ID. */
static bool reasm_same_message(const struct ike_hdr *a, const struct ike_hdr *b)
{
    const uint8_t dir = IKE_FLAG_INITIATOR | IKE_FLAG_RESPONSE;
    return memcmp(a->spi_i, b->spi_i, IKE_SPI_LEN) == 0 &&
           memcmp(a->spi_r, b->spi_r, IKE_SPI_LEN) == 0 && a->exchange == b->exchange &&
           (a->flags & dir) == (b->flags & dir) && a->message_id == b->message_id;
}

/* Checks that need no crypto and change nothing. *verdict is set when the
 * fragment is to be ignored (IKE_OK returned). */
static enum ike_status reasm_precheck(const struct ike_sk_reasm *r, const struct ike_msg *frag,
                                      bool *ignore, enum ike_sk_reasm_result *verdict,
                                      struct ike_diag *diag)
{
    const struct ike_pld_sk *sk = &frag->sk->sk;
    *ignore = false;
    if (sk->frag_num < 1 || sk->frag_num > sk->frag_total)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "SKF fragment number %u not in 1..%u",
                             sk->frag_num, sk->frag_total);
    if (sk->frag_total > r->max_frags)
        return ike_diag_fail(diag, IKE_E_TOO_BIG, "SKF total fragments %u > limit %zu",
                             sk->frag_total, r->max_frags);
    if (!r->active)
        return IKE_OK;
    if (!reasm_same_message(&r->bind, &frag->hdr))
        return ike_diag_fail(diag, IKE_E_STATE,
                             "SKF of %s message ID %u while reassembling %s message ID %u",
                             ike_exchange_name(frag->hdr.exchange), frag->hdr.message_id,
                             ike_exchange_name(r->bind.exchange), r->bind.message_id);
    if (sk->frag_total < r->total) {
        *ignore = true;
        *verdict = IKE_SK_REASM_STALE;
    } else if (sk->frag_total == r->total && r->chunks[sk->frag_num - 1].pt) {
        *ignore = true;
        *verdict = IKE_SK_REASM_DUPLICATE;
    }
    return IKE_OK;
}

static enum ike_status reasm_start(struct ike_sk_reasm *r, const struct ike_msg *frag,
                                   struct ike_diag *diag)
{
    uint16_t total = frag->sk->sk.frag_total;
    ike_sk_reasm_reset(r);
    r->chunks = calloc(total, sizeof(*r->chunks));
    if (!r->chunks)
        return ike_diag_fail(diag, IKE_E_NOMEM, "no memory for %u fragments", total);
    r->active = true;
    r->bind = frag->hdr;
    r->total = total;
    return IKE_OK;
}

/* Takes over pt (cap octets, len of content). */
static enum ike_status reasm_keep(struct ike_sk_reasm *r, const struct ike_msg *frag, uint8_t *pt,
                                  size_t cap, size_t len, struct ike_diag *diag)
{
    const struct ike_pld_sk *sk = &frag->sk->sk;
    size_t add = cap + (sk->frag_num == 1 ? frag->raw.len : 0);
    if (sk->frag_num < 1 || sk->frag_num > r->total || sk->frag_total != r->total) {
        ike_msg_free_buf(pt, cap); /* unreachable after reasm_precheck/start */
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "SKF fragment %u/%u kept as ?/%u",
                             sk->frag_num, sk->frag_total, r->total);
    }
    if (add > r->max_bytes || r->bytes > r->max_bytes - add) {
        ike_msg_free_buf(pt, cap);
        return ike_diag_fail(diag, IKE_E_TOO_BIG,
                             "SKF reassembly of message ID %u would hold %zu + %zu octets > "
                             "limit %zu",
                             frag->hdr.message_id, r->bytes, add, r->max_bytes);
    }
    if (sk->frag_num == 1) {
        r->first_raw = malloc(frag->raw.len);
        if (!r->first_raw) {
            ike_msg_free_buf(pt, cap);
            return ike_diag_fail(diag, IKE_E_NOMEM, "no memory for fragment 1");
        }
        memcpy(r->first_raw, frag->raw.ptr, frag->raw.len);
        r->first_raw_len = frag->raw.len;
        r->first_inner = sk->first_inner;
    }
    r->chunks[sk->frag_num - 1] = (struct reasm_chunk){pt, cap, len};
    r->bytes += add;
    r->held++;
    return IKE_OK;
}

/* All fragments held: decode fragment 1 again and parse the concatenated
 * plaintext as its inner payloads. */
static enum ike_status reasm_finish(const struct ike_sk_reasm *r, struct ike_msg *out,
                                    struct ike_diag *diag)
{
    size_t len = 0;
    for (size_t i = 0; i < r->total; i++)
        len += r->chunks[i].len;
    uint8_t *all = malloc(len ? len : 1);
    if (!all)
        return ike_diag_fail(diag, IKE_E_NOMEM, "no memory for %zu reassembled octets", len);
    size_t off = 0;
    for (size_t i = 0; i < r->total; i++) {
        if (r->chunks[i].len)
            memcpy(all + off, r->chunks[i].pt, r->chunks[i].len);
        off += r->chunks[i].len;
    }
    enum ike_status st = ike_msg_decode(out, r->first_raw, r->first_raw_len, diag);
    if (st == IKE_OK)
        st = ike_msg_decode_inner(out, all, len, r->first_inner, diag);
    ike_msg_free_buf(all, len ? len : 1);
    return st;
}

enum ike_status ike_sk_reasm_add(struct ike_sk_reasm *r, const struct ike_msg *frag,
                                 struct ike_sk_cipher *c, struct ike_msg *out,
                                 enum ike_sk_reasm_result *result, struct ike_diag *diag)
{
    if (!frag->sk || frag->sk->type != IKE_PLD_SKF)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "reassembler needs an SKF payload (%s)",
                             frag->sk ? ike_payload_name(frag->sk->type) : "none");
    bool ignore = false;
    enum ike_status st = reasm_precheck(r, frag, &ignore, result, diag);
    if (st != IKE_OK || ignore)
        return st;
    uint8_t *pt = NULL;
    size_t cap = 0, len = 0;
    st = ike_sk_open_msg(frag, c, &pt, &cap, &len, diag);
    if (st != IKE_OK)
        return st;
    if (!r->active || frag->sk->sk.frag_total > r->total)
        st = reasm_start(r, frag, diag);
    if (st != IKE_OK) {
        ike_msg_free_buf(pt, cap);
        return st;
    }
    st = reasm_keep(r, frag, pt, cap, len, diag);
    if (st == IKE_OK && r->held < r->total) {
        *result = IKE_SK_REASM_NEED_MORE;
        return IKE_OK;
    }
    if (st == IKE_OK)
        st = reasm_finish(r, out, diag);
    ike_sk_reasm_reset(r);
    if (st != IKE_OK) {
        ike_msg_clear(out);
        return st;
    }
    *result = IKE_SK_REASM_COMPLETE;
    return IKE_OK;
}
