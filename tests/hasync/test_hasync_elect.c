/*
 * Master election (hasync_elect.c). A small simulator runs two (or three)
 * elections against each other the way the daemon does: every round each
 * node that is up sees the membership and the others' last announcements,
 * runs, and announces; until nothing changes. Every round also checks the
 * one invariant that matters: never two masters of a vcluster among nodes
 * that see each other.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hasync_elect.h"

#define NN 3

struct node {
    struct hasync_elect e;
    bool up;
    bool syncing[HASYNC_ELECT_MAX_VC];
    size_t changes; /* role changes seen in the last settle() */
    struct hasync_elect_change last[HASYNC_ELECT_MAX_VC];
};

static struct node nodes[NN];
static bool quorate = true;

static void node_init(int idx, uint32_t p1, bool ov1, uint32_t p2, bool ov2, bool wfa)
{
    struct hasync_elect_cfg cfg = {.self = (uint32_t)idx + 1, .wait_for_all = wfa, .n_vc = 2};

    cfg.vc[0] = (struct hasync_elect_vc_cfg){.vcluster = 1, .priority = p1, .override = ov1};
    cfg.vc[1] = (struct hasync_elect_vc_cfg){.vcluster = 2, .priority = p2, .override = ov2};
    memset(&nodes[idx], 0, sizeof(nodes[idx]));
    assert_int_equal(hasync_elect_init(&nodes[idx].e, &cfg), 0);
}

static size_t build_input(struct hasync_elect_input *in, uint32_t *members,
                          struct hasync_elect_announce *ann, int idx)
{
    size_t nm = 0, na = 0;

    for (int k = 0; k < NN; k++) {
        if (!nodes[k].up)
            continue;
        members[nm++] = (uint32_t)k + 1;
        if (k == idx)
            continue;
        for (size_t v = 0; v < nodes[k].e.cfg.n_vc; v++)
            assert_int_equal(
                hasync_elect_announcement(&nodes[k].e, nodes[k].e.cfg.vc[v].vcluster, &ann[na++]),
                0);
    }
    *in = (struct hasync_elect_input){.members = members,
                                      .n_members = nm,
                                      .ann = ann,
                                      .n_ann = na,
                                      .quorate = quorate,
                                      .syncing = nodes[idx].syncing};
    return nm;
}

static void check_one_master(void)
{
    for (uint32_t vc = 1; vc <= 2; vc++) {
        int masters = 0;
        for (int k = 0; k < NN; k++)
            if (nodes[k].up && hasync_elect_role(&nodes[k].e, vc) == HASYNC_ROLE_MASTER)
                masters++;
        assert_true(masters <= 1);
    }
}

/* Rounds until stable; all up nodes run on the announcements of the
 * previous round (as they would, concurrently). */
static void settle(void)
{
    for (int k = 0; k < NN; k++)
        nodes[k].changes = 0;
    for (int round = 0; round < 10; round++) {
        struct hasync_elect_input in[NN];
        uint32_t members[NN][NN];
        struct hasync_elect_announce ann[NN][NN * HASYNC_ELECT_MAX_VC];
        struct hasync_elect_change ch[HASYNC_ELECT_MAX_VC];
        bool changed = false;

        for (int k = 0; k < NN; k++)
            if (nodes[k].up)
                build_input(&in[k], members[k], ann[k], k);
        for (int k = 0; k < NN; k++) {
            if (!nodes[k].up)
                continue;
            size_t n = hasync_elect_run(&nodes[k].e, &in[k], ch);
            for (size_t j = 0; j < n; j++)
                nodes[k].last[nodes[k].changes++ % HASYNC_ELECT_MAX_VC] = ch[j];
            changed = changed || n > 0;
        }
        check_one_master();
        if (!changed)
            return;
    }
    fail_msg("election did not settle");
}

static int reset(void **state)
{
    (void)state;
    memset(nodes, 0, sizeof(nodes));
    quorate = true;
    return 0;
}

static void expect(int idx, uint32_t vc, enum hasync_role role, const char *reason)
{
    assert_string_equal(hasync_role_name(hasync_elect_role(&nodes[idx].e, vc)),
                        hasync_role_name(role));
    assert_string_equal(hasync_elect_reason(&nodes[idx].e, vc), reason);
}

/* ---- both nodes start together: a table ---- */

struct start_row {
    uint32_t pa, pb;
    bool sync_a, sync_b;
    enum hasync_role ra, rb;
    const char *why_a, *why_b;
};

static const struct start_row start_rows[] = {
    {200, 100, false, false, HASYNC_ROLE_MASTER, HASYNC_ROLE_STANDBY, "priority 200 > 100",
     "node 1: priority 200 > 100"},
    {100, 200, false, false, HASYNC_ROLE_STANDBY, HASYNC_ROLE_MASTER, "node 2: priority 200 > 100",
     "priority 200 > 100"},
    {100, 100, false, false, HASYNC_ROLE_MASTER, HASYNC_ROLE_STANDBY,
     "priority 100 = 100, node id 1 < 2", "node 1: priority 100 = 100, node id 1 < 2"},
    /* the better node is still syncing: the other keeps the SAs */
    {200, 100, true, false, HASYNC_ROLE_SYNCING, HASYNC_ROLE_MASTER,
     "syncing: snapshot incomplete, node 2 alive", "node 1 syncing"},
    /* nobody has a snapshot (fresh cluster): syncing does not matter */
    {200, 100, true, true, HASYNC_ROLE_MASTER, HASYNC_ROLE_SYNCING, "node 2 syncing",
     "syncing: snapshot incomplete, node 1 alive"},
    /* priority 0: master only when nobody else can be */
    {0, 5, false, false, HASYNC_ROLE_STANDBY, HASYNC_ROLE_MASTER,
     "node 2: node 1 priority 0 (handed over)", "node 1 priority 0 (handed over)"},
};

static void test_start_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(start_rows) / sizeof(start_rows[0]); i++) {
        const struct start_row *r = &start_rows[i];
        print_message("row %zu\n", i);
        memset(nodes, 0, sizeof(nodes));
        quorate = true;
        node_init(0, r->pa, false, r->pa, false, true);
        node_init(1, r->pb, false, r->pb, false, true);
        nodes[0].up = nodes[1].up = true;
        nodes[0].syncing[0] = r->sync_a;
        nodes[1].syncing[0] = r->sync_b;
        settle();
        expect(0, 1, r->ra, r->why_a);
        expect(1, 1, r->rb, r->why_b);
    }
}

/* ---- alone ---- */

static void test_alone(void **state)
{
    (void)state;
    quorate = true;
    node_init(0, 200, false, 200, false, true);
    nodes[0].up = true;
    settle();
    expect(0, 1, HASYNC_ROLE_WAITING, "never saw peer (wait_for_all)");
    assert_int_equal(nodes[0].changes, 0);

    node_init(0, 200, false, 200, false, false);
    nodes[0].up = true;
    settle();
    expect(0, 1, HASYNC_ROLE_MASTER, "alone (wait_for_all off)");
    assert_int_equal(nodes[0].changes, 2);

    quorate = false;
    settle();
    expect(0, 2, HASYNC_ROLE_WAITING, "no quorum");
    quorate = true;
}

/* ---- the peer dies; the higher one returns ---- */

static void run_return(bool override)
{
    quorate = true;
    node_init(0, 200, override, 200, override, true);
    node_init(1, 100, false, 100, false, true);
    nodes[0].up = nodes[1].up = true;
    settle();
    expect(0, 1, HASYNC_ROLE_MASTER, "priority 200 > 100");

    nodes[0].up = false;
    settle();
    expect(1, 1, HASYNC_ROLE_MASTER, "peer left");
    assert_int_equal(nodes[1].changes, 2); /* both vclusters: run takeover for each */
    assert_int_equal(nodes[1].last[0].to, HASYNC_ROLE_MASTER);
    assert_string_equal(nodes[1].last[0].reason, "peer left");

    /* node 1 restarts: it asks for a bulk sync first */
    node_init(0, 200, override, 200, override, true);
    nodes[0].syncing[0] = nodes[0].syncing[1] = true;
    nodes[0].up = true;
    settle();
    expect(0, 1, HASYNC_ROLE_SYNCING, "syncing: snapshot incomplete, node 2 alive");
    expect(1, 1, HASYNC_ROLE_MASTER, "node 1 syncing");

    nodes[0].syncing[0] = nodes[0].syncing[1] = false;
    settle();
}

static void test_override_off(void **state)
{
    (void)state;
    run_return(false);
    expect(0, 1, HASYNC_ROLE_STANDBY, "override off: keeping master node 2");
    expect(1, 1, HASYNC_ROLE_MASTER, "override off: keeping master");
}

static void test_override_on(void **state)
{
    (void)state;
    run_return(true); /* settle() asserted no double master on the way */
    expect(0, 1, HASYNC_ROLE_MASTER, "priority 200 > 100");
    expect(1, 1, HASYNC_ROLE_STANDBY, "node 1: priority 200 > 100");
}

/* The preempting node waits for the old master to release. */
static void test_preempt_waits_release(void **state)
{
    struct hasync_elect e;
    struct hasync_elect_change ch[HASYNC_ELECT_MAX_VC];
    struct hasync_elect_cfg cfg = {.self = 1, .wait_for_all = true, .n_vc = 1};
    uint32_t mem[] = {1, 2};
    struct hasync_elect_announce a = {
        .node = 2, .vcluster = 7, .role = HASYNC_ROLE_MASTER, .priority = 100};
    struct hasync_elect_input in = {.members = mem, .n_members = 1, .quorate = true};

    (void)state;
    cfg.vc[0] = (struct hasync_elect_vc_cfg){.vcluster = 7, .priority = 200, .override = true};
    assert_int_equal(hasync_elect_init(&e, &cfg), 0);
    /* peer present but not announced yet: hold */
    in.n_members = 2;
    assert_int_equal(hasync_elect_run(&e, &in, ch), 1);
    assert_int_equal(hasync_elect_role(&e, 7), HASYNC_ROLE_STANDBY);
    assert_string_equal(hasync_elect_reason(&e, 7), "waiting for node 2's announcement");
    in.ann = &a;
    in.n_ann = 1;
    assert_int_equal(hasync_elect_run(&e, &in, ch), 0);
    assert_string_equal(hasync_elect_reason(&e, 7), "waiting for node 2 to release");
    a.role = HASYNC_ROLE_STANDBY;
    assert_int_equal(hasync_elect_run(&e, &in, ch), 1);
    assert_int_equal(ch[0].vcluster, 7);
    assert_int_equal(ch[0].from, HASYNC_ROLE_STANDBY);
    assert_int_equal(ch[0].to, HASYNC_ROLE_MASTER);
    /* announcements for other vclusters, from non-members and from us are ignored */
    struct hasync_elect_announce junk[] = {
        {.node = 2, .vcluster = 8, .role = HASYNC_ROLE_MASTER, .priority = 999, .override = true},
        {.node = 3, .vcluster = 7, .role = HASYNC_ROLE_MASTER, .priority = 999, .override = true},
        {.node = 1, .vcluster = 7, .role = HASYNC_ROLE_STANDBY, .priority = 999},
        a};
    in.ann = junk;
    in.n_ann = 4;
    assert_int_equal(hasync_elect_run(&e, &in, ch), 0);
    assert_string_equal(hasync_elect_reason(&e, 7), "priority 200 > 100");
}

/* ---- VDOM split: A master of 1, B master of 2 ---- */

static void test_split_vcluster(void **state)
{
    (void)state;
    quorate = true;
    node_init(0, 200, false, 100, false, true);
    node_init(1, 100, false, 200, false, true);
    nodes[0].up = nodes[1].up = true;
    settle();
    expect(0, 1, HASYNC_ROLE_MASTER, "priority 200 > 100");
    expect(0, 2, HASYNC_ROLE_STANDBY, "node 2: priority 200 > 100");
    expect(1, 1, HASYNC_ROLE_STANDBY, "node 1: priority 200 > 100");
    expect(1, 2, HASYNC_ROLE_MASTER, "priority 200 > 100");

    nodes[0].up = false;
    settle();
    assert_int_equal(nodes[1].changes, 1); /* only vcluster 1 changes hands */
    assert_int_equal(nodes[1].last[0].vcluster, 1);
    expect(1, 1, HASYNC_ROLE_MASTER, "peer left");
    expect(1, 2, HASYNC_ROLE_MASTER, "peer left");
}

/* ---- graceful failover ---- */

static void test_failover(void **state)
{
    struct hasync_elect_input in;
    uint32_t members[NN];
    struct hasync_elect_announce ann[NN * HASYNC_ELECT_MAX_VC], me;
    const char *err = NULL;

    (void)state;
    quorate = true;
    node_init(0, 200, true, 200, true, true);
    node_init(1, 100, true, 100, true, true);
    nodes[0].up = nodes[1].up = true;
    settle();
    build_input(&in, members, ann, 1);
    assert_int_equal(hasync_elect_failover(&nodes[1].e, &in, 1, &err), -1);
    assert_string_equal(err, "not master");
    build_input(&in, members, ann, 0);
    assert_int_equal(hasync_elect_failover(&nodes[0].e, &in, 9, &err), -1);
    assert_string_equal(err, "unknown vcluster");
    assert_int_equal(hasync_elect_failover(&nodes[0].e, &in, 1, &err), 0);
    assert_int_equal(hasync_elect_announcement(&nodes[0].e, 1, &me), 0);
    assert_int_equal(me.priority, 0);
    settle(); /* override on and 200 > 100: still no bounce back */
    expect(0, 1, HASYNC_ROLE_STANDBY, "failover to node 2");
    expect(1, 1, HASYNC_ROLE_MASTER, "node 1 priority 0 (handed over)");
    expect(0, 2, HASYNC_ROLE_MASTER, "priority 200 > 100"); /* other vcluster untouched */
    assert_int_equal(nodes[0].changes, 1);

    hasync_elect_failover_clear(&nodes[0].e, 1); /* override on: node 1 takes it back */
    settle();
    expect(0, 1, HASYNC_ROLE_MASTER, "priority 200 > 100");

    /* a syncing peer is not a target */
    nodes[1].syncing[0] = true;
    settle();
    build_input(&in, members, ann, 0);
    assert_int_equal(hasync_elect_failover(&nodes[0].e, &in, 1, &err), -1);
    assert_string_equal(err, "no eligible peer");
}

/* ---- a syncing standby: held while the master lives, promoted when it dies ---- */

static void test_syncing_promoted_when_alone(void **state)
{
    (void)state;
    quorate = true;
    node_init(0, 100, false, 100, false, true);
    node_init(1, 200, true, 200, true, true);
    nodes[0].up = true;
    nodes[1].up = true;
    nodes[1].syncing[0] = nodes[1].syncing[1] = true;
    settle();
    expect(0, 1, HASYNC_ROLE_MASTER, "node 2 syncing");
    expect(1, 1, HASYNC_ROLE_SYNCING, "syncing: snapshot incomplete, node 1 alive");
    nodes[0].up = false;
    settle();
    expect(1, 1, HASYNC_ROLE_MASTER, "peer left (snapshot incomplete)");
}

/* ---- split brain heals: the better master keeps it ---- */

static void test_split_brain_heals(void **state)
{
    (void)state;
    quorate = true;
    node_init(0, 200, false, 100, false, true);
    node_init(1, 100, false, 200, false, true);
    nodes[0].up = nodes[1].up = true;
    settle();
    nodes[1].up = false; /* node 1 sees itself alone... */
    settle();
    nodes[1].up = true; /* ...and node 2 too (run separately) */
    nodes[0].up = false;
    settle();
    expect(1, 1, HASYNC_ROLE_MASTER, "peer left");
    assert_int_equal(hasync_elect_role(&nodes[0].e, 1), HASYNC_ROLE_MASTER);
    assert_int_equal(hasync_elect_role(&nodes[0].e, 2), HASYNC_ROLE_MASTER);

    /* the link heals: the first round sees two masters announced; after it
     * (check_one_master) only the better one is left */
    nodes[0].up = true;
    settle();
    expect(0, 1, HASYNC_ROLE_MASTER, "priority 200 > 100");
    expect(1, 1, HASYNC_ROLE_STANDBY, "node 1: priority 200 > 100");
    expect(1, 2, HASYNC_ROLE_MASTER, "priority 200 > 100");
    expect(0, 2, HASYNC_ROLE_STANDBY, "node 2: priority 200 > 100");
}

static void test_bad_config(void **state)
{
    struct hasync_elect e;
    struct hasync_elect_cfg cfg = {.self = 1, .n_vc = 2};

    (void)state;
    cfg.vc[0].vcluster = cfg.vc[1].vcluster = 3;
    assert_int_equal(hasync_elect_init(&e, &cfg), -1);
    cfg.vc[1].vcluster = 4;
    assert_int_equal(hasync_elect_init(&e, &cfg), 0);
    cfg.self = 0;
    assert_int_equal(hasync_elect_init(&e, &cfg), -1);
    cfg.self = 1;
    cfg.n_vc = HASYNC_ELECT_MAX_VC + 1;
    assert_int_equal(hasync_elect_init(&e, &cfg), -1);
    cfg.n_vc = 0;
    assert_int_equal(hasync_elect_init(&e, &cfg), -1);
    assert_int_equal(hasync_elect_role(&e, 99), HASYNC_ROLE_WAITING);
    assert_string_equal(hasync_elect_reason(&e, 99), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_start_table, reset),
        cmocka_unit_test_setup(test_alone, reset),
        cmocka_unit_test_setup(test_override_off, reset),
        cmocka_unit_test_setup(test_override_on, reset),
        cmocka_unit_test_setup(test_preempt_waits_release, reset),
        cmocka_unit_test_setup(test_split_vcluster, reset),
        cmocka_unit_test_setup(test_failover, reset),
        cmocka_unit_test_setup(test_syncing_promoted_when_alone, reset),
        cmocka_unit_test_setup(test_split_brain_heals, reset),
        cmocka_unit_test_setup(test_bad_config, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
