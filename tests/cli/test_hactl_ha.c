/*
 * hactl's cluster surface against the real control server: `status` with
 * a cluster (golden lines of the human layout, --json parsed field by
 * field), `failover [--vcluster N]`, `ha stats`, their errors and exit
 * codes, and "HA: standalone" without HA. The struct ha is the test's
 * (ha_fake.c), ha_failover() a recording mock; both live in the parent,
 * which runs the server, while hactl runs in a forked child.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl_fixture.h"
#include "ha_fake.h"
#include "hactl.h"
#include "hactl_run.h"

struct t {
    struct ctl_fixture fx;
    struct ha_fake hf;
};

static int setup(void **state)
{
    struct t *t = calloc(1, sizeof(*t));
    if (!t || ctl_fixture_init(&t->fx) != 0)
        return -1;
    ha_fake_init(&t->hf, &t->fx.d);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct t *t = *state;
    ha_fake_detach(&t->hf, &t->fx.d);
    ctl_fixture_free(&t->fx);
    free(t);
    return 0;
}

static bool corosync_here(void)
{
    FILE *f = fopen("/proc/net/unix", "r");
    char line[512];
    bool found = false;
    while (f && fgets(line, sizeof(line), f))
        if (strstr(line, " @cfg") || strstr(line, " @quorum"))
            found = true;
    if (f)
        fclose(f);
    return found;
}

static void test_status_layout(void **state)
{
    struct t *t = *state;
    struct run r;
    char line[256], host[64] = "";
    gethostname(host, sizeof(host) - 1);
    HACTL(&t->fx, &r, "status");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    /* the single-node part first, unchanged */
    assert_has(r.out, "gateways: 2  IKE SAs: 1  CHILD SAs: 1\n");
    if (!corosync_here()) {
        snprintf(line, sizeof(line),
                 "HA: cluster, group haiked, this node %s (id 1), NOT in the group, quorate\n",
                 host);
        assert_has(r.out, line);
        snprintf(line, sizeof(line), "    %s (id 1, this node): down, uptime ", host);
        assert_has(r.out, line);
        assert_has(r.out, "corosync links: unavailable: cannot connect to corosync");
        assert_has(r.out, "quorum: unavailable: ");
    }
    assert_has(r.out, ", priority vc1=200(override) vc2=100\n");
    assert_has(r.out, "    vpn-b (id 2): up for 5m0");
    assert_has(r.out, ", uptime 1h02m0");
    assert_has(r.out, ", priority vc1=100 vc2=200(override)\n");
    assert_has(r.out, "number of vcluster: 2\n");
    assert_has(r.out, "vcluster 1: vdoms root\n");
    snprintf(line, sizeof(line), "    master: %s (id 1)\n", host);
    if (!corosync_here())
        assert_has(r.out, line);
    assert_has(r.out, "    this node: master (active), priority 200 override, "
                      "reason: priority 200 > 100\n");
    /* the master shows its standby's state (announced), never "alone" */
    assert_has(r.out, "    sync: standby in sync, mirrored IKE SAs: 1  CHILD SAs: 1\n");
    assert_lacks(r.out, "alone");
    assert_lacks(r.out, "never saw a peer");
    assert_has(r.out, "    last failover: " HAF_CHANGE_TEXT " (");
    assert_has(r.out, " ago), peer left, took 412 ms\n");
    assert_has(r.out, "vcluster 2: vdoms dmz\n    master: vpn-b (id 2)\n");
    assert_has(r.out, "    this node: standby, priority 100, reason: priority 100 < 200\n");
    assert_has(r.out, "    sync: behind by 3 messages, mirrored IKE SAs: 0  CHILD SAs: 0\n");
    assert_has(r.out, "    last failover: never\n");
    /* In the lab (tests/lab/test_hactl_corosync.py): a live two-node corosync. */
    const char *self = getenv("HA_TEST_COROSYNC_SELF");
    if (self) {
        snprintf(line, sizeof(line), "HA: cluster, group haiked, this node %s (id 1), ", self);
        assert_has(r.out, line);
        assert_has(r.out, "corosync link 0 to vpn-b (id 2): connected, 198.51.100.1 -> "
                          "198.51.100.2, mtu ");
        assert_has(r.out, "quorum: quorate, votes 2 of 2 expected, 1 needed, two_node, "
                          "wait_for_all\n");
    }
    /* the order of the blocks: nodes, then vclusters, then corosync */
    const char *nodes = strstr(r.out, "nodes:\n"), *vc = strstr(r.out, "vcluster 1:"),
               *q = strstr(r.out, "quorum: ");
    assert_true(nodes && vc && q && nodes < vc && vc < q);
}

static void test_status_states(void **state)
{
    struct t *t = *state;
    struct run r;
    t->hf.vcs[1].sync = HA_SYNC_SYNCING;
    t->hf.vcs[1].role = HASYNC_ROLE_SYNCING;
    t->hf.vcs[1].snapshot_sas = 120;
    t->hf.ha.peers[0].member = false;
    t->hf.ha.ever_saw_peer = false;
    HACTL(&t->fx, &r, "status");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_has(r.out, "    sync: syncing (120 SAs received), mirrored");
    assert_has(r.out, "    this node: syncing, priority 100");
    assert_has(r.out, "    vpn-b (id 2): down for 5m0");
    assert_has(r.out, "vcluster 2: vdoms dmz\n    master: none\n");
    assert_has(r.out, "never saw a peer since start");
    /* no peer member: the master of vcluster 1 is alone */
    assert_has(r.out, "vcluster 1: vdoms root\n");
    assert_has(r.out, "    sync: alone (no peer), mirrored IKE SAs: 1");
}

/* The master while its standby's snapshot is not complete. */
static void test_status_master_standby_syncing(void **state)
{
    struct t *t = *state;
    struct run r;
    t->hf.ha.peers[0].ann[0].role = HASYNC_ROLE_SYNCING;
    HACTL(&t->fx, &r, "status");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_has(r.out, "    sync: standby syncing (snapshot not complete), mirrored IKE SAs: 1");
    HACTL(&t->fx, &r, "--json", "status");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_json(r.out, "j['cluster']['vclusters'][0]['sync'] == 'syncing' and "
                       "j['cluster']['vclusters'][0]['role'] == 'master' and "
                       "j['cluster']['ever_saw_peer'] is True");
}

/* A peer's name is shown, never its control characters. */
static void test_status_hostile_name(void **state)
{
    struct t *t = *state;
    struct run r;
    snprintf(t->hf.ha.peers[0].name, sizeof(t->hf.ha.peers[0].name), "evil\033[2Jname");
    HACTL(&t->fx, &r, "status");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_lacks(r.out, "\033");
    /* with corosync its nodelist name wins over the announced one */
    assert_has(r.out, corosync_here() ? "    vpn-b (id 2): up" : "    evil?[2Jname (id 2): up");
}

static void test_status_json(void **state)
{
    struct t *t = *state;
    struct run r;
    HACTL(&t->fx, &r, "--json", "status");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_json(r.out, "j['mode'] == 'cluster' and j['cluster']['group'] == 'haiked' and "
                       "j['cluster']['quorate'] is True and j['gateways'] == 2");
    assert_json(r.out, "[n['id'] for n in j['cluster']['nodes']] == [1, 2] and "
                       "j['cluster']['self']['id'] == 1 and j['cluster']['self']['self'] is True");
    assert_json(r.out, "[(v['vcluster'], v['priority'], v['role']) for v in "
                       "j['cluster']['nodes'][1]['vclusters']] == "
                       "[(1, 100, 'standby'), (2, 200, 'master')]");
    assert_json(r.out, "j['cluster']['nodes'][1]['name'] == 'vpn-b' and "
                       "j['cluster']['nodes'][1]['up'] is True and "
                       "3722 <= j['cluster']['nodes'][1]['uptime'] <= 3730");
    assert_json(r.out, "[(v['id'], v['vdoms'], v['master_id'], v['role'], v['sync']) for v in "
                       "j['cluster']['vclusters']] == [(1, ['root'], 1, 'master', 'in-sync'), "
                       "(2, ['dmz'], 2, 'standby', 'behind')]");
    assert_json(r.out, "j['cluster']['vclusters'][1]['behind'] == 3 and "
                       "j['cluster']['vclusters'][0]['ike_sas'] == 1 and "
                       "j['cluster']['vclusters'][0]['child_sas'] == 1");
    assert_json(r.out, "j['cluster']['vclusters'][0]['last_failover']['at'] == 1764640348 and "
                       "j['cluster']['vclusters'][0]['last_failover']['reason'] == 'peer left' "
                       "and j['cluster']['vclusters'][0]['last_failover']['duration_ms'] == 412 "
                       "and 'last_failover' not in j['cluster']['vclusters'][1]");
    assert_json(r.out, "('rings_error' in j['cluster']['corosync']) != "
                       "('rings' in j['cluster']['corosync'] and "
                       "len(j['cluster']['corosync']['rings']) > 0) or "
                       "'links' in j['cluster']['corosync']");
    if (!corosync_here())
        assert_json(r.out, "j['cluster']['corosync']['rings_error'].startswith('unavailable: ') "
                           "and j['cluster']['corosync']['quorum_error']"
                           ".startswith('unavailable: ')");
}

static void test_standalone(void **state)
{
    struct t *t = *state;
    struct run r;
    ha_fake_detach(&t->hf, &t->fx.d);
    HACTL(&t->fx, &r, "status");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_has(r.out, "HA: standalone\n");
    assert_lacks(r.out, "vcluster");
    HACTL(&t->fx, &r, "--json", "status");
    assert_json(r.out, "j['mode'] == 'standalone' and 'cluster' not in j");
    HACTL(&t->fx, &r, "failover");
    assert_int_equal(r.rc, HACTL_EXIT_ERROR);
    assert_has(r.err, "hactl: failed: failover: this node runs standalone");
    HACTL(&t->fx, &r, "--json", "ha", "stats");
    assert_int_equal(r.rc, HACTL_EXIT_ERROR);
    assert_json(r.out, "j['error']['code'] == 'ERR_FAILED' and "
                       "'standalone' in j['error']['message']");
}

static void test_failover(void **state)
{
    struct t *t = *state;
    struct run r;
    HACTL(&t->fx, &r, "failover", "--vcluster", "1");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_has(r.out, "failover started: vcluster 1\n");
    assert_int_equal(t->hf.n_failover_calls, 1);
    assert_int_equal(t->hf.failover_calls[0], 1);
    HACTL(&t->fx, &r, "--json", "failover");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_json(r.out, "j['vclusters'] == [1]");
    assert_int_equal(t->hf.n_failover_calls, 2);

    /* refused by the cluster: exit 1 with the reason */
    t->hf.failover_rc = -1;
    snprintf(t->hf.failover_err, sizeof(t->hf.failover_err), "no eligible peer");
    HACTL(&t->fx, &r, "failover", "--vcluster", "1");
    assert_int_equal(r.rc, HACTL_EXIT_ERROR);
    assert_has(r.err, "hactl: failed: failover: vcluster 1: no eligible peer\n");
    HACTL(&t->fx, &r, "failover", "--vcluster", "7");
    assert_int_equal(r.rc, HACTL_EXIT_ERROR);
    assert_has(r.err, "hactl: not found: failover: no virtual cluster 7");
}

/* Usage errors never reach the daemon. */
static void test_failover_usage(void **state)
{
    struct t *t = *state;
    struct run r;
    static const char *const bad[][3] = {
        {"--vcluster", NULL, NULL}, {"--vcluster", "0", NULL}, {"--vcluster", "x1", NULL},
        {"--vcluster", "-3", NULL}, {"now", NULL, NULL},       {"--vcluster", "4294967296", NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *args[5] = {"failover", bad[i][0], bad[i][1], NULL, NULL};
        hactl_run(&t->fx, &r, args);
        if (r.rc != HACTL_EXIT_USAGE)
            fail_msg("failover %s %s: exit %d, not usage", bad[i][0], bad[i][1] ? bad[i][1] : "",
                     r.rc);
        assert_has(r.err, "usage: hactl failover [--vcluster N]");
    }
    assert_int_equal(t->hf.n_failover_calls, 0);
    HACTL(&t->fx, &r, "ha");
    assert_int_equal(r.rc, HACTL_EXIT_USAGE);
    HACTL(&t->fx, &r, "ha", "stats", "extra");
    assert_int_equal(r.rc, HACTL_EXIT_USAGE);
    HACTL(&t->fx, &r, "--help");
    assert_has(r.out, "  failover [--vcluster N]\n");
    assert_has(r.out, "  ha stats\n");
}

static void test_ha_stats(void **state)
{
    struct t *t = *state;
    struct run r;
    HACTL(&t->fx, &r, "ha", "stats");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_has(r.out, "HA sync messages         sent     received      dropped\n");
    assert_has(r.out, "bulk syncs: requested 1, served 2\n");
    assert_has(r.out, "write-ahead: held datagrams 42, longest hold 850 us\n");
    assert_has(r.out, "takeovers: 3  releases: 2  import errors: 1\n");
    assert_has(r.out, "queue full: sync messages refused 7, resyncs sent 5\n");
    assert_has(r.out, "channel: none\n");
    assert_has(r.out, "  ike_sa_add     ");
    HACTL(&t->fx, &r, "--json", "ha", "stats");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_json(r.out, "j['held_datagrams'] == 42 and j['takeovers'] == 3 and "
                       "j['sync_refused'] == 7 and j['resyncs_sent'] == 5 and "
                       "'channel' not in j and "
                       "all(m['received'] == m['sent'] + 100 for m in j['messages']) and "
                       "'ike_sa_add' in [m['type'] for m in j['messages']]");
}

/* No listing prints a key without --show-keys, HA or not. */
static void test_no_keys(void **state)
{
    struct t *t = *state;
    struct run r;
    HACTL(&t->fx, &r, "--json", "status");
    assert_lacks(r.out, "3a3a3a3a");
    HACTL(&t->fx, &r, "ha", "stats");
    assert_lacks(r.out, "3a3a3a3a");
}

/* After a graceful release: how long the drain of our exchanges took, and
 * what its timeout abandoned (text and JSON); the failover answer says how
 * many exchanges are in flight and the drain's bound. */
static void test_status_drain(void **state)
{
    struct t *t = *state;
    struct run r;
    struct ha_vc *vc = &t->hf.vcs[1];
    vc->last_change_ms = HAF_CHANGE_MS;
    snprintf(vc->last_reason, sizeof(vc->last_reason), "failover to node 2");
    vc->drained_once = true;
    vc->last_drain_ms = 207;
    vc->last_drain_left = 1;
    HACTL(&t->fx, &r, "status");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_has(r.out, " ago), failover to node 2, drain took 207 ms (1 exchange(s) abandoned at "
                      "the timeout)\n");
    /* the active vcluster 1 shows no drain: its last change was a takeover */
    assert_has(r.out, " ago), peer left, took 412 ms\n");
    HACTL(&t->fx, &r, "--json", "status");
    assert_json(r.out, "j['cluster']['vclusters'][1]['last_failover']['drain_ms'] == 207 and "
                       "j['cluster']['vclusters'][1]['last_failover']['drain_abandoned'] == 1 and "
                       "'drain_ms' not in j['cluster']['vclusters'][0]['last_failover']");
    vc->last_drain_left = 0;
    HACTL(&t->fx, &r, "status");
    assert_has(r.out, " ago), failover to node 2, drain took 207 ms\n");
    HACTL(&t->fx, &r, "--json", "failover", "--vcluster", "1");
    assert_json(r.out, "j['vclusters'] == [1] and j['outstanding'] == 0");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_status_layout),  T(test_status_states), T(test_status_hostile_name),
        T(test_status_json),    T(test_standalone),    T(test_failover),
        T(test_failover_usage), T(test_ha_stats),      T(test_no_keys),
        T(test_status_master_standby_syncing), T(test_status_drain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
