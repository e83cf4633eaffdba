/* Invariants shared by the fuzz targets; see inv_msg.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ike/const.h>

#include "inv_msg.h"

void inv_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: invariant violated: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void inv_peer_error(enum ike_status st, const struct ike_diag *diag, const char *what)
{
    INV_REQUIRE(st != IKE_OK, "%s: inv_peer_error on success", what);
    INV_REQUIRE(st != IKE_E_INVALID_ARG, "%s: peer input gave IKE_E_INVALID_ARG (%s)", what,
                diag->reason);
    INV_REQUIRE(st <= IKE_E_TOO_BIG, "%s: status %d out of range", what, (int)st);
    INV_REQUIRE(diag->status == st, "%s: returned %s but diag says %s", what,
                ike_status_str(st), ike_status_str(diag->status));
    INV_REQUIRE(memchr(diag->reason, '\0', sizeof(diag->reason)) != NULL,
                "%s: reason not terminated", what);
    INV_REQUIRE(diag->reason[0] != '\0', "%s: %s without a reason", what, ike_status_str(st));
    if (st == IKE_E_CRITICAL)
        INV_REQUIRE(diag->payload_type != 0, "%s: IKE_E_CRITICAL without the payload type",
                    what);
}

static void walk_notify(const struct ike_pld_notify *n)
{
    struct ike_diag diag = {0};
    uint16_t group;
    uint8_t type;
    uint32_t spi;
    uint64_t delta;
    struct ike_n_msgid_sync sync;
    enum ike_status st = IKE_OK;
    switch (n->type) {
    case IKE_N_INVALID_KE_PAYLOAD: st = ike_notify_get_group(n, &group, &diag); break;
    case IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD:
        st = ike_notify_get_critical_type(n, &type, &diag);
        break;
    case IKE_N_REKEY_SA:
    case IKE_N_INVALID_SELECTORS:
    case IKE_N_CHILD_SA_NOT_FOUND: st = ike_notify_get_spi(n, &spi, &diag); break;
    case IKE_N_IKEV2_MESSAGE_ID_SYNC: st = ike_notify_get_msgid_sync(n, &sync, &diag); break;
    case IKE_N_IPSEC_REPLAY_COUNTER_SYNC:
        st = ike_notify_get_replay_sync(n, &delta, &diag);
        break;
    default: return;
    }
    /* The decoder ran ike_notify_check() on every Notify it accepted, so
     * the typed reader for the notify's own type must succeed. */
    INV_REQUIRE(st == IKE_OK, "typed reader for decoded notify %s failed: %s (%s)",
                ike_notify_name(n->type), ike_status_str(st), diag.reason);
}

void inv_walk(const struct ike_msg *msg)
{
    char line[512];
    ike_msg_describe(msg, line, sizeof(line));
    INV_REQUIRE(memchr(line, '\0', sizeof(line)) != NULL, "describe not terminated");
    char tiny[8];
    ike_msg_describe(msg, tiny, sizeof(tiny));
    INV_REQUIRE(memchr(tiny, '\0', sizeof(tiny)) != NULL, "short describe not terminated");
    (void)ike_exchange_name(msg->hdr.exchange);
    size_t n = 0;
    for (const struct ike_pld *p = msg->first; p; p = p->next) {
        n++;
        INV_REQUIRE(ike_payload_name(p->type) != NULL, "payload name NULL");
        if (p->type == IKE_PLD_NOTIFY && !p->unknown) {
            INV_REQUIRE(ike_notify_name(p->notify.type) != NULL, "notify name NULL");
            (void)ike_protocol_name(p->notify.protocol);
            walk_notify(&p->notify);
        }
        if (p->unknown) /* find/count skip the payloads we do not know */
            continue;
        INV_REQUIRE(ike_msg_count(msg, p->type) >= 1, "count of present type %u is 0",
                    p->type);
        INV_REQUIRE(ike_msg_find(msg, p->type) != NULL, "find of present type %u failed",
                    p->type);
    }
    INV_REQUIRE(n == msg->n_payloads, "list has %zu payloads, n_payloads %zu", n,
                msg->n_payloads);
    INV_REQUIRE(n <= IKE_MSG_MAX_PAYLOADS, "%zu payloads > cap %u", n, IKE_MSG_MAX_PAYLOADS);
    const struct ike_pld *e = ike_msg_find_error(msg);
    INV_REQUIRE(!e || (e->type == IKE_PLD_NOTIFY && e->notify.type < 16384),
                "find_error returned a non-error payload");
}

static void same_structure(const struct ike_msg *a, const struct ike_msg *b)
{
    INV_REQUIRE(memcmp(a->hdr.spi_i, b->hdr.spi_i, IKE_SPI_LEN) == 0 &&
                    memcmp(a->hdr.spi_r, b->hdr.spi_r, IKE_SPI_LEN) == 0 &&
                    a->hdr.version == b->hdr.version && a->hdr.exchange == b->hdr.exchange &&
                    a->hdr.flags == b->hdr.flags && a->hdr.message_id == b->hdr.message_id,
                "re-encoded header differs");
    INV_REQUIRE(a->n_payloads == b->n_payloads, "re-encode: %zu payloads became %zu",
                a->n_payloads, b->n_payloads);
    const struct ike_pld *p = a->first, *q = b->first;
    for (size_t i = 0; p && q; i++, p = p->next, q = q->next)
        INV_REQUIRE(p->type == q->type && p->inside_sk == q->inside_sk &&
                        p->unknown == q->unknown,
                    "re-encode: payload %zu was %s%s%s, became %s%s%s", i,
                    ike_payload_name(p->type), p->inside_sk ? " (SK)" : "",
                    p->unknown ? " (unknown)" : "", ike_payload_name(q->type),
                    q->inside_sk ? " (SK)" : "", q->unknown ? " (unknown)" : "");
    INV_REQUIRE(!p && !q, "re-encode: payload lists differ in length");
    INV_REQUIRE((a->sk == NULL) == (b->sk == NULL), "re-encode: SK presence differs");
    if (a->sk)
        INV_REQUIRE(a->sk->type == b->sk->type && a->sk->sk.first_inner == b->sk->sk.first_inner &&
                        a->sk->sk.frag_num == b->sk->sk.frag_num &&
                        a->sk->sk.frag_total == b->sk->sk.frag_total &&
                        a->sk->sk.body.len == b->sk->sk.body.len &&
                        (a->sk->sk.body.len == 0 ||
                         memcmp(a->sk->sk.body.ptr, b->sk->sk.body.ptr, a->sk->sk.body.len) == 0),
                    "re-encode: %s payload differs", ike_payload_name(a->sk->type));
    char da[1024], db[1024];
    ike_msg_describe(a, da, sizeof(da));
    ike_msg_describe(b, db, sizeof(db));
    INV_REQUIRE(strcmp(da, db) == 0, "re-encode: describe \"%s\" became \"%s\"", da, db);
}

static bool same_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

void inv_roundtrip(const struct ike_msg *msg)
{
    struct ike_diag diag = {0};
    uint8_t *b1 = NULL, *b2 = NULL, *i1 = NULL, *i2 = NULL;
    size_t b1_len = 0, b2_len = 0, i1_len = 0, i2_len = 0;
    uint8_t f1 = 0, f2 = 0;
    struct ike_msg m2 = {0};

    enum ike_status st = ike_msg_encode(msg, &b1, &b1_len, &diag);
    INV_REQUIRE(st == IKE_OK, "decoded message does not encode: %s (%s)", ike_status_str(st),
                diag.reason);
    st = ike_msg_decode(&m2, b1, b1_len, &diag);
    INV_REQUIRE(st == IKE_OK, "re-encoded message does not decode: %s (%s)",
                ike_status_str(st), diag.reason);
    if (msg->inner_decoded) {
        st = ike_msg_encode_inner(msg, &i1, &i1_len, &f1, &diag);
        INV_REQUIRE(st == IKE_OK, "decoded inner chain does not encode: %s (%s)",
                    ike_status_str(st), diag.reason);
        st = ike_msg_decode_inner(&m2, i1, i1_len, f1, &diag);
        INV_REQUIRE(st == IKE_OK, "re-encoded inner chain does not decode: %s (%s)",
                    ike_status_str(st), diag.reason);
    }
    same_structure(msg, &m2);

    st = ike_msg_encode(&m2, &b2, &b2_len, &diag);
    INV_REQUIRE(st == IKE_OK && same_bytes(b1, b1_len, b2, b2_len),
                "encode is not a fixed point (%s, %zu vs %zu octets)", ike_status_str(st),
                b1_len, b2_len);
    if (msg->inner_decoded) {
        st = ike_msg_encode_inner(&m2, &i2, &i2_len, &f2, &diag);
        INV_REQUIRE(st == IKE_OK && f1 == f2 && same_bytes(i1, i1_len, i2, i2_len),
                    "encode_inner is not a fixed point (%s, %zu vs %zu octets)",
                    ike_status_str(st), i1_len, i2_len);
    }
    /* The rule tables look at types, counts and the SK flag only. Only
     * meaningful when both sides saw the whole message: an encrypted one
     * whose inner chain is not decoded is checked by the SK target. */
    if (!msg->sk || msg->inner_decoded) {
        struct ike_diag d1 = {0}, d2 = {0};
        enum ike_status r1 = ike_msg_check_rules(msg, &d1);
        enum ike_status r2 = ike_msg_check_rules(&m2, &d2);
        INV_REQUIRE(r1 == r2, "rules: %s (%s) became %s (%s)", ike_status_str(r1), d1.reason,
                    ike_status_str(r2), d2.reason);
    }
    ike_msg_free_buf(b1, b1_len);
    ike_msg_free_buf(b2, b2_len);
    ike_msg_free_buf(i1, i1_len);
    ike_msg_free_buf(i2, i2_len);
    ike_msg_clear(&m2);
}
