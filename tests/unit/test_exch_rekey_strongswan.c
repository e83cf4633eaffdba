/* CHILD rekey against real strongSwan 5.9.8 messages
 * (tests/fixtures/strongswan, `swanctl --rekey --child` with PFS): an SA
 * rebuilt after IKE_SA_INIT from the captured values takes charon's
 * IKE_AUTH request and then charon's CREATE_CHILD_SA request as responder.
 * It must find the CHILD SA from REKEY_SA (charon names it by its own
 * inbound SPI), accept the ESP proposal with its PFS group, answer with a
 * response that decrypts, install the new pair replacing the old one, and
 * our PFS KEYMAT (prf+(SK_d, g^ir | Ni | Nr), keys by the exchange's
 * roles) must reproduce charon's logged keys from its logged inputs. */
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

/* The responder's SA after IKE_SA_INIT, waiting for IKE_AUTH. */
static struct ike_sa *rebuild(struct pair_side *side, const struct ss_suite *s)
{
    struct ike_sa *sa = ss_rebuild(side, s, false);
    sa->recv_next = 1;
    assert_int_equal(ike_sa_transition(sa, IKE_SA_STATE_INIT_DONE), IKE_OK);
    return sa;
}

/* Our response to charon's rekey request, decrypted. */
static void check_response(struct ike_sa *sa, const struct pair_dgram *dg, uint32_t new_in)
{
    struct ike_msg m = {0};
    struct ike_diag d = {0};
    assert_int_equal(ike_msg_decode(&m, dg->data, dg->len, &d), IKE_OK);
    assert_int_equal(m.hdr.exchange, IKE_EXCH_CREATE_CHILD_SA);
    assert_int_equal(m.hdr.message_id, 2);
    assert_int_equal(m.hdr.flags, IKE_FLAG_RESPONSE);
    assert_int_equal(ike_sk_unprotect(&m, sa->c_r, &d), IKE_OK);
    assert_int_equal(ike_msg_check_rules(&m, &d), IKE_OK);
    assert_null(ike_msg_find_error(&m));
    const struct ike_pld *sap = ike_msg_find(&m, IKE_PLD_SA);
    const struct ike_pld *ke = ike_msg_find(&m, IKE_PLD_KE);
    assert_non_null(sap);
    assert_non_null(ke);
    assert_non_null(ike_msg_find(&m, IKE_PLD_NONCE));
    assert_non_null(ike_msg_find(&m, IKE_PLD_TSI));
    assert_non_null(ike_msg_find(&m, IKE_PLD_TSR));
    assert_int_equal(ke->ke.group, IKE_DH_ECP_521);
    const struct ike_proposal *pr = &sap->sa.proposals[0];
    assert_int_equal(sap->sa.n_proposals, 1);
    assert_int_equal(pr->protocol, IKE_PROTO_ESP);
    assert_int_equal(pr->spi_len, 4);
    uint32_t spi = (uint32_t)pr->spi[0] << 24 | (uint32_t)pr->spi[1] << 16 |
                   (uint32_t)pr->spi[2] << 8 | pr->spi[3];
    assert_int_equal(spi, new_in);
    bool dh = false;
    for (size_t i = 0; i < pr->n_transforms; i++)
        dh |= pr->transforms[i].type == IKE_TRANS_DH && pr->transforms[i].id == IKE_DH_ECP_521;
    assert_true(dh);
    ike_msg_clear(&m);
}

/* Our KEYMAT with charon's logged PFS secret and nonces. */
static void check_keymat(struct ike_sa *sa, const struct ss_suite *s)
{
    struct ss_blob ni, nr;
    ss_value(s->dir, "child_ni", &ni);
    ss_value(s->dir, "child_nr", &nr);
    struct ike_secret *g = ss_secret(s->dir, "child_g_ir");
    struct ike_keys_nonces n = {ni.b, ni.n, nr.b, nr.n};
    struct ike_child_export c = {.encr_id = s->encr, .encr_key_bits = 256, .integ_id = s->integ};
    struct ike_diag d = {0};
    assert_int_equal(ike_child_derive_keys(sa, &c, false, g, &n, &d), IKE_OK);
    ss_assert_key(s->dir, "child_encr_i", &c.encr_in);
    ss_assert_key(s->dir, "child_encr_r", &c.encr_out);
    if (s->integ) {
        ss_assert_key(s->dir, "child_integ_i", &c.integ_in);
        ss_assert_key(s->dir, "child_integ_r", &c.integ_out);
    }
    ike_secret_free(g);
    ike_export_wipe(&c, sizeof(c));
}

static void rekey_from_charon(const struct ss_suite *s)
{
    struct pair *p = pair_new();
    struct ike_secret *psk = NULL;
    struct ss_blob req;
    struct ike_diag d = {0};
    char ev[256];
    assert_int_equal(ike_secret_from((const uint8_t *)"haiked-lab-test-psk-not-secret", 30, &psk),
                     IKE_OK);
    struct pair_side *r = &p->side[1];
    ss_configure(r, s, psk, false); /* sun, charon's responder */
    r->sa = rebuild(r, s);
    ss_load(s->dir, "messages/02_IKE_AUTH_req.bin", &req);
    assert_int_equal(ike_sa_process(r->sa, req.b, req.n, &r->cfg.local, &r->cfg.remote, &d),
                     IKE_OK);
    assert_int_equal(r->n_installed, 1);
    uint32_t old_in = r->installed[0].spi_in;
    assert_int_equal(r->installed[0].spi_out, ss_spi_value(s->dir, "auth_child_spi_i"));
    pair_drop(p, 0);
    r->n_events = 0;
    ss_load(s->dir, "messages/04_CREATE_CHILD_SA_req.bin", &req);
    assert_int_equal(ike_sa_process(r->sa, req.b, req.n, &r->cfg.local, &r->cfg.remote, &d),
                     IKE_OK);
    assert_string_equal(pair_event_names(r, ev, sizeof(ev)), "MSGID_UPDATE CHILD_SA_ADD");
    assert_int_equal(r->events[0].msgid.recv_next, 3);
    const struct ike_child_export *c = &r->events[1].child;
    assert_int_equal(c->replaces_spi_in, old_in);
    assert_int_equal(c->spi_out, ss_spi_value(s->dir, "child_spi_i"));
    assert_int_equal(c->ts_remote[0].start_addr[3], 0);
    assert_int_equal(c->ts_local[0].start_addr[3], 128);
    assert_int_equal(r->n_installed, 2);
    assert_true(pair_log_has(r, "PFS group 21"));
    assert_int_equal(p->n_queue, 1);
    check_response(r->sa, &p->queue[0], c->spi_in);
    check_keymat(r->sa, s);
    /* charon's retransmission of the request gets the same answer */
    assert_int_equal(ike_sa_process(r->sa, req.b, req.n, &r->cfg.local, &r->cfg.remote, &d),
                     IKE_OK);
    assert_int_equal(p->n_queue, 2);
    assert_int_equal(p->queue[1].len, p->queue[0].len);
    assert_memory_equal(p->queue[1].data, p->queue[0].data, p->queue[0].len);
    assert_int_equal(r->n_installed, 2);
    pair_free(p);
    ike_secret_free(psk);
}

static void test_rekey_from_charon(void **state)
{
    (void)state;
    for (size_t i = 0; i < ss_n_suites; i++)
        rekey_from_charon(&ss_suites[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rekey_from_charon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
