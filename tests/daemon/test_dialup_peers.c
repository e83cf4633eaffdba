/*
 * A dial-up gateway with several peers, through real IKE traffic (three
 * haiked runtimes in one process, in a private network namespace): A1
 * with gateways gw1 (127.0.0.1, ID @a1.test) and gw3 (127.0.0.4,
 * @a3.test), A2 with gw2 (127.0.0.3, @a2.test), all to B's dial-up gateway
 * (127.0.0.2). Checks on B:
 *
 * - the peer ID index (daemon/peer_index.c) agrees with a recount from
 *   the SAs (peer_index_check) after every step, and lists each peer's SAs;
 * - INITIAL_CONTACT from a restarted A2 drops exactly A2's older SAs, none
 *   of the other IDs' (through the index);
 * - `tunnel summary` (ctl_h_tunnel_summary, one pass over the SAs) gives
 *   the entries the old per-peer walks gave: an oracle below recomputes
 *   them that way and every field is compared.
 */
#include "dtest_util.h"

#include <arpa/inet.h>

#include <ike/const.h>
#include <ike/sa.h>

#include "ctl/ctl_dispatch.h"
#include "ctl/ctl_view.h"
#include "dataplane.h"
#include "gw_internal.h"
#include "gw_sa.h"
#include "peer_index.h"

#define PSK "unit-test-psk-not-secret"

struct dp3 {
    struct dtest_dir dir;
    struct event_base *base;
    struct daemon a1, a2, b;
    bool a2_up;
    FILE *log;
};

#define GLOBAL_FMT                                                                                 \
    "global = { control-socket = \"%s/%s.sock\"; secrets-file = \"%s/%s.secrets\";\n"              \
    "  dataplane = \"record\"; log = { target = \"stderr\"; level = \"error\"; };\n"               \
    "  ike = { retransmit-timeout-ms = 300; retransmit-tries = 3;\n"                               \
    "    cookie-threshold = 100000; half-open-max = 100000; half-open-per-peer = 100000; }; };\n"

/* An initiator gateway NAME on ADDR with ID @ID.test towards B. */
#define A_GW_FMT                                                                                   \
    "{ name = \"%s\"; local-gw = \"%s\"; remote-gw = \"127.0.0.2\"; auto-negotiate = false;\n"     \
    "  proposal = \"aes128-sha256-ecp256\"; dpd = \"disable\";\n"                                  \
    "  local-id = \"@%s.test\"; remote-id = \"@b.test\";\n"                                        \
    "  selectors = ( { name = \"net\"; local-subnet = \"10.0.1.0/24\";\n"                          \
    "    remote-subnet = \"10.0.2.0/24\"; proposal = \"aes128gcm16\"; } ); }"

static struct gateway *gw(struct daemon *d, const char *name)
{
    struct gateway *g = gw_find(d, name);
    assert_non_null(g);
    return g;
}

static void start(struct dp3 *t, struct daemon *d, const char *name)
{
    char err[256], conf[64], path[160];
    snprintf(conf, sizeof(conf), "%s.conf", name);
    snprintf(path, sizeof(path), "%s/%s", t->dir.path, conf);
    assert_int_equal(
        daemon_init(d, t->base, dtest_load(&t->dir, conf), path, t->log, err, sizeof(err)), 0);
    assert_int_equal(daemon_start(d, err, sizeof(err)), 0);
}

static int setup(void **state)
{
    if (dtest_private_netns() < 0) {
        print_message("skipped: needs root for a private network namespace\n");
        *state = NULL;
        return 0;
    }
    struct dp3 *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    dtest_dir_make(&t->dir);
    const char *p = t->dir.path;
    dtest_write(&t->dir, "a1.conf", 0644, GLOBAL_FMT "gateways = ( " A_GW_FMT ", " A_GW_FMT " );\n",
                p, "a1", p, "a1", "gw1", "127.0.0.1", "a1", "gw3", "127.0.0.4", "a3");
    dtest_write(&t->dir, "a2.conf", 0644, GLOBAL_FMT "gateways = ( " A_GW_FMT " );\n", p, "a2", p,
                "a2", "gw2", "127.0.0.3", "a2");
    /* Two selectors on B: "other" matches no peer (selectors_up 1 of 2). */
    dtest_write(&t->dir, "b.conf", 0644,
                GLOBAL_FMT
                "gateways = ( { name = \"dial\"; local-gw = \"127.0.0.2\"; remote-gw = \"any\";\n"
                "  proposal = \"aes128-sha256-ecp256\"; dpd = \"disable\";\n"
                "  local-id = \"@b.test\"; remote-id = \"any\";\n"
                "  selectors = ( { name = \"other\"; local-subnet = \"10.9.2.0/24\";\n"
                "    remote-subnet = \"10.9.1.0/24\"; proposal = \"aes128gcm16\"; },\n"
                "    { name = \"net\"; local-subnet = \"10.0.2.0/24\";\n"
                "    remote-subnet = \"10.0.1.0/24\"; proposal = \"aes128gcm16\"; } ); } );\n",
                p, "b", p, "b");
    dtest_write(&t->dir, "a1.secrets", 0600,
                "secrets = ( { gateway = \"gw1\"; psk = \"%s\"; }, { gateway = \"gw3\"; psk = "
                "\"%s\"; } );\n",
                PSK, PSK);
    dtest_write(&t->dir, "a2.secrets", 0600,
                "secrets = ( { gateway = \"gw2\"; psk = \"%s\"; } );\n", PSK);
    dtest_write(&t->dir, "b.secrets", 0600,
                "secrets = ( { gateway = \"dial\"; psk = \"%s\"; } );\n", PSK);
    t->base = event_base_new();
    t->log = tmpfile();
    start(t, &t->b, "b");
    start(t, &t->a1, "a1");
    start(t, &t->a2, "a2");
    t->a2_up = true;
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct dp3 *t = *state;
    if (!t)
        return 0;
    daemon_free(&t->a1);
    if (t->a2_up)
        daemon_free(&t->a2);
    daemon_free(&t->b);
    event_base_free(t->base);
    fclose(t->log);
    dtest_dir_remove(&t->dir);
    free(t);
    return 0;
}

struct want {
    struct gateway *a, *b;
    size_t a_est, b_sas;
};

static bool reached(void *arg)
{
    struct want *w = arg;
    return w->a->n_established == w->a_est && w->b->n_sas == w->b_sas &&
           w->b->n_established == w->b_sas;
}

/* n more IKE SAs from a (all up on both sides afterwards). */
static void open_sas(struct dp3 *t, struct gateway *a, size_t n)
{
    struct gateway *b = gw(&t->b, "dial");
    struct want w = {a, b, a->n_established + n, b->n_sas + n};
    char err[256];
    for (size_t i = 0; i < n; i++)
        if (gw_initiate(a, err, sizeof(err)) != 0)
            fail_msg("initiate %s: %s", a->name, err);
    if (!dtest_run_until(t->base, reached, &w, 20000))
        fail_msg("%s: %zu established (want %zu), B %zu SAs / %zu established (want %zu)", a->name,
                 a->n_established, w.a_est, b->n_sas, b->n_established, w.b_sas);
}

static const struct ike_id_export *id_of(const struct gw_sa *gs)
{
    return gs->sa ? ike_sa_peer_id(gs->sa) : NULL;
}

#define ASSERT_INDEX(d, g)                                                                         \
    do {                                                                                           \
        char why_[256] = "";                                                                       \
        if (peer_index_check(&(d)->peer_ids, (g), id_of, why_, sizeof(why_)) != 0)                 \
            fail_msg("peer index of %s: %s", (g)->name, why_);                                     \
    } while (0)

static size_t with_id(struct daemon *d, struct gateway *g, const char *name)
{
    struct ike_id_export id = {.type = IKE_ID_FQDN, .len = (uint16_t)strlen(name)};
    memcpy(id.data, name, id.len);
    size_t n = 0;
    for (struct gw_sa *gs = peer_index_first(&d->peer_ids, g, &id); gs; gs = peer_index_next(gs)) {
        assert_true(peer_id_equal(ike_sa_peer_id(gs->sa), &id));
        assert_ptr_equal(gs->gw, g);
        n++;
    }
    assert_int_equal(n, peer_index_count(&d->peer_ids, g, &id));
    return n;
}

/* ---- the oracle: `tunnel summary` entries as the per-peer walks made them -- */

struct expect {
    const struct ike_addr *addr;
    uint32_t ike_sas, selectors_up;
    bool up;
    uint64_t rx_packets, tx_packets;
};

static const struct ike_addr *listed_peer(const struct gw_sa *gs)
{
    return gs->sa && !gs->dying ? ike_sa_remote_addr(gs->sa) : NULL;
}

static size_t oracle(struct gateway *g, struct expect *e, size_t cap)
{
    size_t n = 0;
    for (struct gw_sa *gs = gw_sa_first(g); gs; gs = gw_sa_next(gs)) {
        const struct ike_addr *p = listed_peer(gs);
        bool seen = false;
        for (struct gw_sa *o = gw_sa_first(g); p && o != gs; o = gw_sa_next(o))
            seen |= listed_peer(o) && ike_addr_equal(listed_peer(o), p);
        if (!p || seen)
            continue;
        assert_true(n < cap);
        struct expect *x = &e[n++];
        memset(x, 0, sizeof(*x));
        x->addr = p;
        for (size_t i = 0; i < g->cfg->n_selectors; i++) {
            bool up = false;
            for (struct gw_sa *o = gw_sa_first(g); o; o = gw_sa_next(o))
                if (listed_peer(o) && ike_addr_equal(listed_peer(o), p))
                    for (const struct dp_child *c = gw_child_first(o); c; c = gw_child_next(c))
                        up |= strcmp(c->child_name, g->cfg->selectors[i].name) == 0;
            x->selectors_up += up;
        }
        for (struct gw_sa *o = gw_sa_first(g); o; o = gw_sa_next(o)) {
            if (!listed_peer(o) || !ike_addr_equal(listed_peer(o), p))
                continue;
            x->ike_sas++;
            x->up |= o->established_ms && !o->deleting;
            for (const struct dp_child *c = gw_child_first(o); c; c = gw_child_next(c)) {
                x->rx_packets += c->ctr.packets_in;
                x->tx_packets += c->ctr.packets_out;
            }
        }
    }
    return n;
}

/* A control request to d's handlers, as the control socket builds one
 * (free k->arena after). */
struct ctl_call {
    struct ctl_ctx ctx;
    Ctl__Request req;
    Ctl__Response resp;
    struct ctl_arena arena;
    struct ctl_req r;
};

static void ctl_call_init(struct ctl_call *k, struct daemon *d)
{
    k->ctx = (struct ctl_ctx){.d = d};
    k->req = (Ctl__Request)CTL__REQUEST__INIT;
    k->resp = (Ctl__Response)CTL__RESPONSE__INIT;
    ctl_arena_init(&k->arena, 0);
    k->r = (struct ctl_req){.ctx = &k->ctx,
                            .req = &k->req,
                            .resp = &k->resp,
                            .arena = &k->arena,
                            .now_ms = ctl_now_ms()};
}

/* B's `tunnel summary` equals the oracle's entries; returns their count. */
static size_t check_summary(struct dp3 *t)
{
    struct gateway *g = gw(&t->b, "dial");
    struct expect e[32];
    size_t n = oracle(g, e, 32);
    struct ctl_call k;
    ctl_call_init(&k, &t->b);
    assert_int_equal(ctl_h_tunnel_summary(&k.r), 0);
    const Ctl__TunnelSummaryResult *res = k.resp.tunnel_summary;
    assert_non_null(res);
    assert_int_equal(res->n_tunnels, n);
    for (size_t i = 0; i < n; i++) {
        const Ctl__TunnelSummary *m = res->tunnels[i];
        char name[32], addr[INET6_ADDRSTRLEN];
        snprintf(name, sizeof(name), "dial_%zu", i);
        assert_string_equal(m->name, name);
        assert_string_equal(m->gateway, "dial");
        assert_true(m->dialup);
        assert_int_equal(m->peer_index, i);
        assert_non_null(inet_ntop(AF_INET, e[i].addr->addr, addr, sizeof(addr)));
        assert_string_equal(m->remote->addr, addr);
        assert_int_equal(m->remote->port, e[i].addr->port);
        assert_int_equal(m->ike_sas, e[i].ike_sas);
        assert_int_equal(m->selectors_total, 2);
        assert_int_equal(m->selectors_up, e[i].selectors_up);
        assert_string_equal(m->state, e[i].up ? "up" : "connecting");
        assert_int_equal(m->counters->rx_packets, e[i].rx_packets);
        assert_int_equal(m->counters->tx_packets, e[i].tx_packets);
    }
    ctl_arena_free(&k.arena);
    return n;
}

static void test_peers_index_and_summary(void **state)
{
    struct dp3 *t = *state;
    if (!t)
        skip();
    struct gateway *b = gw(&t->b, "dial");
    struct gateway *g1 = gw(&t->a1, "gw1"), *g2 = gw(&t->a2, "gw2"), *g3 = gw(&t->a1, "gw3");
    /* Interleaved, so each peer's SAs are spread over B's list. */
    open_sas(t, g1, 2);
    ASSERT_INDEX(&t->b, b);
    open_sas(t, g2, 3);
    open_sas(t, g3, 1);
    open_sas(t, g1, 2);
    ASSERT_INDEX(&t->b, b);
    assert_int_equal(with_id(&t->b, b, "a1.test"), 4);
    assert_int_equal(with_id(&t->b, b, "a2.test"), 3);
    assert_int_equal(with_id(&t->b, b, "a3.test"), 1);
    assert_int_equal(with_id(&t->b, b, "b.test"), 0);
    assert_int_equal(b->counters.initial_contact_drops, 0);
    /* Peers by address in first-SA order: .1 (4 SAs), .3 (3), .4 (1). */
    assert_int_equal(check_summary(t), 3);
    assert_int_equal(b->state, GW_STATE_UP);

    /* A2 restarts without Deletes (a crash): its first SA carries
     * INITIAL_CONTACT, B drops A2's three older SAs and no other. */
    daemon_free(&t->a2);
    t->a2_up = false;
    memset(&t->a2, 0, sizeof(t->a2));
    start(t, &t->a2, "a2");
    t->a2_up = true;
    g2 = gw(&t->a2, "gw2");
    char err[256];
    assert_int_equal(gw_initiate(g2, err, sizeof(err)), 0);
    struct want w = {g2, b, 1, 4 + 1 + 1};
    if (!dtest_run_until(t->base, reached, &w, 10000))
        fail_msg("after INITIAL_CONTACT: B has %zu SAs / %zu established, want 6", b->n_sas,
                 b->n_established);
    assert_int_equal(b->counters.initial_contact_drops, 3);
    ASSERT_INDEX(&t->b, b);
    assert_int_equal(with_id(&t->b, b, "a1.test"), 4);
    assert_int_equal(with_id(&t->b, b, "a2.test"), 1);
    assert_int_equal(with_id(&t->b, b, "a3.test"), 1);
    /* A2's peer is now the youngest: .1, .4, .3. */
    assert_int_equal(check_summary(t), 3);
    /* The listing's selectors: "net" up, "other" not. */
    struct ctl_call k;
    ctl_call_init(&k, &t->b);
    Ctl__Gateway *m = ctl_v_gateway(&k.r, b, true);
    assert_non_null(m);
    assert_int_equal(m->n_phase2s, 2);
    assert_string_equal(m->phase2s[0]->name, "other");
    assert_false(m->phase2s[0]->up);
    assert_string_equal(m->phase2s[1]->name, "net");
    assert_true(m->phase2s[1]->up);
    assert_int_equal(m->n_ike_sas, 6);
    ctl_arena_free(&k.arena);

    /* Everything deleted by A1 (its Deletes): the index empties with B. */
    gw_delete_all(g1, "test");
    gw_delete_all(g3, "test");
    struct want w2 = {g1, b, 0, 1};
    if (!dtest_run_until(t->base, reached, &w2, 10000))
        fail_msg("after the Deletes: B has %zu SAs, want 1", b->n_sas);
    ASSERT_INDEX(&t->b, b);
    assert_int_equal(with_id(&t->b, b, "a1.test"), 0);
    assert_int_equal(with_id(&t->b, b, "a3.test"), 0);
    assert_int_equal(t->b.peer_ids.n_filed, 1);
    assert_int_equal(check_summary(t), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_peers_index_and_summary, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
