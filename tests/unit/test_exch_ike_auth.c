/* IKE_AUTH with PSK, both roles, with the first CHILD SA: events, keys,
 * selectors, and the failure cases (AUTHENTICATION_FAILED, TS_UNACCEPTABLE,
 * NO_PROPOSAL_CHOSEN, childless IKE SAs, data plane refusal). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helper_pair.h"

static bool key_eq(const struct ike_key_export *a, const struct ike_key_export *b)
{
    return a->len == b->len && a->len > 0 && memcmp(a->data, b->data, a->len) == 0;
}

static void test_established_events(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    char ev[256];
    pair_establish(p);
    struct pair_side *i = &p->side[0], *r = &p->side[1];
    assert_string_equal(pair_event_names(i, ev, sizeof(ev)),
                        "MSGID_UPDATE IKE_SA_ADD CHILD_SA_ADD");
    assert_string_equal(pair_event_names(r, ev, sizeof(ev)),
                        "MSGID_UPDATE IKE_SA_ADD CHILD_SA_ADD");
    /* message IDs: the initiator sent request 1, the responder received it */
    assert_int_equal(i->events[0].msgid.send_next, 2);
    assert_int_equal(i->events[0].msgid.recv_next, 0);
    assert_int_equal(r->events[0].msgid.send_next, 0);
    assert_int_equal(r->events[0].msgid.recv_next, 2);
    const struct ike_sa_export *ei = &i->events[1].ike, *er = &r->events[1].ike;
    assert_true(ei->initiator);
    assert_false(er->initiator);
    assert_memory_equal(ei->spi_i, er->spi_i, 8);
    assert_memory_equal(ei->spi_r, er->spi_r, 8);
    assert_int_equal(ei->encr_id, IKE_ENCR_AES_CBC);
    assert_int_equal(ei->encr_key_bits, 256);
    assert_int_equal(ei->prf_id, IKE_PRF_HMAC_SHA2_256);
    assert_int_equal(ei->dh_group, IKE_DH_ECP_256);
    assert_true(key_eq(&ei->sk_d, &er->sk_d));
    assert_true(key_eq(&ei->sk_ei, &er->sk_ei));
    assert_true(key_eq(&ei->sk_ar, &er->sk_ar));
    assert_true(key_eq(&ei->sk_pr, &er->sk_pr));
    assert_false(key_eq(&ei->sk_ei, &ei->sk_er));
    assert_int_equal(ei->msgid_send_next, 2);
    assert_int_equal(er->msgid_recv_next, 2);
    assert_true(ei->peer_msgid_sync);
    assert_true(er->peer_msgid_sync);
    assert_true(er->peer_initial_contact);
    assert_false(ei->peer_initial_contact);
    assert_int_equal(er->remote_id.type, IKE_ID_FQDN);
    assert_memory_equal(er->remote_id.data, "left.example", 12);
    assert_memory_equal(ei->remote_id.data, "right.example", 13);
    assert_string_equal(er->cfg_name, "gw-right");
    /* the CHILD SA: SPIs and keys cross over */
    const struct ike_child_export *ci = &i->events[2].child, *cr = &r->events[2].child;
    assert_int_equal(ci->spi_in, cr->spi_out);
    assert_int_equal(ci->spi_out, cr->spi_in);
    assert_true(ci->spi_in >= 256);
    assert_int_equal(ci->encr_id, IKE_ENCR_AES_GCM_16);
    assert_int_equal(ci->integ_id, IKE_INTEG_NONE);
    assert_int_equal(ci->encr_in.len, 36); /* AES-256 key + 4-octet salt */
    assert_true(key_eq(&ci->encr_in, &cr->encr_out));
    assert_true(key_eq(&ci->encr_out, &cr->encr_in));
    assert_false(key_eq(&ci->encr_in, &ci->encr_out));
    assert_int_equal(ci->n_ts_local, 1);
    assert_int_equal(ci->ts_local[0].start_addr[1], 1);
    assert_int_equal(ci->ts_remote[0].start_addr[1], 2);
    assert_int_equal(cr->ts_local[0].start_addr[1], 2);
    assert_int_equal(cr->ts_remote[0].start_addr[1], 1);
    assert_string_equal(cr->cfg_name, "p2-right");
    /* the data plane got the same CHILD SA */
    assert_int_equal(i->n_installed, 1);
    assert_int_equal(r->n_installed, 1);
    assert_int_equal(i->installed[0].spi_in, ci->spi_in);
    assert_int_equal(ike_sa_child_count(i->sa), 1);
    assert_true(pair_log_has(i, "state AUTH_SENT -> ESTABLISHED"));
    assert_true(pair_log_has(r, "state INIT_DONE -> ESTABLISHED"));
    /* no retransmission pending, no half-open timer */
    assert_false(i->timer_armed[IKE_TIMER_RETRANSMIT]);
    assert_false(r->timer_armed[IKE_TIMER_HALF_OPEN]);
    pair_free(p);
}

static void test_wrong_psk(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    char ev[256];
    struct ike_secret *other = NULL;
    assert_int_equal(ike_secret_from((const uint8_t *)"wrong", 5, &other), IKE_OK);
    p->side[1].cfg.psk = other;
    pair_start(p);
    pair_run(p);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_DEAD);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_DEAD);
    assert_true(pair_log_has(&p->side[1], "AUTHENTICATION_FAILED: AUTH of peer fqdn:left.example "
                                          "does not verify with the configured PSK"));
    assert_true(pair_log_has(&p->side[0], "peer rejected IKE_AUTH with AUTHENTICATION_FAILED"));
    assert_string_equal(pair_event_names(&p->side[0], ev, sizeof(ev)), "MSGID_UPDATE");
    assert_string_equal(pair_event_names(&p->side[1], ev, sizeof(ev)), "MSGID_UPDATE");
    assert_int_equal(p->side[1].n_installed, 0);
    assert_int_equal(p->side[0].n_installed, 0);
    pair_free(p);
    ike_secret_free(other);
}

static void test_wrong_remote_id(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    memcpy(p->side[1].cfg.remote_id.data, "lefx", 4);
    pair_start(p);
    pair_run(p);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_DEAD);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_DEAD);
    assert_true(pair_log_has(&p->side[1], "peer ID fqdn:left.example does not match configured "
                                          "fqdn:lefx.example"));
    pair_free(p);
}

/* The responder's AUTH is checked too: the initiator expects another ID. */
static void test_initiator_checks_responder(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    char ev[256];
    memcpy(p->side[0].cfg.remote_id.data, "wrong", 5);
    pair_start(p);
    pair_run(p);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_DEAD);
    assert_true(pair_log_has(&p->side[0], "AUTHENTICATION_FAILED: peer ID fqdn:right.example "
                                          "does not match configured"));
    assert_string_equal(pair_event_names(&p->side[0], ev, sizeof(ev)), "MSGID_UPDATE");
    pair_free(p);
}

static void test_ts_unacceptable(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    char ev[256];
    p->side[1].child[0].remote_ts[0] = pair_ts16(172, 16);
    pair_establish(p);
    assert_string_equal(pair_event_names(&p->side[0], ev, sizeof(ev)), "MSGID_UPDATE IKE_SA_ADD");
    assert_string_equal(pair_event_names(&p->side[1], ev, sizeof(ev)), "MSGID_UPDATE IKE_SA_ADD");
    assert_true(pair_log_has(&p->side[1], "CHILD SA: TS_UNACCEPTABLE: peer offered TSi "
                                          "10.1.0.0-10.1.255.255/0/0-65535"));
    assert_true(pair_log_has(&p->side[1], "remote 172.16.0.0-172.16.255.255"));
    assert_true(pair_log_has(&p->side[0], "CHILD SA p2-left not created: peer answered "
                                          "TS_UNACCEPTABLE"));
    assert_int_equal(ike_sa_child_count(p->side[0].sa), 0);
    pair_free(p);
}

static void test_esp_no_proposal(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    char ev[256];
    struct ike_cfg_proposal *esp = &p->side[1].child[0].proposals[0];
    esp->encr[0] = (struct ike_cfg_encr){IKE_ENCR_AES_CBC, 128};
    esp->integ[esp->n_integ++] = IKE_INTEG_HMAC_SHA2_256_128;
    pair_establish(p);
    assert_string_equal(pair_event_names(&p->side[1], ev, sizeof(ev)), "MSGID_UPDATE IKE_SA_ADD");
    assert_true(pair_log_has(&p->side[1], "CHILD SA: NO_PROPOSAL_CHOSEN: peer offered ESP "
                                          "aes256gcm16; configured p2-right: aes128-sha256"));
    assert_true(pair_log_has(&p->side[0], "not created: peer answered NO_PROPOSAL_CHOSEN; we "
                                          "offered aes256gcm16"));
    pair_free(p);
}

static void test_ts_narrowing(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    /* the initiator asks for all of 10/8 behind the responder */
    struct ike_ts wide = pair_ts16(10, 0);
    wide.end_addr[1] = 255;
    p->side[0].child[0].remote_ts[0] = wide;
    pair_establish(p);
    const struct ike_child_export *ci = &p->side[0].installed[0];
    assert_int_equal(ci->n_ts_remote, 1);
    assert_int_equal(ci->ts_remote[0].start_addr[1], 2);
    assert_int_equal(ci->ts_remote[0].end_addr[1], 2);
    assert_int_equal(ci->ts_remote[0].end_addr[2], 255);
    assert_int_equal(p->side[1].installed[0].ts_local[0].end_addr[1], 2);
    pair_free(p);
}

/* A responder answering with selectors wider than offered is refused. */
static void test_initiator_rejects_wider_ts(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    char ev[256];
    /* Shrink the initiator's own selector after its IKE_AUTH request left:
     * the responder's answer (10.1/16) is then wider than the config. */
    pair_start(p);
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* IKE_SA_INIT request */
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* response; IKE_AUTH request queued */
    assert_int_equal(p->n_queue, 1);
    p->side[0].child[0].local_ts[0].end_addr[2] = 0;
    pair_run(p);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    assert_string_equal(pair_event_names(&p->side[0], ev, sizeof(ev)), "MSGID_UPDATE IKE_SA_ADD");
    assert_true(pair_log_has(&p->side[0], "responder's selectors are not within what we offered"));
    pair_free(p);
}

static void test_childless(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    char ev[256];
    p->side[0].cfg.n_children = 0;
    pair_establish(p);
    assert_string_equal(pair_event_names(&p->side[0], ev, sizeof(ev)), "MSGID_UPDATE IKE_SA_ADD");
    assert_string_equal(pair_event_names(&p->side[1], ev, sizeof(ev)), "MSGID_UPDATE IKE_SA_ADD");
    assert_true(pair_log_has(&p->side[1], "childless IKE SA (RFC 6023)"));
    assert_int_equal(p->side[1].n_installed, 0);
    pair_free(p);
}

/* The responder takes the first selector config that fits. */
static void test_second_child_config(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    struct pair_side *r = &p->side[1];
    r->child[1] = r->child[0];
    r->child[1].name = "p2-second";
    r->child[0].remote_ts[0] = pair_ts16(172, 16);
    r->cfg.n_children = 2;
    pair_establish(p);
    assert_int_equal(r->n_installed, 1);
    assert_string_equal(r->installed[0].cfg_name, "p2-second");
    pair_free(p);
}

static void test_install_refused(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    char ev[256];
    p->side[1].install_fails = true;
    pair_establish(p);
    assert_string_equal(pair_event_names(&p->side[1], ev, sizeof(ev)), "MSGID_UPDATE IKE_SA_ADD");
    assert_true(pair_log_has(&p->side[1], "data plane refused CHILD SA p2-right"));
    assert_true(pair_log_has(&p->side[0], "peer answered TEMPORARY_FAILURE"));
    pair_free(p);
}

static void test_msgid_sync_off(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->side[0].cfg.msgid_sync = false;
    pair_establish(p);
    assert_false(p->side[1].events[1].ike.peer_msgid_sync);
    assert_true(p->side[0].events[1].ike.peer_msgid_sync);
    pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_established_events),
        cmocka_unit_test(test_wrong_psk),
        cmocka_unit_test(test_wrong_remote_id),
        cmocka_unit_test(test_initiator_checks_responder),
        cmocka_unit_test(test_ts_unacceptable),
        cmocka_unit_test(test_esp_no_proposal),
        cmocka_unit_test(test_ts_narrowing),
        cmocka_unit_test(test_initiator_rejects_wider_ts),
        cmocka_unit_test(test_childless),
        cmocka_unit_test(test_second_child_config),
        cmocka_unit_test(test_install_refused),
        cmocka_unit_test(test_msgid_sync_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
