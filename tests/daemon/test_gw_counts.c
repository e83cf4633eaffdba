/*
 * The per-gateway SA counts gw_sa.c keeps incrementally (n_live,
 * n_established, the reap queue) and the state derived from them, through
 * real IKE traffic: two haiked runtimes in one process, in a private
 * network namespace; A (127.0.0.1) opens many IKE SAs to B's dial-up
 * gateway (127.0.0.2). After every step gw_check_counts() recounts from
 * the SAs (the walk the counts replaced) and the test asserts the exact
 * numbers, so a counter that drifts on add, rekey, delete, INITIAL_CONTACT
 * or shutdown fails here. Prints (never asserts) the time a dial-up
 * gateway with many SAs takes to send its Deletes and to be empty.
 */
#include "dtest_util.h"

#include <time.h>

#include <ike/sa.h>

#include "gw_internal.h"
#include "gw_sa.h"

#define PSK "unit-test-psk-not-secret"
#define N_SAS 12       /* the count steps */
/* The printed teardown timing: below what the 212 kB default socket
 * buffer holds as one burst of Deletes (their answers are not lost). */
#define N_TEARDOWN 150
#define CHUNK 50 /* SAs opened per loop run, for the same reason */

struct gwc {
    struct dtest_dir dir;
    struct event_base *base;
    struct daemon a, b;
    bool a_up;
    FILE *log_a, *log_b;
};

#define CONF_FMT \
    "global = { control-socket = \"%s/%s.sock\"; secrets-file = \"%s.secrets\";\n" \
    "  dataplane = \"record\"; log = { target = \"stderr\"; level = \"error\"; };\n" \
    "  ike = { retransmit-timeout-ms = 300; retransmit-tries = 3;\n" \
    "    cookie-threshold = 100000; half-open-max = 100000; half-open-per-peer = 100000; }; };\n" \
    "gateways = ( { name = \"%s\"; local-gw = \"%s\"; remote-gw = \"%s\"; %s\n" \
    "  proposal = \"aes128-sha256-ecp256\"; dpd = \"disable\";\n" \
    "  local-id = \"@%s.test\"; remote-id = \"@%s.test\";\n" \
    "  selectors = ( { name = \"net\"; local-subnet = \"%s\"; remote-subnet = \"%s\";\n" \
    "    proposal = \"aes128gcm16\"; } ); } );\n"

static struct gateway *gwa(struct gwc *c) { return gw_find(&c->a, "gwA"); }
static struct gateway *gwb(struct gwc *c) { return gw_find(&c->b, "dial"); }

/* gw_check_counts() must agree, and the kept numbers be these. */
#define ASSERT_COUNTS(gw, sas, live, est)                                                         \
    do {                                                                                           \
        char why_[256] = "";                                                                       \
        if (gw_check_counts((gw), why_, sizeof(why_)) != 0)                                        \
            fail_msg("%s: %s", (gw)->name, why_);                                                  \
        assert_int_equal((gw)->n_sas, (sas));                                                      \
        assert_int_equal((gw)->n_live, (live));                                                    \
        assert_int_equal((gw)->n_established, (est));                                              \
    } while (0)

static void start_a(struct gwc *c)
{
    char err[256], path[128];
    snprintf(path, sizeof(path), "%s/a.conf", c->dir.path);
    assert_int_equal(daemon_init(&c->a, c->base, dtest_load(&c->dir, "a.conf"), path, c->log_a,
                                 err, sizeof(err)), 0);
    assert_int_equal(daemon_start(&c->a, err, sizeof(err)), 0);
    c->a_up = true;
}

static int setup(void **state)
{
    if (dtest_private_netns() < 0) {
        print_message("skipped: needs root for a private network namespace\n");
        *state = NULL;
        return 0;
    }
    struct gwc *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    dtest_dir_make(&c->dir);
    /* A is not auto: the test opens its SAs. */
    dtest_write(&c->dir, "a.conf", 0644, CONF_FMT, c->dir.path, "a", "a", "gwA", "127.0.0.1",
                "127.0.0.2", "auto-negotiate = false;", "a", "b", "10.0.1.0/24", "10.0.2.0/24");
    dtest_write(&c->dir, "a.secrets", 0600, "secrets = ( { gateway = \"gwA\"; psk = \"%s\"; } );\n",
                PSK);
    dtest_write(&c->dir, "b.conf", 0644, CONF_FMT, c->dir.path, "b", "b", "dial", "127.0.0.2",
                "any", "", "b", "a", "10.0.2.0/24", "10.0.1.0/24");
    dtest_write(&c->dir, "b.secrets", 0600, "secrets = ( { gateway = \"dial\"; psk = \"%s\"; } );\n",
                PSK);
    c->base = event_base_new();
    c->log_a = tmpfile();
    c->log_b = tmpfile();
    char err[256], path[128];
    snprintf(path, sizeof(path), "%s/b.conf", c->dir.path);
    assert_int_equal(daemon_init(&c->b, c->base, dtest_load(&c->dir, "b.conf"), path, c->log_b,
                                 err, sizeof(err)), 0);
    assert_int_equal(daemon_start(&c->b, err, sizeof(err)), 0);
    start_a(c);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct gwc *c = *state;
    if (!c)
        return 0;
    if (c->a_up)
        daemon_free(&c->a);
    daemon_free(&c->b);
    event_base_free(c->base);
    fclose(c->log_a);
    fclose(c->log_b);
    dtest_dir_remove(&c->dir);
    free(c);
    return 0;
}

struct want {
    struct gwc *c;
    size_t a_est, b_est, a_sas, b_sas;
};

static bool reached(void *arg)
{
    struct want *w = arg;
    struct gateway *a = gwa(w->c), *b = gwb(w->c);
    return a->n_established == w->a_est && b->n_established == w->b_est &&
           a->n_sas == w->a_sas && b->n_sas == w->b_sas;
}

static void wait_for(struct gwc *c, size_t a_sas, size_t a_est, size_t b_sas, size_t b_est,
                     unsigned ms)
{
    struct want w = {c, a_est, b_est, a_sas, b_sas};
    if (!dtest_run_until(c->base, reached, &w, ms))
        fail_msg("A %zu SAs / %zu established (want %zu/%zu), B %zu/%zu (want %zu/%zu)",
                 gwa(c)->n_sas, gwa(c)->n_established, a_sas, a_est, gwb(c)->n_sas,
                 gwb(c)->n_established, b_sas, b_est);
}

/* n more IKE SAs from A to B, all up (every SA of both is up before). */
static void open_sas(struct gwc *c, size_t n)
{
    struct gateway *a = gwa(c), *b = gwb(c);
    char err[256];
    while (n) {
        size_t k = n < CHUNK ? n : CHUNK, a0 = a->n_sas, b0 = b->n_sas;
        for (size_t i = 0; i < k; i++)
            if (gw_initiate(a, err, sizeof(err)) != 0)
                fail_msg("initiate: %s", err);
        /* Negotiating: live, not established, and the state says so. */
        ASSERT_COUNTS(a, a0 + k, a0 + k, a0);
        assert_int_equal(a->state, a0 ? GW_STATE_UP : GW_STATE_CONNECTING);
        wait_for(c, a0 + k, a0 + k, b0 + k, b0 + k, 20000);
        ASSERT_COUNTS(a, a0 + k, a0 + k, a0 + k);
        ASSERT_COUNTS(b, b0 + k, b0 + k, b0 + k);
        assert_int_equal(a->state, GW_STATE_UP);
        assert_int_equal(b->state, GW_STATE_UP);
        n -= k;
    }
}

/* Until both sides have these counts and A/B saw this many IKE rekeys. */
static void wait_rekeys(struct gwc *c, size_t sas, uint64_t a_rekeys, uint64_t b_rekeys)
{
    struct want w = {c, sas, sas, sas, sas};
    struct gateway *a = gwa(c), *b = gwb(c);
    for (int i = 0; i < 500 && (a->counters.ike_rekeys != a_rekeys ||
                                b->counters.ike_rekeys != b_rekeys || !reached(&w)); i++)
        dtest_run_for(c->base, 10);
    assert_int_equal(a->counters.ike_rekeys, a_rekeys);
    assert_int_equal(b->counters.ike_rekeys, b_rekeys);
    ASSERT_COUNTS(a, sas, sas, sas);
    ASSERT_COUNTS(b, sas, sas, sas);
}

static struct gw_sa *nth_sa(struct gateway *gw, size_t n)
{
    struct gw_sa *gs = gw_sa_first(gw);
    while (gs && n--)
        gs = gw_sa_next(gs);
    assert_non_null(gs);
    return gs;
}

static void test_counts_add_rekey_delete(void **state)
{
    struct gwc *c = *state;
    if (!c)
        skip();
    struct gateway *a = gwa(c), *b = gwb(c);
    ASSERT_COUNTS(a, 0, 0, 0);
    ASSERT_COUNTS(b, 0, 0, 0);
    assert_int_equal(a->state, GW_STATE_IDLE);
    open_sas(c, N_SAS);

    /* IKE rekeys started by both sides, in one loop turn: each adds an SA
     * inside a libike call (gw->adopted) and then drops the old one. */
    struct ike_diag diag = {0};
    for (size_t i = 0; i < 3; i++) {
        struct gw_sa *gs = nth_sa(b, i);
        assert_int_equal(ike_sa_rekey(gs->sa, &diag), IKE_OK);
        gw_sa_after(gs);
        gs = nth_sa(a, N_SAS - 1 - i);
        assert_int_equal(ike_sa_rekey(gs->sa, &diag), IKE_OK);
        gw_sa_after(gs);
    }
    wait_rekeys(c, N_SAS, 6, 6);
    /* Every CHILD SA moved to the SA that replaced its IKE SA (the old
     * one is found by its SPIs: gw_sa_find_spis). */
    for (struct gw_sa *gs = gw_sa_first(b); gs; gs = gw_sa_next(gs))
        assert_non_null(gw_child_first(gs));
    for (struct gw_sa *gs = gw_sa_first(a); gs; gs = gw_sa_next(gs))
        assert_non_null(gw_child_first(gs));
    assert_int_equal(c->a.dp.n_children, N_SAS);
    assert_int_equal(c->b.dp.n_children, N_SAS);
    size_t rekeyed = 0;
    for (struct gw_sa *gs = gw_sa_first(b); gs; gs = gw_sa_next(gs))
        rekeyed += gs->rekey_of != 0;
    assert_int_equal(rekeyed, 6);

    /* Deletes from B: not live from the moment the Delete is out, gone
     * when answered; B stays up on the others. */
    for (size_t i = 0; i < 4; i++)
        gw_sa_delete(nth_sa(b, 2 * i), "test");
    ASSERT_COUNTS(b, N_SAS, N_SAS - 4, N_SAS - 4);
    assert_int_equal(b->state, GW_STATE_UP);
    wait_for(c, N_SAS - 4, N_SAS - 4, N_SAS - 4, N_SAS - 4, 5000);
    ASSERT_COUNTS(a, N_SAS - 4, N_SAS - 4, N_SAS - 4);
    ASSERT_COUNTS(b, N_SAS - 4, N_SAS - 4, N_SAS - 4);
    /* Established, then gone: the 6 rekeyed ones and these 4. */
    assert_int_equal(b->counters.ike_sa_deleted, 10);
    assert_int_equal(a->counters.ike_sa_deleted, 10);

    /* A rekey of one SA and a Delete of another in one turn, then adds. */
    struct gw_sa *gs = nth_sa(a, 0);
    assert_int_equal(ike_sa_rekey(nth_sa(a, 1)->sa, &diag), IKE_OK);
    gw_sa_after(nth_sa(a, 1));
    gw_sa_delete(gs, "test");
    ASSERT_COUNTS(a, N_SAS - 4, N_SAS - 5, N_SAS - 5);
    wait_rekeys(c, N_SAS - 5, 7, 7);
    open_sas(c, 5);
    ASSERT_COUNTS(a, N_SAS, N_SAS, N_SAS);
    ASSERT_COUNTS(b, N_SAS, N_SAS, N_SAS);

    /* tunnel down on A: nothing live at once, ADMIN_DOWN kept; B goes
     * idle once every Delete is answered. */
    char err[256];
    assert_int_equal(gw_down(a, err, sizeof(err)), 0);
    ASSERT_COUNTS(a, N_SAS, 0, 0);
    assert_int_equal(a->state, GW_STATE_ADMIN_DOWN);
    wait_for(c, 0, 0, 0, 0, 5000);
    ASSERT_COUNTS(a, 0, 0, 0);
    ASSERT_COUNTS(b, 0, 0, 0);
    assert_int_equal(a->state, GW_STATE_ADMIN_DOWN);
    assert_int_equal(b->state, GW_STATE_IDLE);
    assert_true(TAILQ_EMPTY(&a->attn) && TAILQ_EMPTY(&b->attn));

    /* tunnel up: one SA, connecting, then up. */
    assert_int_equal(gw_up(a, err, sizeof(err)), 0);
    assert_int_equal(a->state, GW_STATE_CONNECTING);
    ASSERT_COUNTS(a, 1, 1, 0);
    wait_for(c, 1, 1, 1, 1, 5000);
    assert_int_equal(a->state, GW_STATE_UP);
}

/* A restarts without Deletes: its first SA carries INITIAL_CONTACT and B
 * drops every older SA with that peer (the reap queue's pending drops). */
static void test_counts_initial_contact(void **state)
{
    struct gwc *c = *state;
    if (!c)
        skip();
    open_sas(c, N_SAS);
    struct gateway *b = gwb(c);
    /* Freed without a word to B (a crash). */
    struct gateway *a;
    daemon_free(&c->a);
    c->a_up = false;
    memset(&c->a, 0, sizeof(c->a));
    ASSERT_COUNTS(b, N_SAS, N_SAS, N_SAS);
    start_a(c);
    a = gwa(c);
    char err[256];
    assert_int_equal(gw_initiate(a, err, sizeof(err)), 0);
    wait_for(c, 1, 1, 1, 1, 5000);
    ASSERT_COUNTS(a, 1, 1, 1);
    ASSERT_COUNTS(b, 1, 1, 1);
    assert_int_equal(b->counters.initial_contact_drops, N_SAS);
    assert_int_equal(b->state, GW_STATE_UP);
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static bool b_empty(void *arg)
{
    return gwb(arg)->n_sas == 0;
}

/* B (the dial-up gateway) shuts down holding many SAs: the counts stay
 * right, and the time it takes is printed (no assertion: a shared
 * machine; the before/after numbers are in tests/bench/gw_shutdown.sh). */
static void test_counts_shutdown(void **state)
{
    struct gwc *c = *state;
    if (!c)
        skip();
    open_sas(c, N_TEARDOWN);
    struct gateway *b = gwb(c);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    daemon_shutdown(&c->b);
    double sync_ms = ms_since(&t0);
    ASSERT_COUNTS(b, b->n_sas, 0, 0);
    assert_int_equal(b->state, GW_STATE_IDLE);
    assert_int_equal(b->counters.deletes_sent, N_TEARDOWN);
    assert_true(dtest_run_until(c->base, b_empty, c, 10000));
    double all_ms = ms_since(&t0);
    ASSERT_COUNTS(b, 0, 0, 0);
    assert_int_equal(b->counters.ike_sa_deleted, N_TEARDOWN);
    print_message("dial-up gateway with %d IKE SAs: Deletes sent in %.1f ms, all gone in %.1f ms\n",
                  N_TEARDOWN, sync_ms, all_ms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counts_add_rekey_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counts_initial_contact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counts_shutdown, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
