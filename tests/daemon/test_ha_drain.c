/*
 * Graceful handover drains the old master's exchanges (daemon/ha/ha_drain.c),
 * end to end in one process: the peer A (127.0.0.1) initiates to M
 * (127.0.0.2, master of vcluster 1); S (127.0.0.3) is its standby. M and S
 * run the real election and hasync channel over the in-process CPG bus
 * (../hasync/fake_cpg.h, votequorum: fake_votequorum.c); A and M talk over
 * real UDP in a private network namespace. A's IKE input can be held back
 * (the peer is slow) and replayed later.
 *
 * 1. `hactl failover` while M's CHILD rekey request is unanswered: M waits,
 *    A answers late, the rekey (and the Delete of the old CHILD SA) completes
 *    on M before the release, and S takes over holding exactly A's CHILD SA.
 * 2. A never answers: M hands over after drain-timeout-ms; S continues from
 *    the synced message IDs, drops the late answer without harm, and the
 *    message IDs S and A expect line up.
 * 3. S leaves mid-drain: M stays master, resumes (the held DPD starts) and
 *    finishes the rekey itself.
 *
 * HA_DRAIN_TIMEOUT_MS=0 runs test 1 with the drain off (release at once, as
 * before ha_drain.c): it fails, S lacks the CHILD SA A uses.
 */
#include <inttypes.h>

#include "dtest_util.h"
#include "fake_votequorum.h"
#include "ha_test_util.h"

#include <ike/mirror.h>

#include "config/addr_parse.h"

/* ---- nodes -------------------------------------------------------------- */

#define HELD_MAX 16
struct held_dgram {
    uint8_t data[2048];
    size_t len;
    struct ike_addr local, remote;
};

/* The IKE input hooks' state (reset by setup). */
static struct {
    /* A's IKE input, held while hold_a */
    void (*a_ike)(void *, const uint8_t *, size_t, const struct ike_addr *,
                  const struct ike_addr *);
    bool hold_a;
    struct held_dgram held[HELD_MAX];
    size_t n_held;
    /* M's IKE input after the handover, kept (the VIP moved: S gets it) */
    void (*m_ike)(void *, const uint8_t *, size_t, const struct ike_addr *,
                  const struct ike_addr *);
    struct held_dgram late;
    bool catch_late, have_late;
} hk;

static void hold(struct held_dgram *h, const uint8_t *data, size_t len,
                 const struct ike_addr *local, const struct ike_addr *remote)
{
    assert_true(len <= sizeof(h->data));
    memcpy(h->data, data, len);
    h->len = len;
    h->local = *local;
    h->remote = *remote;
}

static void a_ike_hook(void *arg, const uint8_t *data, size_t len, const struct ike_addr *local,
                       const struct ike_addr *remote)
{
    if (!hk.hold_a) {
        hk.a_ike(arg, data, len, local, remote);
        return;
    }
    if (hk.n_held < HELD_MAX)
        hold(&hk.held[hk.n_held++], data, len, local, remote);
}

static void m_ike_hook(void *arg, const uint8_t *data, size_t len, const struct ike_addr *local,
                       const struct ike_addr *remote)
{
    if (hk.catch_late && !hk.have_late) {
        hold(&hk.late, data, len, local, remote);
        hk.have_late = true;
    }
    hk.m_ike(arg, data, len, local, remote);
}

/* A gets what it was held from, first the original then the retransmissions. */
static void replay_a(struct hat *c, size_t n)
{
    hk.hold_a = false;
    for (size_t i = 0; i < n && i < hk.n_held; i++)
        hk.a_ike(&c->a.vdoms[0], hk.held[i].data, hk.held[i].len, &hk.held[i].local,
                 &hk.held[i].remote);
}

static int setup(void **state)
{
    memset(&hk, 0, sizeof(hk));
    *state = hat_new();
    return 0;
}

/* ---- the tunnel --------------------------------------------------------- */

static bool a_holds_request(void *arg)
{
    (void)arg;
    return hk.n_held > 0;
}

static uint32_t drain_timeout_env(uint32_t dflt)
{
    const char *e = getenv("HA_DRAIN_TIMEOUT_MS");
    return e ? (uint32_t)strtoul(e, NULL, 10) : dflt;
}

/* A -> M tunnel up and mirrored on S; then M starts a CHILD rekey that A
 * holds back. Returns M's SA; *old_in: the CHILD SA being rekeyed. */
static struct gw_sa *rekey_held(struct hat *c, uint32_t drain_ms, uint32_t *old_in)
{
    if (dtest_private_netns() < 0)
        skip();
    char drain[64];
    snprintf(drain, sizeof(drain), "seq-jump = 5000; drain-timeout-ms = %u;", drain_ms);
    const struct hat_conf cf = {
        .ike = "retransmit-timeout-ms = 500; retransmit-tries = 3;",
        .gw = "msgid-sync = false; replay-counter-sync = false;",
        .group = "haiked-drain-test",
        .ha = drain,
    };
    hat_write_nodes(c, &cf);
    hat_start(c, &c->m, "m", c->log_m, &c->m_up);
    hat_start(c, &c->s, "s", c->log_s, &c->s_up);
    hat_start(c, &c->a, "a", c->log_a, &c->a_up);
    hk.a_ike = c->a.vdoms[0].net.h.ike;
    c->a.vdoms[0].net.h.ike = a_ike_hook;
    hk.m_ike = c->m.vdoms[0].net.h.ike;
    c->m.vdoms[0].net.h.ike = m_ike_hook;
    assert_true(dtest_run_until(c->base, hat_mirrored_one, c, 5000));

    struct gw_sa *gm = hat_live_sa(&c->m, "gwB");
    assert_non_null(gm);
    *old_in = gw_child_first(gm)->spi_in;
    hk.hold_a = true;
    assert_int_equal(ike_sa_child_rekey(gm->sa, *old_in, NULL), IKE_OK);
    assert_true(dtest_run_until(c->base, a_holds_request, c, 2000));
    assert_true(ike_sa_outstanding(gm->sa, NULL, NULL));
    return gm;
}

/* ---- 1. the rekey completes before the handover ------------------------ */

static void test_failover_waits_for_rekey(void **state)
{
    struct hat *c = *state;
    uint32_t old_in;
    uint32_t timeout = drain_timeout_env(2000);
    struct gw_sa *gm = rekey_held(c, timeout, &old_in);
    uint64_t t0 = daemon_now_ms();
    char err[256];
    assert_int_equal(ha_failover(c->m.ha, 1, err, sizeof(err)), 0);

    /* The barrier passes at once; M keeps the vcluster while A is silent. */
    dtest_run_for(c->base, 200);
    assert_true(c->m.ha->vcs[0].active);
    assert_true(c->m.ha->vcs[0].draining);
    assert_false(c->s.ha->vcs[0].active);
    assert_true(hat_log_pos(c->log_m, "HA failover of virtual cluster 1: waiting for 1 outstanding "
                                      "exchange(s)") >= 0);
    assert_true(hat_log_pos(c->log_m, "waiting for the answer to our CREATE_CHILD_SA request") >=
                0);
    /* nothing new starts meanwhile: a DPD waits */
    assert_int_equal(ike_sa_dpd(gm->sa, NULL), IKE_OK);
    assert_int_equal(ike_sa_stats(gm->sa)->dpd_sent, 0);

    /* A answers (its first copy of the request; the retransmissions are
     * the same message) */
    replay_a(c, 1);
    assert_true(dtest_run_until(c->base, hat_s_active, c, 3000));
    uint64_t took = daemon_now_ms() - t0;

    struct ha_vc *mv = &c->m.ha->vcs[0];
    assert_false(mv->active);
    assert_true(mv->drained_once);
    assert_int_equal(mv->last_drain_left, 0);
    assert_true(mv->last_drain_ms >= 200 && mv->last_drain_ms < timeout);
    long drained = hat_log_pos(c->log_m, "exchanges drained in");
    long release = hat_log_pos(c->log_m, "HA release vcluster 1:");
    assert_true(drained >= 0 && release > drained);
    assert_true(hat_log_pos(c->log_m, "abandoned") < 0);

    /* S took over holding exactly the CHILD SA A uses: the new one, the
     * old one deleted by M (the Delete finished the rekey before the
     * release) */
    dtest_run_for(c->base, 100);
    struct gw_sa *gs = hat_live_sa(&c->s, "gwB"), *ga = hat_live_sa(&c->a, "gwA");
    assert_non_null(gs);
    assert_non_null(ga);
    assert_false(ike_sa_is_passive(gs->sa));
    assert_false(hat_has_child_in(gs, old_in));
    assert_int_equal(hat_n_children(gs), 1);
    assert_true(hat_children_pair(gs, ga));
    /* the message IDs S continues from are A's */
    assert_int_equal(gs->msgid_send_next, gm->msgid_send_next);
    fprintf(stderr,
            "[ drain   ] rekey answered after 200 ms: drain %u ms, handover %" PRIu64
            " ms after the request\n",
            mv->last_drain_ms, took);
}

/* ---- 2. a peer that never answers --------------------------------------- */

static bool m_got_late(void *arg)
{
    (void)arg;
    return hk.have_late;
}

static void test_failover_drain_timeout(void **state)
{
    struct hat *c = *state;
    uint32_t old_in, msgid;
    struct gw_sa *gm = rekey_held(c, 600, &old_in);
    assert_true(ike_sa_outstanding(gm->sa, &msgid, NULL));
    uint64_t t0 = daemon_now_ms();
    char err[256];
    assert_int_equal(ha_failover(c->m.ha, 1, err, sizeof(err)), 0);
    assert_true(dtest_run_until(c->base, hat_s_active, c, 3000));
    uint64_t took = daemon_now_ms() - t0;
    assert_true(took >= 600 && took < 1500);

    struct ha_vc *mv = &c->m.ha->vcs[0];
    assert_int_equal(mv->last_drain_left, 1);
    assert_true(mv->last_drain_ms >= 600);
    assert_true(hat_log_pos(c->log_m, "drain timed out after") >= 0);
    char want[128];
    snprintf(want, sizeof(want), "our CREATE_CHILD_SA request %u abandoned unanswered", msgid);
    assert_true(hat_log_pos(c->log_m, want) >= 0);

    /* consistent: M passive and silent, S active from the same message IDs
     * with the CHILD SA it had */
    assert_true(ike_sa_is_passive(gm->sa));
    assert_false(ike_sa_outstanding(gm->sa, NULL, NULL));
    uint64_t rtx = ike_sa_stats(gm->sa)->retransmits_sent;
    struct gw_sa *gs = hat_live_sa(&c->s, "gwB");
    assert_non_null(gs);
    assert_false(ike_sa_is_passive(gs->sa));
    assert_int_equal(gs->msgid_send_next, msgid + 1);
    assert_int_equal(hat_n_children(gs), 1);
    assert_true(hat_has_child_in(gs, old_in));

    /* A wakes up and answers the abandoned request: the answer reaches the
     * new master (the VIP moved), which has no request for it: dropped */
    hk.catch_late = true;
    replay_a(c, 1);
    assert_true(dtest_run_until(c->base, m_got_late, c, 2000));
    const uint8_t *h = hk.late.data;
    assert_int_equal(h[18], 36);          /* CREATE_CHILD_SA */
    assert_int_equal(h[19] & 0x20, 0x20); /* a response */
    assert_int_equal(((uint32_t)h[20] << 24 | (uint32_t)h[21] << 16 | (uint32_t)h[22] << 8 | h[23]),
                     msgid);
    const struct ike_sa_stats *st = ike_sa_stats(gs->sa);
    uint64_t drops0 = st->dropped_msgid;
    daemon_ike_input(&c->s.vdoms[0], hk.late.data, hk.late.len, &hk.late.local, &hk.late.remote);
    assert_int_equal(st->dropped_msgid, drops0 + 1);
    assert_int_equal(ike_sa_state(gs->sa), IKE_SA_STATE_ESTABLISHED);
    assert_false(ike_sa_outstanding(gs->sa, NULL, NULL));
    assert_int_equal(hat_n_children(gs), 1);

    /* ... and A now expects exactly the message ID S sends next (and S
     * the one A sends next): the next exchange lines up */
    struct gw_sa *ga = hat_live_sa(&c->a, "gwA");
    assert_non_null(ga);
    assert_int_equal(ga->msgid_recv_next, gs->msgid_send_next);
    assert_int_equal(ga->msgid_send_next, gs->msgid_recv_next);
    assert_int_equal(ike_sa_stats(gm->sa)->retransmits_sent, rtx);
    fprintf(stderr,
            "[ drain   ] silent peer: handover %" PRIu64 " ms after the request "
            "(drain-timeout-ms 600)\n",
            took);
}

/* ---- 3. the handover is called off -------------------------------------- */

static bool m_resumed(void *arg)
{
    struct hat *c = arg;
    return !c->m.ha->vcs[0].draining;
}

static bool m_rekeyed_and_probed(void *arg)
{
    struct hat *c = arg;
    struct gw_sa *gm = hat_live_sa(&c->m, "gwB");
    return gm && !ike_sa_outstanding(gm->sa, NULL, NULL) && ike_sa_stats(gm->sa)->dpd_sent == 1;
}

static void test_drain_called_off(void **state)
{
    struct hat *c = *state;
    uint32_t old_in;
    struct gw_sa *gm = rekey_held(c, 2000, &old_in);
    char err[256];
    assert_int_equal(ha_failover(c->m.ha, 1, err, sizeof(err)), 0);
    dtest_run_for(c->base, 100);
    assert_true(c->m.ha->vcs[0].draining);
    assert_int_equal(ike_sa_dpd(gm->sa, NULL), IKE_OK); /* held */
    assert_int_equal(ike_sa_stats(gm->sa)->dpd_sent, 0);

    /* S goes away mid-drain: M never stopped being master and resumes */
    hat_stop(&c->s, &c->s_up);
    assert_true(dtest_run_until(c->base, m_resumed, c, 3000));
    assert_true(c->m.ha->vcs[0].active);
    assert_int_equal(c->m.ha->vcs[0].role, HASYNC_ROLE_MASTER);
    assert_false(ike_sa_is_draining(gm->sa));
    assert_true(hat_log_pos(c->log_m, "drain ended, the handover is off, staying master") >= 0);
    assert_true(hat_log_pos(c->log_m, "HA release vcluster 1") < 0);
    /* A answers: the rekey completes, then the held DPD starts */
    replay_a(c, 1);
    assert_true(dtest_run_until(c->base, m_rekeyed_and_probed, c, 3000));
    struct gw_sa *ga = hat_live_sa(&c->a, "gwA");
    assert_non_null(ga);
    assert_true(hat_children_pair(gm, ga));
    assert_false(hat_has_child_in(gm, old_in));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failover_waits_for_rekey, setup, hat_teardown),
        cmocka_unit_test_setup_teardown(test_failover_drain_timeout, setup, hat_teardown),
        cmocka_unit_test_setup_teardown(test_drain_called_off, setup, hat_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
