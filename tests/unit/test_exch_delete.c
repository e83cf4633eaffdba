/* INFORMATIONAL Delete (RFC 7296 §1.4.1) between two in-process SAs: CHILD
 * SA and IKE SA deletion from either side, with exact event sequences,
 * lost / duplicated messages, crossed Deletes, unknown SPIs and the
 * retransmission give-up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helper_pair.h"
#include "sa_internal.h"

static uint32_t child_in(const struct pair *p, int side)
{
    return p->side[side].installed[0].spi_in;
}

static void test_delete_child_initiator(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    uint32_t spi0 = child_in(p, 0), spi1 = child_in(p, 1);
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_delete_child(p->side[0].sa, spi0, &d), IKE_OK);
    assert_int_equal(p->n_queue, 1);
    assert_string_equal(pair_events(&p->side[0]), "MSGID_UPDATE");
    assert_int_equal(p->side[0].events[0].msgid.send_next, 3);
    assert_int_equal(pair_run(p), 2);
    assert_string_equal(pair_events(&p->side[1]), "MSGID_UPDATE CHILD_SA_DEL");
    assert_int_equal(p->side[1].events[0].msgid.recv_next, 3);
    assert_int_equal(p->side[1].events[1].child_del_spi, spi1);
    assert_string_equal(pair_events(&p->side[0]), "MSGID_UPDATE CHILD_SA_DEL");
    assert_int_equal(p->side[0].events[1].child_del_spi, spi0);
    assert_int_equal(p->side[0].n_installed, 0);
    assert_int_equal(p->side[1].n_installed, 0);
    assert_int_equal(ike_sa_child_count(p->side[0].sa), 0);
    assert_int_equal(ike_sa_child_count(p->side[1].sa), 0);
    /* the answer carried the paired Delete */
    assert_true(pair_log_has(&p->side[0], "received INFORMATIONAL response 2 [ SK { D } ]"));
    assert_true(pair_log_has(&p->side[0], "deleted (Delete answered)"));
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_ESTABLISHED);
    /* the IKE SA stays usable: a second exchange works */
    assert_int_equal(ike_sa_dpd(p->side[0].sa, &d), IKE_OK);
    assert_int_equal(pair_run(p), 2);
    assert_int_equal(ike_sa_stats(p->side[0].sa)->dpd_sent, 1);
    pair_free(p);
}

/* The original responder deletes: its first request has message ID 0. */
static void test_delete_child_responder(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    uint32_t spi1 = child_in(p, 1);
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_delete_child(p->side[1].sa, spi1, &d), IKE_OK);
    assert_int_equal(p->side[1].events[0].msgid.send_next, 1);
    assert_int_equal(pair_run(p), 2);
    assert_string_equal(pair_events(&p->side[0]), "MSGID_UPDATE CHILD_SA_DEL");
    assert_int_equal(p->side[0].events[0].msgid.recv_next, 1);
    assert_string_equal(pair_events(&p->side[1]), "MSGID_UPDATE CHILD_SA_DEL");
    assert_int_equal(p->side[1].events[1].child_del_spi, spi1);
    assert_int_equal(p->side[0].n_installed + p->side[1].n_installed, 0);
    pair_free(p);
}

static void test_delete_child_bad_args(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_delete_child(p->side[0].sa, 0x12345678, &d), IKE_E_INVALID_ARG);
    assert_int_equal(ike_sa_delete_child(NULL, 1, &d), IKE_E_INVALID_ARG);
    assert_int_equal(p->n_queue, 0);
    pair_free(p);
}

/* Lost request, then a duplicated one: one deletion, the duplicate is
 * answered from the cache. */
static void test_delete_child_lost_and_duplicated(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_delete_child(p->side[0].sa, child_in(p, 0), &d), IKE_OK);
    pair_drop(p, 0);
    pair_advance(p, IKE_RETRANSMIT_BASE_MS);
    assert_int_equal(p->n_queue, 1); /* retransmitted */
    pair_dup(p, 0);
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* request */
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* duplicate: cached answer */
    assert_int_equal(ike_sa_stats(p->side[1].sa)->responses_resent, 1);
    assert_string_equal(pair_events(&p->side[1]), "MSGID_UPDATE CHILD_SA_DEL");
    assert_int_equal(pair_deliver(p, 0), IKE_OK);      /* first answer */
    assert_int_equal(pair_deliver(p, 0), IKE_E_STATE); /* second: nothing outstanding */
    assert_string_equal(pair_events(&p->side[0]), "MSGID_UPDATE CHILD_SA_DEL");
    assert_int_equal(ike_sa_stats(p->side[0].sa)->dropped_msgid, 1);
    pair_free(p);
}

/* Both ends delete the same CHILD SA at once (§1.4.1): each removes it on
 * the other's request and answers without Delete; one CHILD_SA_DEL each. */
static void test_delete_child_crossed(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_delete_child(p->side[0].sa, child_in(p, 0), &d), IKE_OK);
    assert_int_equal(ike_sa_delete_child(p->side[1].sa, child_in(p, 1), &d), IKE_OK);
    assert_int_equal(p->n_queue, 2);
    assert_int_equal(pair_run(p), 4);
    assert_string_equal(pair_events(&p->side[0]), "MSGID_UPDATE MSGID_UPDATE CHILD_SA_DEL");
    assert_string_equal(pair_events(&p->side[1]), "MSGID_UPDATE MSGID_UPDATE CHILD_SA_DEL");
    assert_true(pair_log_has(&p->side[0], "crossed Deletes"));
    assert_true(pair_log_has(&p->side[1], "crossed Deletes"));
    assert_true(pair_log_has(&p->side[0], "received INFORMATIONAL response 2 [ SK ]"));
    assert_int_equal(p->side[0].n_installed + p->side[1].n_installed, 0);
    pair_free(p);
}

/* A Delete naming an SPI we do not hold is ignored and answered empty. */
static void test_delete_unknown_spi(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    struct ike_sa *sa = p->side[0].sa;
    struct ike_msg m;
    uint32_t bogus = 0xdeadbeef;
    ike_msg_init(&m, sa->spi_i, sa->spi_r, IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR,
                 sa->send_next);
    ike_msg_add_delete(&m, IKE_PROTO_ESP, &bogus, 1);
    assert_int_equal(ike_sa_send_request(sa, &m), IKE_OK);
    ike_msg_clear(&m);
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_string_equal(pair_events(&p->side[1]), "MSGID_UPDATE");
    assert_true(pair_log_has(&p->side[1], "SA deadbeef, which we do not have: ignored"));
    assert_int_equal(p->side[1].n_installed, 1);
    assert_int_equal(p->n_queue, 1); /* an (empty) answer */
    pair_free(p);
}

static void test_delete_ike_initiator(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    uint32_t spi0 = child_in(p, 0), spi1 = child_in(p, 1);
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_delete(p->side[0].sa, &d), IKE_OK);
    assert_int_equal(ike_sa_delete(p->side[0].sa, &d), IKE_OK); /* idempotent */
    assert_int_equal(p->n_queue, 1);
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_string_equal(pair_events(&p->side[1]), "MSGID_UPDATE CHILD_SA_DEL IKE_SA_DEL");
    assert_int_equal(p->side[1].events[1].child_del_spi, spi1);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_DEAD);
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_string_equal(pair_events(&p->side[0]), "MSGID_UPDATE CHILD_SA_DEL IKE_SA_DEL");
    assert_int_equal(p->side[0].events[1].child_del_spi, spi0);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_DEAD);
    assert_int_equal(p->side[0].n_installed + p->side[1].n_installed, 0);
    /* a dead SA arms nothing */
    for (int t = 0; t < IKE_TIMER_COUNT; t++)
        assert_false(p->side[0].timer_armed[t] || p->side[1].timer_armed[t]);
    pair_free(p);
}

/* Work still waiting in the queue is dropped: the Delete goes next. */
static void test_delete_ike_cancels_waiting(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    struct ike_diag d = {0};
    struct ike_sa *sa = p->side[0].sa;
    assert_int_equal(ike_sa_dpd(sa, &d), IKE_OK);                          /* running */
    assert_int_equal(ike_sa_delete_child(sa, child_in(p, 0), &d), IKE_OK); /* waiting */
    assert_int_equal(sa->queue.n, 2);
    assert_int_equal(ike_sa_delete(sa, &d), IKE_OK);
    assert_int_equal(sa->queue.n, 2); /* DPD (running), IKE_DELETE */
    assert_int_equal(sa->queue.tasks[1].kind, IKE_TASK_IKE_DELETE);
    assert_int_equal(pair_run(p), 4);
    assert_string_equal(pair_events(&p->side[1]),
                        "MSGID_UPDATE MSGID_UPDATE CHILD_SA_DEL IKE_SA_DEL");
    assert_int_equal(ike_sa_state(sa), IKE_SA_STATE_DEAD);
    pair_free(p);
}

static void test_delete_ike_responder(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_delete(p->side[1].sa, &d), IKE_OK);
    assert_int_equal(pair_run(p), 2);
    assert_string_equal(pair_events(&p->side[0]), "MSGID_UPDATE CHILD_SA_DEL IKE_SA_DEL");
    assert_string_equal(pair_events(&p->side[1]), "MSGID_UPDATE CHILD_SA_DEL IKE_SA_DEL");
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_DEAD);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_DEAD);
    pair_free(p);
}

/* The answer to our IKE Delete is lost: the peer is gone, so our
 * retransmissions give up and the SA dies with its events all the same. */
static void test_delete_ike_answer_lost(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_delete(p->side[0].sa, &d), IKE_OK);
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    pair_drop(p, 0);
    pair_advance(p, 600000);
    assert_int_equal(ike_sa_stats(p->side[0].sa)->retransmits_sent, IKE_RETRANSMIT_TRIES);
    size_t n = p->n_queue;
    for (size_t i = 0; i < n; i++) /* the dead responder ignores them */
        assert_int_equal(pair_deliver(p, 0), IKE_E_STATE);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_DEAD);
    assert_string_equal(pair_events(&p->side[0]), "MSGID_UPDATE CHILD_SA_DEL IKE_SA_DEL");
    assert_true(pair_log_has(&p->side[0], "peer declared dead"));
    pair_free(p);
}

/* Deleting before IKE_AUTH completed: nothing to tell the peer, no sync
 * events (a half-open SA was never synced). */
static void test_delete_not_established(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    struct ike_diag d = {0};
    pair_start(p);
    assert_int_equal(ike_sa_delete(p->side[0].sa, &d), IKE_OK);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_DEAD);
    assert_int_equal(p->side[0].n_events, 0);
    assert_int_equal(ike_sa_delete_child(p->side[0].sa, 1, &d), IKE_E_STATE);
    pair_free(p);
}

/* ike_sa_drop: local teardown (INITIAL_CONTACT), nothing sent. */
static void test_drop(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    ike_sa_drop(p->side[1].sa, "test");
    assert_int_equal(p->n_queue, 0);
    assert_string_equal(pair_events(&p->side[1]), "CHILD_SA_DEL IKE_SA_DEL");
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_DEAD);
    assert_int_equal(p->side[1].n_installed, 0);
    ike_sa_drop(p->side[1].sa, "again"); /* no second set of events */
    assert_int_equal(p->side[1].n_events, 2);
    pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delete_child_initiator),
        cmocka_unit_test(test_delete_child_responder),
        cmocka_unit_test(test_delete_child_bad_args),
        cmocka_unit_test(test_delete_child_lost_and_duplicated),
        cmocka_unit_test(test_delete_child_crossed),
        cmocka_unit_test(test_delete_unknown_spi),
        cmocka_unit_test(test_delete_ike_initiator),
        cmocka_unit_test(test_delete_ike_cancels_waiting),
        cmocka_unit_test(test_delete_ike_responder),
        cmocka_unit_test(test_delete_ike_answer_lost),
        cmocka_unit_test(test_delete_not_established),
        cmocka_unit_test(test_drop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
