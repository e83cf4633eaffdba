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
 * HA_RESPCACHE_OFF=1 runs them with M not mirroring its responses (as
 * before): they fail, S drops A's retransmissions (dropped_msgid).
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

struct cl {
    struct dtest_dir dir;
    struct event_base *base;
    struct daemon a, m, s;
    bool a_up, m_up, s_up;
    FILE *log_a, *log_m, *log_s;
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
};

static struct cl *the_cl;

static void a_ike_hook(void *arg, const uint8_t *data, size_t len, const struct ike_addr *local,
                       const struct ike_addr *remote)
{
    struct cl *c = the_cl;
    if (c->drop_a) {
        assert_true(len <= sizeof(c->lost));
        memcpy(c->lost, data, len);
        c->lost_len = len;
        c->drop_a = false;
        return;
    }
    if (c->catch_a && !c->got_len) {
        assert_true(len <= sizeof(c->got));
        memcpy(c->got, data, len);
        c->got_len = len;
    }
    c->a_ike(arg, data, len, local, remote);
}

static bool respcache_off(void)
{
    const char *e = getenv("HA_RESPCACHE_OFF");
    return e && *e == '1';
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
    if (d->ha && respcache_off())
        d->ike_ctx.response_events = false; /* the old behaviour */
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
    "  ike = { retransmit-timeout-ms = 400; retransmit-tries = 4; }; };\n"                         \
    "gateways = ( { name = \"%s\"; local-gw = \"%s\"; remote-gw = \"%s\";\n"                       \
    "  proposal = \"aes256-sha256-ecp256\"; %s msgid-sync = false; replay-counter-sync = false;\n" \
    "  local-id = \"@%s.test\"; remote-id = \"@%s.test\";\n"                                       \
    "  selectors = ( { name = \"net\"; local-subnet = \"%s\"; remote-subnet = \"%s\";\n"           \
    "    proposal = \"aes256gcm16\"; } ); } );\n%s"

#define HA_CONF                                                                                    \
    "ha = { group = \"haiked-respcache-test\"; allow-plaintext-sync = true; seq-jump = 5000;\n"    \
    "  vclusters = ( { id = 1; priority = %d; } ); };\n"

static void write_node(struct cl *c, const char *name, const char *gw, const char *local,
                       const char *remote, const char *extra, const char *me, const char *peer,
                       const char *lnet, const char *rnet, int prio)
{
    char file[32], ha[256] = "";
    if (prio)
        snprintf(ha, sizeof(ha), HA_CONF, prio);
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

static size_t n_live(struct daemon *d, const char *gw_name)
{
    size_t n = 0;
    struct gw_sa *gs;
    TAILQ_FOREACH(gs, &gw_find(d, gw_name)->sas, link)
    n += gs->sa && !gs->dying;
    return n;
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

static bool mirrored(void *arg)
{
    struct cl *c = arg;
    struct gw_sa *gs = live_sa(&c->s, "gwB");
    return c->m.ha->vcs[0].active && c->s.ha->vcs[0].sync == HA_SYNC_IN_SYNC && gs &&
           ike_sa_is_passive(gs->sa) && n_children(gs) == 1;
}

/* S in sync with a copy (after M answered a rekey it holds both CHILD SAs) */
static bool s_in_sync(void *arg)
{
    struct cl *c = arg;
    struct gw_sa *gs = live_sa(&c->s, "gwB");
    return c->s.ha->vcs[0].sync == HA_SYNC_IN_SYNC && gs && ike_sa_is_passive(gs->sa);
}

static bool m_alone(void *arg)
{
    struct cl *c = arg;
    struct gw_sa *gs = live_sa(&c->m, "gwB");
    return c->m.ha->vcs[0].active && gs && n_children(gs) == 1;
}

static bool lost_one(void *arg)
{
    struct cl *c = arg;
    return !c->drop_a;
}

static bool s_active(void *arg)
{
    struct cl *c = arg;
    return c->s.ha->vcs[0].active;
}

/* S's copy holds the response to request msgid. */
struct want_resp {
    struct cl *c;
    uint32_t msgid;
};

static bool s_has_response(void *arg)
{
    struct want_resp *w = arg;
    struct gw_sa *gs = live_sa(&w->c->s, "gwB");
    struct ike_ev_response r;
    return gs && ike_sa_last_response(gs->sa, &r) && r.message_id == w->msgid;
}

static bool a_done(void *arg)
{
    struct cl *c = arg;
    struct gw_sa *ga = live_sa(&c->a, "gwA");
    return ga && !ike_sa_outstanding(ga->sa, NULL, NULL) && c->got_len > 0;
}

static void start_a(struct cl *c)
{
    start_node(c, &c->a, "a", c->log_a, &c->a_up);
    c->a_ike = c->a.vdoms[0].net.h.ike;
    c->a.vdoms[0].net.h.ike = a_ike_hook;
}

static void write_nodes(struct cl *c)
{
    if (dtest_private_netns() < 0)
        skip();
    write_node(c, "a", "gwA", "127.0.0.1", "127.0.0.2", "auto-negotiate = true;", "a", "b",
               "10.0.1.0/24", "10.0.2.0/24", 0);
    write_node(c, "m", "gwB", "127.0.0.2", "127.0.0.1", "passive = true;", "b", "a", "10.0.2.0/24",
               "10.0.1.0/24", 200);
    write_node(c, "s", "gwB", "127.0.0.3", "127.0.0.1", "passive = true;", "b", "a", "10.0.2.0/24",
               "10.0.1.0/24", 100);
}

enum kind { CHILD_REKEY, DPD };

/* A starts its exchange; M's answer is lost. Returns the request's ID. */
static uint32_t lose_answer(struct cl *c, enum kind kind, uint32_t *old_in)
{
    struct gw_sa *ga = live_sa(&c->a, "gwA");
    assert_non_null(ga);
    *old_in = gw_child_first(ga)->spi_in;
    c->drop_a = true;
    if (kind == CHILD_REKEY)
        assert_int_equal(ike_sa_child_rekey(ga->sa, *old_in, NULL), IKE_OK);
    else
        assert_int_equal(ike_sa_dpd(ga->sa, NULL), IKE_OK);
    uint32_t msgid = 0;
    assert_true(ike_sa_outstanding(ga->sa, &msgid, NULL));
    assert_true(dtest_run_until(c->base, lost_one, c, 2000));
    /* the lost datagram is M's response to it */
    const uint8_t *h = c->lost;
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
static void takeover_answers(struct cl *c, enum kind kind, uint32_t msgid, uint32_t old_in)
{
    struct gw_sa *ga = live_sa(&c->a, "gwA");
    uint32_t a_serial = ga->serial;
    uint64_t a_ike_sas = c->a.ctr.ike_sa_created;
    stop_node(&c->m, &c->m_up);
    assert_true(dtest_run_until(c->base, s_active, c, 3000));
    struct ike_addr vip;
    char err[160];
    assert_int_equal(cfg_addr_parse("127.0.0.2", &vip, err, sizeof(err)), 0);
    vip.port = 500;
    if (net_listen(&c->s.vdoms[0].net, &vip, err, sizeof(err)) < 0)
        fail_msg("net_listen: %s", err);

    struct gw_sa *gs = live_sa(&c->s, "gwB");
    assert_non_null(gs);
    assert_false(ike_sa_is_passive(gs->sa));
    const struct ike_sa_stats *st = ike_sa_stats(gs->sa);
    c->catch_a = true;
    c->got_len = 0;
    bool done = dtest_run_until(c->base, a_done, c, 6000);
    if (!done)
        fail_msg("A's %s request %u unanswered after the takeover: S resent %" PRIu64
                 " response(s), dropped %" PRIu64 " by message ID",
                 kind == CHILD_REKEY ? "CHILD rekey" : "DPD", msgid, st->responses_resent,
                 st->dropped_msgid);
    /* byte for byte M's answer, from S */
    assert_int_equal(st->responses_resent, 1);
    assert_int_equal(c->got_len, c->lost_len);
    assert_memory_equal(c->got, c->lost, c->lost_len);
    assert_true(log_pos(c->log_s, "retransmitted by peer: resending response") >= 0);

    /* the same IKE SA on A, none negotiated meanwhile */
    dtest_run_for(c->base, 300);
    ga = live_sa(&c->a, "gwA");
    assert_non_null(ga);
    assert_int_equal(ga->serial, a_serial);
    assert_int_equal(n_live(&c->a, "gwA"), 1);
    assert_int_equal(c->a.ctr.ike_sa_created, a_ike_sas);
    assert_int_equal(ike_sa_state(gs->sa), IKE_SA_STATE_ESTABLISHED);
    if (kind == CHILD_REKEY) {
        /* A moved to the new CHILD SA, S holds it, the old one is gone
         * (A's Delete after the rekey, answered by S) */
        assert_false(has_child_in(ga, old_in));
        assert_int_equal(n_children(gs), 1);
        assert_true(children_pair(gs, ga));
    } else {
        assert_true(has_child_in(ga, old_in));
        assert_true(children_pair(gs, ga));
    }
    assert_int_equal(ga->msgid_send_next, gs->msgid_recv_next);
}

static void run_live(struct cl *c, enum kind kind)
{
    write_nodes(c);
    start_node(c, &c->m, "m", c->log_m, &c->m_up);
    start_node(c, &c->s, "s", c->log_s, &c->s_up);
    start_a(c);
    assert_true(dtest_run_until(c->base, mirrored, c, 5000));
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
    struct cl *c = *state;
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
    assert_true(log_pos(c->log_s, "HA bulk sync of virtual cluster 1 complete") >= 0);
    takeover_answers(c, CHILD_REKEY, msgid, old_in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_child_rekey_answer_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dpd_answer_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_carries_response, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
