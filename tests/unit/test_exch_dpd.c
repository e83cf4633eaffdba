/* Dead peer detection over two in-process SAs with the pair's fake clock:
 * on-idle and on-demand probes, traffic that makes a probe unnecessary,
 * the give-up that declares the peer dead (with its sync events), and
 * duplicated answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helper_pair.h"
#include "sa_internal.h"

#define INTERVAL_S  10u
#define INTERVAL_MS (INTERVAL_S * 1000u)

static struct pair *with_dpd(enum ike_dpd_mode mode, uint32_t retries)
{
    struct pair *p = pair_new();
    p->side[0].cfg.dpd = mode;
    p->side[0].cfg.dpd_interval_s = INTERVAL_S;
    p->side[0].cfg.dpd_retries = retries;
    pair_establish(p);
    p->side[0].n_events = p->side[1].n_events = 0;
    return p;
}

static void test_on_idle_probe(void **state)
{
    (void)state;
    struct pair *p = with_dpd(IKE_DPD_ON_IDLE, 0);
    assert_true(p->side[0].timer_armed[IKE_TIMER_DPD]);
    assert_false(p->side[1].timer_armed[IKE_TIMER_DPD]); /* side 1: DPD off */
    pair_advance(p, INTERVAL_MS - 1);
    assert_int_equal(p->n_queue, 0);
    pair_advance(p, 1);
    assert_int_equal(p->n_queue, 1);
    assert_int_equal(ike_sa_stats(p->side[0].sa)->dpd_sent, 1);
    assert_int_equal(pair_run(p), 2);
    assert_string_equal(pair_events(&p->side[0]), "MSGID_UPDATE");
    assert_string_equal(pair_events(&p->side[1]), "MSGID_UPDATE");
    /* the answer counts as life: the next probe is an interval later */
    assert_int_equal(p->side[0].timer_due[IKE_TIMER_DPD], p->now + INTERVAL_MS);
    pair_advance(p, INTERVAL_MS);
    assert_int_equal(p->n_queue, 1);
    assert_int_equal(pair_run(p), 2);
    assert_int_equal(ike_sa_stats(p->side[0].sa)->dpd_sent, 2);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    pair_free(p);
}

/* Inbound traffic (reported by the data plane) or any message from the
 * peer postpones the probe. */
static void test_on_idle_traffic_postpones(void **state)
{
    (void)state;
    struct pair *p = with_dpd(IKE_DPD_ON_IDLE, 0);
    pair_advance(p, INTERVAL_MS / 2);
    ike_sa_note_activity(p->side[0].sa, IKE_ACTIVITY_INBOUND);
    assert_int_equal(ike_sa_last_rx_ms(p->side[0].sa), p->now);
    pair_advance(p, INTERVAL_MS / 2);
    assert_int_equal(p->n_queue, 0); /* silent for only half an interval */
    /* a request from the peer counts too */
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_dpd(p->side[1].sa, &d), IKE_OK);
    assert_int_equal(pair_run(p), 2);
    pair_advance(p, INTERVAL_MS - 1);
    assert_int_equal(p->n_queue, 0);
    pair_advance(p, 1);
    assert_int_equal(p->n_queue, 1);
    assert_int_equal(ike_sa_stats(p->side[0].sa)->dpd_sent, 1);
    pair_free(p);
}

/* No probe is sent while another request is outstanding: its
 * retransmissions already check liveness. */
static void test_no_probe_while_busy(void **state)
{
    (void)state;
    struct pair *p = with_dpd(IKE_DPD_ON_IDLE, 0);
    struct ike_diag d = {0};
    pair_advance(p, INTERVAL_MS - 100);
    assert_int_equal(ike_sa_delete_child(p->side[0].sa, p->side[0].installed[0].spi_in, &d),
                     IKE_OK);
    pair_drop(p, 0);
    pair_advance(p, 200); /* DPD timer fires at INTERVAL_MS */
    assert_int_equal(ike_sa_stats(p->side[0].sa)->dpd_sent, 0);
    assert_null(ike_sa_queue_find(p->side[0].sa, IKE_TASK_DPD, false, 0));
    pair_advance(p, IKE_RETRANSMIT_BASE_MS);
    assert_int_equal(pair_run(p), 2); /* the retransmitted Delete is answered */
    assert_int_equal(p->side[0].n_installed, 0);
    pair_free(p);
}

/* The peer vanished: the probe's retransmissions (dpd_retries of them)
 * give up, the SA dies and the standby hears of every SA removed. */
static void test_peer_dead(void **state)
{
    (void)state;
    struct pair *p = with_dpd(IKE_DPD_ON_IDLE, 2);
    uint32_t spi = p->side[0].installed[0].spi_in;
    pair_advance(p, INTERVAL_MS);
    assert_int_equal(p->n_queue, 1);
    for (int i = 0; i < 40 && ike_sa_state(p->side[0].sa) != IKE_SA_STATE_DEAD; i++) {
        while (p->n_queue)
            pair_drop(p, 0);
        pair_advance(p, 250);
    }
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_DEAD);
    assert_int_equal(ike_sa_stats(p->side[0].sa)->retransmits_sent, 2);
    /* 500 + 1000 + 2000 ms after the probe */
    assert_true(p->now >= INTERVAL_MS + 3500 && p->now < INTERVAL_MS + 3750);
    assert_string_equal(pair_events(&p->side[0]), "MSGID_UPDATE CHILD_SA_DEL IKE_SA_DEL");
    assert_int_equal(p->side[0].events[1].child_del_spi, spi);
    assert_int_equal(p->side[0].n_installed, 0);
    assert_true(pair_log_has(&p->side[0], "giving up on INFORMATIONAL request 2 after 2 "
                                          "retransmissions: peer declared dead"));
    for (int t = 0; t < IKE_TIMER_COUNT; t++)
        assert_false(p->side[0].timer_armed[t]);
    pair_free(p);
}

/* A late probe answer: the first answer arrives after one retransmission,
 * the duplicate answer is dropped as a message-ID duplicate. */
static void test_probe_answer_duplicated(void **state)
{
    (void)state;
    struct pair *p = with_dpd(IKE_DPD_ON_IDLE, 0);
    pair_advance(p, INTERVAL_MS);
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* probe to side 1, answered */
    struct pair_dgram held = p->queue[0];         /* hold the answer back */
    p->n_queue = 0;
    pair_advance(p, IKE_RETRANSMIT_BASE_MS);      /* side 0 retransmits */
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* cached answer again */
    assert_int_equal(ike_sa_stats(p->side[1].sa)->responses_resent, 1);
    p->queue[p->n_queue++] = held;
    assert_int_equal(pair_deliver(p, 0), IKE_OK);      /* first answer */
    assert_int_equal(pair_deliver(p, 0), IKE_E_STATE); /* duplicate */
    assert_int_equal(ike_sa_stats(p->side[0].sa)->dropped_msgid, 1);
    assert_string_equal(pair_events(&p->side[1]), "MSGID_UPDATE");
    assert_false(p->side[0].timer_armed[IKE_TIMER_RETRANSMIT]);
    pair_free(p);
}

/* on-demand: no periodic timer; a probe only when we send traffic and the
 * peer was silent for the interval. */
static void test_on_demand(void **state)
{
    (void)state;
    struct pair *p = with_dpd(IKE_DPD_ON_DEMAND, 0);
    assert_false(p->side[0].timer_armed[IKE_TIMER_DPD]);
    pair_advance(p, INTERVAL_MS / 2);
    ike_sa_note_activity(p->side[0].sa, IKE_ACTIVITY_OUTBOUND);
    assert_int_equal(p->n_queue, 0);
    pair_advance(p, INTERVAL_MS); /* silence alone sends nothing */
    assert_int_equal(p->n_queue, 0);
    ike_sa_note_activity(p->side[0].sa, IKE_ACTIVITY_OUTBOUND);
    assert_int_equal(p->n_queue, 1);
    ike_sa_note_activity(p->side[0].sa, IKE_ACTIVITY_OUTBOUND); /* one probe at a time */
    assert_int_equal(p->n_queue, 1);
    assert_int_equal(pair_run(p), 2);
    ike_sa_note_activity(p->side[0].sa, IKE_ACTIVITY_OUTBOUND); /* just heard from it */
    assert_int_equal(p->n_queue, 0);
    assert_int_equal(ike_sa_stats(p->side[0].sa)->dpd_sent, 1);
    pair_free(p);
}

static void test_dpd_off_and_states(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    struct ike_diag d = {0};
    pair_start(p);
    assert_int_equal(ike_sa_dpd(p->side[0].sa, &d), IKE_E_STATE);
    ike_sa_note_activity(p->side[0].sa, IKE_ACTIVITY_OUTBOUND); /* harmless */
    pair_run(p);
    assert_false(p->side[0].timer_armed[IKE_TIMER_DPD]);
    pair_advance(p, 10u * INTERVAL_MS);
    assert_int_equal(p->n_queue, 0);
    assert_int_equal(ike_sa_dpd(NULL, &d), IKE_E_INVALID_ARG);
    pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_on_idle_probe),
        cmocka_unit_test(test_on_idle_traffic_postpones),
        cmocka_unit_test(test_no_probe_while_busy),
        cmocka_unit_test(test_peer_dead),
        cmocka_unit_test(test_probe_answer_duplicated),
        cmocka_unit_test(test_on_demand),
        cmocka_unit_test(test_dpd_off_and_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
