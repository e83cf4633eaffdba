/*
 * The HA handlers (daemon/ctl/ctl_h_ha.c) through ctl_dispatch(): a packed
 * request in, the packed response decoded and checked field by field,
 * over the fixture's runtime with a struct ha filled in by the test
 * (ha_fake.c) and ha_failover() mocked. Without HA every HA command is an
 * error reply and status says "standalone".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl/ctl_corosync.h"
#include "ctl/ctl_dispatch.h"
#include "ctl_fixture.h"
#include "ctl_frame.h"
#include "ha_fake.h"

struct t {
    struct ctl_fixture fx;
    struct ctl_ctx ctx;
    struct ha_fake hf;
};

static int setup(void **state)
{
    struct t *t = calloc(1, sizeof(*t));
    if (!t || ctl_fixture_init_runtime(&t->fx) != 0)
        return -1;
    t->ctx.d = &t->fx.d;
    t->ctx.log = &t->fx.d.log;
    t->ctx.version = "test";
    t->ctx.started_ms = ctl_now_ms() - 65 * 1000;
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

/* Packs req, dispatches it, returns the decoded response (never NULL). */
static Ctl__Response *call(struct t *t, Ctl__Request *req)
{
    uint8_t body[4096], *out = NULL;
    size_t len = ctl__request__get_packed_size(req), out_len = 0;
    assert_true(len <= sizeof(body));
    ctl__request__pack(req, body);
    assert_int_equal(ctl_dispatch(&t->ctx, body, len, CTL_RESPONSE_MAX, &out, &out_len), 0);
    Ctl__Response *resp = ctl__response__unpack(NULL, out_len, out);
    free(out);
    assert_non_null(resp);
    return resp;
}

static Ctl__Response *status(struct t *t)
{
    Ctl__Request req = CTL__REQUEST__INIT;
    Ctl__StatusRequest q = CTL__STATUS_REQUEST__INIT;
    req.command_case = CTL__REQUEST__COMMAND_STATUS;
    req.status = &q;
    Ctl__Response *resp = call(t, &req);
    assert_null(resp->error);
    assert_int_equal(resp->result_case, CTL__RESPONSE__RESULT_STATUS);
    return resp;
}

static Ctl__Response *failover(struct t *t, bool has_vc, uint32_t vc)
{
    Ctl__Request req = CTL__REQUEST__INIT;
    Ctl__FailoverRequest q = CTL__FAILOVER_REQUEST__INIT;
    q.has_vcluster = has_vc;
    q.vcluster = vc;
    req.command_case = CTL__REQUEST__COMMAND_FAILOVER;
    req.failover = &q;
    return call(t, &req);
}

static Ctl__Response *ha_stats(struct t *t)
{
    Ctl__Request req = CTL__REQUEST__INIT;
    Ctl__HaStatsRequest q = CTL__HA_STATS_REQUEST__INIT;
    req.command_case = CTL__REQUEST__COMMAND_HA_STATS;
    req.ha_stats = &q;
    return call(t, &req);
}

static void assert_error(Ctl__Response *resp, Ctl__ErrorCode code, const char *needle)
{
    assert_non_null(resp->error);
    assert_int_equal(resp->error->code, code);
    assert_int_equal(resp->result_case, CTL__RESPONSE__RESULT__NOT_SET);
    if (!resp->error->message || !strstr(resp->error->message, needle))
        fail_msg("expected \"%s\" in the error \"%s\"", needle,
                 resp->error->message ? resp->error->message : "(none)");
}

/* corosync's abstract sockets ("@cfg", "@quorum") in this namespace. */
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

static void test_status_cluster(void **state)
{
    struct t *t = *state;
    uint64_t t0 = ctl_now_ms();
    Ctl__Response *resp = status(t);
    uint64_t took = ctl_now_ms() - t0;
    const Ctl__StatusResult *st = resp->status;
    assert_string_equal(st->mode, "cluster");
    const Ctl__ClusterStatus *c = st->cluster;
    assert_non_null(c);
    assert_string_equal(c->group, "haiked"); /* the default group name */
    assert_true(c->has_quorate && c->quorate);
    assert_true(c->ever_saw_peer);
    assert_false(c->connected); /* no CPG channel */
    assert_int_equal(c->pending_acks, 0);
    /* The corosync part never holds status up beyond its bound. */
    assert_true(took < CTL_CS_TIMEOUT_MS + 500);
    /* The single-node part is still there. */
    assert_int_equal(st->ike_sas, 1);
    ctl__response__free_unpacked(resp, NULL);
}

static void test_status_nodes(void **state)
{
    struct t *t = *state;
    Ctl__Response *resp = status(t);
    const Ctl__ClusterStatus *c = resp->status->cluster;
    char host[64] = "";
    gethostname(host, sizeof(host) - 1);
    assert_non_null(c->self);
    assert_int_equal(c->n_nodes, 2);
    /* `self` is also the first of `nodes` */
    assert_int_equal(c->nodes[0]->id, c->self->id);
    assert_string_equal(c->nodes[0]->name, c->self->name);
    const Ctl__ClusterNode *me = c->nodes[0], *b = c->nodes[1];
    assert_int_equal(me->id, 1);
    assert_true(me->self);
    if (!corosync_here()) /* no nodelist to read: the host name */
        assert_string_equal(me->name, host);
    assert_true(me->uptime >= 64 && me->uptime <= 70); /* ctx.started_ms: 65 s ago */
    assert_true(me->started_at + me->uptime >= (uint64_t)time(NULL) - 2);
    assert_int_equal(me->n_vclusters, 2);
    assert_int_equal(me->vclusters[0]->vcluster, 1);
    assert_int_equal(me->vclusters[0]->priority, 200);
    assert_true(me->vclusters[0]->override);
    assert_string_equal(me->vclusters[0]->role, "master");
    assert_int_equal(me->vclusters[1]->priority, 100);
    assert_string_equal(me->vclusters[1]->role, "standby");

    assert_int_equal(b->id, 2);
    assert_string_equal(b->name, "vpn-b");
    assert_true(b->up);
    assert_false(b->self);
    assert_true(b->has_uptime && b->uptime >= 3722 && b->uptime <= 3730);
    assert_true(b->has_since && b->since >= 299 && b->since <= 305);
    assert_int_equal(b->n_vclusters, 2);
    assert_int_equal(b->vclusters[1]->vcluster, 2);
    assert_int_equal(b->vclusters[1]->priority, 200);
    assert_string_equal(b->vclusters[1]->role, "master");
    ctl__response__free_unpacked(resp, NULL);
}

static void test_status_vclusters(void **state)
{
    struct t *t = *state;
    Ctl__Response *resp = status(t);
    const Ctl__ClusterStatus *c = resp->status->cluster;
    assert_int_equal(c->n_vclusters, 2);
    const Ctl__VclusterStatus *v1 = c->vclusters[0], *v2 = c->vclusters[1];
    assert_int_equal(v1->id, 1);
    assert_int_equal(v1->n_vdoms, 1);
    assert_string_equal(v1->vdoms[0], "root");
    assert_int_equal(v1->master_id, 1);
    assert_string_equal(v1->master_name, c->self->name);
    assert_string_equal(v1->role, "master");
    assert_true(v1->active);
    assert_string_equal(v1->reason, "priority 200 > 100");
    assert_string_equal(v1->sync, "in-sync");
    assert_false(v1->has_behind);
    /* The fixture's gateway hq (VDOM root): one IKE SA, one CHILD SA. */
    assert_int_equal(v1->ike_sas, 1);
    assert_int_equal(v1->child_sas, 1);
    assert_int_equal(v1->priority, 200);
    assert_non_null(v1->last_failover);
    assert_int_equal(v1->last_failover->at, HAF_CHANGE_MS / 1000);
    assert_true(v1->last_failover->ago >= (uint64_t)time(NULL) - HAF_CHANGE_MS / 1000 - 2);
    assert_string_equal(v1->last_failover->reason, "peer left");
    assert_int_equal(v1->last_failover->duration_ms, 412);

    assert_int_equal(v2->id, 2);
    assert_string_equal(v2->vdoms[0], "dmz");
    assert_int_equal(v2->master_id, 2);
    assert_string_equal(v2->master_name, "vpn-b");
    assert_string_equal(v2->role, "standby");
    assert_false(v2->active);
    assert_string_equal(v2->sync, "behind");
    assert_true(v2->has_behind);
    assert_int_equal(v2->behind, 3);
    assert_int_equal(v2->ike_sas, 0); /* no gateway in dmz */
    assert_null(v2->last_failover);   /* never changed role */
    ctl__response__free_unpacked(resp, NULL);
}

/* A peer that left is listed down, and is nobody's master any more. */
static void test_status_peer_down(void **state)
{
    struct t *t = *state;
    t->hf.ha.peers[0].member = false;
    Ctl__Response *resp = status(t);
    const Ctl__ClusterStatus *c = resp->status->cluster;
    assert_false(c->nodes[1]->up);
    assert_int_equal(c->vclusters[1]->master_id, 0);
    assert_string_equal(c->vclusters[1]->master_name, "");
    ctl__response__free_unpacked(resp, NULL);
    t->hf.ha.peers[0].member = true;
}

/* A peer's announced name came over the wire: control characters never
 * reach the response, and a name filling its whole array is cut, not read
 * past. Without an announced name, corosync's nodelist (none here). */
static void test_status_peer_name(void **state)
{
    struct t *t = *state;
    struct ha_peer *p = &t->hf.ha.peers[0];
    memcpy(p->name, "b\033]0;x\007", 8);
    Ctl__Response *resp = status(t);
    /* With corosync (tests/lab/test_hactl_corosync.py) its nodelist names
     * node 2 and wins over whatever the peer announced. */
    bool nodelist = corosync_here() && !getenv("HA_TEST_COROSYNC_HUNG");
    const char *want = nodelist ? "vpn-b" : "b?]0;x?";
    assert_string_equal(resp->status->cluster->nodes[1]->name, want);
    assert_string_equal(resp->status->cluster->vclusters[1]->master_name, want);
    ctl__response__free_unpacked(resp, NULL);

    memset(p->name, 'n', sizeof(p->name)); /* no NUL */
    resp = status(t);
    assert_int_equal(strlen(resp->status->cluster->nodes[1]->name),
                     nodelist ? strlen("vpn-b") : sizeof(p->name) - 1);
    ctl__response__free_unpacked(resp, NULL);

    p->name[0] = '\0';
    resp = status(t);
    if (!corosync_here())
        assert_string_equal(resp->status->cluster->nodes[1]->name, "");
    ctl__response__free_unpacked(resp, NULL);
}

/* The master's sync state is its standby's, as the standby announces it
 * (its own vc->sync stays "alone": it catches up with nobody); "alone"
 * only when no peer is a member. A standby shows its own. */
static void test_status_master_sync(void **state)
{
    struct t *t = *state;
    struct ha_peer *p = &t->hf.ha.peers[0];
    assert_int_equal(t->hf.vcs[0].sync, HA_SYNC_ALONE);
    Ctl__Response *resp = status(t); /* the peer announced STANDBY for vc 1 */
    assert_string_equal(resp->status->cluster->vclusters[0]->sync, "in-sync");
    assert_false(resp->status->cluster->vclusters[0]->has_snapshot_sas);
    ctl__response__free_unpacked(resp, NULL);

    p->ann[0].role = HASYNC_ROLE_SYNCING; /* its snapshot is not complete */
    resp = status(t);
    assert_string_equal(resp->status->cluster->vclusters[0]->sync, "syncing");
    assert_false(resp->status->cluster->vclusters[0]->has_snapshot_sas);
    ctl__response__free_unpacked(resp, NULL);

    p->n_ann = 0; /* joined, not announced yet: not known to be in sync */
    resp = status(t);
    assert_string_equal(resp->status->cluster->vclusters[0]->sync, "syncing");
    ctl__response__free_unpacked(resp, NULL);
    p->n_ann = 2;
    p->ann[0].role = HASYNC_ROLE_STANDBY;

    t->hf.vcs[0].sync = HA_SYNC_IN_SYNC; /* e.g. a standby that took over */
    p->member = false;
    resp = status(t);
    assert_string_equal(resp->status->cluster->vclusters[0]->sync, "alone");
    /* the standby side keeps its own state, peer or not */
    assert_string_equal(resp->status->cluster->vclusters[1]->sync, "behind");
    ctl__response__free_unpacked(resp, NULL);
    p->member = true;
}

/* One source for every name: this node's is what it announces
 * (ha->self_name: corosync's nodelist entry, ha_name.c), not this host's
 * gethostname(); a peer's is its announced one. Without corosync here the
 * nodelist cannot override either. */
static void test_status_names_one_source(void **state)
{
    struct t *t = *state;
    if (corosync_here())
        skip();
    snprintf(t->hf.ha.self_name, sizeof(t->hf.ha.self_name), "a");
    snprintf(t->hf.ha.peers[0].name, sizeof(t->hf.ha.peers[0].name), "b");
    Ctl__Response *resp = status(t);
    const Ctl__ClusterStatus *c = resp->status->cluster;
    assert_string_equal(c->self->name, "a");
    assert_string_equal(c->nodes[0]->name, "a");
    assert_string_equal(c->nodes[1]->name, "b");
    assert_string_equal(c->vclusters[0]->master_name, "a");
    assert_string_equal(c->vclusters[1]->master_name, "b");
    ctl__response__free_unpacked(resp, NULL);
}

/* corosync is asked per request; when it is not there, each part says why
 * instead of failing the request. */
static void test_status_corosync(void **state)
{
    struct t *t = *state;
    Ctl__Response *resp = status(t);
    const Ctl__CorosyncStatus *cs = resp->status->cluster->corosync;
    assert_non_null(cs);
    /* Either the rings/links or why not; either the quorum or why not. */
    if (cs->rings_error)
        assert_true(cs->n_rings == 0 && cs->n_links == 0);
    assert_true((cs->quorum_error != NULL) != (cs->quorum != NULL));
    /* In the lab (tests/lab/test_hactl_corosync.py): a real two-node
     * corosync, this test in node 1's namespace. */
    const char *expect = getenv("HA_TEST_COROSYNC_SELF");
    if (expect) {
        const Ctl__ClusterStatus *c = resp->status->cluster;
        assert_null(cs->rings_error);
        assert_null(cs->quorum_error);
        assert_string_equal(c->self->name, expect); /* from cmap's nodelist */
        assert_int_equal(cs->local_node, 1);
        assert_true(cs->n_rings >= 1);
        assert_true(cs->n_links >= 1);
        for (size_t i = 0; i < cs->n_links; i++) {
            assert_int_equal(cs->links[i]->node, 2);
            assert_true(cs->links[i]->enabled && cs->links[i]->connected);
        }
        assert_true(cs->quorum->quorate && cs->quorum->two_node);
        assert_int_equal(cs->quorum->total_votes, 2);
        assert_int_equal(cs->quorum->expected_votes, 2);
    } else if (getenv("HA_TEST_COROSYNC_HUNG")) { /* corosync stopped (SIGSTOP) */
        assert_non_null(cs->rings_error);
        assert_non_null(cs->quorum_error);
        if (!strstr(cs->rings_error, "did not answer within 1000 ms") &&
            !strstr(cs->rings_error, "earlier queries are still waiting"))
            fail_msg("unexpected: %s", cs->rings_error);
    } else if (!corosync_here()) {
        assert_non_null(cs->rings_error);
        assert_non_null(cs->quorum_error);
        assert_true(strncmp(cs->rings_error, "unavailable: ", 13) == 0);
        assert_true(strncmp(cs->quorum_error, "unavailable: ", 13) == 0);
        assert_non_null(strstr(cs->rings_error, "corosync"));
    }
    ctl__response__free_unpacked(resp, NULL);
}

static void test_status_standalone(void **state)
{
    struct t *t = *state;
    ha_fake_detach(&t->hf, &t->fx.d);
    Ctl__Response *resp = status(t);
    assert_string_equal(resp->status->mode, "standalone");
    assert_null(resp->status->cluster);
    ctl__response__free_unpacked(resp, NULL);
}

static void test_failover_one(void **state)
{
    struct t *t = *state;
    Ctl__Response *resp = failover(t, true, 1);
    assert_null(resp->error);
    assert_int_equal(resp->result_case, CTL__RESPONSE__RESULT_FAILOVER);
    assert_int_equal(resp->failover->n_vclusters, 1);
    assert_int_equal(resp->failover->vclusters[0], 1);
    assert_int_equal(t->hf.n_failover_calls, 1);
    assert_int_equal(t->hf.failover_calls[0], 1);
    ctl__response__free_unpacked(resp, NULL);
}

/* Without --vcluster: every vcluster this node masters, none other. */
static void test_failover_all(void **state)
{
    struct t *t = *state;
    Ctl__Response *resp = failover(t, false, 0);
    assert_null(resp->error);
    assert_int_equal(resp->failover->n_vclusters, 1);
    assert_int_equal(resp->failover->vclusters[0], 1);
    assert_int_equal(t->hf.n_failover_calls, 1);
    ctl__response__free_unpacked(resp, NULL);

    t->hf.vcs[0].role = HASYNC_ROLE_STANDBY;
    resp = failover(t, false, 0);
    assert_error(resp, CTL__ERROR_CODE__ERR_FAILED, "master of no virtual cluster");
    assert_int_equal(t->hf.n_failover_calls, 1); /* not called */
    ctl__response__free_unpacked(resp, NULL);
}

/* ha_failover's refusal reaches the operator with its reason. */
static void test_failover_refused(void **state)
{
    struct t *t = *state;
    t->hf.failover_rc = -1;
    snprintf(t->hf.failover_err, sizeof(t->hf.failover_err), "no eligible peer");
    Ctl__Response *resp = failover(t, true, 1);
    assert_error(resp, CTL__ERROR_CODE__ERR_FAILED, "vcluster 1: no eligible peer");
    ctl__response__free_unpacked(resp, NULL);
    resp = failover(t, false, 0);
    assert_error(resp, CTL__ERROR_CODE__ERR_FAILED, "no eligible peer");
    ctl__response__free_unpacked(resp, NULL);
    /* A reason that names its vcluster is not prefixed twice. */
    snprintf(t->hf.failover_err, sizeof(t->hf.failover_err), "vcluster 1: not master");
    resp = failover(t, true, 1);
    assert_error(resp, CTL__ERROR_CODE__ERR_FAILED, "failover: vcluster 1: not master");
    assert_null(strstr(resp->error->message, "vcluster 1: vcluster"));
    ctl__response__free_unpacked(resp, NULL);
}

/* Bad requests: error replies, the mock never reached. */
static void test_failover_bad(void **state)
{
    struct t *t = *state;
    Ctl__Response *resp = failover(t, true, 0);
    assert_error(resp, CTL__ERROR_CODE__ERR_BAD_REQUEST, "vcluster 0");
    ctl__response__free_unpacked(resp, NULL);
    resp = failover(t, true, 9);
    assert_error(resp, CTL__ERROR_CODE__ERR_NOT_FOUND, "no virtual cluster 9");
    ctl__response__free_unpacked(resp, NULL);
    assert_int_equal(t->hf.n_failover_calls, 0);
    assert_int_equal(t->ctx.errors, 2);

    ha_fake_detach(&t->hf, &t->fx.d);
    resp = failover(t, true, 1);
    assert_error(resp, CTL__ERROR_CODE__ERR_FAILED, "standalone");
    ctl__response__free_unpacked(resp, NULL);
    resp = ha_stats(t);
    assert_error(resp, CTL__ERROR_CODE__ERR_FAILED, "standalone");
    ctl__response__free_unpacked(resp, NULL);
}

/* A request body that is not a ctl.Request at all. */
static void test_undecodable(void **state)
{
    struct t *t = *state;
    static const uint8_t junk[] = {0x8a, 0x01, 0xff, 0xff, 0xff};
    uint8_t *out = NULL;
    size_t out_len = 0;
    assert_int_equal(ctl_dispatch(&t->ctx, junk, sizeof(junk), CTL_RESPONSE_MAX, &out, &out_len),
                     0);
    Ctl__Response *resp = ctl__response__unpack(NULL, out_len, out);
    free(out);
    assert_non_null(resp);
    assert_error(resp, CTL__ERROR_CODE__ERR_BAD_REQUEST, "does not decode");
    ctl__response__free_unpacked(resp, NULL);
    assert_int_equal(t->hf.n_failover_calls, 0);
}

static void test_ha_stats(void **state)
{
    struct t *t = *state;
    Ctl__Response *resp = ha_stats(t);
    assert_null(resp->error);
    assert_int_equal(resp->result_case, CTL__RESPONSE__RESULT_HA_STATS);
    const Ctl__HaStatsResult *s = resp->ha_stats;
    /* Every body type the arrays can hold, by name, none unnamed. */
    assert_true(s->n_messages >= 6);
    bool saw_add = false;
    for (size_t i = 0; i < s->n_messages; i++) {
        assert_non_null(s->messages[i]->type);
        assert_string_not_equal(s->messages[i]->type, "none");
        assert_int_equal(s->messages[i]->received, s->messages[i]->sent + 100);
        if (strcmp(s->messages[i]->type, "ike_sa_add") == 0) {
            saw_add = true;
            /* the fake's counters: sent = 100 + index */
            assert_true(s->messages[i]->sent >= 100);
        }
    }
    assert_true(saw_add);
    assert_int_equal(s->bulk_syncs_requested, 1);
    assert_int_equal(s->bulk_syncs_served, 2);
    assert_int_equal(s->held_datagrams, 42);
    assert_int_equal(s->held_max_us, 850);
    assert_int_equal(s->takeovers, 3);
    assert_int_equal(s->releases, 2);
    assert_int_equal(s->import_errors, 1);
    assert_true(s->has_sync_refused && s->has_resyncs_sent);
    assert_int_equal(s->sync_refused, 7);
    assert_int_equal(s->resyncs_sent, 5);
    assert_null(s->channel); /* no CPG channel */
    ctl__response__free_unpacked(resp, NULL);
}

/* A request from a newer hactl with a field this daemon does not know is
 * still answered (protobuf field rules). */
static void test_unknown_field(void **state)
{
    struct t *t = *state;
    Ctl__Request req = CTL__REQUEST__INIT;
    Ctl__HaStatsRequest q = CTL__HA_STATS_REQUEST__INIT;
    req.command_case = CTL__REQUEST__COMMAND_HA_STATS;
    req.ha_stats = &q;
    uint8_t body[64], *out = NULL;
    size_t len = ctl__request__pack(&req, body), out_len = 0;
    /* ha_stats (field 18) is "\x92\x01\x00": grow it by field 99, varint 7. */
    assert_int_equal(len, 3);
    body[2] = 3;
    body[3] = 0x98; /* field 99, wire type 0 */
    body[4] = 0x06;
    body[5] = 7;
    assert_int_equal(ctl_dispatch(&t->ctx, body, 6, CTL_RESPONSE_MAX, &out, &out_len), 0);
    Ctl__Response *resp = ctl__response__unpack(NULL, out_len, out);
    free(out);
    assert_non_null(resp);
    assert_null(resp->error);
    assert_int_equal(resp->result_case, CTL__RESPONSE__RESULT_HA_STATS);
    ctl__response__free_unpacked(resp, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_status_cluster, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_nodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_vclusters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_peer_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_peer_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_master_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_names_one_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_corosync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_standalone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_undecodable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ha_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_field, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
