/* RFC 6311 message-ID sync between two in-process SAs, and the HA takeover
 * it exists for: a standby imports a stale export, syncs, and continues.
 * Also the replay-counter delta, retransmissions, nonce checks, the queue
 * waiting for the sync, and the refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ike/sk.h>

#include "helper_pair.h"
#include "sa_internal.h"

static void test_sync_basic(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    struct ike_sa *i = p->side[0].sa, *r = p->side[1].sa;
    struct ike_diag d = {0};
    assert_true(ike_sa_peer_msgid_sync(i));
    assert_true(ike_sa_peer_msgid_sync(r));
    assert_int_equal(ike_sa_msgid_sync(i, 12, 5, 0, &d), IKE_OK);
    assert_string_equal(pair_events(&p->side[0]), "MSGID_UPDATE");
    assert_int_equal(p->side[0].events[0].msgid.send_next, 12);
    assert_int_equal(p->side[0].events[0].msgid.recv_next, 5);
    assert_true(pair_log_has(&p->side[0], "sent INFORMATIONAL request 0 [ SK { "
                                          "N(IKEV2_MESSAGE_ID_SYNC) } ]"));
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_string_equal(pair_events(&p->side[1]), "MSGID_UPDATE");
    assert_int_equal(p->side[1].events[0].msgid.send_next, 5);
    assert_int_equal(p->side[1].events[0].msgid.recv_next, 12);
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_string_equal(pair_events(&p->side[0]), "MSGID_UPDATE MSGID_UPDATE");
    assert_int_equal(p->side[0].events[1].msgid.send_next, 12);
    assert_int_equal(p->side[0].events[1].msgid.recv_next, 5);
    assert_true(pair_log_has(&p->side[0], "message IDs synced: send 12 recv 5"));
    assert_false(p->side[0].timer_armed[IKE_TIMER_RETRANSMIT]);
    /* both directions continue from the synced IDs */
    assert_int_equal(ike_sa_dpd(i, &d), IKE_OK);
    assert_int_equal(pair_run(p), 2);
    assert_true(pair_log_has(&p->side[1], "received INFORMATIONAL request 12 [ SK ]"));
    assert_int_equal(ike_sa_dpd(r, &d), IKE_OK);
    assert_int_equal(pair_run(p), 2);
    assert_true(pair_log_has(&p->side[0], "received INFORMATIONAL request 5 [ SK ]"));
    assert_int_equal(ike_sa_stats(i)->dropped_msgid + ike_sa_stats(r)->dropped_msgid, 0);
    pair_free(p);
}

/* From the original responder: the original initiator expects request 0
 * next, the very ID of the sync; the sync must not consume it. */
static void test_sync_from_responder(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    struct ike_diag d = {0};
    struct ike_sa *i = p->side[0].sa, *r = p->side[1].sa;
    assert_int_equal(i->recv_next, 0);
    assert_int_equal(ike_sa_msgid_sync(r, 0, 2, 0, &d), IKE_OK);
    assert_int_equal(pair_run(p), 2);
    assert_int_equal(i->recv_next, 0); /* still expects request 0 */
    assert_true(pair_log_has(&p->side[1], "message IDs synced: send 0 recv 2"));
    assert_int_equal(ike_sa_dpd(r, &d), IKE_OK); /* a real request 0 now */
    assert_int_equal(pair_run(p), 2);
    assert_int_equal(i->recv_next, 1);
    assert_true(pair_log_has(&p->side[0], "liveness check 0 answered"));
    /* a second sync with ID 0 after that: outside the window, still a sync */
    assert_int_equal(ike_sa_msgid_sync(r, 3, 2, 0, &d), IKE_OK);
    assert_int_equal(pair_run(p), 2);
    assert_int_equal(i->recv_next, 3);
    assert_int_equal(ike_sa_stats(i)->dropped_msgid, 0);
    pair_free(p);
}

/* Counters only move forward: a sync proposing lower values changes
 * nothing on the peer, and the initiator adopts the peer's higher ones. */
static void test_sync_takes_max(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    struct ike_diag d = {0};
    struct ike_sa *i = p->side[0].sa, *r = p->side[1].sa;
    r->send_next = 40; /* as if side 1 had sent many requests */
    assert_int_equal(ike_sa_msgid_sync(i, 0, 0, 0, &d), IKE_OK);
    assert_int_equal(i->send_next, 2); /* never lowered */
    assert_int_equal(pair_run(p), 2);
    assert_int_equal(r->send_next, 40);
    assert_int_equal(r->recv_next, 2);
    assert_int_equal(i->send_next, 2);
    assert_int_equal(i->recv_next, 40);
    pair_free(p);
}

/* Move datagram 0 of `from`'s queue into sa (another pair's SA). */
static enum ike_status xfer(struct pair *from, struct ike_sa *sa)
{
    assert_true(from->n_queue > 0);
    struct pair_dgram dg = from->queue[0];
    memmove(&from->queue[0], &from->queue[1], (from->n_queue - 1) * sizeof(from->queue[0]));
    from->n_queue--;
    struct ike_diag d = {0};
    enum ike_status st = ike_sa_process(sa, dg.data, dg.len, &dg.local, &dg.remote, &d);
    free(dg.data);
    return st;
}

/* The HA case: the standby's copy is three exchanges behind. Without a
 * sync its next request is dropped by the peer; after it, the standby
 * and the peer continue. */
static void test_takeover(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    struct ike_diag d = {0};
    struct ike_sa_export ex;
    assert_int_equal(ike_sa_export(p->side[0].sa, &ex, &d), IKE_OK);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(ike_sa_dpd(p->side[0].sa, &d), IKE_OK);
        assert_int_equal(pair_run(p), 2);
    }
    assert_int_equal(p->side[1].sa->recv_next, 5);
    /* the master dies; the standby (its own pair for the callbacks) has
     * the export taken before those exchanges */
    struct pair *sb = pair_new();
    struct ike_sa *s = NULL;
    assert_int_equal(ike_sa_import(&sb->side[0].ctx, &sb->side[0].cfg, &ex, &s, &d), IKE_OK);
    ike_sa_activate(s);
    /* a stale request: the peer drops it (ID 2, expects 5) */
    struct ike_sa *peer = p->side[1].sa;
    uint64_t dropped = ike_sa_stats(peer)->dropped_msgid;
    assert_int_equal(ike_sa_dpd(s, &d), IKE_OK);
    assert_int_equal(xfer(sb, peer), IKE_E_STATE);
    assert_int_equal(ike_sa_stats(peer)->dropped_msgid, dropped + 1);
    ike_sa_free(s);
    s = NULL;
    /* again, this time with the RFC 6311 sync first (margin 8) */
    assert_int_equal(ike_sa_import(&sb->side[0].ctx, &sb->side[0].cfg, &ex, &s, &d), IKE_OK);
    ike_sa_activate(s);
    sb->n_queue = 0;
    assert_int_equal(ike_sa_msgid_sync(s, ex.msgid_send_next + 8, ex.msgid_recv_next + 8, 0, &d),
                     IKE_OK);
    assert_int_equal(ike_sa_dpd(s, &d), IKE_OK); /* queued behind the sync */
    assert_int_equal(sb->n_queue, 1);
    assert_int_equal(xfer(sb, peer), IKE_OK); /* sync -> peer */
    assert_int_equal(peer->recv_next, 10);
    assert_int_equal(peer->send_next, 8);
    assert_int_equal(xfer(p, s), IKE_OK); /* answer -> standby, DPD starts */
    assert_int_equal(sb->n_queue, 1);
    assert_int_equal(xfer(sb, peer), IKE_OK); /* DPD 10 accepted */
    assert_int_equal(xfer(p, s), IKE_OK);
    assert_int_equal(ike_sa_stats(s)->dpd_sent, 1);
    assert_int_equal(s->send_next, 11);
    assert_int_equal(ike_sa_stats(peer)->dropped_msgid, dropped + 1);
    /* and the peer's next request reaches the standby under ID 8 */
    assert_int_equal(ike_sa_dpd(peer, &d), IKE_OK);
    assert_int_equal(xfer(p, s), IKE_OK);
    assert_int_equal(s->recv_next, 9);
    ike_sa_free(s);
    ike_export_wipe(&ex, sizeof(ex));
    pair_free(sb);
    pair_free(p);
}

static void test_sync_retransmitted(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    struct ike_diag d = {0};
    /* side 1's receive window stays at 2, its send counter moves to 3 */
    assert_int_equal(ike_sa_msgid_sync(p->side[0].sa, 2, 3, 0, &d), IKE_OK);
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    pair_drop(p, 0); /* answer lost */
    pair_advance(p, IKE_RETRANSMIT_BASE_MS);
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* from the sync cache */
    assert_int_equal(ike_sa_stats(p->side[1].sa)->responses_resent, 1);
    assert_string_equal(pair_events(&p->side[1]), "MSGID_UPDATE");
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_true(pair_log_has(&p->side[0], "message IDs synced: send 2 recv 3"));
    /* the normal responder cache was left alone: a late retransmission of
     * the IKE_AUTH request still gets its cached answer */
    const struct pair_trace *auth = &p->trace[2];
    assert_int_equal(auth->from, 0);
    struct ike_addr l = pair_addr4(10, 0, 0, 2, 500), r = pair_addr4(10, 0, 0, 1, 500);
    assert_int_equal(ike_sa_process(p->side[1].sa, auth->data, auth->len, &l, &r, &d), IKE_OK);
    assert_int_equal(ike_sa_stats(p->side[1].sa)->responses_resent, 2);
    assert_true(pair_log_has(&p->side[1], "request 1 retransmitted by peer"));
    pair_drop(p, 0);
    /* and the next normal exchange works */
    assert_int_equal(ike_sa_dpd(p->side[0].sa, &d), IKE_OK);
    assert_int_equal(pair_run(p), 2);
    assert_int_equal(ike_sa_stats(p->side[0].sa)->dpd_sent, 1);
    pair_free(p);
}

/* An answer echoing another nonce is dropped; the real one still counts. */
static void test_sync_nonce_mismatch(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    struct ike_diag d = {0};
    struct ike_sa *i = p->side[0].sa;
    assert_int_equal(ike_sa_msgid_sync(i, 9, 0, 0, &d), IKE_OK);
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    i->sync.nonce[0] ^= 0xff;
    assert_int_equal(pair_deliver(p, 0), IKE_E_STATE);
    assert_true(i->req.active);
    assert_int_equal(ike_sa_stats(i)->dropped_malformed, 1);
    i->sync.nonce[0] ^= 0xff;
    pair_advance(p, IKE_RETRANSMIT_BASE_MS);
    assert_int_equal(pair_run(p), 2);
    assert_false(i->req.active);
    assert_true(pair_log_has(&p->side[0], "message IDs synced: send 9"));
    pair_free(p);
}

static void test_replay_counter_sync(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->side[0].cfg.replay_counter_sync = p->side[1].cfg.replay_counter_sync = true;
    pair_establish(p);
    struct ike_diag d = {0};
    struct ike_sa_export ex;
    assert_int_equal(ike_sa_export(p->side[0].sa, &ex, &d), IKE_OK);
    assert_true(ex.peer_replay_sync);
    assert_true(ex.peer_msgid_sync);
    assert_int_equal(ike_sa_msgid_sync(p->side[0].sa, 2, 0, 1u << 20, &d), IKE_OK);
    assert_true(pair_log_has(&p->side[0], "N(IKEV2_MESSAGE_ID_SYNC) N(IPSEC_REPLAY_COUNTER_SYNC)"));
    assert_int_equal(pair_run(p), 2);
    assert_int_equal(p->side[1].replay_delta, 1u << 20);
    assert_true(pair_log_has(&p->side[1], "advance outbound ESP sequence numbers by 1048576"));
    pair_free(p);

    /* the peer did not offer it: the delta is not sent */
    p = pair_new();
    p->side[0].cfg.replay_counter_sync = true;
    pair_establish(p);
    assert_int_equal(ike_sa_msgid_sync(p->side[0].sa, 2, 0, 1u << 20, &d), IKE_OK);
    assert_int_equal(pair_run(p), 2);
    assert_int_equal(p->side[1].replay_delta, 0);
    assert_false(pair_log_has(&p->side[0], "IPSEC_REPLAY_COUNTER_SYNC)"));
    pair_free(p);
}

static void test_sync_refused(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->side[1].cfg.msgid_sync = false;
    pair_establish(p);
    struct ike_diag d = {0};
    struct ike_sa *i = p->side[0].sa, *r = p->side[1].sa;
    assert_false(ike_sa_peer_msgid_sync(i));
    assert_int_equal(ike_sa_msgid_sync(i, 5, 5, 0, &d), IKE_E_UNSUPPORTED);
    assert_int_equal(ike_sa_msgid_sync(r, 5, 5, 0, &d), IKE_E_UNSUPPORTED);
    /* a sync request sent anyway is outside side 1's window: dropped */
    struct ike_msg m;
    struct ike_n_msgid_sync n = {.expected_send_req_message_id = 5};
    ike_msg_init(&m, i->spi_i, i->spi_r, IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR, 0);
    ike_msg_add_n_msgid_sync(&m, &n);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(ike_sk_protect(&m, ike_sa_cipher_out(i), &buf, &len, &d), IKE_OK);
    ike_msg_clear(&m);
    struct ike_addr l = pair_addr4(10, 0, 0, 2, 500), rem = pair_addr4(10, 0, 0, 1, 500);
    assert_int_equal(ike_sa_process(r, buf, len, &l, &rem, &d), IKE_E_STATE);
    assert_int_equal(ike_sa_stats(r)->dropped_msgid, 1);
    assert_int_equal(r->recv_next, 2);
    ike_msg_free_buf(buf, len);
    pair_free(p);

    /* not while a request is outstanding */
    p = pair_established();
    assert_int_equal(ike_sa_dpd(p->side[0].sa, &d), IKE_OK);
    assert_int_equal(ike_sa_msgid_sync(p->side[0].sa, 5, 5, 0, &d), IKE_E_STATE);
    assert_int_equal(ike_sa_msgid_sync(NULL, 5, 5, 0, &d), IKE_E_INVALID_ARG);
    pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_basic),          cmocka_unit_test(test_sync_takes_max),
        cmocka_unit_test(test_sync_from_responder), cmocka_unit_test(test_takeover),
        cmocka_unit_test(test_sync_retransmitted),  cmocka_unit_test(test_sync_nonce_mismatch),
        cmocka_unit_test(test_replay_counter_sync), cmocka_unit_test(test_sync_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
