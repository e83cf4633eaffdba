/* IKE SA rekey (RFC 7296 §1.3.2, §2.18, §2.8.2): a new IKE SA with new
 * SPIs and keys from the old SK_d, handed to the caller (ike_rekeyed),
 * IKE_SA_ADD naming the old SA, the CHILD SAs moved, the old SA deleted;
 * from either side, with an INVALID_KE_PAYLOAD round, with a lost
 * response, without the callback, and simultaneous rekeys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "helper_ccs.h"

static bool key_eq(const struct ike_key_export *a, const struct ike_key_export *b)
{
    return a->len == b->len && a->len > 0 && memcmp(a->data, b->data, a->len) == 0;
}

struct before {
    uint8_t spi_i[8], spi_r[8];
    uint32_t child_in[2];
    struct ike_key_export sk_d;
};

static void remember(struct ccs *c, struct before *b)
{
    struct ike_sa_export ex;
    struct ike_diag d = {0};
    struct pair *p = c->p;
    assert_int_equal(ike_sa_export(p->side[0].sa, &ex, &d), IKE_OK);
    memcpy(b->spi_i, ex.spi_i, 8);
    memcpy(b->spi_r, ex.spi_r, 8);
    b->sk_d = ex.sk_d;
    ike_export_wipe(&ex, sizeof(ex));
    for (int i = 0; i < 2; i++)
        b->child_in[i] = ccs_child(p->side[i].sa, 0).spi_in;
}

/* The IKE SA was rekeyed by side `by`: both sides use a new SA with the
 * same new SPIs and keys, holding the CHILD SA (still installed, same
 * SPIs); the old SAs are DEAD. */
static void assert_ike_rekeyed(struct ccs *c, const struct before *b, int by)
{
    struct pair *p = c->p;
    struct ike_sa_export e[2];
    struct ike_diag d = {0};
    for (int i = 0; i < 2; i++) {
        struct ike_sa *sa = p->side[i].sa;
        assert_ptr_not_equal(sa, c->side[i].sas[0]);
        assert_int_equal(ike_sa_state(sa), IKE_SA_STATE_ESTABLISHED);
        assert_int_equal(ike_sa_state(c->side[i].sas[0]), IKE_SA_STATE_DEAD);
        assert_int_equal(ike_sa_is_initiator(sa), i == by);
        assert_int_equal(ike_sa_export(sa, &e[i], &d), IKE_OK);
        assert_memory_not_equal(e[i].spi_i, b->spi_i, 8);
        assert_memory_not_equal(e[i].spi_r, b->spi_r, 8);
        assert_int_equal(ike_sa_child_count(sa), 1);
        struct ike_child_export ch = ccs_child(sa, 0);
        assert_int_equal(ch.spi_in, b->child_in[i]);
        assert_memory_equal(ch.ike_spi_i, e[i].spi_i, 8);
        assert_memory_equal(ch.ike_spi_r, e[i].spi_r, 8);
        assert_int_equal(p->side[i].n_installed, 1);
        assert_non_null(ccs_installed(p, i, b->child_in[i]));
    }
    assert_memory_equal(e[0].spi_i, e[1].spi_i, 8);
    assert_memory_equal(e[0].spi_r, e[1].spi_r, 8);
    assert_true(key_eq(&e[0].sk_d, &e[1].sk_d));
    assert_true(key_eq(&e[0].sk_ei, &e[1].sk_ei));
    assert_true(key_eq(&e[0].sk_ai, &e[1].sk_ai));
    assert_true(key_eq(&e[0].sk_er, &e[1].sk_er));
    assert_true(key_eq(&e[0].sk_pr, &e[1].sk_pr));
    assert_false(key_eq(&e[0].sk_d, &b->sk_d));
    assert_int_equal(e[0].msgid_send_next + e[0].msgid_recv_next, 0);
    ike_export_wipe(e, sizeof(e));
}

/* The events of one side: on the old SA the rekey's MSGID_UPDATE, the new
 * SA's IKE_SA_ADD (naming the old one), then the old SA's Delete. */
static void assert_ike_events(struct ccs *c, const struct before *b, int by)
{
    char ev[256];
    for (int i = 0; i < 2; i++) {
        const struct pair_side *s = &c->p->side[i];
        assert_string_equal(pair_event_names(s, ev, sizeof(ev)),
                            "MSGID_UPDATE IKE_SA_ADD MSGID_UPDATE IKE_SA_DEL");
        const struct ike_sa_export *add = &s->events[1].ike;
        assert_memory_equal(add->replaces_spi_i, b->spi_i, 8);
        assert_memory_equal(add->replaces_spi_r, b->spi_r, 8);
        assert_memory_equal(add->spi_i, ike_sa_spi_i(s->sa), 8);
        assert_int_equal(add->initiator, i == by);
        uint32_t base = by == 0 ? 2 : 0;
        if (i == by) {
            assert_int_equal(s->events[0].msgid.send_next, base + 1);
            assert_int_equal(s->events[2].msgid.send_next, base + 2);
        } else {
            assert_int_equal(s->events[0].msgid.recv_next, base + 1);
            assert_int_equal(s->events[2].msgid.recv_next, base + 2);
        }
        assert_int_equal(c->side[i].n_rekeyed, 1);
    }
}

static void rekey_by(int by)
{
    struct ccs *c = ccs_new();
    struct before b;
    struct ike_diag d = {0};
    ccs_establish(c, true);
    remember(c, &b);
    assert_int_equal(ike_sa_rekey(c->p->side[by].sa, &d), IKE_OK);
    ccs_run(c);
    assert_ike_rekeyed(c, &b, by);
    assert_ike_events(c, &b, by);
    assert_true(pair_log_has(&c->p->side[by], "rekeying IKE SA (DH group 19)"));
    assert_true(pair_log_has(&c->p->side[0], "IKE SA rekeyed as"));
    /* the new SA works: a CHILD rekey on it from the other side, message
     * IDs starting at 0 */
    int other = 1 - by;
    uint32_t spi = ccs_child(c->p->side[other].sa, 0).spi_in;
    c->p->side[0].n_events = c->p->side[1].n_events = 0;
    assert_int_equal(ike_sa_child_rekey(c->p->side[other].sa, spi, &d), IKE_OK);
    ccs_run(c);
    assert_int_equal(c->p->side[other].events[0].msgid.send_next, 1);
    struct ike_child_export x = ccs_child(c->p->side[0].sa, 0), y = ccs_child(c->p->side[1].sa, 0);
    ccs_assert_pair(&x, &y);
    assert_int_equal(c->p->side[0].n_installed, 1);
    assert_int_equal(c->p->side[1].n_installed, 1);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ike_sa_stats(c->p->side[i].sa)->dropped_integrity, 0);
        assert_int_equal(ike_sa_stats(c->p->side[i].sa)->dropped_malformed, 0);
    }
    ccs_free(c);
}

static void test_ike_rekey_by_initiator(void **state)
{
    (void)state;
    rekey_by(0);
}

static void test_ike_rekey_by_responder(void **state)
{
    (void)state;
    rekey_by(1);
}

/* The responder now wants ECP-384 only: INVALID_KE_PAYLOAD, retry. */
static void test_ike_rekey_invalid_ke(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    struct before b;
    struct ike_diag d = {0};
    struct pair *p = c->p;
    p->side[0].cfg.proposals[0].dh[p->side[0].cfg.proposals[0].n_dh++] = IKE_DH_ECP_384;
    ccs_establish(c, true);
    remember(c, &b);
    p->side[1].cfg.proposals[0].dh[0] = IKE_DH_ECP_384;
    assert_int_equal(ike_sa_rekey(p->side[0].sa, &d), IKE_OK);
    ccs_run(c);
    assert_true(pair_log_has(&p->side[0], "peer requires DH group ecp384, retrying"));
    assert_ike_rekeyed(c, &b, 0);
    struct ike_sa_export e;
    assert_int_equal(ike_sa_export(p->side[0].sa, &e, &d), IKE_OK);
    assert_int_equal(e.dh_group, IKE_DH_ECP_384);
    ike_export_wipe(&e, sizeof(e));
    ccs_free(c);
}

/* The response is lost: the retransmission is answered from the cache,
 * the responder hands over one new SA only. */
static void test_ike_rekey_lost_response(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    struct before b;
    struct ike_diag d = {0};
    struct pair *p = c->p;
    ccs_establish(c, true);
    remember(c, &b);
    assert_int_equal(ike_sa_rekey(p->side[0].sa, &d), IKE_OK);
    ccs_deliver(c, 0);
    pair_drop(p, 0);
    pair_advance(p, IKE_RETRANSMIT_BASE_MS);
    ccs_run(c);
    assert_int_equal(c->side[1].n_rekeyed, 1);
    assert_int_equal(ike_sa_stats(c->side[1].sas[0])->responses_resent, 1);
    assert_ike_rekeyed(c, &b, 0);
    ccs_free(c);
}

/* Without ike_rekeyed: the call is refused, and a peer's rekey request is
 * answered NO_PROPOSAL_CHOSEN with the old SA staying up. */
static void test_ike_rekey_unsupported(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    static struct ike_ctx_ops plain;
    plain = *p->side[1].ctx.ops;
    plain.ike_rekeyed = NULL;
    p->side[1].ctx.ops = &plain;
    struct ike_diag d = {0};
    ccs_establish(c, true);
    assert_int_equal(ike_sa_rekey(p->side[1].sa, &d), IKE_E_UNSUPPORTED);
    assert_int_equal(ike_sa_rekey(p->side[0].sa, &d), IKE_OK);
    ccs_run(c);
    assert_true(pair_log_has(&p->side[1], "which this caller does not support"));
    assert_true(pair_log_has(&p->side[0], "IKE rekey refused by the peer: NO_PROPOSAL_CHOSEN"));
    assert_int_equal(c->side[0].n_rekeyed, 0);
    assert_ptr_equal(p->side[0].sa, c->side[0].sas[0]);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    assert_int_equal(ike_sa_child_count(p->side[0].sa), 1);
    ccs_free(c);
}

/* A peer's IKE rekey while our CHILD exchange is out: TEMPORARY_FAILURE
 * (§2.25.2); both exchanges end cleanly and the IKE SA stays. */
static void test_ike_rekey_during_child_exchange(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    struct ike_diag d = {0};
    ccs_establish(c, true);
    assert_int_equal(ike_sa_child_create(p->side[1].sa, 0, &d), IKE_OK);
    assert_int_equal(ike_sa_rekey(p->side[0].sa, &d), IKE_OK);
    /* queue: [child req -> 0, IKE rekey req -> 1] */
    ccs_deliver(c, 1);
    ccs_run(c);
    assert_true(pair_log_has(&p->side[1], "during our CHILD_CREATE: TEMPORARY_FAILURE"));
    assert_true(pair_log_has(&p->side[0], "IKE rekey refused by the peer: TEMPORARY_FAILURE"));
    assert_int_equal(ike_sa_child_count(p->side[0].sa), 2);
    assert_int_equal(ike_sa_child_count(p->side[1].sa), 2);
    assert_int_equal(c->side[0].n_rekeyed + c->side[1].n_rekeyed, 0);
    ccs_free(c);
}

/* Both sides rekey the IKE SA at once and each answers the other's
 * request: each side ends with the winner (holding the CHILD SA) and the
 * redundant SA and the old one deleted; both sides agree on the winner. */
static void test_ike_rekey_crossing(void **state)
{
    (void)state;
    bool won[2] = {false, false};
    for (int round = 0; round < 40 && !(won[0] && won[1]); round++) {
        struct ccs *c = ccs_new();
        struct pair *p = c->p;
        struct before b;
        struct ike_diag d = {0};
        ccs_establish(c, true);
        remember(c, &b);
        assert_int_equal(ike_sa_rekey(p->side[0].sa, &d), IKE_OK);
        assert_int_equal(ike_sa_rekey(p->side[1].sa, &d), IKE_OK);
        ccs_deliver(c, 0);
        ccs_deliver(c, 0);
        ccs_run(c);
        for (int i = 0; i < 2; i++) {
            assert_int_equal(c->side[i].n_sas, 3);
            assert_int_equal(c->side[i].n_rekeyed, 2);
            assert_int_equal(ike_sa_state(c->side[i].sas[0]), IKE_SA_STATE_DEAD);
            assert_true(pair_log_has(&p->side[i], "simultaneous IKE rekey"));
            /* the old SA and the redundant one are gone, the winner holds all */
            size_t alive = 0;
            for (size_t k = 0; k < c->side[i].n_sas; k++)
                alive += ike_sa_state(c->side[i].sas[k]) == IKE_SA_STATE_ESTABLISHED;
            assert_int_equal(alive, 1);
            assert_int_equal(ike_sa_state(p->side[i].sa), IKE_SA_STATE_ESTABLISHED);
            assert_int_equal(ike_sa_child_count(p->side[i].sa), 1);
            assert_non_null(ccs_installed(p, i, b.child_in[i]));
        }
        assert_memory_equal(ike_sa_spi_i(p->side[0].sa), ike_sa_spi_i(p->side[1].sa), 8);
        assert_memory_equal(ike_sa_spi_r(p->side[0].sa), ike_sa_spi_r(p->side[1].sa), 8);
        /* the winner's creator is its initiator */
        won[ike_sa_is_initiator(p->side[0].sa) ? 0 : 1] = true;
        assert_true(pair_log_has(&p->side[ike_sa_is_initiator(p->side[0].sa) ? 0 : 1],
                                 "simultaneous IKE rekey: our new IKE SA stays"));
        /* it works: a CHILD rekey on it */
        uint32_t spi = ccs_child(p->side[0].sa, 0).spi_in;
        assert_int_equal(ike_sa_child_rekey(p->side[0].sa, spi, &d), IKE_OK);
        ccs_run(c);
        struct ike_child_export x = ccs_child(p->side[0].sa, 0), y = ccs_child(p->side[1].sa, 0);
        ccs_assert_pair(&x, &y);
        assert_int_equal(x.replaces_spi_in, spi);
        ccs_free(c);
    }
    assert_true(won[0]);
    assert_true(won[1]);
}

/* One side gets its response before the peer's request: the old SA is
 * already replaced there (TEMPORARY_FAILURE); the other side takes the
 * first side's SA, whether that side's Delete of the old SA comes before
 * the TEMPORARY_FAILURE answer (its rekey is then forgotten, §2.25.2) or
 * after it. */
static void response_first(bool delete_first)
{
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    struct before b;
    struct ike_diag d = {0};
    ccs_establish(c, true);
    remember(c, &b);
    assert_int_equal(ike_sa_rekey(p->side[0].sa, &d), IKE_OK);
    assert_int_equal(ike_sa_rekey(p->side[1].sa, &d), IKE_OK);
    ccs_deliver(c, 0); /* side 0's request at side 1 (collision noted) */
    ccs_deliver(c, 1); /* its response at side 0: new SA, Delete of the old out */
    /* queue: [side 1's request -> 0, Delete -> 1] */
    ccs_deliver(c, 0);
    /* queue: [Delete -> 1, TEMPORARY_FAILURE -> 1] */
    ccs_deliver(c, delete_first ? 0 : 1);
    ccs_run(c);
    assert_true(pair_log_has(&p->side[0], "being replaced: TEMPORARY_FAILURE"));
    assert_true(pair_log_has(&p->side[1], delete_first ? "its new IKE SA stays, ours is abandoned"
                                                       : "IKE SA was rekeyed by the peer instead"));
    assert_ike_rekeyed(c, &b, 0);
    assert_int_equal(c->side[0].n_rekeyed, 1);
    assert_int_equal(c->side[1].n_rekeyed, 1);
    /* side 1 had its own request out: one more MSGID_UPDATE than usual */
    char ev[256];
    assert_string_equal(pair_event_names(&p->side[1], ev, sizeof(ev)),
                        "MSGID_UPDATE MSGID_UPDATE IKE_SA_ADD MSGID_UPDATE IKE_SA_DEL");
    ccs_free(c);
}

static void test_ike_rekey_response_first(void **state)
{
    (void)state;
    response_first(false);
}

static void test_ike_rekey_response_first_delete_overtakes(void **state)
{
    (void)state;
    response_first(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ike_rekey_by_initiator),
        cmocka_unit_test(test_ike_rekey_by_responder),
        cmocka_unit_test(test_ike_rekey_invalid_ke),
        cmocka_unit_test(test_ike_rekey_lost_response),
        cmocka_unit_test(test_ike_rekey_unsupported),
        cmocka_unit_test(test_ike_rekey_during_child_exchange),
        cmocka_unit_test(test_ike_rekey_crossing),
        cmocka_unit_test(test_ike_rekey_response_first),
        cmocka_unit_test(test_ike_rekey_response_first_delete_overtakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
