/*
 * The responder cache is mirrored (daemon/ha/ha_stream.c IkeResponse,
 * <ike/mirror.h> ike_sa_mirror_response), end to end in one process: the
 * peer A (127.0.0.1) initiates to M (127.0.0.2, master of vcluster 1); S
 * (127.0.0.3) is its standby. M and S run the real election and hasync
 * channel over the in-process CPG bus (../hasync/fake_cpg.h, votequorum:
 * fake_votequorum.c); A and M talk over real UDP in a private network
 * namespace. When M dies, S listens on 127.0.0.2 too (the VIP moved).
 *
 * A starts an exchange (CHILD rekey, DPD); M answers, the answer is lost
 * on its way to A, M dies. A retransmits its request to the new master S,
 * which answers it with M's response (byte for byte): the exchange
 * completes on the same IKE SA, no new one is negotiated.
 *  1. CHILD rekey, S in sync through the live stream;
 *  2. DPD (INFORMATIONAL);
 *  3. CHILD rekey answered while M had no standby; S joins afterwards and
 *     gets the response with the SA in its bulk-sync snapshot.
 *
 * HA_RESPCACHE_OFF=1 runs them with M not streaming its responses (as
 * before): 1 and 2 fail, S drops A's retransmissions (dropped_msgid). It
 * leaves the snapshot's copy of the response alone, so 3 still passes; 3
 * fails when the snapshot carries none.
 */
#include <inttypes.h>

#include "dtest_util.h"
#include "fake_votequorum.h"
#include "ha_test_util.h"

#include <ike/mirror.h>

#include "config/addr_parse.h"

/* A's IKE input hook's state (reset by setup). */
static struct {
    /* A's IKE input: while drop_a, the next datagram is dropped (lost) */
    void (*a_ike)(void *, const uint8_t *, size_t, const struct ike_addr *,
                  const struct ike_addr *);
    bool drop_a;
    uint8_t lost[2048];
    size_t lost_len;
    /* what S answered A after the takeover: the first datagram A got then */
    bool catch_a;
    uint8_t got[2048];
    size_t got_len;
} hk;

static void a_ike_hook(void *arg, const uint8_t *data, size_t len, const struct ike_addr *local,
                       const struct ike_addr *remote)
{
    if (hk.drop_a) {
        assert_true(len <= sizeof(hk.lost));
        memcpy(hk.lost, data, len);
        hk.lost_len = len;
        hk.drop_a = false;
        return;
    }
    if (hk.catch_a && !hk.got_len) {
        assert_true(len <= sizeof(hk.got));
        memcpy(hk.got, data, len);
        hk.got_len = len;
    }
    hk.a_ike(arg, data, len, local, remote);
}

static bool respcache_off(void)
{
    const char *e = getenv("HA_RESPCACHE_OFF");
    return e && *e == '1';
}

static void start_node(struct hat *c, struct daemon *d, const char *name, FILE *log, bool *up)
{
    hat_start(c, d, name, log, up);
    if (d->ha && respcache_off())
        d->ike_ctx.response_events = false; /* the old behaviour */
}

static int setup(void **state)
{
    memset(&hk, 0, sizeof(hk));
    *state = hat_new();
    return 0;
}

/* ---- the tunnel --------------------------------------------------------- */

static size_t n_live(struct daemon *d, const char *gw_name)
{
    size_t n = 0;
    struct gw_sa *gs;
    TAILQ_FOREACH(gs, &gw_find(d, gw_name)->sas, link)
    n += gs->sa && !gs->dying;
    return n;
}

/* S in sync with a copy (after M answered a rekey it holds both CHILD SAs) */
static bool s_in_sync(void *arg)
{
    struct hat *c = arg;
    struct gw_sa *gs = hat_live_sa(&c->s, "gwB");
    return c->s.ha->vcs[0].sync == HA_SYNC_IN_SYNC && gs && ike_sa_is_passive(gs->sa);
}

static bool m_alone(void *arg)
{
    struct hat *c = arg;
    struct gw_sa *gs = hat_live_sa(&c->m, "gwB");
    return c->m.ha->vcs[0].active && gs && hat_n_children(gs) == 1;
}

static bool lost_one(void *arg)
{
    (void)arg;
    return !hk.drop_a;
}

/* S's copy holds the response to request msgid. */
struct want_resp {
    struct hat *c;
    uint32_t msgid;
};

static bool s_has_response(void *arg)
{
    struct want_resp *w = arg;
    struct gw_sa *gs = hat_live_sa(&w->c->s, "gwB");
    struct ike_ev_response r;
    return gs && ike_sa_last_response(gs->sa, &r) && r.message_id == w->msgid;
}

static bool a_done(void *arg)
{
    struct hat *c = arg;
    struct gw_sa *ga = hat_live_sa(&c->a, "gwA");
    return ga && !ike_sa_outstanding(ga->sa, NULL, NULL) && hk.got_len > 0;
}

static void start_a(struct hat *c)
{
    start_node(c, &c->a, "a", c->log_a, &c->a_up);
    hk.a_ike = c->a.vdoms[0].net.h.ike;
    c->a.vdoms[0].net.h.ike = a_ike_hook;
}

static void write_nodes(struct hat *c)
{
    if (dtest_private_netns() < 0)
        skip();
    const struct hat_conf cf = {
        .ike = "retransmit-timeout-ms = 400; retransmit-tries = 4;",
        .gw = "msgid-sync = false; replay-counter-sync = false;",
        .group = "haiked-respcache-test",
        .ha = "seq-jump = 5000;",
    };
    hat_write_nodes(c, &cf);
}

enum kind { CHILD_REKEY, DPD };

/* A starts its exchange; M's answer is lost. Returns the request's ID. */
static uint32_t lose_answer(struct hat *c, enum kind kind, uint32_t *old_in)
{
    struct gw_sa *ga = hat_live_sa(&c->a, "gwA");
    assert_non_null(ga);
    *old_in = gw_child_first(ga)->spi_in;
    hk.drop_a = true;
    if (kind == CHILD_REKEY)
        assert_int_equal(ike_sa_child_rekey(ga->sa, *old_in, NULL), IKE_OK);
    else
        assert_int_equal(ike_sa_dpd(ga->sa, NULL), IKE_OK);
    uint32_t msgid = 0;
    assert_true(ike_sa_outstanding(ga->sa, &msgid, NULL));
    assert_true(dtest_run_until(c->base, lost_one, c, 2000));
    /* the lost datagram is M's response to it */
    const uint8_t *h = hk.lost;
    assert_int_equal(h[18], kind == CHILD_REKEY ? 36 : 37);
    assert_int_equal(h[19] & 0x20, 0x20);
    assert_int_equal(((uint32_t)h[20] << 24 | (uint32_t)h[21] << 16 | (uint32_t)h[22] << 8 | h[23]),
                     msgid);
    assert_true(ike_sa_outstanding(ga->sa, NULL, NULL));
    return msgid;
}

/* M dies; S takes over and gets 127.0.0.2 (the VIP); A's retransmission
 * reaches S, which answers with M's lost response, and the exchange ends
 * on the IKE SA A had. */
static void takeover_answers(struct hat *c, enum kind kind, uint32_t msgid, uint32_t old_in)
{
    struct gw_sa *ga = hat_live_sa(&c->a, "gwA");
    uint32_t a_serial = ga->serial;
    uint64_t a_ike_sas = c->a.ctr.ike_sa_created;
    hat_stop(&c->m, &c->m_up);
    assert_true(dtest_run_until(c->base, hat_s_active, c, 3000));
    struct ike_addr vip;
    char err[160];
    assert_int_equal(cfg_addr_parse("127.0.0.2", &vip, err, sizeof(err)), 0);
    vip.port = 500;
    if (net_listen(&c->s.vdoms[0].net, &vip, err, sizeof(err)) < 0)
        fail_msg("net_listen: %s", err);

    struct gw_sa *gs = hat_live_sa(&c->s, "gwB");
    assert_non_null(gs);
    assert_false(ike_sa_is_passive(gs->sa));
    const struct ike_sa_stats *st = ike_sa_stats(gs->sa);
    hk.catch_a = true;
    hk.got_len = 0;
    bool done = dtest_run_until(c->base, a_done, c, 6000);
    if (!done)
        fail_msg("A's %s request %u unanswered after the takeover: S resent %" PRIu64
                 " response(s), dropped %" PRIu64 " by message ID",
                 kind == CHILD_REKEY ? "CHILD rekey" : "DPD", msgid, st->responses_resent,
                 st->dropped_msgid);
    /* byte for byte M's answer, from S */
    assert_int_equal(st->responses_resent, 1);
    assert_int_equal(hk.got_len, hk.lost_len);
    assert_memory_equal(hk.got, hk.lost, hk.lost_len);
    assert_true(hat_log_pos(c->log_s, "retransmitted by peer: resending response") >= 0);

    /* the same IKE SA on A, none negotiated meanwhile */
    dtest_run_for(c->base, 300);
    ga = hat_live_sa(&c->a, "gwA");
    assert_non_null(ga);
    assert_int_equal(ga->serial, a_serial);
    assert_int_equal(n_live(&c->a, "gwA"), 1);
    assert_int_equal(c->a.ctr.ike_sa_created, a_ike_sas);
    assert_int_equal(ike_sa_state(gs->sa), IKE_SA_STATE_ESTABLISHED);
    if (kind == CHILD_REKEY) {
        /* A moved to the new CHILD SA, S holds it, the old one is gone
         * (A's Delete after the rekey, answered by S) */
        assert_false(hat_has_child_in(ga, old_in));
        assert_int_equal(hat_n_children(gs), 1);
        assert_true(hat_children_pair(gs, ga));
    } else {
        assert_true(hat_has_child_in(ga, old_in));
        assert_true(hat_children_pair(gs, ga));
    }
    assert_int_equal(ga->msgid_send_next, gs->msgid_recv_next);
}

static void run_live(struct hat *c, enum kind kind)
{
    write_nodes(c);
    start_node(c, &c->m, "m", c->log_m, &c->m_up);
    start_node(c, &c->s, "s", c->log_s, &c->s_up);
    start_a(c);
    assert_true(dtest_run_until(c->base, hat_mirrored_one, c, 5000));
    uint32_t old_in;
    uint32_t msgid = lose_answer(c, kind, &old_in);
    if (!respcache_off()) {
        /* the response left M only after S had it (write-ahead) */
        struct want_resp w = {c, msgid};
        assert_true(s_has_response(&w));
        assert_true(c->m.ha->stats.sent[HASYNC__ENVELOPE__BODY_IKE_RESPONSE] >= 2);
        assert_int_equal(c->s.ha->stats.dropped[HASYNC__ENVELOPE__BODY_IKE_RESPONSE], 0);
    }
    takeover_answers(c, kind, msgid, old_in);
}

static void test_child_rekey_answer_lost(void **state)
{
    run_live(*state, CHILD_REKEY);
}

static void test_dpd_answer_lost(void **state)
{
    run_live(*state, DPD);
}

/* M answered alone; S joins later and gets the response in the snapshot. */
static void test_snapshot_carries_response(void **state)
{
    struct hat *c = *state;
    write_nodes(c);
    start_node(c, &c->m, "m", c->log_m, &c->m_up);
    start_a(c);
    assert_true(dtest_run_until(c->base, m_alone, c, 5000));
    uint32_t old_in;
    uint32_t msgid = lose_answer(c, CHILD_REKEY, &old_in);
    start_node(c, &c->s, "s", c->log_s, &c->s_up);
    struct want_resp w = {c, msgid};
    assert_true(dtest_run_until(c->base, s_in_sync, c, 3000));
    if (!respcache_off())
        assert_true(dtest_run_until(c->base, s_has_response, &w, 1000));
    assert_true(hat_log_pos(c->log_s, "HA bulk sync of virtual cluster 1 complete") >= 0);
    takeover_answers(c, CHILD_REKEY, msgid, old_in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_child_rekey_answer_lost, setup, hat_teardown),
        cmocka_unit_test_setup_teardown(test_dpd_answer_lost, setup, hat_teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_carries_response, setup, hat_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
