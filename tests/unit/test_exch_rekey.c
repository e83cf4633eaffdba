/* CHILD SA rekey (RFC 7296 §1.3.3, §2.8): REKEY_SA with and without PFS
 * from either side, the new pair installed before the old one is deleted
 * by the rekey's initiator, the §2.25 answers (CHILD_SA_NOT_FOUND,
 * TEMPORARY_FAILURE), loss and duplication, rekey after export/import.
 * Simultaneous rekeys are in test_exch_rekey_collision.c, the IKE SA's
 * rekey in test_exch_rekey_ike.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "helper_ccs.h"

static uint32_t first_spi_in(const struct ike_sa *sa)
{
    return ccs_child(sa, 0).spi_in;
}

/* After a rekey of the first pair by side `by`: exactly one CHILD SA pair
 * on each side, the new one (not old_in/out), crossing over, recorded as
 * replacing the old. */
static void assert_rekeyed(struct ccs *c, uint32_t old_in0, uint32_t old_in1)
{
    struct pair *p = c->p;
    assert_int_equal(p->side[0].n_installed, 1);
    assert_int_equal(p->side[1].n_installed, 1);
    assert_int_equal(ike_sa_child_count(p->side[0].sa), 1);
    assert_int_equal(ike_sa_child_count(p->side[1].sa), 1);
    struct ike_child_export a = ccs_child(p->side[0].sa, 0), b = ccs_child(p->side[1].sa, 0);
    ccs_assert_pair(&a, &b);
    assert_int_not_equal(a.spi_in, old_in0);
    assert_int_not_equal(b.spi_in, old_in1);
    assert_int_equal(a.replaces_spi_in, old_in0);
    assert_int_equal(b.replaces_spi_in, old_in1);
    assert_string_equal(a.cfg_name, "p2-left");
    assert_non_null(ccs_installed(p, 0, a.spi_in));
    assert_null(ccs_installed(p, 0, old_in0));
    assert_null(ccs_installed(p, 1, old_in1));
}

/* The IKE SA and its first CHILD SA pair up, events cleared; old0/old1:
 * that pair's inbound SPIs on side 0 / side 1. */
static struct ccs *established(uint32_t *old0, uint32_t *old1)
{
    struct ccs *c = ccs_new();
    ccs_establish(c, true);
    *old0 = first_spi_in(c->p->side[0].sa);
    *old1 = first_spi_in(c->p->side[1].sa);
    return c;
}

static void rekey_by(int by, bool pfs)
{
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    char ev[256];
    if (pfs) {
        ccs_pfs(p, 0, IKE_DH_ECP_256);
        ccs_pfs(p, 1, IKE_DH_ECP_256);
    }
    ccs_establish(c, true);
    struct pair_side *s = &p->side[by], *o = &p->side[1 - by];
    uint32_t old0 = first_spi_in(p->side[0].sa), old1 = first_spi_in(p->side[1].sa);
    uint32_t old_by = by == 0 ? old0 : old1, old_other = by == 0 ? old1 : old0;
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_child_rekey(s->sa, old_by, &d), IKE_OK);
    ccs_run(c);
    assert_rekeyed(c, old0, old1);
    /* initiator: request sent, new pair, Delete sent, old pair gone;
     * responder: request received, new pair, Delete received, old gone */
    assert_string_equal(pair_event_names(s, ev, sizeof(ev)),
                        "MSGID_UPDATE CHILD_SA_ADD MSGID_UPDATE CHILD_SA_DEL");
    assert_string_equal(pair_event_names(o, ev, sizeof(ev)),
                        "MSGID_UPDATE CHILD_SA_ADD MSGID_UPDATE CHILD_SA_DEL");
    assert_int_equal(s->events[1].child.replaces_spi_in, old_by);
    assert_int_equal(o->events[1].child.replaces_spi_in, old_other);
    assert_int_equal(s->events[3].child_del_spi, old_by);
    assert_int_equal(o->events[3].child_del_spi, old_other);
    uint32_t base = by == 0 ? 2 : 0; /* the original initiator used 0 and 1 */
    assert_int_equal(s->events[0].msgid.send_next, base + 1);
    assert_int_equal(s->events[2].msgid.send_next, base + 2);
    assert_int_equal(o->events[0].msgid.recv_next, base + 1);
    assert_int_equal(o->events[2].msgid.recv_next, base + 2);
    if (pfs)
        assert_true(pair_log_has(o, "PFS group 19"));
    char line[96];
    snprintf(line, sizeof(line), "rekeying CHILD SA %s %08x", by == 0 ? "p2-left" : "p2-right",
             old_by);
    assert_true(pair_log_has(s, line));
    assert_int_equal(p->n_queue, 0);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(ike_sa_stats(p->side[k].sa)->dropped_malformed, 0);
        assert_int_equal(ike_sa_stats(p->side[k].sa)->dropped_unhandled, 0);
    }
    ccs_free(c);
}

static void test_rekey_by_initiator(void **state)
{
    (void)state;
    rekey_by(0, false);
}

static void test_rekey_by_responder(void **state)
{
    (void)state;
    rekey_by(1, false);
}

static void test_rekey_pfs_by_initiator(void **state)
{
    (void)state;
    rekey_by(0, true);
}

static void test_rekey_pfs_by_responder(void **state)
{
    (void)state;
    rekey_by(1, true);
}

/* Two selector pairs: rekeying one leaves the other alone, and the rekey
 * stays within its pair's selectors. */
static void test_rekey_one_of_two(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    ccs_second_pair(p);
    ccs_establish(c, true);
    struct ike_child_export other0 = ccs_child(p->side[0].sa, 0);
    struct ike_child_export b0 = ccs_child(p->side[0].sa, 1);
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_child_rekey(p->side[0].sa, b0.spi_in, &d), IKE_OK);
    ccs_run(c);
    assert_int_equal(p->side[0].n_installed, 2);
    assert_int_equal(p->side[1].n_installed, 2);
    assert_non_null(ccs_installed(p, 0, other0.spi_in));
    assert_null(ccs_installed(p, 0, b0.spi_in));
    const struct ike_child_export *n0 = &p->side[0].events[1].child;
    assert_string_equal(n0->cfg_name, "p2b-left");
    assert_int_equal(n0->replaces_spi_in, b0.spi_in);
    assert_memory_equal(&n0->ts_local[0], &b0.ts_local[0], sizeof(b0.ts_local[0]));
    assert_memory_equal(&n0->ts_remote[0], &b0.ts_remote[0], sizeof(b0.ts_remote[0]));
    const struct ike_child_export *n1 = ccs_installed(p, 1, n0->spi_out);
    assert_non_null(n1);
    ccs_assert_pair(n0, n1);
    ccs_free(c);
}

/* A CHILD SA made with PFS after an INVALID_KE_PAYLOAD round is rekeyed
 * with the group that was agreed: no second round. */
static void test_rekey_reuses_pfs_group(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    char ev[256];
    ccs_second_pair(p);
    ccs_pfs_retry(p);
    ccs_establish(c, true);
    struct ike_child_export b0 = ccs_child(p->side[0].sa, 1);
    assert_int_equal(b0.pfs_group, IKE_DH_ECP_256);
    assert_int_equal(ccs_child(p->side[1].sa, 1).pfs_group, IKE_DH_ECP_256);
    assert_int_equal(ccs_child(p->side[0].sa, 0).pfs_group, 0); /* IKE_AUTH: no PFS */
    p->side[0].n_events = p->side[1].n_events = 0;
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_child_rekey(p->side[0].sa, b0.spi_in, &d), IKE_OK);
    ccs_run(c);
    assert_string_equal(pair_event_names(&p->side[0], ev, sizeof(ev)),
                        "MSGID_UPDATE CHILD_SA_ADD MSGID_UPDATE CHILD_SA_DEL");
    assert_int_equal(p->side[0].events[1].child.pfs_group, IKE_DH_ECP_256);
    ccs_assert_pair(&p->side[0].events[1].child, &p->side[1].events[1].child);
    ccs_free(c);
}

/* The peer does not know the SA: CHILD_SA_NOT_FOUND (§2.25.1), nothing
 * changes on our side. The responder is an import without its CHILD SAs. */
static void test_rekey_unknown_child(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    ccs_establish(c, true);
    struct ike_sa_export ex;
    struct ike_diag d = {0};
    struct ike_sa *bare = NULL;
    assert_int_equal(ike_sa_export(p->side[1].sa, &ex, &d), IKE_OK);
    assert_int_equal(ike_sa_import(&p->side[1].ctx, &p->side[1].cfg, &ex, &bare, &d), IKE_OK);
    ike_export_wipe(&ex, sizeof(ex));
    ike_sa_free(p->side[1].sa);
    p->side[1].sa = c->side[1].sas[0] = bare;
    uint32_t old = first_spi_in(p->side[0].sa);
    assert_int_equal(ike_sa_child_rekey(p->side[0].sa, old, &d), IKE_OK);
    ccs_run(c);
    assert_true(pair_log_has(&p->side[1], "which we do not have"));
    assert_true(pair_log_has(&p->side[0], "peer answered CHILD_SA_NOT_FOUND"));
    assert_int_equal(ike_sa_child_count(p->side[0].sa), 1);
    assert_non_null(ccs_installed(p, 0, old));
    ccs_free(c);
}

/* A rekey request for a CHILD SA the responder is deleting:
 * TEMPORARY_FAILURE (§2.25.1); the Delete then removes it on both sides. */
static void test_rekey_while_deleting(void **state)
{
    (void)state;
    uint32_t old0, old1;
    struct ccs *c = established(&old0, &old1);
    struct pair *p = c->p;
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_delete_child(p->side[1].sa, old1, &d), IKE_OK);
    assert_int_equal(ike_sa_child_rekey(p->side[0].sa, old0, &d), IKE_OK);
    assert_int_equal(p->n_queue, 2);
    /* the rekey request reaches side 1 first */
    size_t rq = p->queue[0].to == 1 ? 0 : 1;
    ccs_deliver(c, rq);
    ccs_run(c);
    assert_true(pair_log_has(&p->side[1], "TEMPORARY_FAILURE"));
    char line[96];
    snprintf(line, sizeof(line),
             "rekey response for CHILD SA %08x, which is gone (TEMPORARY_FAILURE)", old0);
    assert_true(pair_log_has(&p->side[0], line));
    assert_int_equal(ike_sa_child_count(p->side[0].sa), 0);
    assert_int_equal(ike_sa_child_count(p->side[1].sa), 0);
    assert_int_equal(p->side[0].n_installed, 0);
    assert_int_equal(p->side[1].n_installed, 0);
    ccs_free(c);
}

/* Queuing the same rekey twice runs it once; a rekey of an SA already
 * replaced is not started. */
static void test_rekey_queued_twice(void **state)
{
    (void)state;
    uint32_t old0, old1;
    struct ccs *c = established(&old0, &old1);
    struct pair *p = c->p;
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_child_rekey(p->side[0].sa, old0, &d), IKE_OK);
    assert_int_equal(ike_sa_child_rekey(p->side[0].sa, old0, &d), IKE_OK);
    assert_int_equal(p->n_queue, 1);
    ccs_run(c);
    assert_rekeyed(c, old0, old1);
    assert_int_equal(p->side[1].n_events, 4);
    ccs_free(c);
}

/* Lost rekey request and lost response: retransmission recovers, the
 * responder's cache answers the retransmission with the same bytes, the
 * new SA is installed once. */
static void test_rekey_lost_messages(void **state)
{
    (void)state;
    uint32_t old0, old1;
    struct ccs *c = established(&old0, &old1);
    struct pair *p = c->p;
    char ev[256];
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_child_rekey(p->side[0].sa, old0, &d), IKE_OK);
    pair_drop(p, 0); /* request lost */
    pair_advance(p, IKE_RETRANSMIT_BASE_MS);
    ccs_deliver(c, 0); /* retransmission arrives */
    pair_drop(p, 0);   /* response lost */
    pair_advance(p, 2 * IKE_RETRANSMIT_BASE_MS);
    ccs_deliver(c, 0); /* second retransmission: answered from the cache */
    assert_int_equal(ike_sa_stats(p->side[1].sa)->responses_resent, 1);
    ccs_run(c);
    assert_rekeyed(c, old0, old1);
    assert_int_equal(ike_sa_stats(p->side[0].sa)->retransmits_sent, 2);
    assert_string_equal(pair_event_names(&p->side[1], ev, sizeof(ev)),
                        "MSGID_UPDATE CHILD_SA_ADD MSGID_UPDATE CHILD_SA_DEL");
    ccs_free(c);
}

/* A duplicated rekey request and reordered duplicates: one new SA. */
static void test_rekey_duplicated(void **state)
{
    (void)state;
    uint32_t old0, old1;
    struct ccs *c = established(&old0, &old1);
    struct pair *p = c->p;
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_child_rekey(p->side[0].sa, old0, &d), IKE_OK);
    pair_dup(p, 0);
    pair_dup(p, 0);
    ccs_deliver(c, 0);
    /* queue: dup, dup, response; the response overtakes the duplicates */
    ccs_deliver(c, 2);
    ccs_run(c);
    assert_rekeyed(c, old0, old1);
    assert_int_equal(ike_sa_stats(p->side[1].sa)->responses_resent, 2);
    assert_int_equal(ike_sa_stats(p->side[0].sa)->dropped_msgid, 2);
    ccs_free(c);
}

/* An established SA exported and imported elsewhere (with its CHILD SA)
 * rekeys that CHILD SA with the peer: message IDs and keys carry over. */
static void test_rekey_after_import(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    ccs_second_pair(p); /* message IDs beyond IKE_AUTH */
    ccs_establish(c, true);
    uint32_t old0 = first_spi_in(p->side[0].sa), old1 = first_spi_in(p->side[1].sa);
    for (int idx = 0; idx < 2; idx++) {
        struct ike_sa_export ex;
        struct ike_diag d = {0};
        struct ike_sa *imp = NULL;
        assert_int_equal(ike_sa_export(p->side[idx].sa, &ex, &d), IKE_OK);
        assert_int_equal(ike_sa_import(&p->side[idx].ctx, &p->side[idx].cfg, &ex, &imp, &d),
                         IKE_OK);
        for (size_t k = 0; k < ike_sa_child_count(p->side[idx].sa); k++) {
            struct ike_child_export ch = ccs_child(p->side[idx].sa, k);
            assert_int_equal(ike_sa_import_child(imp, &ch, &d), IKE_OK);
        }
        /* passive (a standby's copy): it refuses to start exchanges */
        assert_int_equal(ike_sa_child_rekey(imp, ccs_child(imp, 0).spi_in, &d), IKE_E_STATE);
        assert_int_equal(ike_sa_rekey(imp, &d), IKE_E_STATE);
        ike_sa_activate(imp);
        ike_export_wipe(&ex, sizeof(ex));
        ike_sa_free(p->side[idx].sa);
        p->side[idx].sa = c->side[idx].sas[0] = imp;
    }
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_child_rekey(p->side[1].sa, old1, &d), IKE_OK);
    ccs_run(c);
    assert_int_equal(ike_sa_child_count(p->side[0].sa), 2);
    assert_int_equal(ike_sa_child_count(p->side[1].sa), 2);
    struct ike_child_export a = ccs_child(p->side[0].sa, 0);
    if (a.replaces_spi_in != old0)
        a = ccs_child(p->side[0].sa, 1);
    assert_int_equal(a.replaces_spi_in, old0);
    assert_null(ccs_installed(p, 0, old0));
    const struct ike_child_export *b = ccs_installed(p, 1, a.spi_out);
    assert_non_null(b);
    assert_int_equal(b->replaces_spi_in, old1);
    ccs_assert_pair(&a, b);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(ike_sa_stats(p->side[k].sa)->dropped_integrity, 0);
        assert_int_equal(ike_sa_stats(p->side[k].sa)->dropped_msgid, 0);
    }
    ccs_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rekey_by_initiator),
        cmocka_unit_test(test_rekey_by_responder),
        cmocka_unit_test(test_rekey_pfs_by_initiator),
        cmocka_unit_test(test_rekey_pfs_by_responder),
        cmocka_unit_test(test_rekey_one_of_two),
        cmocka_unit_test(test_rekey_reuses_pfs_group),
        cmocka_unit_test(test_rekey_unknown_child),
        cmocka_unit_test(test_rekey_while_deleting),
        cmocka_unit_test(test_rekey_queued_twice),
        cmocka_unit_test(test_rekey_lost_messages),
        cmocka_unit_test(test_rekey_duplicated),
        cmocka_unit_test(test_rekey_after_import),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
