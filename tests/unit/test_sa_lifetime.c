/* Lifetimes of IKE and CHILD SAs, driven by the pair's time-warp clock:
 * hard expiry deletes, soft expiry rekeys (or asks the caller to
 * reauthenticate), jitter stays within bounds, and export/import carries
 * what is left so a standby continues the countdown after takeover. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helper_pair.h"
#include "sa_internal.h"

static void clear_events(struct pair *p)
{
    p->side[0].n_events = p->side[1].n_events = 0;
}

static void test_child_hard_deletes(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->side[0].child[0].lifetime.hard_s = 60;
    pair_establish(p);
    assert_int_equal(p->side[0].events[2].child.hard_ms, 60000);
    assert_int_equal(p->side[0].events[2].child.soft_ms, 0);
    assert_int_equal(p->side[1].events[2].child.hard_ms, 0); /* side 1: no lifetime */
    assert_true(p->side[0].timer_armed[IKE_TIMER_CHILD_LIFETIME]);
    assert_int_equal(p->side[0].timer_due[IKE_TIMER_CHILD_LIFETIME], 60000);
    assert_false(p->side[1].timer_armed[IKE_TIMER_CHILD_LIFETIME]);
    clear_events(p);
    pair_advance(p, 59999);
    assert_int_equal(p->n_queue, 0);
    pair_advance(p, 1);
    assert_int_equal(p->n_queue, 1);
    assert_true(pair_log_has(&p->side[0], "hard lifetime reached, deleting"));
    assert_int_equal(pair_run(p), 2);
    assert_string_equal(pair_events(&p->side[0]), "MSGID_UPDATE CHILD_SA_DEL");
    assert_string_equal(pair_events(&p->side[1]), "MSGID_UPDATE CHILD_SA_DEL");
    assert_int_equal(p->side[0].n_installed + p->side[1].n_installed, 0);
    assert_false(p->side[0].timer_armed[IKE_TIMER_CHILD_LIFETIME]);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    pair_free(p);
}

/* Soft expiry queues the CHILD rekey (CREATE_CHILD_SA); the timer then
 * waits for the hard deadline only. */
static void test_child_soft_rekeys(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->side[0].child[0].lifetime = (struct ike_cfg_lifetime){.soft_s = 30, .hard_s = 60};
    pair_establish(p);
    uint32_t old = p->side[0].installed[0].spi_in;
    assert_int_equal(p->side[0].timer_due[IKE_TIMER_CHILD_LIFETIME], 30000);
    pair_advance(p, 30000);
    assert_true(pair_log_has(&p->side[0], "soft lifetime reached, rekeying"));
    assert_int_equal(p->n_queue, 1);
    assert_true(pair_log_has(&p->side[0], "sent CREATE_CHILD_SA request 2"));
    struct ike_child_export c;
    struct ike_diag d = {0};
    size_t k = ike_child_find_in(p->side[0].sa, old);
    assert_true(k != SIZE_MAX);
    assert_int_equal(ike_sa_export_child(p->side[0].sa, k, &c, &d), IKE_OK);
    assert_true(c.rekey_due);
    assert_int_equal(c.age_ms, 30000);
    /* the old CHILD SA's own next deadline is its hard one */
    if (ike_sa_child_count(p->side[0].sa) == 1)
        assert_int_equal(p->side[0].timer_due[IKE_TIMER_CHILD_LIFETIME], 60000);
    /* the rekey completes (exch_child_rekey.c): the new CHILD SA has
     * fresh lifetimes counted from its installation */
    pair_run(p);
    assert_int_equal(ike_sa_child_count(p->side[0].sa), 1);
    assert_int_equal(ike_child_find_in(p->side[0].sa, old), SIZE_MAX);
    assert_int_equal(ike_sa_export_child(p->side[0].sa, 0, &c, &d), IKE_OK);
    assert_false(c.rekey_due);
    assert_int_equal(c.soft_ms, 30000);
    assert_int_equal(p->side[0].timer_due[IKE_TIMER_CHILD_LIFETIME], 60000);
    pair_free(p);
}

static void test_jitter_bounds(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->side[0].child[0].lifetime = (struct ike_cfg_lifetime){.soft_s = 100, .jitter_s = 20};
    p->side[0].child[1] = p->side[0].child[0];
    p->side[0].child[1].name = "p2-clamped";
    p->side[0].child[1].lifetime = (struct ike_cfg_lifetime){.soft_s = 10, .jitter_s = 100};
    p->side[0].cfg.n_children = 2;
    pair_establish(p);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < 64; i++) {
        struct ike_child_export c = {0};
        strcpy(c.cfg_name, "p2-left");
        ike_life_child_init(p->side[0].sa, &c);
        assert_true(c.soft_ms >= 80000 && c.soft_ms <= 100000);
        lo = c.soft_ms < lo ? c.soft_ms : lo;
        hi = c.soft_ms > hi ? c.soft_ms : hi;
        strcpy(c.cfg_name, "p2-clamped"); /* jitter capped at half the lifetime */
        ike_life_child_init(p->side[0].sa, &c);
        assert_true(c.soft_ms >= 5000 && c.soft_ms <= 10000);
    }
    assert_true(hi > lo); /* random, not constant */
    pair_free(p);
}

static void test_ike_hard_deletes(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->side[1].cfg.lifetime.hard_s = 120; /* the responder expires it */
    pair_establish(p);
    assert_int_equal(ike_sa_expire_in_ms(p->side[1].sa), 120000);
    assert_int_equal(ike_sa_expire_in_ms(p->side[0].sa), UINT64_MAX);
    assert_int_equal(ike_sa_rekey_in_ms(p->side[1].sa), UINT64_MAX);
    clear_events(p);
    pair_advance(p, 120000);
    assert_true(pair_log_has(&p->side[1], "hard lifetime reached: deleting the IKE SA"));
    assert_int_equal(pair_run(p), 2);
    assert_string_equal(pair_events(&p->side[0]), "MSGID_UPDATE CHILD_SA_DEL IKE_SA_DEL");
    assert_string_equal(pair_events(&p->side[1]), "MSGID_UPDATE CHILD_SA_DEL IKE_SA_DEL");
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_DEAD);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_DEAD);
    pair_free(p);
}

static size_t n_reauth;
static struct ike_sa *reauth_sa;

static void cb_reauth(void *user, struct ike_sa *sa)
{
    (void)user;
    n_reauth++;
    reauth_sa = sa;
}

/* reauth gateway: the soft lifetime asks the caller for a new IKE SA
 * (make-before-break); the old one is deleted at its hard lifetime if
 * the caller does not delete it earlier. */
static void test_ike_soft_reauth(void **state)
{
    (void)state;
    static struct ike_ctx_ops ops;
    struct pair *p = pair_new();
    ops = *p->side[0].ctx.ops;
    ops.reauth = cb_reauth;
    p->side[0].ctx.ops = &ops;
    p->side[0].cfg.reauth = true;
    p->side[0].cfg.lifetime = (struct ike_cfg_lifetime){.soft_s = 50, .hard_s = 100};
    n_reauth = 0;
    pair_establish(p);
    assert_int_equal(ike_sa_rekey_in_ms(p->side[0].sa), 50000);
    pair_advance(p, 50000);
    assert_int_equal(n_reauth, 1);
    assert_ptr_equal(reauth_sa, p->side[0].sa);
    assert_int_equal(p->n_queue, 0); /* libike itself sends nothing */
    assert_int_equal(ike_sa_rekey_in_ms(p->side[0].sa), UINT64_MAX);
    pair_advance(p, 49999);
    assert_int_equal(n_reauth, 1);
    assert_int_equal(p->n_queue, 0);
    pair_advance(p, 1);
    assert_int_equal(p->n_queue, 1); /* hard: Delete */
    pair_run(p);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_DEAD);
    pair_free(p);
}

/* Soft lifetime without reauth queues an IKE rekey. */
static void test_ike_soft_rekey(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->side[0].cfg.lifetime = (struct ike_cfg_lifetime){.soft_s = 50, .jitter_s = 10};
    pair_establish(p);
    uint64_t in = ike_sa_rekey_in_ms(p->side[0].sa);
    assert_true(in >= 40000 && in <= 50000);
    pair_advance(p, in);
    assert_true(pair_log_has(&p->side[0], "soft lifetime reached: rekeying the IKE SA"));
    assert_false(p->side[0].timer_armed[IKE_TIMER_IKE_LIFETIME]); /* no hard lifetime */
    pair_free(p);
}

/* A standby imports the SA 20 s after establishment: lifetimes continue
 * from what was left, but nothing is armed until takeover. */
static void test_export_import_lifetimes(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->side[0].cfg.lifetime = (struct ike_cfg_lifetime){.soft_s = 100, .hard_s = 200};
    p->side[0].child[0].lifetime.hard_s = 50;
    pair_establish(p);
    pair_advance(p, 20000);
    struct ike_sa_export ex;
    struct ike_child_export c;
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_export(p->side[0].sa, &ex, &d), IKE_OK);
    assert_int_equal(ex.soft_left_ms, 80000);
    assert_int_equal(ex.hard_left_ms, 180000);
    assert_int_equal(ike_sa_export_child(p->side[0].sa, 0, &c, &d), IKE_OK);
    assert_int_equal(c.age_ms, 20000);
    assert_int_equal(c.hard_ms, 50000);

    struct pair *sb = pair_new();
    sb->now = 7000000; /* another node, another clock */
    sb->side[0].cfg.lifetime = p->side[0].cfg.lifetime;
    sb->side[0].child[0].lifetime = p->side[0].child[0].lifetime;
    struct ike_sa *sa = NULL;
    assert_int_equal(ike_sa_import(&sb->side[0].ctx, &sb->side[0].cfg, &ex, &sa, &d), IKE_OK);
    assert_int_equal(ike_sa_import_child(sa, &c, &d), IKE_OK);
    for (int t = 0; t < IKE_TIMER_COUNT; t++)
        assert_false(sb->side[0].timer_armed[t]); /* passive */
    assert_int_equal(ike_sa_rekey_in_ms(sa), 80000);
    assert_int_equal(ike_sa_expire_in_ms(sa), 180000);
    sb->now += 1000;
    ike_sa_activate(sa);
    assert_true(sb->side[0].timer_armed[IKE_TIMER_IKE_LIFETIME]);
    assert_int_equal(sb->side[0].timer_due[IKE_TIMER_IKE_LIFETIME], 7000000 + 80000);
    assert_true(sb->side[0].timer_armed[IKE_TIMER_CHILD_LIFETIME]);
    assert_int_equal(sb->side[0].timer_due[IKE_TIMER_CHILD_LIFETIME], 7000000 + 30000);
    struct ike_child_export c2;
    assert_int_equal(ike_sa_export_child(sa, 0, &c2, &d), IKE_OK);
    assert_int_equal(c2.age_ms, 21000);
    ike_sa_free(sa);
    ike_export_wipe(&ex, sizeof(ex));
    ike_export_wipe(&c, sizeof(c));
    pair_free(sb);
    pair_free(p);
}

/* Byte/packet limits come from the data plane: soft rekeys, hard deletes,
 * repeats change nothing. */
static void test_child_traffic_limits(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_establish(p);
    struct ike_diag d = {0};
    struct ike_sa *sa = p->side[0].sa;
    uint32_t spi = p->side[0].installed[0].spi_in;
    assert_int_equal(ike_sa_child_limit(sa, 0x1234, false, &d), IKE_E_INVALID_ARG);
    assert_int_equal(ike_sa_child_limit(sa, spi, false, &d), IKE_OK);
    assert_true(pair_log_has(&p->side[0], "soft traffic limit reported"));
    assert_true(pair_log_has(&p->side[0], "sent CREATE_CHILD_SA request 2"));
    assert_int_equal(ike_sa_child_limit(sa, spi, false, &d), IKE_OK); /* already due */
    assert_int_equal(p->n_queue, 1);
    assert_int_equal(ike_sa_child_limit(sa, spi, true, &d), IKE_OK); /* Delete queued */
    assert_int_equal(ike_sa_child_limit(sa, spi, true, &d), IKE_OK); /* not twice */
    assert_int_equal(sa->queue.n, 2);
    pair_run(p);
    assert_int_equal(ike_child_find_in(sa, spi), SIZE_MAX);
    assert_int_equal(ike_sa_state(sa), IKE_SA_STATE_ESTABLISHED);
    pair_free(p);
}

/* A config whose soft lifetime is not below the hard one is refused. */
static void test_bad_lifetime_config(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    struct ike_diag d = {0};
    struct ike_sa *sa = NULL;
    p->side[0].cfg.lifetime = (struct ike_cfg_lifetime){.soft_s = 100, .hard_s = 100};
    assert_int_equal(ike_sa_initiate(&p->side[0].ctx, &p->side[0].cfg, &sa, &d), IKE_E_INVALID_ARG);
    assert_non_null(strstr(d.reason, "IKE SA: soft lifetime 100 s must be below the hard one"));
    p->side[0].cfg.lifetime.hard_s = 0;
    p->side[0].child[0].lifetime = (struct ike_cfg_lifetime){.soft_s = 60, .hard_s = 30};
    assert_int_equal(ike_sa_initiate(&p->side[0].ctx, &p->side[0].cfg, &sa, &d), IKE_E_INVALID_ARG);
    assert_non_null(strstr(d.reason, "p2-left: soft lifetime 60 s"));
    p->side[0].child[0].lifetime.hard_s = 0;
    p->side[0].cfg.dpd = (enum ike_dpd_mode)7;
    assert_int_equal(ike_sa_initiate(&p->side[0].ctx, &p->side[0].cfg, &sa, &d), IKE_E_INVALID_ARG);
    assert_null(sa);
    assert_int_equal(p->n_queue, 0);
    pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_child_hard_deletes),      cmocka_unit_test(test_child_soft_rekeys),
        cmocka_unit_test(test_jitter_bounds),           cmocka_unit_test(test_ike_hard_deletes),
        cmocka_unit_test(test_ike_soft_reauth),         cmocka_unit_test(test_ike_soft_rekey),
        cmocka_unit_test(test_export_import_lifetimes), cmocka_unit_test(test_child_traffic_limits),
        cmocka_unit_test(test_bad_lifetime_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
