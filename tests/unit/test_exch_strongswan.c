/* IKE_AUTH against real strongSwan 5.9.8 messages (tests/fixtures/strongswan):
 * an SA rebuilt at the point after IKE_SA_INIT from the captured values
 * (SPIs, nonces, SK_*) processes charon's IKE_AUTH request as responder
 * and charon's IKE_AUTH response as initiator. This checks what two libike
 * instances cannot check against each other: AUTH octets as charon
 * computes them (our responder's AUTH must equal charon's, byte for byte),
 * ID handling, proposal and selector matching of charon's payloads and the
 * CHILD SA KEYMAT order against charon's logged keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ike/sk.h>

#include "helper_pair.h"
#include "helper_strongswan.h"
#include "sa_internal.h"

/* Side 0 plays moon (charon's initiator), side 1 sun (its responder). */
static void configure(struct pair *p, const struct ss_suite *s, struct ike_secret *psk)
{
    for (int i = 0; i < 2; i++)
        ss_configure(&p->side[i], s, psk, i == 0);
}

/* The SA after IKE_SA_INIT, with the CHILD SPI charon's IKE_AUTH offers. */
static struct ike_sa *rebuild(struct pair_side *side, const struct ss_suite *s, bool initiator)
{
    struct ike_sa *sa = ss_rebuild(side, s, initiator);
    sa->init->child_spi = ss_spi_value(s->dir, "auth_child_spi_i");
    return sa;
}

/* Decrypts an IKE_AUTH response with SK_er/SK_ar and returns its AUTH. */
static void auth_of_response(struct ike_sk_cipher *c, const uint8_t *data, size_t len,
                             struct ss_blob *auth)
{
    struct ike_msg m = {0};
    struct ike_diag d = {0};
    assert_int_equal(ike_msg_decode(&m, data, len, &d), IKE_OK);
    assert_int_equal(ike_sk_unprotect(&m, c, &d), IKE_OK);
    const struct ike_pld *a = ike_msg_find(&m, IKE_PLD_AUTH);
    assert_non_null(a);
    memcpy(auth->b, a->auth.data.ptr, a->auth.data.len);
    auth->n = a->auth.data.len;
    ike_msg_clear(&m);
}

static void responder_to_charon(const struct ss_suite *s)
{
    struct pair *p = pair_new();
    struct ike_secret *psk = NULL;
    struct ss_blob req, resp, ours, theirs;
    assert_int_equal(ike_secret_from((const uint8_t *)"haiked-lab-test-psk-not-secret", 30, &psk),
                     IKE_OK);
    configure(p, s, psk);
    struct pair_side *r = &p->side[1];
    r->sa = rebuild(r, s, false);
    r->sa->recv_next = 1;
    assert_int_equal(ike_sa_transition(r->sa, IKE_SA_STATE_INIT_DONE), IKE_OK);
    ss_load(s->dir, "messages/02_IKE_AUTH_req.bin", &req);
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_process(r->sa, req.b, req.n, &r->cfg.local, &r->cfg.remote, &d),
                     IKE_OK);
    assert_int_equal(ike_sa_state(r->sa), IKE_SA_STATE_ESTABLISHED);
    const struct ike_sa_export *e = &r->events[1].ike;
    assert_true(e->peer_msgid_sync);
    assert_true(e->peer_initial_contact);
    assert_memory_equal(e->remote_id.data, "moon.lab.example", 16);
    /* the CHILD SA: charon's SPI and KEYMAT */
    assert_int_equal(r->n_installed, 1);
    const struct ike_child_export *c = &r->installed[0];
    assert_int_equal(c->spi_out, ss_spi_value(s->dir, "auth_child_spi_i"));
    ss_assert_key(s->dir, "auth_child_encr_i", &c->encr_in);
    ss_assert_key(s->dir, "auth_child_encr_r", &c->encr_out);
    if (s->integ) {
        ss_assert_key(s->dir, "auth_child_integ_i", &c->integ_in);
        ss_assert_key(s->dir, "auth_child_integ_r", &c->integ_out);
    }
    /* our AUTH over charon's IKE_SA_INIT response = charon's own AUTH */
    assert_int_equal(p->n_queue, 1);
    auth_of_response(r->sa->c_r, p->queue[0].data, p->queue[0].len, &ours);
    ss_load(s->dir, "messages/03_IKE_AUTH_resp.bin", &resp);
    auth_of_response(r->sa->c_r, resp.b, resp.n, &theirs);
    assert_int_equal(ours.n, 64);
    assert_int_equal(ours.n, theirs.n);
    assert_memory_equal(ours.b, theirs.b, ours.n);
    pair_free(p);
    ike_secret_free(psk);
}

static void initiator_to_charon(const struct ss_suite *s, const char *psk_text, bool ok)
{
    struct pair *p = pair_new();
    struct ike_secret *psk = NULL;
    struct ss_blob req, resp;
    assert_int_equal(ike_secret_from((const uint8_t *)psk_text, strlen(psk_text), &psk), IKE_OK);
    configure(p, s, psk);
    struct pair_side *i = &p->side[0];
    i->sa = rebuild(i, s, true);
    /* our request was charon's: outstanding as message 1 */
    ss_load(s->dir, "messages/02_IKE_AUTH_req.bin", &req);
    i->sa->send_next = 2;
    i->sa->req = (struct ike_sa_request){.active = true,
                                         .exchange = IKE_EXCH_IKE_AUTH,
                                         .message_id = 1,
                                         .buf = malloc(req.n),
                                         .len = req.n};
    memcpy(i->sa->req.buf, req.b, req.n);
    assert_int_equal(ike_sa_transition(i->sa, IKE_SA_STATE_INIT_SENT), IKE_OK);
    assert_int_equal(ike_sa_transition(i->sa, IKE_SA_STATE_AUTH_SENT), IKE_OK);
    ss_load(s->dir, "messages/03_IKE_AUTH_resp.bin", &resp);
    struct ike_diag d = {0};
    enum ike_status st = ike_sa_process(i->sa, resp.b, resp.n, &i->cfg.local, &i->cfg.remote, &d);
    if (!ok) {
        assert_int_equal(st, IKE_E_AUTH);
        assert_int_equal(ike_sa_state(i->sa), IKE_SA_STATE_DEAD);
        assert_true(pair_log_has(i, "AUTH of peer fqdn:sun.lab.example does not verify"));
    } else {
        assert_int_equal(st, IKE_OK);
        assert_int_equal(ike_sa_state(i->sa), IKE_SA_STATE_ESTABLISHED);
        assert_int_equal(i->n_installed, 1);
        const struct ike_child_export *c = &i->installed[0];
        assert_int_equal(c->spi_in, ss_spi_value(s->dir, "auth_child_spi_i"));
        assert_int_equal(c->spi_out, ss_spi_value(s->dir, "auth_child_spi_r"));
        ss_assert_key(s->dir, "auth_child_encr_r", &c->encr_in);
        ss_assert_key(s->dir, "auth_child_encr_i", &c->encr_out);
        assert_int_equal(c->ts_remote[0].start_addr[3], 128);
    }
    pair_free(p);
    ike_secret_free(psk);
}

/* charon's IKE_SA_INIT request (its whole proposal list) gets our answer. */
static void respond_to_charon_init(const struct ss_suite *s)
{
    struct pair *p = pair_new();
    struct ss_blob req;
    configure(p, s, p->psk[1]);
    ss_load(s->dir, "messages/00_IKE_SA_INIT_req.bin", &req);
    struct pair_side *r = &p->side[1];
    struct ike_addr l = pair_addr4(203, 0, 113, 2, 500), rem = pair_addr4(203, 0, 113, 1, 500);
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_respond(&r->ctx, &r->cfg, req.b, req.n, &l, &rem, &r->sa, &d), IKE_OK);
    assert_non_null(r->sa);
    assert_int_equal(ike_sa_state(r->sa), IKE_SA_STATE_INIT_DONE);
    assert_int_equal(r->sa->algs.encr_id, s->encr);
    assert_int_equal(r->sa->algs.dh_group, IKE_DH_ECP_521);
    /* kernel-libipsec fakes NAT detection: the peer seems to be behind one */
    assert_true(r->sa->nat_remote);
    assert_true(r->sa->fragmentation);
    pair_free(p);
}

static void test_responder(void **state)
{
    (void)state;
    for (size_t i = 0; i < ss_n_suites; i++)
        responder_to_charon(&ss_suites[i]);
}

static void test_initiator(void **state)
{
    (void)state;
    for (size_t i = 0; i < ss_n_suites; i++) {
        initiator_to_charon(&ss_suites[i], "haiked-lab-test-psk-not-secret", true);
        initiator_to_charon(&ss_suites[i], "haiked-lab-test-psk-not-secreT", false);
    }
}

static void test_init_request(void **state)
{
    (void)state;
    for (size_t i = 0; i < ss_n_suites; i++)
        respond_to_charon_init(&ss_suites[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_responder),
        cmocka_unit_test(test_initiator),
        cmocka_unit_test(test_init_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
