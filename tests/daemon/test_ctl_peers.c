/*
 * The one-pass indices of the control views: ctl_peers_group (a dial-up
 * gateway's SAs by peer address:port) against the quadratic walk it
 * replaced, on 3,000 SAs of 1,000 peers (IPv4, the same addresses on
 * another port, IPv6 sharing their first octets), some dying, one without
 * a libike SA; and ctl_selectors (names sorted once: duplicates, unnamed
 * selectors, the first of a name in configuration order).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ike/sa.h>
#include <ike/const.h>
#include <ike/secret.h>

#include "config/config.h"
#include "config/proposal_parse.h"
#include "ctl/ctl_arena.h"
#include "ctl/ctl_peers.h"
#include "ctl/ctl_selectors.h"
#include "gateway.h"

static void no_send(void *user, struct ike_sa *sa, const struct ike_addr *local,
                    const struct ike_addr *remote, const uint8_t *data, size_t len)
{
    (void)user, (void)sa, (void)local, (void)remote, (void)data, (void)len;
}

static void no_arm(void *user, struct ike_sa *sa, enum ike_timer which, uint32_t ms)
{
    (void)user, (void)sa, (void)which, (void)ms;
}

static void no_cancel(void *user, struct ike_sa *sa, enum ike_timer which)
{
    (void)user, (void)sa, (void)which;
}

static uint64_t now_ms(void *user)
{
    (void)user;
    return 1000;
}

static void no_log(void *user, const struct ike_sa *sa, enum ike_log_level level, const char *text)
{
    (void)user, (void)sa, (void)level, (void)text;
}

static void no_event(void *user, const struct ike_event *ev)
{
    (void)user, (void)ev;
}

static int no_install(void *user, struct ike_sa *sa, const struct ike_child_export *child)
{
    (void)user, (void)sa, (void)child;
    return -1;
}

static void no_delete(void *user, struct ike_sa *sa, uint32_t spi_in)
{
    (void)user, (void)sa, (void)spi_in;
}

static const struct ike_ctx_ops ops = {
    .child_install = no_install,
    .child_delete = no_delete,
    .send = no_send,
    .timer_arm = no_arm,
    .timer_cancel = no_cancel,
    .now_ms = now_ms,
    .log = no_log,
    .event = no_event,
};

#define N_PEERS 1000
#define ROUNDS  3

/* Peer i: 10.0.x.y:500 (i < 500), the same address on 4500 (i < 750),
 * else an IPv6 address whose first 4 octets are peer i - 750's. */
static struct ike_addr peer_addr(unsigned i)
{
    struct ike_addr a = {.family = IKE_AF_INET, .port = 500};
    unsigned base = i < 500 ? i : i < 750 ? i - 500 : i - 750;
    a.addr[0] = 10;
    a.addr[2] = (uint8_t)(base / 256);
    a.addr[3] = (uint8_t)(base % 256);
    if (i >= 500 && i < 750)
        a.port = 4500;
    if (i >= 750)
        a.family = IKE_AF_INET6;
    return a;
}

static const struct ike_addr *listed(const struct gw_sa *gs)
{
    return gs->sa && !gs->dying ? ike_sa_remote_addr(gs->sa) : NULL;
}

static void test_peers_group_many(void **state)
{
    (void)state;
    struct ike_ctx ctx = {.ops = &ops, .retransmit_base_ms = 1000, .retransmit_tries = 1};
    struct ike_sa_cfg cfg = {.name = "t", .local = {.family = IKE_AF_INET, .port = 500}};
    cfg.local.addr[0] = 127;
    cfg.local.addr[3] = 1;
    cfg.local_id.type = IKE_ID_FQDN;
    cfg.local_id.len = 6;
    memcpy(cfg.local_id.data, "t.test", 6);
    char err[128];
    assert_int_equal(cfg_proposals_parse("aes128-sha256-ecp256", CFG_PROP_IKE, NULL, 0,
                                         cfg.proposals, &cfg.n_proposals, err, sizeof(err)),
                     0);
    struct ike_secret *psk = NULL;
    assert_int_equal(ike_secret_from((const uint8_t *)"not-a-secret-psk", 16, &psk), IKE_OK);
    cfg.psk = psk;
    struct gateway gw = {.name = "dial"};
    TAILQ_INIT(&gw.sas);
    static struct gw_sa sas[ROUNDS * N_PEERS + 1];
    size_t n = 0;
    /* Round r brings one more SA of every peer: each peer's SAs are spread
     * over the gateway's list. */
    for (unsigned r = 0; r < ROUNDS; r++)
        for (unsigned i = 0; i < N_PEERS; i++) {
            struct gw_sa *gs = &sas[n++];
            cfg.remote = peer_addr(i);
            struct ike_diag diag = {0};
            if (ike_sa_initiate(&ctx, &cfg, &gs->sa, &diag) != IKE_OK)
                fail_msg("ike_sa_initiate: %s", diag.reason);
            gs->gw = &gw;
            gs->serial = (uint32_t)n;
            gs->dying = r == 1 && i % 7 == 0; /* not listed */
            TAILQ_INIT(&gs->children);
            TAILQ_INSERT_TAIL(&gw.sas, gs, link);
            gw.n_sas++;
        }
    /* An SA libike has not handed over yet (no SA): not listed either. */
    struct gw_sa *bare = &sas[n++];
    bare->gw = &gw;
    TAILQ_INIT(&bare->children);
    TAILQ_INSERT_HEAD(&gw.sas, bare, link);
    gw.n_sas++;

    struct ctl_arena arena;
    ctl_arena_init(&arena, 0);
    struct ctl_peers peers;
    assert_int_equal(ctl_peers_group(&arena, &gw, &peers), 0);
    /* The walk it replaced: peers in the order of their first listed SA,
     * each with its listed SAs in the gateway's order. */
    size_t k = 0;
    for (struct gw_sa *gs = TAILQ_FIRST(&gw.sas); gs; gs = TAILQ_NEXT(gs, link)) {
        const struct ike_addr *p = listed(gs);
        bool seen = false;
        for (struct gw_sa *o = TAILQ_FIRST(&gw.sas); p && o != gs && !seen; o = TAILQ_NEXT(o, link))
            seen = listed(o) && ike_addr_equal(listed(o), p);
        if (!p || seen)
            continue;
        assert_true(k < peers.n);
        const struct ctl_peer *cp = peers.list[k++];
        assert_true(ike_addr_equal(cp->addr, p));
        const struct ctl_peer_sa *e = cp->first;
        for (struct gw_sa *o = gs; o; o = TAILQ_NEXT(o, link)) {
            if (!listed(o) || !ike_addr_equal(listed(o), p))
                continue;
            assert_non_null(e);
            assert_ptr_equal(e->gs, o);
            e = e->next;
        }
        assert_null(e);
    }
    assert_int_equal(k, N_PEERS);
    assert_int_equal(peers.n, N_PEERS);
    /* Peer 0's first SA was dying-free (round 0): 10.0.0.0:500 first. */
    struct ike_addr first = peer_addr(0);
    assert_true(ike_addr_equal(peers.list[0]->addr, &first));
    ctl_arena_free(&arena);

    /* A too-small arena fails cleanly. */
    ctl_arena_init(&arena, 1024);
    assert_int_equal(ctl_peers_group(&arena, &gw, &peers), -1);
    ctl_arena_free(&arena);
    for (size_t i = 0; i < n; i++)
        if (sas[i].sa)
            ike_sa_free(sas[i].sa);
    ike_secret_free(psk);
}

static void test_selectors(void **state)
{
    (void)state;
    struct cfg_selector sel[6];
    memset(sel, 0, sizeof(sel));
    const char *names[6] = {"b", NULL, "a", "b", "c", "a"};
    for (int i = 0; i < 6; i++)
        sel[i].name = (char *)names[i];
    struct cfg_gateway cg;
    memset(&cg, 0, sizeof(cg));
    cg.selectors = sel;
    cg.n_selectors = 6;
    struct gateway gw = {.name = "g", .cfg = &cg};
    struct ctl_arena arena;
    ctl_arena_init(&arena, 0);
    struct ctl_selectors s;
    assert_int_equal(ctl_selectors_init(&arena, &gw, &s), 0);
    assert_int_equal(s.n, 6);
    assert_int_equal(s.n_named, 5);
    /* The first of a name in configuration order, as the old walk found it. */
    assert_int_equal(ctl_selectors_first(&s, "b"), 0);
    assert_int_equal(ctl_selectors_first(&s, "a"), 2);
    assert_int_equal(ctl_selectors_first(&s, "c"), 4);
    assert_int_equal(ctl_selectors_first(&s, "z"), SIZE_MAX);
    assert_int_equal(ctl_selectors_first(&s, ""), SIZE_MAX);
    bool *up = ctl_selectors_up_new(&arena, &s);
    assert_non_null(up);
    ctl_selectors_mark(&s, "b", up); /* both selectors named b */
    ctl_selectors_mark(&s, "nope", up);
    bool want[6] = {true, false, false, true, false, false};
    assert_memory_equal(up, want, sizeof(want));
    ctl_selectors_mark(&s, "a", up);
    ctl_selectors_mark(&s, "c", up);
    bool all[6] = {true, false, true, true, true, true}; /* the unnamed one never */
    assert_memory_equal(up, all, sizeof(all));
    /* No configuration: nothing, and an up[] of one. */
    struct gateway bare = {.name = "x"};
    assert_int_equal(ctl_selectors_init(&arena, &bare, &s), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(ctl_selectors_first(&s, "a"), SIZE_MAX);
    assert_non_null(ctl_selectors_up_new(&arena, &s));
    ctl_arena_free(&arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peers_group_many),
        cmocka_unit_test(test_selectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
