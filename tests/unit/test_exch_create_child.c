/* CREATE_CHILD_SA for new CHILD SAs (RFC 7296 §1.3.1): the initiator's
 * further selector pairs after IKE_AUTH, on-demand creation from either
 * side, PFS with an INVALID_KE_PAYLOAD round trip, the error answers
 * (TS_UNACCEPTABLE, NO_PROPOSAL_CHOSEN), and lost, duplicated and
 * reordered messages. Events, keys (crosswise) and selectors asserted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helper_ccs.h"

static const char *names(const struct pair_side *s, char *buf, size_t size)
{
    return pair_event_names(s, buf, size);
}

/* Side idx's events from index `from` on. */
static const char *names_from(const struct pair_side *s, size_t from, char *buf, size_t size)
{
    struct pair_side copy = *s;
    size_t n = s->n_events > from ? s->n_events - from : 0;
    memmove(copy.events, &s->events[from], n * sizeof(s->events[0]));
    copy.n_events = n;
    return pair_event_names(&copy, buf, size);
}

static void assert_ts16(const struct ike_ts_export *t, uint8_t a, uint8_t b)
{
    assert_int_equal(t->start_addr[0], a);
    assert_int_equal(t->start_addr[1], b);
    assert_int_equal(t->end_addr[0], a);
    assert_int_equal(t->end_addr[1], b);
}

/* Two selector pairs: children[0] in IKE_AUTH, children[1] right after in
 * CREATE_CHILD_SA (message ID 2), each a separate CHILD SA pair. */
static void test_second_pair_after_auth(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    char ev[256];
    ccs_second_pair(p);
    ccs_establish(c, false);
    struct pair_side *i = &p->side[0], *r = &p->side[1];
    assert_string_equal(names(i, ev, sizeof(ev)),
                        "MSGID_UPDATE IKE_SA_ADD CHILD_SA_ADD MSGID_UPDATE CHILD_SA_ADD");
    assert_string_equal(names(r, ev, sizeof(ev)),
                        "MSGID_UPDATE IKE_SA_ADD CHILD_SA_ADD MSGID_UPDATE CHILD_SA_ADD");
    assert_int_equal(i->events[3].msgid.send_next, 3);
    assert_int_equal(r->events[3].msgid.recv_next, 3);
    assert_int_equal(i->n_installed, 2);
    assert_int_equal(r->n_installed, 2);
    assert_int_equal(ike_sa_child_count(i->sa), 2);
    assert_int_equal(ike_sa_child_count(r->sa), 2);
    const struct ike_child_export *ci = &i->events[4].child, *cr = &r->events[4].child;
    ccs_assert_pair(ci, cr);
    assert_string_equal(ci->cfg_name, "p2b-left");
    assert_string_equal(cr->cfg_name, "p2b-right");
    assert_int_equal(ci->replaces_spi_in, 0);
    assert_memory_equal(ci->ike_spi_i, ike_sa_spi_i(i->sa), 8);
    assert_ts16(&ci->ts_local[0], 10, 3);
    assert_ts16(&ci->ts_remote[0], 10, 4);
    assert_ts16(&cr->ts_local[0], 10, 4);
    assert_ts16(&cr->ts_remote[0], 10, 3);
    /* the two pairs have their own SPIs and keys */
    assert_int_not_equal(ci->spi_in, i->events[2].child.spi_in);
    assert_memory_not_equal(ci->encr_in.data, i->events[2].child.encr_in.data, ci->encr_in.len);
    assert_true(pair_log_has(i, "creating CHILD SA p2b-left"));
    assert_true(pair_log_has(r, "CHILD SA p2b-right established"));
    assert_int_equal(p->n_queue, 0);
    ccs_free(c);
}

/* The original responder creates a CHILD SA on demand: its request has
 * no Initiator flag and message ID 0; the keys follow the roles of this
 * exchange, not of IKE_SA_INIT (§2.17). */
static void test_create_on_demand_by_responder(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    char ev[256];
    ccs_establish(c, true);
    struct pair_side *i = &p->side[0], *r = &p->side[1];
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_child_create(r->sa, 0, &d), IKE_OK);
    assert_int_equal(p->n_queue, 1);
    struct ike_hdr h;
    assert_int_equal(ike_hdr_decode(p->queue[0].data, p->queue[0].len, &h, &d), IKE_OK);
    assert_int_equal(h.exchange, IKE_EXCH_CREATE_CHILD_SA);
    assert_int_equal(h.message_id, 0);
    assert_int_equal(h.flags & (IKE_FLAG_INITIATOR | IKE_FLAG_RESPONSE), 0);
    ccs_run(c);
    assert_string_equal(names(r, ev, sizeof(ev)), "MSGID_UPDATE CHILD_SA_ADD");
    assert_string_equal(names(i, ev, sizeof(ev)), "MSGID_UPDATE CHILD_SA_ADD");
    assert_int_equal(r->events[0].msgid.send_next, 1);
    assert_int_equal(i->events[0].msgid.recv_next, 1);
    assert_int_equal(i->events[0].msgid.send_next, 2); /* unchanged */
    ccs_assert_pair(&r->events[1].child, &i->events[1].child);
    assert_int_equal(i->n_installed, 2);
    assert_int_equal(r->n_installed, 2);
    assert_int_equal(ike_sa_stats(i->sa)->dropped_malformed, 0);
    assert_int_equal(ike_sa_stats(r->sa)->dropped_malformed, 0);
    ccs_free(c);
}

/* PFS: both sides configure ECP-256 for the selector pair; KEi/KEr are
 * exchanged and the responder logs the group. */
static void test_pfs(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    char ev[256];
    ccs_second_pair(p);
    ccs_pfs(p, 0, IKE_DH_ECP_256);
    ccs_pfs(p, 1, IKE_DH_ECP_256);
    ccs_establish(c, false);
    struct pair_side *i = &p->side[0], *r = &p->side[1];
    assert_string_equal(names_from(i, 3, ev, sizeof(ev)), "MSGID_UPDATE CHILD_SA_ADD");
    assert_string_equal(names_from(r, 3, ev, sizeof(ev)), "MSGID_UPDATE CHILD_SA_ADD");
    ccs_assert_pair(&i->events[4].child, &r->events[4].child);
    assert_true(pair_log_has(i, "creating CHILD SA p2b-left (SPI in"));
    assert_true(pair_log_has(i, ", PFS)"));
    assert_true(pair_log_has(r, "PFS group 19"));
    ccs_free(c);
}

/* PFS group mismatch: the initiator's KE is ECP-384 (its first choice),
 * the responder only takes ECP-256: INVALID_KE_PAYLOAD, retry with
 * ECP-256 (one more request: one more MSGID_UPDATE on both sides). */
static void test_pfs_invalid_ke_retry(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    char ev[256];
    ccs_second_pair(p);
    ccs_pfs_retry(p);
    ccs_establish(c, false);
    struct pair_side *i = &p->side[0], *r = &p->side[1];
    assert_string_equal(names_from(i, 3, ev, sizeof(ev)), "MSGID_UPDATE MSGID_UPDATE CHILD_SA_ADD");
    assert_string_equal(names_from(r, 3, ev, sizeof(ev)), "MSGID_UPDATE MSGID_UPDATE CHILD_SA_ADD");
    assert_int_equal(i->events[4].msgid.send_next, 4);
    assert_int_equal(r->events[4].msgid.recv_next, 4);
    ccs_assert_pair(&i->events[5].child, &r->events[5].child);
    assert_true(pair_log_has(r, "INVALID_KE_PAYLOAD"));
    assert_true(pair_log_has(i, "peer requires DH group ecp256, retrying"));
    assert_int_equal(i->n_installed, 2);
    ccs_free(c);
}

/* The responder configures no PFS and the initiator insists on it: the
 * proposal is refused (NO_PROPOSAL_CHOSEN), nothing is installed, and the
 * initiator's log says what it offered. */
static void test_pfs_required_refused(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    char ev[256];
    ccs_second_pair(p);
    ccs_pfs(p, 0, IKE_DH_ECP_256);
    ccs_establish(c, false);
    struct pair_side *i = &p->side[0], *r = &p->side[1];
    assert_string_equal(names_from(i, 3, ev, sizeof(ev)), "MSGID_UPDATE");
    assert_string_equal(names_from(r, 3, ev, sizeof(ev)), "MSGID_UPDATE");
    assert_int_equal(i->n_installed, 1);
    assert_int_equal(r->n_installed, 1);
    assert_true(pair_log_has(r, "CREATE_CHILD_SA: NO_PROPOSAL_CHOSEN: peer offered ESP"));
    assert_true(pair_log_has(
        i, "CREATE_CHILD_SA for p2b-left failed: peer answered NO_PROPOSAL_CHOSEN; we offered"));
    assert_int_equal(ike_sa_state(i->sa), IKE_SA_STATE_ESTABLISHED);
    ccs_free(c);
}

/* Selectors the responder has no pair for: TS_UNACCEPTABLE, the IKE SA
 * and the first CHILD SA stay. */
static void test_ts_unacceptable(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    char ev[256];
    ccs_second_pair(p);
    p->side[1].child[1].local_ts[0] = pair_ts16(10, 6);
    ccs_establish(c, false);
    struct pair_side *i = &p->side[0], *r = &p->side[1];
    assert_string_equal(names_from(i, 3, ev, sizeof(ev)), "MSGID_UPDATE");
    assert_true(pair_log_has(r, "CREATE_CHILD_SA: TS_UNACCEPTABLE: peer offered ESP"));
    assert_true(pair_log_has(i, "failed: peer answered TS_UNACCEPTABLE"));
    assert_int_equal(i->n_installed, 1);
    assert_int_equal(r->n_installed, 1);
    /* a later on-demand request for the good pair still works */
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_child_create(i->sa, 0, &d), IKE_OK);
    ccs_run(c);
    assert_int_equal(i->n_installed, 2);
    assert_int_equal(r->n_installed, 2);
    ccs_free(c);
}

/* The responder allows only part of the offered selectors (10.4.1.0/24
 * of 10.4.0.0/16): both sides install the narrowed selectors (§2.9). */
static void test_ts_narrowed(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    ccs_second_pair(p);
    struct ike_ts *t = &p->side[1].child[1].local_ts[0];
    t->start_addr[2] = t->end_addr[2] = 1;
    ccs_establish(c, false);
    struct pair_side *i = &p->side[0], *r = &p->side[1];
    const struct ike_child_export *ci = &i->events[4].child, *cr = &r->events[4].child;
    assert_int_equal(i->events[4].type, IKE_EV_CHILD_SA_ADD);
    ccs_assert_pair(ci, cr);
    assert_int_equal(ci->n_ts_remote, 1);
    assert_int_equal(ci->ts_remote[0].start_addr[2], 1);
    assert_int_equal(ci->ts_remote[0].end_addr[2], 1);
    assert_int_equal(ci->ts_remote[0].end_addr[3], 255);
    assert_int_equal(cr->ts_local[0].start_addr[2], 1);
    assert_int_equal(cr->ts_local[0].end_addr[2], 1);
    assert_ts16(&ci->ts_local[0], 10, 3);
    ccs_free(c);
}

/* No proposal in common at all. */
static void test_no_proposal_chosen(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    ccs_second_pair(p);
    struct ike_cfg_proposal *pr = &p->side[0].child[1].proposals[0];
    pr->encr[0] = (struct ike_cfg_encr){IKE_ENCR_AES_CBC, 128};
    pr->integ[pr->n_integ++] = IKE_INTEG_HMAC_SHA2_256_128;
    ccs_establish(c, false);
    assert_true(pair_log_has(&p->side[1], "CREATE_CHILD_SA: NO_PROPOSAL_CHOSEN"));
    assert_true(pair_log_has(&p->side[0], "peer answered NO_PROPOSAL_CHOSEN"));
    assert_int_equal(p->side[0].n_installed, 1);
    ccs_free(c);
}

/* Runs IKE_SA_INIT and IKE_AUTH; the CREATE_CHILD_SA request for the
 * second pair is then the only datagram queued. */
static struct ccs *up_to_second_request(void)
{
    struct ccs *c = ccs_new();
    ccs_second_pair(c->p);
    pair_start(c->p);
    for (int k = 0; k < 4; k++) /* INIT req/resp, AUTH req/resp */
        (void)pair_deliver(c->p, 0);
    for (int i = 0; i < 2; i++) {
        c->side[i].sas[0] = c->p->side[i].sa;
        c->side[i].n_sas = 1;
    }
    assert_int_equal(c->p->n_queue, 1);
    return c;
}

static void assert_second_pair_up(struct ccs *c)
{
    struct pair *p = c->p;
    assert_int_equal(p->side[0].n_installed, 2);
    assert_int_equal(p->side[1].n_installed, 2);
    assert_int_equal(ike_sa_child_count(p->side[0].sa), 2);
    assert_int_equal(ike_sa_child_count(p->side[1].sa), 2);
    struct ike_child_export a = ccs_child(p->side[0].sa, 1), b = ccs_child(p->side[1].sa, 1);
    ccs_assert_pair(&a, &b);
}

/* A lost request is retransmitted and the CHILD SA comes up. */
static void test_lost_request(void **state)
{
    (void)state;
    struct ccs *c = up_to_second_request();
    pair_drop(c->p, 0);
    pair_advance(c->p, IKE_RETRANSMIT_BASE_MS);
    assert_int_equal(c->p->n_queue, 1);
    ccs_run(c);
    assert_second_pair_up(c);
    assert_int_equal(ike_sa_stats(c->p->side[0].sa)->retransmits_sent, 1);
    ccs_free(c);
}

/* A lost response: the retransmitted request is answered from the
 * responder cache with the same bytes, nothing is installed twice. */
static void test_lost_response(void **state)
{
    (void)state;
    struct ccs *c = up_to_second_request();
    struct pair *p = c->p;
    char ev[256];
    ccs_deliver(c, 0);
    assert_int_equal(p->n_queue, 1);
    uint8_t *first = pair_copy(&p->queue[0]);
    size_t first_len = p->queue[0].len;
    pair_drop(p, 0);
    pair_advance(p, IKE_RETRANSMIT_BASE_MS);
    ccs_deliver(c, 0); /* the retransmission */
    assert_int_equal(p->n_queue, 1);
    assert_int_equal(p->queue[0].len, first_len);
    assert_memory_equal(p->queue[0].data, first, first_len);
    pair_bytes_free(first);
    ccs_run(c);
    assert_second_pair_up(c);
    assert_int_equal(ike_sa_stats(p->side[1].sa)->responses_resent, 1);
    assert_string_equal(names_from(&p->side[1], 3, ev, sizeof(ev)), "MSGID_UPDATE CHILD_SA_ADD");
    assert_string_equal(names_from(&p->side[0], 3, ev, sizeof(ev)), "MSGID_UPDATE CHILD_SA_ADD");
    ccs_free(c);
}

/* A duplicated request is answered twice (once from the cache); the
 * second response is a duplicate for the initiator and dropped. */
static void test_duplicated_request(void **state)
{
    (void)state;
    struct ccs *c = up_to_second_request();
    struct pair *p = c->p;
    pair_dup(p, 0);
    ccs_run(c);
    assert_second_pair_up(c);
    assert_int_equal(ike_sa_stats(p->side[1].sa)->responses_resent, 1);
    assert_int_equal(ike_sa_stats(p->side[0].sa)->dropped_msgid, 1);
    assert_int_equal(p->side[0].n_events, 5);
    assert_int_equal(p->side[1].n_events, 5);
    ccs_free(c);
}

/* Both sides create a CHILD SA at once (each window has one request):
 * delivered in reverse order, both succeed. */
static void test_crossing_requests_reordered(void **state)
{
    (void)state;
    struct ccs *c = up_to_second_request();
    struct pair *p = c->p;
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_child_create(p->side[1].sa, 0, &d), IKE_OK);
    assert_int_equal(p->n_queue, 2);
    ccs_deliver(c, 1); /* the responder's request first */
    ccs_deliver(c, 0);
    ccs_run(c);
    assert_int_equal(p->side[0].n_installed, 3);
    assert_int_equal(p->side[1].n_installed, 3);
    for (size_t k = 1; k < 3; k++) {
        struct ike_child_export a = ccs_child(p->side[0].sa, k);
        const struct ike_child_export *b = ccs_installed(p, 1, a.spi_out);
        assert_non_null(b);
        ccs_assert_pair(&a, b);
    }
    ccs_free(c);
}

static void test_api_errors(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    struct ike_diag d = {0};
    pair_start(p);
    assert_int_equal(ike_sa_child_create(p->side[0].sa, 0, &d), IKE_E_STATE);
    pair_run(p);
    c->side[0].sas[0] = p->side[0].sa;
    c->side[1].sas[0] = p->side[1].sa;
    c->side[0].n_sas = c->side[1].n_sas = 1;
    assert_int_equal(ike_sa_child_create(p->side[0].sa, 1, &d), IKE_E_INVALID_ARG);
    assert_int_equal(ike_sa_child_rekey(p->side[0].sa, 0x1234, &d), IKE_E_INVALID_ARG);
    assert_int_equal(ike_sa_child_create(NULL, 0, &d), IKE_E_INVALID_ARG);
    assert_int_equal(ike_sa_child_create_named(p->side[0].sa, "p2-nope", &d), IKE_E_INVALID_ARG);
    assert_int_equal(ike_sa_rekey(NULL, &d), IKE_E_INVALID_ARG);
    assert_int_equal(p->n_queue, 0);
    /* by name: the configured pair */
    assert_int_equal(ike_sa_child_create_named(p->side[0].sa, "p2-left", &d), IKE_OK);
    ccs_run(c);
    assert_int_equal(p->side[0].n_installed, 2);
    assert_int_equal(p->side[1].n_installed, 2);
    ccs_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_pair_after_auth),
        cmocka_unit_test(test_create_on_demand_by_responder),
        cmocka_unit_test(test_pfs),
        cmocka_unit_test(test_pfs_invalid_ke_retry),
        cmocka_unit_test(test_pfs_required_refused),
        cmocka_unit_test(test_ts_unacceptable),
        cmocka_unit_test(test_ts_narrowed),
        cmocka_unit_test(test_no_proposal_chosen),
        cmocka_unit_test(test_lost_request),
        cmocka_unit_test(test_lost_response),
        cmocka_unit_test(test_duplicated_request),
        cmocka_unit_test(test_crossing_requests_reordered),
        cmocka_unit_test(test_api_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
