/*
 * Election, the active/passive invariant and takeover, end to end in one
 * process: two (or three) daemons on one event_base, the HA nodes joined by
 * the real hasync channel over the in-process CPG bus (../hasync/
 * fake_cpg.h), votequorum replaced by fake_votequorum.c, IKE between the
 * peer A and the master over real UDP in a private network namespace, the
 * "record" data plane.
 *
 * 1. Two vclusters with opposite priorities: node M masters vcluster 1
 *    (VDOMs root, v1), node S vcluster 2 (v2); ha_gateway_active() follows
 *    the vcluster owning the gateway's VDOM and nothing else (issue 6's
 *    invariant), RoleAnnounce carries the names; `hactl failover` moves a
 *    vcluster after a sync barrier, and refuses without an eligible peer.
 * 2. No quorum, no master (and no initiation).
 * 3. Takeover of mirrored SAs when the master goes: outbound ESP sequence
 *    numbers jumped by seq-jump, then RFC 6311 message-ID sync (with the
 *    synced IDs + msgid-jump and seq-jump as replay delta), then activate,
 *    in that order; without RFC 6311 it continues from the synced IDs; a
 *    standby ignores peer messages on its passive SAs ("ignoring message on
 *    HA synced IKE_SA") and refuses IKE_SA_INIT.
 * 4. 100 IKE SAs (HA_TEST_MANY=N for more) all taken over in one go; the
 *    time it took is printed.
 */
#include "dtest_util.h"
#include "fake_votequorum.h"
#include "ha_test_util.h"

#include <corosync/votequorum.h>

#include <ike/mirror.h>
#include <ike/sa.h>

#include "config/addr_parse.h"
#include "ha/ha_role.h"

/* What votequorum reports unless a test says otherwise (reset by teardown). */
#define VQ_DEFAULT_FLAGS                                                                           \
    (VOTEQUORUM_INFO_QUORATE | VOTEQUORUM_INFO_TWONODE | VOTEQUORUM_INFO_WAIT_FOR_ALL)

/* ---- nodes ------------------------------------------------------------------ */

static int teardown(void **state)
{
    fvq_flags = VQ_DEFAULT_FLAGS;
    return hat_teardown(state);
}

/* ---- 1. two vclusters, opposite roles ------------------------------------- */

#define VC_CONF                                                                                    \
    "global = { control-socket = \"%s/%s.sock\"; dataplane = \"record\";\n"                        \
    "  log = { target = \"stderr\"; level = \"debug\"; }; };\n"                                    \
    "vdoms = ( { name = \"v1\"; }, { name = \"v2\"; } );\n"                                        \
    "ha = { group = \"haiked-role-test\"; allow-plaintext-sync = true;\n"                          \
    "  vclusters = ( { id = 1; priority = %d; vdoms = [\"root\", \"v1\"]; },\n"                    \
    "                { id = 2; priority = %d; vdoms = \"v2\"; } ); };\n"

static int setup_two_vc(void **state)
{
    struct hat *c = hat_new();
    dtest_write(&c->dir, "m.conf", 0644, VC_CONF, c->dir.path, "m", 200, 100);
    dtest_write(&c->dir, "s.conf", 0644, VC_CONF, c->dir.path, "s", 100, 200);
    *state = c;
    return 0;
}

/* A gateway of VDOM index vdom, for the invariant (only .vdom matters). */
static bool active_in(struct daemon *d, unsigned vdom)
{
    struct gateway gw = {.vdom = vdom};
    return ha_gateway_active(d, &gw);
}

static bool split_elected(void *arg)
{
    struct hat *c = arg;
    struct ha *m = c->m.ha, *s = c->s.ha;
    return m->vcs[0].active && !m->vcs[1].active && s->vcs[1].active && !s->vcs[0].active &&
           m->vcs[1].role == HASYNC_ROLE_STANDBY && s->vcs[0].role == HASYNC_ROLE_STANDBY;
}

/* M's view of S's announcement for vcluster 1: standby (eligible). */
static bool m_sees_s_standby(void *arg)
{
    struct hat *c = arg;
    const struct ha_peer *p = &c->m.ha->peers[0];
    for (size_t k = 0; k < p->n_ann; k++)
        if (p->ann[k].vcluster == 1)
            return p->ann[k].role == HASYNC_ROLE_STANDBY;
    return false;
}

static bool vc1_moved_to_s(void *arg)
{
    struct hat *c = arg;
    return c->s.ha->vcs[0].active && !c->m.ha->vcs[0].active &&
           c->m.ha->vcs[0].role == HASYNC_ROLE_STANDBY;
}

static bool all_on_m(void *arg)
{
    struct hat *c = arg;
    return c->m.ha->vcs[0].active && c->m.ha->vcs[1].active && !c->s.ha->vcs[0].active &&
           !c->s.ha->vcs[1].active && c->s.ha->vcs[1].role == HASYNC_ROLE_STANDBY;
}

static bool all_on_s(void *arg)
{
    struct hat *c = arg;
    return c->s.ha->vcs[0].active && c->s.ha->vcs[1].active && !c->m.ha->vcs[0].active &&
           !c->m.ha->vcs[1].active && c->m.ha->vcs[0].role == HASYNC_ROLE_STANDBY &&
           c->m.ha->vcs[1].role == HASYNC_ROLE_STANDBY;
}

/* Never two active nodes for one vcluster, checked on every loop turn. */
static bool never_two_masters(void *arg)
{
    struct hat *c = arg;
    for (size_t i = 0; i < 2; i++)
        assert_false(c->m.ha->vcs[i].active && c->s.ha->vcs[i].active);
    return false;
}

static void watch_turns(struct hat *c, bool (*done)(void *), unsigned timeout_ms)
{
    uint64_t end = daemon_now_ms() + timeout_ms;
    while (!done(c)) {
        assert_true(daemon_now_ms() < end);
        never_two_masters(c);
        struct timeval tv = {0, 1000};
        event_base_loopexit(c->base, &tv);
        event_base_dispatch(c->base);
    }
    never_two_masters(c);
}

static void test_two_vclusters_opposite_roles(void **state)
{
    struct hat *c = *state;
    hat_start(c, &c->m, "m", c->log_m, &c->m_up);
    /* Alone with wait_for_all: never saw a peer, so nothing is ours. */
    dtest_run_for(c->base, 50);
    assert_int_equal(c->m.ha->vcs[0].role, HASYNC_ROLE_WAITING);
    assert_false(active_in(&c->m, 0));
    assert_string_equal(hasync_elect_reason(&c->m.ha->elect, 1), "never saw peer (wait_for_all)");
    assert_false(c->m.ha->ever_saw_peer);

    hat_start(c, &c->s, "s", c->log_s, &c->s_up);
    watch_turns(c, split_elected, 3000);
    /* THE invariant: VDOM root (0) and v1 (1) are vcluster 1's, v2 (2) is
     * vcluster 2's; each node is active exactly where it masters. */
    assert_true(active_in(&c->m, 0));
    assert_true(active_in(&c->m, 1));
    assert_false(active_in(&c->m, 2));
    assert_false(active_in(&c->s, 0));
    assert_false(active_in(&c->s, 1));
    assert_true(active_in(&c->s, 2));
    assert_ptr_equal(ha_vc_of_vdom(&c->m, 1), &c->m.ha->vcs[0]);
    assert_ptr_equal(ha_vc_of_vdom(&c->m, 2), &c->m.ha->vcs[1]);
    assert_int_equal(c->m.ha->vcs[0].sync == HA_SYNC_SYNCING, false);
    assert_string_equal(c->m.ha->vcs[0].last_reason, "priority 200 > 100");
    assert_true(c->m.ha->stats.takeovers >= 1);
    /* hactl status's "never saw a peer" (wait_for_all) is over on both */
    assert_true(c->m.ha->ever_saw_peer);
    assert_true(c->s.ha->ever_saw_peer);
    /* RoleAnnounce told each node the other's name and start. */
    assert_int_equal(c->m.ha->n_peers, 1);
    const struct ha_peer *p = &c->m.ha->peers[0];
    assert_int_equal(p->node, ha_role_self(c->s.ha));
    assert_true(p->member);
    assert_string_equal(p->name, ha_role_name(c->s.ha));
    assert_string_equal(p->name, c->s.ha->self_name); /* what S shows for itself */
    assert_true(p->name[0] != '\0');
    assert_string_equal(c->s.ha->peers[0].name, c->m.ha->self_name);
    assert_true(p->started_ms > 1600000000000ull);
    assert_true(hat_log_pos(c->log_m, "HA takeover vcluster 1: ") >= 0);
    assert_true(hat_log_pos(c->log_m, "HA takeover vcluster 1 done in ") >= 0);

    /* failover: refused where we are not master or the id is unknown */
    char err[160] = "";
    assert_int_equal(ha_failover(c->m.ha, 2, err, sizeof(err)), -1);
    assert_string_equal(err, "vcluster 2: this node is standby, not master");
    assert_int_equal(ha_failover(c->m.ha, 9, err, sizeof(err)), -1);
    assert_string_equal(err, "no vcluster 9");
    /* vcluster 1 to S after the sync barrier, once M heard S is in sync
     * (before, S is not eligible) */
    assert_true(dtest_run_until(c->base, m_sees_s_standby, c, 2000));
    /* the barrier holds the handover until S acknowledged it: with S's
     * deliveries held, M stays master */
    fcpg_pause(ha_role_self(c->s.ha), true);
    if (ha_failover(c->m.ha, 1, err, sizeof(err)) != 0)
        fail_msg("ha_failover: %s", err);
    dtest_run_for(c->base, 100);
    assert_true(c->m.ha->vcs[0].active);
    assert_int_equal(c->m.ha->vcs[0].role, HASYNC_ROLE_MASTER);
    assert_int_equal(ha_failover(c->m.ha, 1, err, sizeof(err)), -1);
    assert_string_equal(err, "vcluster 1: a failover is already in progress");
    assert_true(hat_log_pos(c->log_m, "sync barrier passed") < 0);
    fcpg_pause(ha_role_self(c->s.ha), false);
    watch_turns(c, vc1_moved_to_s, 3000);
    assert_false(active_in(&c->m, 0));
    assert_true(active_in(&c->s, 1));
    assert_true(
        hat_log_pos(c->log_m, "HA failover vcluster 1: sync barrier passed, handing over") >= 0);
    assert_true(c->m.ha->stats.releases >= 1);
    /* the yield ended once S took over (override off): M announces 200
     * again but stays standby */
    dtest_run_for(c->base, 50);
    struct hasync_elect_announce a;
    assert_int_equal(hasync_elect_announcement(&c->m.ha->elect, 1, &a), 0);
    assert_int_equal(a.priority, 200);
    assert_int_equal(a.role, HASYNC_ROLE_STANDBY);
    assert_true(c->s.ha->vcs[0].active);

    /* everything back to M in one call ("all I master") */
    assert_int_equal(ha_failover(c->s.ha, 0, err, sizeof(err)), 0);
    watch_turns(c, all_on_m, 3000);

    /* S gone: nothing changes hands; a failover has nobody to go to */
    hat_stop(&c->s, &c->s_up);
    dtest_run_for(c->base, 50);
    assert_true(active_in(&c->m, 2));
    assert_int_equal(ha_failover(c->m.ha, 1, err, sizeof(err)), -1);
    assert_string_equal(err, "vcluster 1: no eligible peer (none in sync with a priority > 0)");
    assert_int_equal(c->m.ha->vcs[0].sync, HA_SYNC_ALONE);
    assert_true(c->m.ha->ever_saw_peer); /* it did, once: wait_for_all is satisfied */
}

/* ---- this node's name from corosync's nodelist ---------------------------- */

struct nl_entry {
    const char *key, *str;
    uint32_t u32;
};

static const struct nl_entry *nl_find(void *arg, const char *key)
{
    for (const struct nl_entry *e = arg; e->key; e++)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

static int nl_u32(void *arg, const char *key, uint32_t *v)
{
    const struct nl_entry *e = nl_find(arg, key);
    if (!e || e->str)
        return -1;
    *v = e->u32;
    return 0;
}

static int nl_str(void *arg, const char *key, char **v)
{
    const struct nl_entry *e = nl_find(arg, key);
    if (!e || !e->str)
        return -1;
    *v = strdup(e->str);
    return *v ? 0 : -1;
}

/* The nodelist entry whose nodeid is ours names us: its name, else its
 * ring0_addr; another node's entry never does (in the lab every namespace
 * has the same hostname, so only the nodelist tells "a" from "b"). */
static void test_name_from_nodelist(void **state)
{
    (void)state;
    static const struct nl_entry two[] = {
        {"nodelist.node.0.nodeid", NULL, 1},   {"nodelist.node.0.name", "a", 0},
        {"nodelist.node.0.ring0_addr", "10.0.0.1", 0},
        {"nodelist.node.1.nodeid", NULL, 2},   {"nodelist.node.1.name", "b", 0},
        {"nodelist.node.1.ring0_addr", "10.0.0.2", 0},
        {NULL, NULL, 0}};
    static const struct nl_entry unnamed[] = {
        {"nodelist.node.0.ring0_addr", "10.0.0.9", 0}, /* no nodeid: skipped */
        {"nodelist.node.1.nodeid", NULL, 7},
        {"nodelist.node.1.ring0_addr", "10.0.0.7", 0},
        {NULL, NULL, 0}};
    static const struct nl_entry hostile[] = {
        {"nodelist.node.0.nodeid", NULL, 3}, {"nodelist.node.0.name", "x\033[2J", 0},
        {NULL, NULL, 0}};
    char out[64];
    assert_int_equal(ha_name_from_nodelist(1, nl_u32, nl_str, (void *)two, out, sizeof(out)), 0);
    assert_string_equal(out, "a");
    assert_int_equal(ha_name_from_nodelist(2, nl_u32, nl_str, (void *)two, out, sizeof(out)), 0);
    assert_string_equal(out, "b");
    assert_int_equal(ha_name_from_nodelist(3, nl_u32, nl_str, (void *)two, out, sizeof(out)), -1);
    assert_int_equal(ha_name_from_nodelist(0, nl_u32, nl_str, (void *)two, out, sizeof(out)), -1);
    assert_int_equal(
        ha_name_from_nodelist(7, nl_u32, nl_str, (void *)unnamed, out, sizeof(out)), 0);
    assert_string_equal(out, "10.0.0.7");
    assert_int_equal(
        ha_name_from_nodelist(3, nl_u32, nl_str, (void *)hostile, out, sizeof(out)), 0);
    assert_string_equal(out, "x?[2J"); /* it goes on the wire: printable only */
    char small[2];
    assert_int_equal(ha_name_from_nodelist(1, nl_u32, nl_str, (void *)two, small, 1), 0);
    assert_string_equal(small, "");
}

/* Without an ha section everything is ours; with one but HA not (yet)
 * running, nothing is (daemon_start runs before ha_start). */
static void test_invariant_without_ha(void **state)
{
    (void)state;
    struct cfg cfg = {0};
    struct daemon d = {.cfg = &cfg};
    struct gateway gw = {.vdom = 0};
    assert_true(ha_gateway_active(&d, &gw));
    assert_null(ha_vc_of_vdom(&d, 0));
    cfg.ha.enabled = true;
    assert_false(ha_gateway_active(&d, &gw));
}

/* ---- 2. quorum ------------------------------------------------------------- */

static void test_no_quorum_no_master(void **state)
{
    struct hat *c = *state;
    fvq_flags = VOTEQUORUM_INFO_TWONODE; /* not quorate */
    hat_start(c, &c->m, "m", c->log_m, &c->m_up);
    hat_start(c, &c->s, "s", c->log_s, &c->s_up);
    dtest_run_for(c->base, 200);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(c->m.ha->vcs[i].role, HASYNC_ROLE_WAITING);
        assert_int_equal(c->s.ha->vcs[i].role, HASYNC_ROLE_WAITING);
        assert_false(c->m.ha->vcs[i].active || c->s.ha->vcs[i].active);
    }
    assert_false(c->m.ha->quorate);
    assert_string_equal(hasync_elect_reason(&c->m.ha->elect, 1), "no quorum");
    bool wfa = true, two = false;
    assert_true(ha_role_quorum_known(c->m.ha, &wfa, &two));
    assert_false(wfa);
    assert_true(two);
    /* votequorum reports quorum: the election runs */
    fvq_flags |= VOTEQUORUM_INFO_QUORATE;
    ha_role_quorum(c->m.ha, true, true, false, true);
    ha_role_quorum(c->s.ha, true, true, false, true);
    watch_turns(c, split_elected, 3000);

    /* M loses its corosync: the peer sees it leave and takes over, so M
     * releases everything at once */
    ha_role_connection(c->m.ha, false);
    for (size_t i = 0; i < 2; i++) {
        assert_false(c->m.ha->vcs[i].active);
        assert_int_equal(c->m.ha->vcs[i].role, HASYNC_ROLE_WAITING);
    }
    assert_false(active_in(&c->m, 0));
    assert_true(hat_log_pos(c->log_m, "HA release vcluster 1: lost corosync") >= 0);
    char err[128];
    assert_int_equal(ha_failover(c->m.ha, 1, err, sizeof(err)), -1);
    assert_string_equal(err, "not connected to corosync");
    assert_int_equal(c->m.ha->vcs[0].sync, HA_SYNC_BEHIND); /* S masters it meanwhile */
    /* back: nothing is decided before the next confchg; then M, behind,
     * does not win vcluster 1 back: S (in sync) takes it, M resyncs and
     * stands by for both (override off) */
    ha_role_connection(c->m.ha, true);
    dtest_run_for(c->base, 20);
    assert_false(c->m.ha->vcs[0].active);
    struct hasync_member mem[2] = {{ha_role_self(c->m.ha), (uint32_t)getpid()},
                                   {ha_role_self(c->s.ha), (uint32_t)getpid()}};
    ha_role_membership(c->m.ha, mem, 2, NULL, 0);
    watch_turns(c, all_on_s, 3000);
    assert_int_equal(c->m.ha->vcs[0].sync, HA_SYNC_IN_SYNC);
}

/* ---- 3. takeover of mirrored SAs ---------------------------------------- */

/* A, M and S with RFC 6311 message-ID sync (and its replay counters) on
 * or off. */
static void write_sa_nodes(struct hat *c, bool sync)
{
    const struct hat_conf cf = {
        .ike = "retransmit-timeout-ms = 500; retransmit-tries = 3; half-open-per-peer = 20000;\n"
               "    cookie-threshold = 20000;",
        .gw = sync ? "msgid-sync = true; replay-counter-sync = true;"
                   : "msgid-sync = false; replay-counter-sync = false;",
        .group = "haiked-takeover-test",
        .ha = "seq-jump = 5000; msgid-jump = 3;",
    };
    hat_write_nodes(c, &cf);
}

static bool m_master_s_standby(void *arg)
{
    struct hat *c = arg;
    return c->m.ha->vcs[0].active && c->s.ha->vcs[0].role == HASYNC_ROLE_STANDBY &&
           c->s.ha->vcs[0].sync == HA_SYNC_IN_SYNC;
}

/* S holds a passive copy of M's established SA, with its CHILD SA. */
static struct gw_sa *passive_copy(struct daemon *d)
{
    struct gw_sa *gs;
    TAILQ_FOREACH(gs, &gw_find(d, "gwB")->sas, link)
    if (gs->sa && !gs->dying && ike_sa_state(gs->sa) == IKE_SA_STATE_ESTABLISHED &&
        ike_sa_is_passive(gs->sa) && gw_child_first(gs))
        return gs;
    return NULL;
}

static bool mirrored(void *arg)
{
    struct hat *c = arg;
    return passive_copy(&c->s) != NULL;
}

/* The outbound sequence number of the pair when the data plane was told it
 * may send (set_passive false): the takeover's jump must come first. */
static uint64_t seq_at_unblock;

static int watch_passive(struct dp *dp, struct dp_child *c, bool passive)
{
    (void)dp;
    if (!passive)
        seq_at_unblock = c->ctr.seq_out;
    return 0;
}

/* A -> M tunnel up, mirrored on S. */
static void bring_up(struct hat *c, bool rfc6311)
{
    if (dtest_private_netns() < 0)
        skip();
    write_sa_nodes(c, rfc6311);
    hat_start(c, &c->m, "m", c->log_m, &c->m_up);
    hat_start(c, &c->s, "s", c->log_s, &c->s_up);
    assert_true(dtest_run_until(c->base, m_master_s_standby, c, 3000));
    hat_start(c, &c->a, "a", c->log_a, &c->a_up);
    assert_true(dtest_run_until(c->base, mirrored, c, 5000));
}

static void run_takeover(struct hat *c, bool rfc6311)
{
    bring_up(c, rfc6311);
    struct gw_sa *gs = passive_copy(&c->s);
    struct gateway *gw = gs->gw;
    assert_false(ha_gateway_active(&c->s, gw));
    /* A request for the passive SA reaching the standby is ignored. */
    uint8_t req[28] = {0};
    memcpy(req, ike_sa_spi_i(gs->sa), 8);
    memcpy(req + 8, ike_sa_spi_r(gs->sa), 8);
    req[16] = 46;   /* next payload: SK */
    req[17] = 0x20; /* IKEv2 */
    req[18] = 37;   /* INFORMATIONAL */
    req[19] = 0x08; /* initiator, request */
    req[27] = 28;
    struct ike_addr from, to, s_addr;
    char err[128];
    assert_int_equal(cfg_addr_parse("127.0.0.1", &from, err, sizeof(err)), 0);
    assert_int_equal(cfg_addr_parse("127.0.0.2", &to, err, sizeof(err)), 0);
    assert_int_equal(cfg_addr_parse("127.0.0.3", &s_addr, err, sizeof(err)), 0);
    uint64_t other0 = gw->counters.dropped[GW_DROP_OTHER];
    daemon_ike_input(&c->s.vdoms[0], req, sizeof(req), &to, &from);
    assert_int_equal(gw->counters.dropped[GW_DROP_OTHER], other0 + 1);
    assert_true(hat_log_pos(c->log_s, "ignoring message on HA synced IKE_SA") >= 0);
    assert_true(hat_log_pos(c->log_s, "vcluster 1 is standby on this node") >= 0);
    /* ... and so is a new IKE_SA_INIT: a standby creates no SA */
    uint8_t init[28] = {1, 2, 3, 4, 5, 6, 7, 8};
    init[16] = 33, init[17] = 0x20, init[18] = 34, init[19] = 0x08, init[27] = 28;
    size_t n_sas = gw->n_sas;
    daemon_ike_input(&c->s.vdoms[0], init, sizeof(init), &s_addr, &from);
    assert_int_equal(gw->n_sas, n_sas);
    assert_true(hat_log_pos(c->log_s, "refused: vcluster 1 is standby on this node") >= 0);
    /* nor does it initiate */
    assert_int_equal(gw_up(gw, err, sizeof(err)), -1);

    /* what S synced, before the takeover */
    struct dp_child *dc = (struct dp_child *)gw_child_first(gs);
    uint64_t seq0 = dc->ctr.seq_out;
    /* a standby's copy carries nothing outbound (the kernel backend blocks
     * its out policies): the data plane hears when that ends */
    assert_true(dc->passive);
    static struct dp_backend_ops watch_ops;
    watch_ops = *c->s.dp.ops;
    watch_ops.set_passive = watch_passive;
    c->s.dp.ops = &watch_ops;
    seq_at_unblock = 0;
    uint32_t send0 = gs->msgid_send_next, recv0 = gs->msgid_recv_next;

    /* M dies: S takes over */
    hat_stop(&c->m, &c->m_up);
    assert_true(dtest_run_until(c->base, hat_s_active, c, 3000));
    struct ha_vc *vc = &c->s.ha->vcs[0];
    assert_int_equal(vc->role, HASYNC_ROLE_MASTER);
    assert_string_equal(vc->last_reason, "peer left");
    assert_true(vc->last_change_ms > 1600000000000ull);
    assert_true(vc->last_takeover_ms < 1000);
    assert_int_equal(c->s.ha->stats.takeovers, 1);
    assert_true(ha_gateway_active(&c->s, gw));
    /* step 3: the sequence number jumped by seq-jump, never reused */
    assert_true(dc->ctr.seq_out == seq0 + 5000);
    /* ... before the pair could send: opened after the jump */
    assert_false(dc->passive);
    assert_true(seq_at_unblock == seq0 + 5000);
    /* step 5: active */
    assert_false(ike_sa_is_passive(gs->sa));
    long jumped = hat_log_pos(c->log_s, "outbound ESP sequence numbers +5000");
    long active = hat_log_pos(c->log_s, "IKE SA(s) active");
    assert_true(jumped >= 0);
    assert_true(active > jumped);
    if (rfc6311) {
        /* step 4, between the jump and activation */
        long attempt = hat_log_pos(c->log_s, "have HA IKE SA, attempting message ID sync");
        char want[96];
        snprintf(want, sizeof(want), "message-ID sync sent: send %u recv %u, replay counter delta",
                 send0 + 3, recv0);
        long sent = hat_log_pos(c->log_s, want);
        assert_true(attempt > jumped);
        assert_true(sent > attempt);
        assert_true(active > sent);
        assert_true(hat_log_pos(c->log_s, "peer without RFC 6311") < 0);
    } else {
        char want[128];
        snprintf(want, sizeof(want),
                 "peer without RFC 6311, continuing from synced message IDs send/recv=%u/%u", send0,
                 recv0);
        long cont = hat_log_pos(c->log_s, want);
        assert_true(cont > jumped);
        assert_true(active > cont);
        assert_true(hat_log_pos(c->log_s, "attempting message ID sync") < 0);
    }
}

/* A clean stop of the master (SIGTERM: daemon_shutdown) with a standby in
 * sync sends no Delete: A's IKE SA lives on, S continues it. */
static bool m_sas_gone(void *arg)
{
    struct hat *c = arg;
    return gw_find(&c->m, "gwB")->n_sas == 0;
}

static void test_shutdown_hands_over(void **state)
{
    struct hat *c = *state;
    bring_up(c, true);
    struct gw_sa *ga = NULL, *g;
    TAILQ_FOREACH(g, &gw_find(&c->a, "gwA")->sas, link)
    if (g->sa && ike_sa_state(g->sa) == IKE_SA_STATE_ESTABLISHED)
        ga = g;
    assert_non_null(ga);
    uint32_t a_serial = ga->serial;
    uint64_t a_in0 = ga->gw->counters.dgrams_in, deleted0 = ga->gw->counters.ike_sa_deleted;
    daemon_shutdown(&c->m);
    assert_true(dtest_run_until(c->base, m_sas_gone, c, 1000));
    assert_false(c->m.ha->vcs[0].active);
    assert_true(hat_log_pos(c->log_m, "HA release vcluster 1: shutting down: node ") >= 0);
    hat_stop(&c->m, &c->m_up);
    assert_true(dtest_run_until(c->base, hat_s_active, c, 3000));
    dtest_run_for(c->base, 100);
    /* A got no Delete: same SA, established, nothing deleted */
    ga = NULL;
    TAILQ_FOREACH(g, &gw_find(&c->a, "gwA")->sas, link)
    if (g->serial == a_serial && g->sa && !g->dying &&
        ike_sa_state(g->sa) == IKE_SA_STATE_ESTABLISHED)
        ga = g;
    assert_non_null(ga);
    assert_int_equal(ga->gw->counters.ike_sa_deleted, deleted0);
    (void)a_in0;
    /* S holds it, active */
    struct gw_sa *gs;
    size_t active = 0;
    TAILQ_FOREACH(gs, &gw_find(&c->s, "gwB")->sas, link)
    active += gs->sa && !gs->dying && !ike_sa_is_passive(gs->sa);
    assert_int_equal(active, 1);
}

/* ---- 4. takeover of many tunnels: all at once, and how long it takes ---- */

/* HA_TEST_MANY=N measures a bigger cluster (default 100). */
static int many(void)
{
    const char *e = getenv("HA_TEST_MANY");
    int n = e ? atoi(e) : 100;
    return n > 0 && n <= 20000 ? n : 100;
}

static size_t count_sas(struct daemon *d, bool passive)
{
    size_t n = 0;
    struct gw_sa *gs;
    TAILQ_FOREACH(gs, &gw_find(d, "gwB")->sas, link)
    n += gs->sa && !gs->dying && ike_sa_state(gs->sa) == IKE_SA_STATE_ESTABLISHED &&
         ike_sa_is_passive(gs->sa) == passive && gw_child_first(gs) != NULL;
    return n;
}

static bool many_mirrored(void *arg)
{
    struct hat *c = arg;
    return count_sas(&c->s, true) == (size_t)many();
}

static void test_takeover_many(void **state)
{
    struct hat *c = *state;
    if (dtest_private_netns() < 0)
        skip();
    /* A has one gateway to M's address and opens many() IKE SAs on it
     * (each with its CHILD SA): the takeover handles them all. */
    write_sa_nodes(c, true);
    hat_start(c, &c->m, "m", c->log_m, &c->m_up);
    hat_start(c, &c->s, "s", c->log_s, &c->s_up);
    assert_true(dtest_run_until(c->base, m_master_s_standby, c, 3000));
    hat_start(c, &c->a, "a", c->log_a, &c->a_up);
    struct gateway *ga = gw_find(&c->a, "gwA");
    char err[160];
    int n = many();
    for (int i = 1; i < n; i++)
        if (gw_initiate(ga, err, sizeof(err)) < 0)
            fail_msg("gw_initiate: %s", err);
    assert_true(dtest_run_until(c->base, many_mirrored, c, 60000));
    hat_stop(&c->m, &c->m_up);
    assert_true(dtest_run_until(c->base, hat_s_active, c, 3000));
    /* every SA of the vcluster in the same takeover */
    assert_int_equal(count_sas(&c->s, false), n);
    assert_int_equal(count_sas(&c->s, true), 0);
    struct gw_sa *gs;
    TAILQ_FOREACH(gs, &gw_find(&c->s, "gwB")->sas, link)
    for (const struct dp_child *dc = gw_child_first(gs); dc; dc = gw_child_next(dc))
        assert_true(dc->ctr.seq_out >= 5000);
    char want[96];
    snprintf(want, sizeof(want), "%d IKE SA(s) active (%d message ID sync(s) sent)", n, n);
    assert_true(hat_log_pos(c->log_s, want) >= 0);
    print_message("takeover of %d IKE + %d CHILD SAs (RFC 6311 sync each): %u ms\n", n, n,
                  c->s.ha->vcs[0].last_takeover_ms);
    assert_true(c->s.ha->vcs[0].last_takeover_ms < 1000);
}

static int setup_cl(void **state)
{
    *state = hat_new();
    return 0;
}

static void test_takeover_rfc6311(void **state)
{
    run_takeover(*state, true);
}

static void test_takeover_without_rfc6311(void **state)
{
    run_takeover(*state, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invariant_without_ha),
        cmocka_unit_test(test_name_from_nodelist),
        cmocka_unit_test_setup_teardown(test_two_vclusters_opposite_roles, setup_two_vc, teardown),
        cmocka_unit_test_setup_teardown(test_no_quorum_no_master, setup_two_vc, teardown),
        cmocka_unit_test_setup_teardown(test_takeover_rfc6311, setup_cl, teardown),
        cmocka_unit_test_setup_teardown(test_takeover_without_rfc6311, setup_cl, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_hands_over, setup_cl, teardown),
        cmocka_unit_test_setup_teardown(test_takeover_many, setup_cl, teardown),
    };
    fvq_flags = VQ_DEFAULT_FLAGS;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
