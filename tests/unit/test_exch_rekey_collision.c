/* Simultaneous CHILD SA rekeys (RFC 7296 §2.8.1): both sides rekey the same
 * CHILD SA at once.
 *  - Both requests cross (each side answers the other's while its own is
 *    out): the SA created by the exchange holding the lowest of the four
 *    nonces is redundant and deleted by its creator, the other one's
 *    creator deletes the old SA. The nonces are read back from the wire
 *    (decrypted with the IKE SA's keys) to check which side must lose;
 *    repeated until each side has lost at least once.
 *  - One side gets its response before the other's request: it has
 *    already replaced the old SA and answers TEMPORARY_FAILURE (§2.25.1);
 *    its new SA stays. Both mirror images. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "helper_ccs.h"

#define COLLISION_ROUNDS_MAX 40

struct start {
    struct ccs *c;
    uint32_t old[2];
    size_t t0; /* trace index of side 0's request; side 1's is t0 + 1 */
    struct ike_sa_export ex;
};

static void start_both(struct start *s)
{
    struct ike_diag d = {0};
    s->c = ccs_new();
    ccs_establish(s->c, true);
    struct pair *p = s->c->p;
    assert_int_equal(ike_sa_export(p->side[0].sa, &s->ex, &d), IKE_OK);
    for (int i = 0; i < 2; i++)
        s->old[i] = ccs_child(p->side[i].sa, 0).spi_in;
    s->t0 = p->n_trace;
    assert_int_equal(ike_sa_child_rekey(p->side[0].sa, s->old[0], &d), IKE_OK);
    assert_int_equal(ike_sa_child_rekey(p->side[1].sa, s->old[1], &d), IKE_OK);
    assert_int_equal(p->n_queue, 2);
    assert_int_equal(p->queue[0].to, 1);
}

/* One CHILD SA pair left on each side: created by side `creator`'s
 * exchange, replacing the old pair. */
static void assert_survivor(struct start *s, int creator)
{
    struct pair *p = s->c->p;
    char line[96];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ike_sa_child_count(p->side[i].sa), 1);
        assert_int_equal(p->side[i].n_installed, 1);
        assert_null(ccs_installed(p, i, s->old[i]));
    }
    struct ike_child_export a = ccs_child(p->side[0].sa, 0), b = ccs_child(p->side[1].sa, 0);
    ccs_assert_pair(&a, &b);
    assert_int_equal(a.replaces_spi_in, s->old[0]);
    assert_int_equal(b.replaces_spi_in, s->old[1]);
    snprintf(line, sizeof(line), "(new SPI in %08x", creator == 0 ? a.spi_in : b.spi_in);
    assert_true(pair_log_has(&p->side[creator], line));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ike_sa_stats(p->side[i].sa)->dropped_malformed, 0);
        assert_int_equal(ike_sa_state(p->side[i].sa), IKE_SA_STATE_ESTABLISHED);
    }
    assert_int_equal(p->n_queue, 0);
}

static size_t count(const struct pair_side *s, enum ike_event_type t)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_events; i++)
        n += s->events[i].type == t;
    return n;
}

/* Both requests cross; returns the side whose exchange had the lowest
 * nonce (the loser). */
static int crossing_round(void)
{
    struct start s;
    start_both(&s);
    struct pair *p = s.c->p;
    ccs_deliver(s.c, 0); /* side 0's request: side 1 answers it, own one out */
    ccs_deliver(s.c, 0); /* side 1's request: side 0 answers it */
    ccs_run(s.c);
    uint8_t n[4][IKE_NONCE_MAX];
    size_t len[4];
    /* trace: req0, req1, resp to req0, resp to req1 */
    for (size_t k = 0; k < 4; k++)
        assert_true(ccs_trace_nonce(p, s.t0 + k, &s.ex, n[k], &len[k]));
    uint8_t low0[IKE_NONCE_MAX], low1[IKE_NONCE_MAX];
    size_t l0 = 0, l1 = 0;
    const uint8_t *a = memcmp(n[0], n[2], len[0]) < 0 ? n[0] : n[2];
    memcpy(low0, a, len[0]);
    l0 = len[0];
    const uint8_t *b = memcmp(n[1], n[3], len[1]) < 0 ? n[1] : n[3];
    memcpy(low1, b, len[1]);
    l1 = len[1];
    assert_int_equal(l0, l1); /* same PRF: same nonce length */
    int loser = memcmp(low0, low1, l0) < 0 ? 0 : 1;
    assert_true(pair_log_has(&p->side[loser], "is redundant, the peer's"));
    assert_true(pair_log_has(&p->side[1 - loser], "stays, the peer's"));
    assert_survivor(&s, 1 - loser);
    /* each side: the peer's new SA and its own, then two deleted */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(count(&p->side[i], IKE_EV_CHILD_SA_ADD), 2);
        assert_int_equal(count(&p->side[i], IKE_EV_CHILD_SA_DEL), 2);
    }
    ike_export_wipe(&s.ex, sizeof(s.ex));
    ccs_free(s.c);
    return loser;
}

static void test_crossing_rekeys(void **state)
{
    (void)state;
    bool lost[2] = {false, false};
    for (int r = 0; r < COLLISION_ROUNDS_MAX && !(lost[0] && lost[1]); r++)
        lost[crossing_round()] = true;
    assert_true(lost[0]);
    assert_true(lost[1]);
}

/* Side `first` sees its own response before the peer's request. */
static void response_first(int first)
{
    struct start s;
    start_both(&s);
    struct pair *p = s.c->p;
    char ev[256];
    /* queue: [req0 -> 1, req1 -> 0] */
    if (first == 0) {
        ccs_deliver(s.c, 0); /* req0 at side 1 (collision noted there) */
        ccs_deliver(s.c, 1); /* resp0 at side 0: done, Delete of the old goes out */
    } else {
        ccs_deliver(s.c, 1); /* req1 at side 0 */
        ccs_deliver(s.c, 1); /* resp1 at side 1 */
    }
    ccs_run(s.c);
    int other = 1 - first;
    assert_true(pair_log_has(&p->side[first], "which is replaced or being deleted: "
                                              "TEMPORARY_FAILURE"));
    assert_true(pair_log_has(&p->side[other], "was rekeyed by the peer"));
    assert_survivor(&s, first);
    /* the side that lost: MSGID (own request), MSGID (peer's request), the
     * peer's new SA, MSGID (peer's Delete), old SA gone */
    assert_string_equal(pair_event_names(&p->side[other], ev, sizeof(ev)),
                        "MSGID_UPDATE MSGID_UPDATE CHILD_SA_ADD MSGID_UPDATE CHILD_SA_DEL");
    ike_export_wipe(&s.ex, sizeof(s.ex));
    ccs_free(s.c);
}

static void test_response_first_initiator(void **state)
{
    (void)state;
    response_first(0);
}

static void test_response_first_responder(void **state)
{
    (void)state;
    response_first(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crossing_rekeys),
        cmocka_unit_test(test_response_first_initiator),
        cmocka_unit_test(test_response_first_responder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
