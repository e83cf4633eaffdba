/* Export / import: an established SA rebuilt in a fresh context from its
 * plain-struct export continues where the original stopped: same SPIs,
 * message IDs and keys (the imported side authenticates and decrypts what
 * the original peer protects next), and import refuses inconsistent input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <ike/sk.h>

#include "helper_pair.h"
#include "sa_internal.h"

/* A fresh "standby" context: the pair's callbacks with its own recorder. */
struct standby {
    struct pair *p; /* a second pair, used only for its side recorders */
    struct ike_sa *sa;
};

static void standby_import(struct standby *sb, const struct pair *orig, int idx)
{
    struct ike_sa_export ex;
    struct ike_diag d = {0};
    sb->p = pair_new();
    assert_int_equal(ike_sa_export(orig->side[idx].sa, &ex, &d), IKE_OK);
    assert_int_equal(ike_sa_import(&sb->p->side[idx].ctx, &sb->p->side[idx].cfg, &ex, &sb->sa, &d),
                     IKE_OK);
    for (size_t i = 0; i < ike_sa_child_count(orig->side[idx].sa); i++) {
        struct ike_child_export c;
        assert_int_equal(ike_sa_export_child(orig->side[idx].sa, i, &c, &d), IKE_OK);
        assert_int_equal(ike_sa_import_child(sb->sa, &c, &d), IKE_OK);
        ike_export_wipe(&c, sizeof(c));
    }
    ike_export_wipe(&ex, sizeof(ex));
}

static void standby_free(struct standby *sb)
{
    ike_sa_free(sb->sa);
    pair_free(sb->p);
}

/* The next request of `from` (an INFORMATIONAL, message ID send_next),
 * protected with its keys; returned as a datagram. */
static uint8_t *next_request(struct ike_sa *from, size_t *len)
{
    struct ike_msg m;
    uint8_t *buf = NULL;
    struct ike_diag d = {0};
    ike_msg_init(&m, from->spi_i, from->spi_r, IKE_EXCH_INFORMATIONAL,
                 from->initiator ? IKE_FLAG_INITIATOR : 0, from->send_next);
    ike_msg_add_notify(&m, IKE_N_IKEV2_MESSAGE_ID_SYNC_SUPPORTED, NULL, 0);
    assert_int_equal(ike_sk_protect(&m, ike_sa_cipher_out(from), &buf, len, &d), IKE_OK);
    ike_msg_clear(&m);
    return buf;
}

static void test_export_import_roundtrip(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_establish(p);
    for (int idx = 0; idx < 2; idx++) {
        struct standby sb;
        struct ike_sa_export a, b;
        struct ike_child_export ca, cb;
        struct ike_diag d = {0};
        standby_import(&sb, p, idx);
        assert_int_equal(ike_sa_state(sb.sa), IKE_SA_STATE_ESTABLISHED);
        assert_int_equal(ike_sa_export(p->side[idx].sa, &a, &d), IKE_OK);
        assert_int_equal(ike_sa_export(sb.sa, &b, &d), IKE_OK);
        assert_memory_equal(&a, &b, sizeof(a));
        /* the export equals what the IKE_SA_ADD event carried, except
         * nothing changed since: identical */
        assert_memory_equal(&a, &p->side[idx].events[1].ike, sizeof(a));
        assert_int_equal(ike_sa_child_count(sb.sa), 1);
        assert_int_equal(ike_sa_export_child(p->side[idx].sa, 0, &ca, &d), IKE_OK);
        assert_int_equal(ike_sa_export_child(sb.sa, 0, &cb, &d), IKE_OK);
        assert_memory_equal(&ca, &cb, sizeof(ca));
        assert_memory_equal(&ca, &p->side[idx].events[2].child, sizeof(ca));
        assert_int_equal(ike_sa_export_child(sb.sa, 1, &cb, &d), IKE_E_INVALID_ARG);
        /* import emits nothing, sends nothing, installs nothing */
        assert_int_equal(sb.p->side[idx].n_events, 0);
        assert_int_equal(sb.p->side[idx].n_sent, 0);
        assert_int_equal(sb.p->side[idx].n_installed, 0);
        standby_free(&sb);
    }
    pair_free(p);
}

/* The imported responder authenticates and decrypts the original
 * initiator's next request (message ID 2): its keys and expected message
 * ID are the original's, so it answers the INFORMATIONAL (no integrity or
 * message-ID drop). A standby with a corrupted key rejects the same bytes. */
static void test_imported_responder_continues(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_establish(p);
    struct standby sb;
    standby_import(&sb, p, 1);
    size_t len = 0;
    uint8_t *req = next_request(p->side[0].sa, &len);
    struct ike_addr l = pair_addr4(10, 0, 0, 2, 500), r = pair_addr4(10, 0, 0, 1, 500);
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_process(sb.sa, req, len, &l, &r, &d), IKE_OK);
    const struct ike_sa_stats *st = ike_sa_stats(sb.sa);
    assert_int_equal(sb.p->side[1].n_sent, 1); /* the answer */
    assert_int_equal(st->dropped_unhandled, 0);
    assert_int_equal(st->dropped_integrity, 0);
    assert_int_equal(st->dropped_msgid, 0);
    assert_int_equal(st->dropped_malformed, 0);
    assert_true(pair_log_has(&sb.p->side[1], "received INFORMATIONAL request 2 [ SK { "
                                             "N(IKEV2_MESSAGE_ID_SYNC_SUPPORTED) } ]"));
    standby_free(&sb);

    /* the same bytes against an import whose SK_ai differs in one bit */
    struct ike_sa_export ex;
    struct ike_sa *bad = NULL;
    struct pair *q = pair_new();
    assert_int_equal(ike_sa_export(p->side[1].sa, &ex, &d), IKE_OK);
    ex.sk_ai.data[0] ^= 1;
    assert_int_equal(ike_sa_import(&q->side[1].ctx, &q->side[1].cfg, &ex, &bad, &d), IKE_OK);
    assert_int_equal(ike_sa_process(bad, req, len, &l, &r, &d), IKE_E_INTEGRITY);
    assert_int_equal(ike_sa_stats(bad)->dropped_integrity, 1);
    ike_sa_free(bad);
    /* and against an import one message ID behind: dropped by the window */
    ex.sk_ai.data[0] ^= 1;
    ex.msgid_recv_next = 1;
    assert_int_equal(ike_sa_import(&q->side[1].ctx, &q->side[1].cfg, &ex, &bad, &d), IKE_OK);
    assert_int_equal(ike_sa_process(bad, req, len, &l, &r, &d), IKE_E_STATE);
    assert_int_equal(ike_sa_stats(bad)->dropped_msgid, 1);
    ike_sa_free(bad);
    ike_export_wipe(&ex, sizeof(ex));
    ike_msg_free_buf(req, len);
    pair_free(q);
    pair_free(p);
}

/* The other direction: an imported initiator protects its next request
 * with the original's keys and message ID, and the original responder
 * accepts it. */
static void test_imported_initiator_continues(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_establish(p);
    struct standby sb;
    standby_import(&sb, p, 0);
    size_t len = 0;
    uint8_t *req = next_request(sb.sa, &len);
    struct ike_addr l = pair_addr4(10, 0, 0, 2, 500), r = pair_addr4(10, 0, 0, 1, 500);
    struct ike_diag d = {0};
    size_t sent = p->side[1].n_sent;
    assert_int_equal(ike_sa_process(p->side[1].sa, req, len, &l, &r, &d), IKE_OK);
    assert_int_equal(p->side[1].n_sent, sent + 1); /* answered */
    assert_int_equal(ike_sa_stats(p->side[1].sa)->dropped_unhandled, 0);
    assert_int_equal(ike_sa_stats(p->side[1].sa)->dropped_integrity, 0);
    ike_msg_free_buf(req, len);
    standby_free(&sb);
    pair_free(p);
}

/* An imported responder has no response cache: the old IKE_AUTH request
 * (message ID 1) is outside its window and dropped, never re-processed. */
static void test_imported_drops_old_request(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_start(p);
    pair_deliver(p, 0);
    pair_deliver(p, 0);
    uint8_t *auth = pair_copy(&p->queue[0]);
    size_t len = p->queue[0].len;
    struct ike_addr l = p->queue[0].local, r = p->queue[0].remote;
    pair_run(p);
    struct standby sb;
    standby_import(&sb, p, 1);
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_process(sb.sa, auth, len, &l, &r, &d), IKE_E_STATE);
    assert_int_equal(ike_sa_stats(sb.sa)->dropped_msgid, 1);
    assert_int_equal(sb.p->side[1].n_sent, 0);
    /* the original answers it from its cache */
    assert_int_equal(ike_sa_process(p->side[1].sa, auth, len, &l, &r, &d), IKE_OK);
    assert_int_equal(ike_sa_stats(p->side[1].sa)->responses_resent, 1);
    pair_bytes_free(auth);
    standby_free(&sb);
    pair_free(p);
}

static void test_import_rejects(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    struct ike_sa_export ex, bad;
    struct ike_child_export c;
    struct ike_sa *sa = NULL;
    struct ike_diag d = {0};
    pair_start(p);
    assert_int_equal(ike_sa_export(p->side[0].sa, &ex, &d), IKE_E_STATE); /* not established */
    pair_run(p);
    assert_int_equal(ike_sa_export(p->side[0].sa, &ex, &d), IKE_OK);
    bad = ex;
    bad.version = 99;
    assert_int_equal(ike_sa_import(&p->side[0].ctx, &p->side[0].cfg, &bad, &sa, &d),
                     IKE_E_UNSUPPORTED);
    assert_null(sa);
    bad = ex;
    bad.sk_ei.len = 16; /* aes256 needs 32 */
    assert_int_equal(ike_sa_import(&p->side[0].ctx, &p->side[0].cfg, &bad, &sa, &d),
                     IKE_E_MALFORMED);
    assert_non_null(strstr(d.reason, "key lengths do not fit"));
    bad = ex;
    bad.prf_id = 999;
    assert_int_equal(ike_sa_import(&p->side[0].ctx, &p->side[0].cfg, &bad, &sa, &d),
                     IKE_E_UNSUPPORTED);
    /* a CHILD SA of another IKE SA */
    assert_int_equal(ike_sa_import(&p->side[0].ctx, &p->side[0].cfg, &ex, &sa, &d), IKE_OK);
    assert_int_equal(ike_sa_export_child(p->side[0].sa, 0, &c, &d), IKE_OK);
    c.ike_spi_r[0] ^= 1;
    assert_int_equal(ike_sa_import_child(sa, &c, &d), IKE_E_INVALID_ARG);
    c.ike_spi_r[0] ^= 1;
    c.n_ts_local = IKE_EXPORT_TS_MAX + 1;
    assert_int_equal(ike_sa_import_child(sa, &c, &d), IKE_E_MALFORMED);
    ike_sa_free(sa);
    ike_export_wipe(&ex, sizeof(ex));
    pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_import_roundtrip),
        cmocka_unit_test(test_imported_responder_continues),
        cmocka_unit_test(test_imported_initiator_continues),
        cmocka_unit_test(test_imported_drops_old_request),
        cmocka_unit_test(test_import_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
