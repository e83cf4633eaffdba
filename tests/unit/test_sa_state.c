/* The IKE SA state transition function: the table of allowed moves, the
 * "state A -> B" log lines, refusals, and timers cancelled on death. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helper_pair.h"
#include "sa_internal.h"

static void test_table(void **state)
{
    (void)state;
    assert_true(ike_sa_transition_allowed(IKE_SA_STATE_NEW, IKE_SA_STATE_INIT_SENT));
    assert_true(ike_sa_transition_allowed(IKE_SA_STATE_NEW, IKE_SA_STATE_INIT_DONE));
    assert_true(ike_sa_transition_allowed(IKE_SA_STATE_INIT_SENT, IKE_SA_STATE_AUTH_SENT));
    assert_true(ike_sa_transition_allowed(IKE_SA_STATE_AUTH_SENT, IKE_SA_STATE_ESTABLISHED));
    assert_true(ike_sa_transition_allowed(IKE_SA_STATE_INIT_DONE, IKE_SA_STATE_ESTABLISHED));
    for (int s = IKE_SA_STATE_NEW; s < IKE_SA_STATE_DEAD; s++)
        assert_true(ike_sa_transition_allowed((enum ike_sa_state)s, IKE_SA_STATE_DEAD));
    /* no skipping, no going back, nothing after death, no self-loops */
    assert_false(ike_sa_transition_allowed(IKE_SA_STATE_INIT_SENT, IKE_SA_STATE_ESTABLISHED));
    assert_false(ike_sa_transition_allowed(IKE_SA_STATE_INIT_DONE, IKE_SA_STATE_AUTH_SENT));
    assert_false(ike_sa_transition_allowed(IKE_SA_STATE_ESTABLISHED, IKE_SA_STATE_INIT_SENT));
    assert_false(ike_sa_transition_allowed(IKE_SA_STATE_ESTABLISHED, IKE_SA_STATE_ESTABLISHED));
    for (int s = IKE_SA_STATE_NEW; s <= IKE_SA_STATE_DEAD; s++)
        assert_false(ike_sa_transition_allowed(IKE_SA_STATE_DEAD, (enum ike_sa_state)s));
    assert_false(ike_sa_transition_allowed((enum ike_sa_state)42, IKE_SA_STATE_DEAD));
    assert_string_equal(ike_sa_state_name(IKE_SA_STATE_INIT_DONE), "INIT_DONE");
    assert_string_equal(ike_sa_state_name((enum ike_sa_state)42), "UNKNOWN");
}

/* Every state an SA passes through is logged once, in order. */
static void test_logged_sequence(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_establish(p);
    const char *log = p->side[0].log;
    const char *a = strstr(log, "state NEW -> INIT_SENT");
    const char *b = strstr(log, "state INIT_SENT -> AUTH_SENT");
    const char *c = strstr(log, "state AUTH_SENT -> ESTABLISHED");
    assert_non_null(a);
    assert_true(a < b && b < c);
    a = strstr(p->side[1].log, "state NEW -> INIT_DONE");
    b = strstr(p->side[1].log, "state INIT_DONE -> ESTABLISHED");
    assert_non_null(a);
    assert_true(a < b);
    pair_free(p);
}

static void test_refused_move(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_establish(p);
    struct ike_sa *sa = p->side[0].sa;
    assert_int_equal(ike_sa_transition(sa, IKE_SA_STATE_INIT_SENT), IKE_E_STATE);
    assert_int_equal(ike_sa_state(sa), IKE_SA_STATE_ESTABLISHED);
    assert_true(pair_log_has(&p->side[0], "refused state ESTABLISHED -> INIT_SENT"));
    assert_int_equal(ike_sa_transition(sa, IKE_SA_STATE_DEAD), IKE_OK);
    assert_int_equal(ike_sa_transition(sa, IKE_SA_STATE_ESTABLISHED), IKE_E_STATE);
    assert_true(pair_log_has(&p->side[0], "refused state DEAD -> ESTABLISHED"));
    /* a dead SA takes no more input */
    struct ike_diag d = {0};
    static const uint8_t junk[28];
    struct ike_addr a = pair_addr4(1, 2, 3, 4, 500);
    assert_int_equal(ike_sa_process(sa, junk, sizeof(junk), &a, &a, &d), IKE_E_STATE);
    pair_free(p);
}

/* Dying cancels every armed timer. */
static void test_death_cancels_timers(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_start(p);
    pair_deliver(p, 0);
    assert_true(p->side[0].timer_armed[IKE_TIMER_RETRANSMIT]);
    assert_true(p->side[1].timer_armed[IKE_TIMER_HALF_OPEN]);
    ike_sa_fail(p->side[1].sa, IKE_LOG_WARN, "test says %s", "bye");
    assert_false(p->side[1].timer_armed[IKE_TIMER_HALF_OPEN]);
    assert_true(pair_log_has(&p->side[1], "test says bye"));
    assert_true(pair_log_has(&p->side[1], "state INIT_DONE -> DEAD"));
    pair_free(p);
}

static void test_initiate_bad_config(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    struct ike_sa *sa = NULL;
    struct ike_diag d = {0};
    struct ike_sa_cfg cfg = p->side[0].cfg;
    cfg.psk = NULL;
    assert_int_equal(ike_sa_initiate(&p->side[0].ctx, &cfg, &sa, &d), IKE_E_INVALID_ARG);
    assert_null(sa);
    cfg = p->side[0].cfg;
    cfg.proposals[0].dh[0] = 999;
    assert_int_equal(ike_sa_initiate(&p->side[0].ctx, &cfg, &sa, &d), IKE_E_INVALID_ARG);
    assert_non_null(strstr(d.reason, "DH group 999 not supported"));
    /* AEAD with an integrity algorithm, and AEAD mixed with CBC */
    cfg = p->side[0].cfg;
    cfg.proposals[0].encr[0] = (struct ike_cfg_encr){IKE_ENCR_AES_GCM_16, 256};
    assert_int_equal(ike_sa_initiate(&p->side[0].ctx, &cfg, &sa, &d), IKE_E_INVALID_ARG);
    assert_non_null(strstr(d.reason, "AEAD cipher with integrity"));
    cfg.proposals[0].encr[cfg.proposals[0].n_encr++] = (struct ike_cfg_encr){IKE_ENCR_AES_CBC, 128};
    assert_int_equal(ike_sa_initiate(&p->side[0].ctx, &cfg, &sa, &d), IKE_E_INVALID_ARG);
    assert_non_null(strstr(d.reason, "mixes AEAD and non-AEAD"));
    /* an ESP proposal with an unknown key size */
    struct ike_cfg_child child = p->side[0].child[0];
    child.proposals[0].encr[0].key_bits = 100;
    cfg = p->side[0].cfg;
    cfg.children = &child;
    assert_int_equal(ike_sa_initiate(&p->side[0].ctx, &cfg, &sa, &d), IKE_E_INVALID_ARG);
    assert_non_null(strstr(d.reason, "cipher 20 with 100-bit key not supported"));
    cfg = p->side[0].cfg;
    cfg.local_id.type = 0;
    assert_int_equal(ike_sa_initiate(&p->side[0].ctx, &cfg, &sa, &d), IKE_E_INVALID_ARG);
    cfg = p->side[0].cfg;
    cfg.n_proposals = 0;
    assert_int_equal(ike_sa_initiate(&p->side[0].ctx, &cfg, &sa, &d), IKE_E_INVALID_ARG);
    struct ike_ctx_ops ops = *p->side[0].ctx.ops;
    struct ike_ctx ctx = p->side[0].ctx;
    ops.send = NULL;
    ctx.ops = &ops;
    assert_int_equal(ike_sa_initiate(&ctx, &p->side[0].cfg, &sa, &d), IKE_E_INVALID_ARG);
    assert_int_equal(p->side[0].n_sent, 0);
    pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_logged_sequence),
        cmocka_unit_test(test_refused_move),
        cmocka_unit_test(test_death_cancels_timers),
        cmocka_unit_test(test_initiate_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
