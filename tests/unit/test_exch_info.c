/* The INFORMATIONAL responder: liveness checks, error and status notifies,
 * INVALID_SYNTAX for authentic malformed requests (and silence for forged
 * ones), INITIAL_CONTACT in IKE_AUTH and its callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "helper_pair.h"
#include <ike/sk.h>

#include "sa_internal.h"

/* side 0 sends an INFORMATIONAL request built by the test (outside the
 * queue, so side 0 will not accept the answer: only side 1 is checked). */
static void send_raw(struct pair *p, struct ike_msg *m)
{
    assert_int_equal(ike_sa_send_request(p->side[0].sa, m), IKE_OK);
    ike_msg_clear(m);
}

static void raw_init(struct pair *p, struct ike_msg *m)
{
    struct ike_sa *sa = p->side[0].sa;
    ike_msg_init(m, sa->spi_i, sa->spi_r, IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR,
                 sa->send_next);
}

static void test_liveness_answered(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_dpd(p->side[0].sa, &d), IKE_OK);
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_true(pair_log_has(&p->side[1], "received INFORMATIONAL request 2 [ SK ]"));
    assert_true(pair_log_has(&p->side[1], "liveness check 2 answered"));
    assert_string_equal(pair_events(&p->side[1]), "MSGID_UPDATE");
    assert_int_equal(p->side[1].events[0].msgid.recv_next, 3);
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_string_equal(pair_events(&p->side[0]), "MSGID_UPDATE");
    assert_int_equal(p->side[0].events[0].msgid.send_next, 3);
    assert_false(p->side[0].timer_armed[IKE_TIMER_RETRANSMIT]);
    assert_int_equal(ike_sa_stats(p->side[0].sa)->dpd_sent, 1);
    pair_free(p);
}

static void test_error_and_status_notifies(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    struct ike_msg m;
    uint32_t out = p->side[1].installed[0].spi_out;
    uint8_t spi[4] = {(uint8_t)(out >> 24), (uint8_t)(out >> 16), (uint8_t)(out >> 8),
                      (uint8_t)out};
    raw_init(p, &m);
    ike_msg_add_notify(&m, IKE_N_INVALID_SPI, spi, sizeof(spi));
    ike_msg_add_notify(&m, IKE_N_TEMPORARY_FAILURE, NULL, 0);
    ike_msg_add_notify(&m, 40000, NULL, 0); /* unknown status type */
    send_raw(p, &m);
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    const struct pair_side *r = &p->side[1];
    assert_int_equal(ike_sa_stats(r->sa)->errors_received, 2);
    char want[128];
    snprintf(want, sizeof(want), "peer reports INVALID_SPI: ESP/AH with SPI %08x", out);
    assert_true(pair_log_has(r, want));
    assert_true(pair_log_has(r, "peer sent error notify TEMPORARY_FAILURE (43)"));
    assert_true(pair_log_has(r, "status notify UNKNOWN (40000) ignored"));
    assert_true(pair_log_has(r, "sent INFORMATIONAL response 2 [ ]"));
    assert_int_equal(r->n_installed, 1); /* notifies delete nothing */
    assert_int_equal(ike_sa_state(r->sa), IKE_SA_STATE_ESTABLISHED);
    pair_free(p);
}

/* Authentic but against the INFORMATIONAL rules (a TSi payload): answered
 * INVALID_SYNTAX, the message ID consumed, a retransmission gets the same
 * answer; the same request with a broken ICV gets nothing. */
static void test_invalid_syntax(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    struct ike_msg m;
    struct ike_ts ts = pair_ts16(10, 1);
    raw_init(p, &m);
    ike_msg_add_ts(&m, IKE_PLD_TSI, &ts, 1);
    send_raw(p, &m);
    uint8_t *copy = pair_copy(&p->queue[0]);
    size_t len = p->queue[0].len;
    struct pair_dgram forged = p->queue[0];
    /* forged first: ICV broken */
    forged.data = pair_copy(&p->queue[0]);
    forged.data[len - 1] ^= 0x55;
    assert_true(p->n_queue < PAIR_QUEUE_MAX);
    p->queue[p->n_queue++] = forged;
    assert_int_equal(pair_deliver(p, 1), IKE_E_INTEGRITY);
    assert_int_equal(p->n_queue, 1); /* no answer */
    assert_int_equal(ike_sa_stats(p->side[1].sa)->dropped_integrity, 1);
    /* the authentic one */
    assert_int_equal(pair_deliver(p, 0), IKE_E_RULES);
    assert_int_equal(p->n_queue, 1);
    assert_true(pair_log_has(&p->side[1], "is malformed"));
    assert_true(pair_log_has(&p->side[1], "answered INVALID_SYNTAX"));
    assert_string_equal(pair_events(&p->side[1]), "MSGID_UPDATE");
    assert_int_equal(p->side[1].events[0].msgid.recv_next, 3);
    assert_int_equal(pair_deliver(p, 0), IKE_E_STATE); /* side 0 ran no task */
    assert_true(pair_log_has(&p->side[0], "received INFORMATIONAL response 2 [ SK { "
                                          "N(INVALID_SYNTAX) } ]"));
    /* retransmission of the bad request: the cached INVALID_SYNTAX */
    struct ike_sa *r = p->side[1].sa;
    struct ike_diag d = {0};
    struct ike_addr l = pair_addr4(10, 0, 0, 2, 500), rem = pair_addr4(10, 0, 0, 1, 500);
    assert_int_equal(ike_sa_process(r, copy, len, &l, &rem, &d), IKE_OK);
    assert_int_equal(ike_sa_stats(r)->responses_resent, 1);
    assert_int_equal(p->side[1].n_events, 1);
    assert_int_equal(ike_sa_state(r), IKE_SA_STATE_ESTABLISHED);
    pair_bytes_free(copy);
    pair_free(p);
}

static void test_initial_contact(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_establish(p);
    assert_int_equal(p->side[1].n_initial_contact, 1);
    assert_int_equal(p->side[0].n_initial_contact, 0);
    assert_true(pair_log_has(&p->side[1], "peer fqdn:left.example sent INITIAL_CONTACT"));
    const struct ike_id_export *id = ike_sa_peer_id(p->side[1].sa);
    assert_int_equal(id->type, IKE_ID_FQDN);
    assert_memory_equal(id->data, "left.example", id->len);
    pair_free(p);

    p = pair_new();
    p->side[0].cfg.initial_contact = false;
    pair_establish(p);
    assert_int_equal(p->side[1].n_initial_contact, 0);
    assert_false(pair_log_has(&p->side[1], "INITIAL_CONTACT"));
    assert_false(p->side[1].events[1].ike.peer_initial_contact);
    pair_free(p);
}

/* What the initial_contact callback is for: the caller drops the older
 * SA of the same peer ID with ike_sa_drop(), which tells nobody but the
 * data plane and the standby. */
static void test_initial_contact_drops_old(void **state)
{
    (void)state;
    struct pair *old = pair_new();
    pair_establish(old);
    struct pair *p = pair_new();
    pair_establish(p);
    assert_int_equal(p->side[1].n_initial_contact, 1);
    const struct ike_id_export *a = ike_sa_peer_id(p->side[1].sa);
    const struct ike_id_export *b = ike_sa_peer_id(old->side[1].sa);
    assert_true(a->len == b->len && memcmp(a->data, b->data, a->len) == 0);
    old->side[1].n_events = 0;
    ike_sa_drop(old->side[1].sa, "INITIAL_CONTACT from its peer");
    assert_int_equal(ike_sa_state(old->side[1].sa), IKE_SA_STATE_DEAD);
    assert_string_equal(pair_events(&old->side[1]), "CHILD_SA_DEL IKE_SA_DEL");
    assert_int_equal(old->n_queue, 0);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_ESTABLISHED);
    pair_free(old);
    pair_free(p);
}

/* Messages of an exchange we do not handle in a state: still dropped and
 * counted (an INFORMATIONAL before IKE_AUTH completes). */
static void test_informational_before_auth(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_start(p);
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* IKE_SA_INIT to side 1 */
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* response, IKE_AUTH sent */
    pair_drop(p, 0);                              /* IKE_AUTH lost */
    struct ike_sa *sa = p->side[0].sa;
    struct ike_msg m;
    ike_msg_init(&m, sa->spi_i, sa->spi_r, IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR, 1);
    uint8_t *buf = NULL;
    size_t len = 0;
    struct ike_diag d = {0};
    assert_int_equal(ike_sk_protect(&m, ike_sa_cipher_out(sa), &buf, &len, &d), IKE_OK);
    ike_msg_clear(&m);
    struct ike_addr l = pair_addr4(10, 0, 0, 2, 500), r = pair_addr4(10, 0, 0, 1, 500);
    assert_int_equal(ike_sa_process(p->side[1].sa, buf, len, &l, &r, &d), IKE_E_UNSUPPORTED);
    assert_int_equal(ike_sa_stats(p->side[1].sa)->dropped_unhandled, 1);
    ike_msg_free_buf(buf, len);
    pair_free(p);
}

/* Both ends probe at once and every message arrives out of order: each
 * SA keeps its two message-ID sequences apart (§2.2). */
static void test_crossed_probes_reordered(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    struct ike_diag d = {0};
    struct ike_sa *i = p->side[0].sa, *r = p->side[1].sa;
    assert_int_equal(ike_sa_dpd(i, &d), IKE_OK);
    assert_int_equal(ike_sa_dpd(r, &d), IKE_OK);
    assert_int_equal(p->n_queue, 2);
    assert_int_equal(pair_deliver(p, 1), IKE_OK); /* side 1's request first */
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_int_equal(p->n_queue, 2);
    assert_int_equal(pair_deliver(p, 1), IKE_OK); /* answers in reverse order */
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_false(i->req.active || r->req.active);
    assert_int_equal(i->send_next, 3);
    assert_int_equal(i->recv_next, 1);
    assert_int_equal(r->send_next, 1);
    assert_int_equal(r->recv_next, 3);
    assert_string_equal(pair_events(&p->side[0]), "MSGID_UPDATE MSGID_UPDATE");
    assert_string_equal(pair_events(&p->side[1]), "MSGID_UPDATE MSGID_UPDATE");
    assert_int_equal(ike_sa_stats(i)->dropped_msgid + ike_sa_stats(r)->dropped_msgid, 0);
    pair_free(p);
}

/* ESP with an unknown SPI: reported in a protected INFORMATIONAL, at most
 * once a second; the receiver only logs it. */
static void test_report_invalid_spi(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    struct ike_diag d = {0};
    struct ike_sa *i = p->side[0].sa;
    assert_int_equal(ike_sa_report_invalid_spi(i, 0x11112222, &d), IKE_OK);
    assert_true(
        pair_log_has(&p->side[0], "sent INFORMATIONAL request 2 [ SK { N(INVALID_SPI) } ]"));
    assert_int_equal(ike_sa_report_invalid_spi(i, 0x11112223, &d), IKE_E_STATE); /* 1/s */
    assert_int_equal(pair_run(p), 2);
    assert_true(pair_log_has(&p->side[1], "peer reports INVALID_SPI: ESP/AH with SPI 11112222 it "
                                          "does not know (our outbound SA, not one we hold)"));
    assert_int_equal(p->side[1].n_installed, 1);
    assert_false(i->req.active);
    pair_advance(p, 1000);
    assert_int_equal(ike_sa_report_invalid_spi(i, p->side[0].installed[0].spi_in, &d),
                     IKE_E_INVALID_ARG); /* that one is ours */
    assert_int_equal(ike_sa_report_invalid_spi(i, 0x11112223, &d), IKE_OK);
    assert_int_equal(pair_run(p), 2);
    assert_int_equal(ike_sa_stats(p->side[1].sa)->errors_received, 2);
    pair_free(p);
}

/* A request for an IKE SA the receiver lost: INVALID_IKE_SPI, unprotected,
 * header copied; never for responses. The original SA ignores it (it is
 * not authenticated). */
static void test_answer_invalid_ike_spi(void **state)
{
    (void)state;
    struct pair *p = pair_established();
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_dpd(p->side[0].sa, &d), IKE_OK);
    struct pair_dgram req = p->queue[0];
    size_t sent = p->side[1].n_stateless;
    assert_int_equal(
        ike_answer_invalid_ike_spi(&p->side[1].ctx, req.data, req.len, &req.local, &req.remote, &d),
        IKE_OK);
    assert_int_equal(p->side[1].n_stateless, sent + 1);
    assert_int_equal(p->n_queue, 2);
    struct ike_msg m = {0};
    assert_int_equal(ike_msg_decode(&m, p->queue[1].data, p->queue[1].len, &d), IKE_OK);
    assert_true(ike_msg_is_response(&m));
    assert_int_equal(m.hdr.exchange, IKE_EXCH_INFORMATIONAL);
    assert_int_equal(m.hdr.message_id, 2);
    assert_false(m.hdr.flags & IKE_FLAG_INITIATOR);
    assert_memory_equal(m.hdr.spi_i, p->side[0].sa->spi_i, 8);
    assert_memory_equal(m.hdr.spi_r, p->side[0].sa->spi_r, 8);
    assert_null(m.sk);
    assert_non_null(ike_msg_find_notify(&m, IKE_N_INVALID_IKE_SPI));
    ike_msg_clear(&m);
    assert_true(pair_log_has(&p->side[1], "INFORMATIONAL request 2 from 10.0.0.1:500 for an "
                                          "unknown IKE SA: answered INVALID_IKE_SPI"));
    /* the unauthenticated answer does not hurt the SA that sent request 2 */
    assert_int_equal(pair_deliver(p, 1), IKE_E_RULES);
    assert_true(pair_log_has(&p->side[0], "unauthenticated INVALID_IKE_SPI answers our "
                                          "INFORMATIONAL request 2"));
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    assert_true(p->side[0].sa->req.active);
    /* responses and IKE_SA_INIT get nothing */
    assert_int_equal(pair_run(p), 2);
    struct pair_trace *resp = &p->trace[p->n_trace - 1];
    assert_int_equal(ike_answer_invalid_ike_spi(&p->side[0].ctx, resp->data, resp->len,
                                                &resp->sent_to, &resp->sent_from, &d),
                     IKE_E_INVALID_ARG);
    assert_int_equal(ike_answer_invalid_ike_spi(&p->side[1].ctx, p->trace[0].data, p->trace[0].len,
                                                &req.local, &req.remote, &d),
                     IKE_E_INVALID_ARG);
    assert_int_equal(p->n_queue, 0);
    pair_free(p);
}

/* The initiator cannot authenticate the responder (another ID than it
 * expects): it says so in a protected INFORMATIONAL and the responder,
 * which believed the SA established, removes it with its events. */
static void test_auth_failed_after_ike_auth(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    memcpy(p->side[0].cfg.remote_id.data, "wrong", 5);
    pair_start(p);
    pair_run(p);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_DEAD);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_DEAD);
    assert_true(pair_log_has(&p->side[1], "peer could not authenticate us (AUTHENTICATION_FAILED "
                                          "after IKE_AUTH, we sent ID fqdn:right.example)"));
    assert_string_equal(pair_events(&p->side[1]),
                        "MSGID_UPDATE IKE_SA_ADD CHILD_SA_ADD MSGID_UPDATE "
                        "CHILD_SA_DEL IKE_SA_DEL");
    assert_int_equal(p->side[1].n_installed, 0);
    assert_int_equal(p->side[0].n_installed, 0);
    pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_liveness_answered),
        cmocka_unit_test(test_error_and_status_notifies),
        cmocka_unit_test(test_invalid_syntax),
        cmocka_unit_test(test_initial_contact),
        cmocka_unit_test(test_initial_contact_drops_old),
        cmocka_unit_test(test_informational_before_auth),
        cmocka_unit_test(test_crossed_probes_reordered),
        cmocka_unit_test(test_auth_failed_after_ike_auth),
        cmocka_unit_test(test_report_invalid_spi),
        cmocka_unit_test(test_answer_invalid_ike_spi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
