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

#include "../hasync/fake_cpg.h"

#include <ike/mirror.h>
#include <ike/sa.h>

#include "config/addr_parse.h"
#include "gw_internal.h"
#include "gw_sa.h"
#include "ha/ha.h"

#define PSK "unit-test-psk-not-secret"

/* ---- nodes -------------------------------------------------------------- */

#define HELD_MAX 16
struct held_dgram {
    uint8_t data[2048];
    size_t len;
    struct ike_addr local, remote;
};

struct cl {
    struct dtest_dir dir;
    struct event_base *base;
    struct daemon a, m, s;
    bool a_up, m_up, s_up;
    FILE *log_a, *log_m, *log_s;
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
};

static struct cl *the_cl;

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
    struct cl *c = the_cl;
    if (!c->hold_a) {
        c->a_ike(arg, data, len, local, remote);
        return;
    }
    if (c->n_held < HELD_MAX)
        hold(&c->held[c->n_held++], data, len, local, remote);
}

static void m_ike_hook(void *arg, const uint8_t *data, size_t len, const struct ike_addr *local,
                       const struct ike_addr *remote)
{
    struct cl *c = the_cl;
    if (c->catch_late && !c->have_late) {
        hold(&c->late, data, len, local, remote);
        c->have_late = true;
    }
    c->m_ike(arg, data, len, local, remote);
}

/* A gets what it was held from, first the original then the retransmissions. */
static void replay_a(struct cl *c, size_t n)
{
    c->hold_a = false;
    for (size_t i = 0; i < n && i < c->n_held; i++)
        c->a_ike(&c->a.vdoms[0], c->held[i].data, c->held[i].len, &c->held[i].local,
                 &c->held[i].remote);
}

static void start_node(struct cl *c, struct daemon *d, const char *name, FILE *log, bool *up)
{
    char err[256], path[128], file[32];
    snprintf(file, sizeof(file), "%s.conf", name);
    snprintf(path, sizeof(path), "%s/%s", c->dir.path, file);
    assert_int_equal(
        daemon_init(d, c->base, dtest_load(&c->dir, file), path, log, err, sizeof(err)), 0);
    if (daemon_start(d, err, sizeof(err)) < 0)
        fail_msg("daemon_start: %s", err);
    if (d->cfg->ha.enabled && !d->ha && ha_start(d, err, sizeof(err)) < 0)
        fail_msg("ha_start: %s", err);
    *up = true;
}

static void stop_node(struct daemon *d, bool *up)
{
    if (!*up)
        return;
    ha_stop(d);
    daemon_free(d);
    *up = false;
}

static char *slurp_log(FILE *f)
{
    fflush(f);
    long end = ftell(f);
    char *buf = calloc(1, (size_t)end + 1);
    assert_non_null(buf);
    rewind(f);
    size_t n = fread(buf, 1, (size_t)end, f);
    buf[n] = 0;
    fseek(f, 0, SEEK_END);
    return buf;
}

static long log_pos(FILE *f, const char *needle)
{
    char *buf = slurp_log(f);
    char *at = strstr(buf, needle);
    long r = at ? (long)(at - buf) : -1;
    free(buf);
    return r;
}

#define CONF                                                                                       \
    "global = { control-socket = \"%s/%s.sock\"; secrets-file = \"%s.secrets\";\n"                 \
    "  dataplane = \"record\"; log = { target = \"stderr\"; level = \"debug\"; };\n"               \
    "  ike = { retransmit-timeout-ms = 500; retransmit-tries = 3; }; };\n"                         \
    "gateways = ( { name = \"%s\"; local-gw = \"%s\"; remote-gw = \"%s\";\n"                       \
    "  proposal = \"aes256-sha256-ecp256\"; %s msgid-sync = false; replay-counter-sync = false;\n" \
    "  local-id = \"@%s.test\"; remote-id = \"@%s.test\";\n"                                       \
    "  selectors = ( { name = \"net\"; local-subnet = \"%s\"; remote-subnet = \"%s\";\n"           \
    "    proposal = \"aes256gcm16\"; } ); } );\n%s"

#define HA_CONF                                                                                    \
    "ha = { group = \"haiked-drain-test\"; allow-plaintext-sync = true; seq-jump = 5000;\n"        \
    "  %s vclusters = ( { id = 1; priority = %d; } ); };\n"

static void write_node(struct cl *c, const char *name, const char *gw, const char *local,
                       const char *remote, const char *extra, const char *me, const char *peer,
                       const char *lnet, const char *rnet, int prio, const char *drain)
{
    char file[32], ha[256] = "";
    if (prio)
        snprintf(ha, sizeof(ha), HA_CONF, drain, prio);
    snprintf(file, sizeof(file), "%s.conf", name);
    dtest_write(&c->dir, file, 0644, CONF, c->dir.path, name, name, gw, local, remote, extra, me,
                peer, lnet, rnet, ha);
    snprintf(file, sizeof(file), "%s.secrets", name);
    dtest_write(&c->dir, file, 0600, "secrets = ( { gateway = \"%s\"; psk = \"%s\"; } );\n", gw,
                PSK);
}

static int teardown(void **state)
{
    struct cl *c = *state;
    if (!c)
        return 0;
    if (getenv("HA_TEST_LOGS")) {
        FILE *logs[] = {c->log_a, c->log_m, c->log_s};
        for (size_t i = 0; i < 3; i++) {
            char *b = slurp_log(logs[i]);
            fprintf(stderr, "---- log of %c ----\n%s", "AMS"[i], b);
            free(b);
        }
    }
    stop_node(&c->a, &c->a_up);
    stop_node(&c->m, &c->m_up);
    stop_node(&c->s, &c->s_up);
    fcpg_wire_clear();
    event_base_free(c->base);
    fclose(c->log_a);
    fclose(c->log_m);
    fclose(c->log_s);
    dtest_dir_remove(&c->dir);
    free(c);
    the_cl = NULL;
    return 0;
}

static int setup(void **state)
{
    struct cl *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    dtest_dir_make(&c->dir);
    c->base = event_base_new();
    c->log_a = tmpfile();
    c->log_m = tmpfile();
    c->log_s = tmpfile();
    the_cl = c;
    *state = c;
    return 0;
}

/* ---- the tunnel --------------------------------------------------------- */

static struct gw_sa *live_sa(struct daemon *d, const char *gw_name)
{
    struct gw_sa *gs;
    TAILQ_FOREACH(gs, &gw_find(d, gw_name)->sas, link)
    if (gs->sa && !gs->dying && ike_sa_state(gs->sa) == IKE_SA_STATE_ESTABLISHED)
        return gs;
    return NULL;
}

static size_t n_children(struct gw_sa *gs)
{
    size_t n = 0;
    for (const struct dp_child *ch = gw_child_first(gs); ch; ch = TAILQ_NEXT(ch, sa_link))
        n++;
    return n;
}

static bool has_child_in(struct gw_sa *gs, uint32_t spi_in)
{
    for (const struct dp_child *ch = gw_child_first(gs); ch; ch = TAILQ_NEXT(ch, sa_link))
        if (ch->spi_in == spi_in)
            return true;
    return false;
}

/* Every CHILD SA of x pairs with one of y (x's inbound is y's outbound). */
static bool children_pair(struct gw_sa *x, struct gw_sa *y)
{
    if (n_children(x) != n_children(y))
        return false;
    for (const struct dp_child *a = gw_child_first(x); a; a = TAILQ_NEXT(a, sa_link)) {
        bool found = false;
        for (const struct dp_child *b = gw_child_first(y); b && !found; b = TAILQ_NEXT(b, sa_link))
            found = a->spi_in == b->spi_out && a->spi_out == b->spi_in;
        if (!found)
            return false;
    }
    return true;
}

static bool ready(void *arg)
{
    struct cl *c = arg;
    struct gw_sa *gs = live_sa(&c->s, "gwB");
    return c->m.ha->vcs[0].active && c->s.ha->vcs[0].sync == HA_SYNC_IN_SYNC && gs &&
           ike_sa_is_passive(gs->sa) && n_children(gs) == 1;
}

static bool a_holds_request(void *arg)
{
    struct cl *c = arg;
    return c->n_held > 0;
}

static bool s_active(void *arg)
{
    struct cl *c = arg;
    return c->s.ha->vcs[0].active;
}

static uint32_t drain_timeout_env(uint32_t dflt)
{
    const char *e = getenv("HA_DRAIN_TIMEOUT_MS");
    return e ? (uint32_t)strtoul(e, NULL, 10) : dflt;
}

/* A -> M tunnel up and mirrored on S; then M starts a CHILD rekey that A
 * holds back. Returns M's SA; *old_in: the CHILD SA being rekeyed. */
static struct gw_sa *rekey_held(struct cl *c, uint32_t drain_ms, uint32_t *old_in)
{
    if (dtest_private_netns() < 0)
        skip();
    char drain[64];
    snprintf(drain, sizeof(drain), "drain-timeout-ms = %u;", drain_ms);
    write_node(c, "a", "gwA", "127.0.0.1", "127.0.0.2", "auto-negotiate = true;", "a", "b",
               "10.0.1.0/24", "10.0.2.0/24", 0, "");
    write_node(c, "m", "gwB", "127.0.0.2", "127.0.0.1", "passive = true;", "b", "a", "10.0.2.0/24",
               "10.0.1.0/24", 200, drain);
    write_node(c, "s", "gwB", "127.0.0.3", "127.0.0.1", "passive = true;", "b", "a", "10.0.2.0/24",
               "10.0.1.0/24", 100, drain);
    start_node(c, &c->m, "m", c->log_m, &c->m_up);
    start_node(c, &c->s, "s", c->log_s, &c->s_up);
    start_node(c, &c->a, "a", c->log_a, &c->a_up);
    c->a_ike = c->a.vdoms[0].net.h.ike;
    c->a.vdoms[0].net.h.ike = a_ike_hook;
    c->m_ike = c->m.vdoms[0].net.h.ike;
    c->m.vdoms[0].net.h.ike = m_ike_hook;
    assert_true(dtest_run_until(c->base, ready, c, 5000));

    struct gw_sa *gm = live_sa(&c->m, "gwB");
    assert_non_null(gm);
    *old_in = gw_child_first(gm)->spi_in;
    c->hold_a = true;
    assert_int_equal(ike_sa_child_rekey(gm->sa, *old_in, NULL), IKE_OK);
    assert_true(dtest_run_until(c->base, a_holds_request, c, 2000));
    assert_true(ike_sa_outstanding(gm->sa, NULL, NULL));
    return gm;
}

/* ---- 1. the rekey completes before the handover ------------------------ */

static void test_failover_waits_for_rekey(void **state)
{
    struct cl *c = *state;
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
    assert_true(log_pos(c->log_m, "HA failover of virtual cluster 1: waiting for 1 outstanding "
                                  "exchange(s)") >= 0);
    assert_true(log_pos(c->log_m, "waiting for the answer to our CREATE_CHILD_SA request") >= 0);
    /* nothing new starts meanwhile: a DPD waits */
    assert_int_equal(ike_sa_dpd(gm->sa, NULL), IKE_OK);
    assert_int_equal(ike_sa_stats(gm->sa)->dpd_sent, 0);

    /* A answers (its first copy of the request; the retransmissions are
     * the same message) */
    replay_a(c, 1);
    assert_true(dtest_run_until(c->base, s_active, c, 3000));
    uint64_t took = daemon_now_ms() - t0;

    struct ha_vc *mv = &c->m.ha->vcs[0];
    assert_false(mv->active);
    assert_true(mv->drained_once);
    assert_int_equal(mv->last_drain_left, 0);
    assert_true(mv->last_drain_ms >= 200 && mv->last_drain_ms < timeout);
    long drained = log_pos(c->log_m, "exchanges drained in");
    long release = log_pos(c->log_m, "HA release vcluster 1:");
    assert_true(drained >= 0 && release > drained);
    assert_true(log_pos(c->log_m, "abandoned") < 0);

    /* S took over holding exactly the CHILD SA A uses: the new one, the
     * old one deleted by M (the Delete finished the rekey before the
     * release) */
    dtest_run_for(c->base, 100);
    struct gw_sa *gs = live_sa(&c->s, "gwB"), *ga = live_sa(&c->a, "gwA");
    assert_non_null(gs);
    assert_non_null(ga);
    assert_false(ike_sa_is_passive(gs->sa));
    assert_false(has_child_in(gs, old_in));
    assert_int_equal(n_children(gs), 1);
    assert_true(children_pair(gs, ga));
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
    struct cl *c = arg;
    return c->have_late;
}

static void test_failover_drain_timeout(void **state)
{
    struct cl *c = *state;
    uint32_t old_in, msgid;
    struct gw_sa *gm = rekey_held(c, 600, &old_in);
    assert_true(ike_sa_outstanding(gm->sa, &msgid, NULL));
    uint64_t t0 = daemon_now_ms();
    char err[256];
    assert_int_equal(ha_failover(c->m.ha, 1, err, sizeof(err)), 0);
    assert_true(dtest_run_until(c->base, s_active, c, 3000));
    uint64_t took = daemon_now_ms() - t0;
    assert_true(took >= 600 && took < 1500);

    struct ha_vc *mv = &c->m.ha->vcs[0];
    assert_int_equal(mv->last_drain_left, 1);
    assert_true(mv->last_drain_ms >= 600);
    assert_true(log_pos(c->log_m, "drain timed out after") >= 0);
    char want[128];
    snprintf(want, sizeof(want), "our CREATE_CHILD_SA request %u abandoned unanswered", msgid);
    assert_true(log_pos(c->log_m, want) >= 0);

    /* consistent: M passive and silent, S active from the same message IDs
     * with the CHILD SA it had */
    assert_true(ike_sa_is_passive(gm->sa));
    assert_false(ike_sa_outstanding(gm->sa, NULL, NULL));
    uint64_t rtx = ike_sa_stats(gm->sa)->retransmits_sent;
    struct gw_sa *gs = live_sa(&c->s, "gwB");
    assert_non_null(gs);
    assert_false(ike_sa_is_passive(gs->sa));
    assert_int_equal(gs->msgid_send_next, msgid + 1);
    assert_int_equal(n_children(gs), 1);
    assert_true(has_child_in(gs, old_in));

    /* A wakes up and answers the abandoned request: the answer reaches the
     * new master (the VIP moved), which has no request for it: dropped */
    c->catch_late = true;
    replay_a(c, 1);
    assert_true(dtest_run_until(c->base, m_got_late, c, 2000));
    const uint8_t *h = c->late.data;
    assert_int_equal(h[18], 36);          /* CREATE_CHILD_SA */
    assert_int_equal(h[19] & 0x20, 0x20); /* a response */
    assert_int_equal(((uint32_t)h[20] << 24 | (uint32_t)h[21] << 16 | (uint32_t)h[22] << 8 | h[23]),
                     msgid);
    const struct ike_sa_stats *st = ike_sa_stats(gs->sa);
    uint64_t drops0 = st->dropped_msgid;
    daemon_ike_input(&c->s.vdoms[0], c->late.data, c->late.len, &c->late.local, &c->late.remote);
    assert_int_equal(st->dropped_msgid, drops0 + 1);
    assert_int_equal(ike_sa_state(gs->sa), IKE_SA_STATE_ESTABLISHED);
    assert_false(ike_sa_outstanding(gs->sa, NULL, NULL));
    assert_int_equal(n_children(gs), 1);

    /* ... and A now expects exactly the message ID S sends next (and S
     * the one A sends next): the next exchange lines up */
    struct gw_sa *ga = live_sa(&c->a, "gwA");
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
    struct cl *c = arg;
    return !c->m.ha->vcs[0].draining;
}

static bool m_rekeyed_and_probed(void *arg)
{
    struct cl *c = arg;
    struct gw_sa *gm = live_sa(&c->m, "gwB");
    return gm && !ike_sa_outstanding(gm->sa, NULL, NULL) && ike_sa_stats(gm->sa)->dpd_sent == 1;
}

static void test_drain_called_off(void **state)
{
    struct cl *c = *state;
    uint32_t old_in;
    struct gw_sa *gm = rekey_held(c, 2000, &old_in);
    char err[256];
    assert_int_equal(ha_failover(c->m.ha, 1, err, sizeof(err)), 0);
    dtest_run_for(c->base, 100);
    assert_true(c->m.ha->vcs[0].draining);
    assert_int_equal(ike_sa_dpd(gm->sa, NULL), IKE_OK); /* held */
    assert_int_equal(ike_sa_stats(gm->sa)->dpd_sent, 0);

    /* S goes away mid-drain: M never stopped being master and resumes */
    stop_node(&c->s, &c->s_up);
    assert_true(dtest_run_until(c->base, m_resumed, c, 3000));
    assert_true(c->m.ha->vcs[0].active);
    assert_int_equal(c->m.ha->vcs[0].role, HASYNC_ROLE_MASTER);
    assert_false(ike_sa_is_draining(gm->sa));
    assert_true(log_pos(c->log_m, "drain ended, the handover is off, staying master") >= 0);
    assert_true(log_pos(c->log_m, "HA release vcluster 1") < 0);
    /* A answers: the rekey completes, then the held DPD starts */
    replay_a(c, 1);
    assert_true(dtest_run_until(c->base, m_rekeyed_and_probed, c, 3000));
    struct gw_sa *ga = live_sa(&c->a, "gwA");
    assert_non_null(ga);
    assert_true(children_pair(gm, ga));
    assert_false(has_child_in(gm, old_in));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failover_waits_for_rekey, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_drain_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_called_off, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
