/* The request queue of an established IKE SA (sa_queue.h): one request
 * outstanding at a time (window 1), tasks started in order as responses
 * come in, duplicates folded, a bounded length, tasks dropped (their state
 * freed) when the SA dies or is freed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helper_ccs.h"
#include "sa_internal.h"

static uint32_t msgid_of(const struct pair_dgram *d)
{
    struct ike_hdr h;
    struct ike_diag diag = {0};
    assert_int_equal(ike_hdr_decode(d->data, d->len, &h, &diag), IKE_OK);
    return h.message_id;
}

/* Three exchanges queued at once go out one after the other, each when
 * the previous one's response arrived, with consecutive message IDs. */
static void test_one_at_a_time(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    struct ike_diag d = {0};
    ccs_second_pair(p);
    p->side[0].cfg.n_children = 1; /* children[1] only on demand */
    ccs_establish(c, true);
    struct ike_sa *sa = p->side[0].sa;
    uint32_t spi = ccs_child(sa, 0).spi_in;
    assert_int_equal(ike_sa_child_rekey(sa, spi, &d), IKE_OK);
    assert_int_equal(ike_sa_child_create(sa, 0, &d), IKE_OK);
    assert_int_equal(ike_sa_child_create(sa, 0, &d), IKE_OK); /* folded */
    assert_int_equal(ike_sa_dpd(sa, &d), IKE_OK);
    assert_int_equal(sa->queue.n, 3);
    assert_int_equal(p->n_queue, 1);
    assert_int_equal(msgid_of(&p->queue[0]), 2);
    ccs_deliver(c, 0); /* rekey request */
    ccs_deliver(c, 0); /* its response: the Delete of the old SA is queued last */
    assert_int_equal(p->n_queue, 1);
    assert_int_equal(msgid_of(&p->queue[0]), 3); /* CHILD_CREATE */
    assert_int_equal(sa->queue.n, 3);            /* CREATE (running), DPD, DELETE */
    assert_int_equal(sa->queue.tasks[0].kind, IKE_TASK_CHILD_CREATE);
    assert_true(sa->queue.tasks[0].started);
    assert_int_equal(sa->queue.tasks[1].kind, IKE_TASK_DPD);
    assert_int_equal(sa->queue.tasks[2].kind, IKE_TASK_CHILD_DELETE);
    assert_false(sa->queue.tasks[1].started);
    ccs_deliver(c, 0);
    ccs_deliver(c, 0);
    assert_int_equal(msgid_of(&p->queue[0]), 4); /* DPD */
    ccs_run(c);
    assert_int_equal(sa->queue.n, 0);
    assert_int_equal(ike_sa_child_count(sa), 2); /* rekeyed one + the new one */
    assert_int_equal(p->side[1].n_installed, 2);
    ccs_free(c);
}

/* The queue is bounded; a task whose start fails is dropped and the next
 * one starts. */
static void test_bounded_and_skips_failed_start(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    ccs_establish(c, true);
    struct ike_sa *sa = p->side[0].sa;
    /* index 7 names no selector pair: its start fails; first one runs */
    assert_int_equal(ike_sa_queue_add(sa, IKE_TASK_CHILD_CREATE, 0, 0), IKE_OK);
    for (size_t i = 1; i < IKE_SA_QUEUE_MAX; i++)
        assert_int_equal(ike_sa_queue_add(sa, IKE_TASK_CHILD_CREATE, 0, 6 + i), IKE_OK);
    assert_int_equal(ike_sa_queue_add(sa, IKE_TASK_CHILD_CREATE, 0, 100), IKE_E_TOO_BIG);
    assert_int_equal(sa->queue.n, IKE_SA_QUEUE_MAX);
    assert_int_equal(p->n_queue, 1);
    ccs_run(c);
    /* the bad ones were dropped one after the other, nothing else sent */
    assert_int_equal(sa->queue.n, 0);
    assert_int_equal(p->side[0].n_installed, 2);
    assert_int_equal(ike_sa_stats(sa)->dropped_msgid, 0);
    ccs_free(c);
}

/* Not established: nothing is queued. */
static void test_needs_established(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    pair_start(c->p);
    assert_int_equal(ike_sa_queue_add(c->p->side[0].sa, IKE_TASK_CHILD_CREATE, 0, 0), IKE_E_STATE);
    assert_int_equal(c->p->side[0].sa->queue.n, 0);
    ccs_free(c);
}

/* The SA gives up retransmitting: it dies and its waiting tasks (with
 * their DH keys and nonces) are dropped; freeing an SA with tasks queued
 * frees them too (ASan checks both). */
static void test_dropped_when_sa_dies(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    struct ike_diag d = {0};
    ccs_pfs(p, 0, IKE_DH_ECP_256);
    ccs_pfs(p, 1, IKE_DH_ECP_256);
    ccs_establish(c, true);
    struct ike_sa *sa = p->side[0].sa;
    uint32_t spi = ccs_child(sa, 0).spi_in;
    assert_int_equal(ike_sa_child_rekey(sa, spi, &d), IKE_OK);
    assert_int_equal(ike_sa_child_create(sa, 0, &d), IKE_OK);
    assert_non_null(sa->queue.tasks[0].data);
    for (int i = 0; i < 10 && ike_sa_state(sa) != IKE_SA_STATE_DEAD; i++) {
        while (p->n_queue)
            pair_drop(p, 0);
        pair_advance(p, 60000);
    }
    assert_int_equal(ike_sa_state(sa), IKE_SA_STATE_DEAD);
    assert_int_equal(sa->queue.n, 0);
    assert_int_equal(ike_sa_child_create(sa, 0, &d), IKE_E_STATE);
    /* and the responder's SA, freed with a task queued */
    struct ike_sa *r = p->side[1].sa;
    assert_int_equal(ike_sa_child_create(r, 0, &d), IKE_OK);
    assert_int_equal(ike_sa_child_create(r, 0, &d), IKE_OK);
    assert_int_equal(r->queue.n, 1);
    ccs_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_at_a_time),
        cmocka_unit_test(test_bounded_and_skips_failed_start),
        cmocka_unit_test(test_needs_established),
        cmocka_unit_test(test_dropped_when_sa_dies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
