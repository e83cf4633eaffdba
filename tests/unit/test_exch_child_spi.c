/* Inbound CHILD SPI allocation against the caller's SPI index
 * (ike_ctx_ops.child_spi_taken): libike redraws an SPI the caller reports
 * in use, proposes/installs the first free one, and after
 * IKE_CHILD_SPI_TRIES draws in use fails the exchange cleanly with a
 * logged reason, for each place an inbound SPI is drawn: ike_sa_initiate,
 * the IKE_AUTH responder, and both ends of CREATE_CHILD_SA. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helper_ccs.h"
#include "helper_pair.h"

#define DRAWS_MAX 64

/* Per side (pair_side.idx): draws with index in [taken_from, taken_from +
 * taken_count) are reported in use; every draw is recorded. */
struct spi_oracle {
    size_t taken_from, taken_count;
    uint32_t draws[DRAWS_MAX];
    size_t n_draws;
};

static struct spi_oracle oracle[2];
static struct ike_ctx_ops ops[2];

static bool cb_spi_taken(void *user, uint32_t spi)
{
    const struct pair_side *s = user;
    struct spi_oracle *o = &oracle[s->idx];
    size_t i = o->n_draws++;
    if (i < DRAWS_MAX)
        o->draws[i] = spi;
    return i >= o->taken_from && i - o->taken_from < o->taken_count;
}

/* A pair whose sides consult the oracle (before pair_start). */
static struct pair *pair_with_oracle(void)
{
    memset(oracle, 0, sizeof(oracle));
    struct pair *p = pair_new();
    for (int i = 0; i < 2; i++) {
        ops[i] = *p->side[i].ctx.ops;
        ops[i].child_spi_taken = cb_spi_taken;
        p->side[i].ctx.ops = &ops[i];
    }
    return p;
}

static bool drawn_before(const struct spi_oracle *o, size_t n, uint32_t spi)
{
    for (size_t i = 0; i < n && i < DRAWS_MAX; i++)
        if (o->draws[i] == spi)
            return true;
    return false;
}

static void assert_draws_valid(const struct spi_oracle *o)
{
    for (size_t i = 0; i < o->n_draws && i < DRAWS_MAX; i++)
        assert_true(o->draws[i] >= 256); /* RFC 4303 §2.1: 0..255 reserved */
}

/* The first 5 draws of each side are in use: both sides install the 6th,
 * which is none of the refused ones; the peer sees it as its outbound SPI. */
static void test_taken_spis_skipped(void **state)
{
    (void)state;
    struct pair *p = pair_with_oracle();
    oracle[0].taken_count = oracle[1].taken_count = 5;
    pair_establish(p);
    for (int i = 0; i < 2; i++) {
        const struct pair_side *s = &p->side[i];
        assert_int_equal(oracle[i].n_draws, 6);
        assert_draws_valid(&oracle[i]);
        assert_int_equal(s->n_installed, 1);
        assert_int_equal(s->installed[0].spi_in, oracle[i].draws[5]);
        assert_false(drawn_before(&oracle[i], 5, s->installed[0].spi_in));
        assert_true(pair_log_has(s, "is in use, drawing another"));
    }
    assert_int_equal(p->side[0].installed[0].spi_out, p->side[1].installed[0].spi_in);
    assert_int_equal(p->side[1].installed[0].spi_out, p->side[0].installed[0].spi_in);
    pair_free(p);
}

/* Without the callback (an ops table from before it existed) nothing
 * changes: one draw, no query. */
static void test_no_callback(void **state)
{
    (void)state;
    struct pair *p = pair_with_oracle();
    ops[0].child_spi_taken = ops[1].child_spi_taken = NULL;
    pair_establish(p);
    assert_int_equal(oracle[0].n_draws + oracle[1].n_draws, 0);
    assert_int_equal(p->side[0].n_installed, 1);
    assert_int_equal(p->side[1].n_installed, 1);
    pair_free(p);
}

/* The initiator finds no free SPI: ike_sa_initiate fails with a reason,
 * sends nothing and leaves no SA. */
static void test_initiate_exhausted(void **state)
{
    (void)state;
    struct pair *p = pair_with_oracle();
    oracle[0].taken_count = (size_t)-1;
    struct ike_diag d = {0};
    struct ike_sa *sa = NULL;
    assert_int_equal(ike_sa_initiate(&p->side[0].ctx, &p->side[0].cfg, &sa, &d), IKE_E_STATE);
    assert_null(sa);
    assert_non_null(strstr(d.reason, "no free inbound CHILD SPI"));
    assert_int_equal(oracle[0].n_draws, IKE_CHILD_SPI_TRIES);
    assert_draws_valid(&oracle[0]);
    assert_int_equal(p->n_queue, 0);
    assert_int_equal(p->side[0].n_sent, 0);
    assert_true(pair_log_has(&p->side[0], "no free inbound CHILD SPI: 16 random draws"));
    pair_free(p);
}

/* The IKE_AUTH responder finds no free SPI: the IKE SA is established on
 * both sides without a CHILD SA, the initiator told TEMPORARY_FAILURE. */
static void test_auth_responder_exhausted(void **state)
{
    (void)state;
    struct pair *p = pair_with_oracle();
    oracle[1].taken_count = (size_t)-1;
    pair_establish(p);
    struct pair_side *i = &p->side[0], *r = &p->side[1];
    assert_int_equal(oracle[1].n_draws, IKE_CHILD_SPI_TRIES);
    assert_draws_valid(&oracle[1]);
    assert_int_equal(r->n_installed, 0);
    assert_int_equal(i->n_installed, 0);
    assert_int_equal(ike_sa_child_count(r->sa), 0);
    assert_int_equal(ike_sa_child_count(i->sa), 0);
    assert_true(pair_log_has(r, "no free inbound CHILD SPI"));
    assert_true(pair_log_has(i, "TEMPORARY_FAILURE"));
    assert_int_equal(p->n_queue, 0);
    pair_free(p);
}

/* CREATE_CHILD_SA initiator (the second selector pair): every draw after
 * the IKE_AUTH one is in use, so that task is not started; the first
 * CHILD SA and the IKE SA are unaffected and nothing is left queued. */
static void test_create_initiator_exhausted(void **state)
{
    (void)state;
    struct pair *p = pair_with_oracle();
    ccs_second_pair(p);
    oracle[0].taken_from = 1;
    oracle[0].taken_count = (size_t)-1;
    pair_establish(p);
    pair_run(p);
    struct pair_side *i = &p->side[0], *r = &p->side[1];
    assert_int_equal(oracle[0].n_draws, 1 + IKE_CHILD_SPI_TRIES);
    assert_int_equal(i->n_installed, 1);
    assert_int_equal(r->n_installed, 1);
    assert_int_equal(ike_sa_child_count(i->sa), 1);
    assert_int_equal(ike_sa_state(i->sa), IKE_SA_STATE_ESTABLISHED);
    assert_int_equal(ike_sa_state(r->sa), IKE_SA_STATE_ESTABLISHED);
    assert_true(pair_log_has(i, "no free inbound CHILD SPI"));
    assert_false(pair_log_has(i, "creating CHILD SA p2b-left"));
    assert_int_equal(p->n_queue, 0);
    pair_free(p);
}

/* CREATE_CHILD_SA responder: the first 3 draws after IKE_AUTH are in use,
 * the 4th is installed; then a third request finds none free and gets
 * TEMPORARY_FAILURE. */
static void test_create_responder(void **state)
{
    (void)state;
    struct pair *p = pair_with_oracle();
    ccs_second_pair(p);
    oracle[1].taken_from = 1;
    oracle[1].taken_count = 3;
    pair_establish(p);
    pair_run(p);
    struct pair_side *i = &p->side[0], *r = &p->side[1];
    assert_int_equal(oracle[1].n_draws, 5);
    assert_int_equal(r->n_installed, 2);
    assert_int_equal(r->installed[1].spi_in, oracle[1].draws[4]);
    assert_false(drawn_before(&oracle[1], 4, r->installed[1].spi_in));
    assert_int_equal(i->installed[1].spi_out, r->installed[1].spi_in);

    oracle[1].taken_from = oracle[1].n_draws;
    oracle[1].taken_count = (size_t)-1;
    assert_int_equal(ike_sa_child_create(i->sa, 1, NULL), IKE_OK);
    pair_run(p);
    assert_int_equal(oracle[1].n_draws, 5 + IKE_CHILD_SPI_TRIES);
    assert_draws_valid(&oracle[1]);
    assert_int_equal(r->n_installed, 2);
    assert_int_equal(i->n_installed, 2);
    assert_int_equal(ike_sa_child_count(r->sa), 2);
    assert_true(pair_log_has(r, "no free inbound CHILD SPI"));
    assert_true(pair_log_has(i, "TEMPORARY_FAILURE"));
    assert_int_equal(ike_sa_state(i->sa), IKE_SA_STATE_ESTABLISHED);
    assert_int_equal(ike_sa_state(r->sa), IKE_SA_STATE_ESTABLISHED);
    assert_int_equal(p->n_queue, 0);
    pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_taken_spis_skipped),
        cmocka_unit_test(test_no_callback),
        cmocka_unit_test(test_initiate_exhausted),
        cmocka_unit_test(test_auth_responder_exhausted),
        cmocka_unit_test(test_create_initiator_exhausted),
        cmocka_unit_test(test_create_responder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
