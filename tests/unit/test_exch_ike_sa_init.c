/* IKE_SA_INIT, both roles: proposal selection by the responder's
 * preference, INVALID_KE_PAYLOAD round trip, NO_PROPOSAL_CHOSEN, NAT
 * detection and the move to port 4500, fragmentation and nonce/SPI rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "helper_pair.h"
#include "sa_internal.h"

static const struct ike_sa_export *ike_add(const struct pair_side *s)
{
    for (size_t i = 0; i < s->n_events; i++)
        if (s->events[i].type == IKE_EV_IKE_SA_ADD)
            return &s->events[i].ike;
    fail_msg("no IKE_SA_ADD event");
    return NULL;
}

static void set_ike(struct ike_cfg_proposal *p, uint16_t encr, uint16_t bits, uint16_t integ,
                    uint16_t prf, uint16_t dh)
{
    memset(p, 0, sizeof(*p));
    p->encr[p->n_encr++] = (struct ike_cfg_encr){encr, bits};
    if (integ)
        p->integ[p->n_integ++] = integ;
    p->prf[p->n_prf++] = prf;
    p->dh[p->n_dh++] = dh;
}

static void test_request_shape(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_start(p);
    assert_int_equal(p->n_queue, 1);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_INIT_SENT);
    struct ike_msg m = {0};
    struct ike_diag d = {0};
    assert_int_equal(ike_msg_decode(&m, p->queue[0].data, p->queue[0].len, &d), IKE_OK);
    assert_int_equal(ike_msg_check_rules(&m, &d), IKE_OK);
    assert_int_equal(m.hdr.flags, IKE_FLAG_INITIATOR);
    assert_int_equal(m.hdr.message_id, 0);
    assert_memory_equal(m.hdr.spi_i, ike_sa_spi_i(p->side[0].sa), 8);
    assert_non_null(ike_msg_find_notify(&m, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED));
    /* NAT_DETECTION_SOURCE_IP = SHA-1(SPIi | 0^8 | 10.0.0.1 | 500) */
    uint8_t in[22] = {0}, want[20];
    unsigned n = 0;
    memcpy(in, m.hdr.spi_i, 8);
    memcpy(in + 16, "\x0a\x00\x00\x01\x01\xf4", 6);
    assert_int_equal(EVP_Digest(in, sizeof(in), want, &n, EVP_sha1(), NULL), 1);
    const struct ike_pld *src = ike_msg_find_notify(&m, IKE_N_NAT_DETECTION_SOURCE_IP);
    assert_non_null(src);
    assert_int_equal(src->notify.data.len, 20);
    assert_memory_equal(src->notify.data.ptr, want, 20);
    memcpy(in + 16, "\x0a\x00\x00\x02\x01\xf4", 6);
    assert_int_equal(EVP_Digest(in, sizeof(in), want, &n, EVP_sha1(), NULL), 1);
    const struct ike_pld *dst = ike_msg_find_notify(&m, IKE_N_NAT_DETECTION_DESTINATION_IP);
    assert_memory_equal(dst->notify.data.ptr, want, 20);
    const struct ike_pld *ke = ike_msg_find(&m, IKE_PLD_KE);
    assert_int_equal(ke->ke.group, IKE_DH_ECP_256);
    assert_int_equal(ike_msg_find(&m, IKE_PLD_NONCE)->nonce.data.len, 32);
    ike_msg_clear(&m);
    /* the responder answers and waits for IKE_AUTH */
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_INIT_DONE);
    assert_true(p->side[1].timer_armed[IKE_TIMER_HALF_OPEN]);
    assert_true(pair_log_has(&p->side[1], "state NEW -> INIT_DONE"));
    assert_int_equal(p->side[1].n_events, 0); /* half-open SAs are not synced */
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_AUTH_SENT);
    assert_memory_equal(ike_sa_spi_r(p->side[0].sa), ike_sa_spi_r(p->side[1].sa), 8);
    pair_free(p);
}

/* The responder walks its own proposals first: the initiator's second
 * proposal wins, and inside it the responder's preferred cipher. */
static void test_responder_preference(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    struct ike_sa_cfg *i = &p->side[0].cfg, *r = &p->side[1].cfg;
    set_ike(&i->proposals[0], IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA2_256_128,
            IKE_PRF_HMAC_SHA2_256, IKE_DH_ECP_256);
    set_ike(&i->proposals[1], IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA2_512_256,
            IKE_PRF_HMAC_SHA2_512, IKE_DH_ECP_256);
    i->proposals[1].encr[i->proposals[1].n_encr++] = (struct ike_cfg_encr){IKE_ENCR_AES_CBC, 256};
    i->n_proposals = 2;
    set_ike(&r->proposals[0], IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_512_256,
            IKE_PRF_HMAC_SHA2_512, IKE_DH_ECP_256);
    r->proposals[0].encr[r->proposals[0].n_encr++] = (struct ike_cfg_encr){IKE_ENCR_AES_CBC, 128};
    set_ike(&r->proposals[1], IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA2_256_128,
            IKE_PRF_HMAC_SHA2_256, IKE_DH_ECP_256);
    r->n_proposals = 2;
    pair_establish(p);
    const struct ike_sa_export *e = ike_add(&p->side[0]);
    assert_int_equal(e->encr_key_bits, 256);
    assert_int_equal(e->integ_id, IKE_INTEG_HMAC_SHA2_512_256);
    assert_int_equal(e->prf_id, IKE_PRF_HMAC_SHA2_512);
    assert_int_equal(e->sk_d.len, 64);
    assert_true(
        pair_log_has(&p->side[0], "IKE_SA_INIT done, proposal aes256-sha512-prfsha512-ecp256"));
    pair_free(p);
}

static void test_aead_suite(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    for (int s = 0; s < 2; s++)
        set_ike(&p->side[s].cfg.proposals[0], IKE_ENCR_AES_GCM_16, 256, 0, IKE_PRF_HMAC_SHA2_512,
                IKE_DH_CURVE25519);
    pair_establish(p);
    const struct ike_sa_export *e = ike_add(&p->side[1]);
    assert_int_equal(e->encr_id, IKE_ENCR_AES_GCM_16);
    assert_int_equal(e->integ_id, IKE_INTEG_NONE);
    assert_int_equal(e->sk_ai.len, 0);
    assert_int_equal(e->sk_ei.len, 36);
    pair_free(p);
}

/* The initiator guesses ecp256; the responder only takes curve25519. */
static void test_invalid_ke_round_trip(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    struct ike_cfg_proposal *i = &p->side[0].cfg.proposals[0];
    i->dh[i->n_dh++] = IKE_DH_CURVE25519;
    p->side[1].cfg.proposals[0].dh[0] = IKE_DH_CURVE25519;
    pair_start(p);
    uint8_t spi_i[8];
    memcpy(spi_i, ike_sa_spi_i(p->side[0].sa), 8);
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_null(p->side[1].sa); /* answered without state */
    assert_int_equal(p->side[1].n_stateless, 1);
    assert_true(pair_log_has(&p->side[1], "KE group 19 is not our choice 31"));
    struct ike_msg m = {0};
    struct ike_diag d = {0};
    assert_int_equal(ike_msg_decode(&m, p->queue[0].data, p->queue[0].len, &d), IKE_OK);
    uint16_t g = 0;
    const struct ike_pld *n = ike_msg_find_notify(&m, IKE_N_INVALID_KE_PAYLOAD);
    assert_non_null(n);
    assert_int_equal(ike_notify_get_group(&n->notify, &g, &d), IKE_OK);
    assert_int_equal(g, IKE_DH_CURVE25519);
    ike_msg_clear(&m);
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_true(pair_log_has(&p->side[0], "peer requires DH group curve25519"));
    /* the retry: same SPIi, KE of the new group */
    assert_int_equal(ike_msg_decode(&m, p->queue[0].data, p->queue[0].len, &d), IKE_OK);
    assert_memory_equal(m.hdr.spi_i, spi_i, 8);
    assert_int_equal(ike_msg_find(&m, IKE_PLD_KE)->ke.group, IKE_DH_CURVE25519);
    assert_int_equal(ike_msg_find(&m, IKE_PLD_KE)->ke.data.len, 32);
    ike_msg_clear(&m);
    pair_run(p);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    assert_int_equal(ike_add(&p->side[0])->dh_group, IKE_DH_CURVE25519);
    pair_free(p);
}

/* A KE of a group the responder also accepts avoids the round trip even
 * when the responder would prefer another group. */
static void test_ke_group_kept_when_acceptable(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    struct ike_cfg_proposal *r = &p->side[1].cfg.proposals[0];
    r->dh[0] = IKE_DH_CURVE25519;
    r->dh[r->n_dh++] = IKE_DH_ECP_256;
    pair_establish(p);
    assert_int_equal(p->side[1].n_stateless, 0);
    assert_int_equal(ike_add(&p->side[1])->dh_group, IKE_DH_ECP_256);
    pair_free(p);
}

/* A peer naming a group we never offered (only a broken or hostile peer
 * does that: an honest one picks from our proposals) ends the attempt. */
static void invalid_ke_answer(struct pair *p, uint16_t group)
{
    struct ike_msg m;
    struct ike_diag d = {0};
    uint8_t *buf = NULL;
    size_t len = 0;
    ike_msg_init(&m, ike_sa_spi_i(p->side[0].sa), NULL, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_RESPONSE, 0);
    ike_msg_add_n_invalid_ke(&m, group);
    assert_int_equal(ike_msg_encode(&m, &buf, &len, &d), IKE_OK);
    struct ike_addr l = pair_addr4(10, 0, 0, 1, 500), r = pair_addr4(10, 0, 0, 2, 500);
    (void)ike_sa_process(p->side[0].sa, buf, len, &l, &r, &d);
    ike_msg_free_buf(buf, len);
    ike_msg_clear(&m);
}

static void test_invalid_ke_unconfigured_group(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_start(p);
    invalid_ke_answer(p, IKE_DH_MODP_2048);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_DEAD);
    assert_true(pair_log_has(&p->side[0], "peer requires DH group 14 (modp2048) by "
                                          "INVALID_KE_PAYLOAD; configured: aes256-sha256-"
                                          "prfsha256-ecp256"));
    pair_free(p);
    /* naming the group we already used is no way forward either */
    p = pair_new();
    pair_start(p);
    invalid_ke_answer(p, IKE_DH_ECP_256);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_DEAD);
    pair_free(p);
}

/* Only an offered group in the initiator's proposal leads to the retry:
 * a responder without any common group answers NO_PROPOSAL_CHOSEN. */
static void test_no_common_group(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->side[1].cfg.proposals[0].dh[0] = IKE_DH_CURVE25519;
    pair_start(p);
    pair_run(p);
    assert_null(p->side[1].sa);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_DEAD);
    assert_true(pair_log_has(&p->side[0], "(NO_PROPOSAL_CHOSEN)"));
    pair_free(p);
}

static void test_no_proposal_chosen(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    set_ike(&p->side[1].cfg.proposals[0], IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA1_96,
            IKE_PRF_HMAC_SHA1, IKE_DH_MODP_2048);
    pair_start(p);
    pair_run(p);
    assert_null(p->side[1].sa);
    assert_int_equal(p->side[1].n_stateless, 1);
    assert_true(pair_log_has(&p->side[1], "gw-right: IKE_SA_INIT from 10.0.0.1:500: "
                                          "NO_PROPOSAL_CHOSEN: peer offered aes256-sha256-"
                                          "prfsha256-ecp256; configured aes128-sha1-prfsha1-"
                                          "modp2048"));
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_DEAD);
    assert_true(pair_log_has(&p->side[0], "peer accepted none of our IKE proposals "
                                          "(NO_PROPOSAL_CHOSEN); offered: aes256-sha256"));
    pair_free(p);
}

static void test_nat_detected(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->nat = true;
    pair_start(p);
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    /* IKE_AUTH leaves from and to port 4500 */
    assert_int_equal(p->n_queue, 1);
    assert_int_equal(p->queue[0].sent_from.port, IKE_PORT_NATT);
    assert_int_equal(p->queue[0].sent_to.port, IKE_PORT_NATT);
    assert_true(ike_sa_nat_detected(p->side[0].sa));
    assert_true(pair_log_has(&p->side[0], "NAT detected (we are behind it)"));
    assert_true(pair_log_has(&p->side[1], "NAT detected (peer is behind it)"));
    pair_run(p);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    const struct ike_sa_export *i = ike_add(&p->side[0]), *r = ike_add(&p->side[1]);
    assert_true(i->nat_local);
    assert_false(i->nat_remote);
    assert_false(r->nat_local);
    assert_true(r->nat_remote);
    assert_int_equal(i->remote.port, IKE_PORT_NATT);
    assert_int_equal(i->local.port, IKE_PORT_NATT);
    /* the responder follows the NAT mapping of the 4500 flow */
    assert_int_equal(r->remote.port, IKE_PORT_NATT + 10000);
    assert_int_equal(r->local.port, IKE_PORT_NATT);
    assert_int_equal(r->remote.addr[0], 198);
    assert_true(ike_addr_equal(ike_sa_remote_addr(p->side[1].sa), &r->remote));
    assert_int_equal(ike_sa_local_addr(p->side[0].sa)->port, IKE_PORT_NATT);
    pair_free(p);
}

static void test_no_nat(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_establish(p);
    const struct ike_sa_export *i = ike_add(&p->side[0]), *r = ike_add(&p->side[1]);
    assert_false(i->nat_local || i->nat_remote || r->nat_local || r->nat_remote);
    assert_int_equal(i->remote.port, IKE_PORT);
    assert_int_equal(r->remote.port, IKE_PORT);
    assert_false(ike_sa_nat_detected(p->side[1].sa));
    pair_free(p);
}

static void test_fragmentation_flag(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_establish(p);
    assert_true(ike_add(&p->side[0])->fragmentation);
    assert_true(ike_add(&p->side[1])->fragmentation);
    pair_free(p);
    p = pair_new();
    p->side[1].cfg.fragmentation = false;
    pair_establish(p);
    assert_false(ike_add(&p->side[0])->fragmentation);
    assert_false(ike_add(&p->side[1])->fragmentation);
    pair_free(p);
}

/* A KE public value that is not a curve point: dropped without an answer
 * or state, so nothing is spent on an SA for it. */
static void test_bad_ke_public_dropped(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_start(p);
    struct ike_msg m = {0};
    struct ike_diag d = {0};
    struct pair_dgram *q = &p->queue[0];
    assert_int_equal(ike_msg_decode(&m, q->data, q->len, &d), IKE_OK);
    const struct ike_pld *ke = ike_msg_find(&m, IKE_PLD_KE);
    /* generic header 4 + group 2 + reserved 2, then x | y */
    size_t off = ke->offset + 8;
    assert_int_equal(ke->ke.data.len, 64);
    ike_msg_clear(&m);
    memset(q->data + off, 0, 64);
    assert_int_equal(pair_deliver(p, 0), IKE_E_DH_PUBLIC);
    assert_null(p->side[1].sa);
    assert_int_equal(p->side[1].n_sent, 0);
    assert_true(pair_log_has(&p->side[1], "IKE_SA_INIT request dropped"));
    pair_free(p);
}

/* ---- proposal selection in isolation ----------------------------------- */

static struct ike_transform tr(uint8_t type, uint16_t id, uint16_t bits)
{
    return (struct ike_transform){.type = type, .id = id, .key_bits = bits};
}

static void test_select_rules(void **state)
{
    (void)state;
    struct ike_cfg_proposal ours = {0};
    ours.encr[ours.n_encr++] = (struct ike_cfg_encr){IKE_ENCR_AES_GCM_16, 256};
    ours.encr[ours.n_encr++] = (struct ike_cfg_encr){IKE_ENCR_AES_CBC, 256};
    ours.integ[ours.n_integ++] = IKE_INTEG_HMAC_SHA2_256_128;
    struct ike_transform t1[] = {tr(IKE_TRANS_ENCR, IKE_ENCR_AES_GCM_16, 256),
                                 tr(IKE_TRANS_INTEG, IKE_INTEG_HMAC_SHA2_256_128, 0),
                                 tr(IKE_TRANS_ESN, IKE_ESN_NO, 0)};
    struct ike_transform t2[] = {tr(IKE_TRANS_ENCR, IKE_ENCR_AES_CBC, 256),
                                 tr(IKE_TRANS_INTEG, IKE_INTEG_HMAC_SHA2_256_128, 0), tr(9, 1, 0)};
    struct ike_transform t3[] = {tr(IKE_TRANS_ENCR, IKE_ENCR_AES_CBC, 256),
                                 tr(IKE_TRANS_INTEG, IKE_INTEG_HMAC_SHA2_256_128, 0),
                                 tr(IKE_TRANS_ESN, IKE_ESN_NO, 0)};
    struct ike_proposal props[] = {
        {.num = 1, .protocol = IKE_PROTO_ESP, .spi_len = 4, .n_transforms = 3, .transforms = t1},
        {.num = 2, .protocol = IKE_PROTO_ESP, .spi_len = 4, .n_transforms = 3, .transforms = t2},
        {.num = 3, .protocol = IKE_PROTO_ESP, .spi_len = 4, .n_transforms = 3, .transforms = t3},
    };
    struct ike_pld_sa sa = {.n_proposals = 3, .proposals = props};
    struct ike_sa_algs a;
    uint8_t num = 0;
    /* 1: AEAD with an integrity transform; 2: unknown transform type 9 */
    assert_int_equal(ike_proposal_select(IKE_PROTO_ESP, &ours, 1, &sa, 0, &a, &num), IKE_OK);
    assert_int_equal(num, 3);
    assert_int_equal(a.encr_id, IKE_ENCR_AES_CBC);
    assert_false(a.esn);
    /* an unacceptable transform (unknown attribute) is skipped */
    t3[0].unacceptable = true;
    assert_int_equal(ike_proposal_select(IKE_PROTO_ESP, &ours, 1, &sa, 0, &a, &num),
                     IKE_E_UNSUPPORTED);
    /* the wrong protocol never matches */
    t3[0].unacceptable = false;
    assert_int_equal(ike_proposal_select(IKE_PROTO_IKE, &ours, 1, &sa, 0, &a, &num),
                     IKE_E_UNSUPPORTED);
}

static void test_check_reply(void **state)
{
    (void)state;
    struct ike_cfg_proposal ours[2] = {0};
    set_ike(&ours[0], IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA2_256_128, IKE_PRF_HMAC_SHA2_256,
            IKE_DH_ECP_256);
    set_ike(&ours[1], IKE_ENCR_AES_GCM_16, 256, 0, IKE_PRF_HMAC_SHA2_512, IKE_DH_CURVE25519);
    struct ike_transform t[] = {tr(IKE_TRANS_ENCR, IKE_ENCR_AES_GCM_16, 256),
                                tr(IKE_TRANS_PRF, IKE_PRF_HMAC_SHA2_512, 0),
                                tr(IKE_TRANS_DH, IKE_DH_CURVE25519, 0)};
    struct ike_proposal prop = {
        .num = 2, .protocol = IKE_PROTO_IKE, .n_transforms = 3, .transforms = t};
    struct ike_pld_sa sa = {.n_proposals = 1, .proposals = &prop};
    struct ike_sa_algs a;
    struct ike_diag d = {0};
    assert_int_equal(ike_proposal_check_reply(IKE_PROTO_IKE, ours, 2, &sa, &a, &d), IKE_OK);
    assert_int_equal(a.dh_group, IKE_DH_CURVE25519);
    /* a transform from the other proposal was not offered in this one */
    prop.num = 1;
    assert_int_equal(ike_proposal_check_reply(IKE_PROTO_IKE, ours, 2, &sa, &a, &d),
                     IKE_E_MALFORMED);
    assert_non_null(strstr(d.reason, "was not offered"));
    /* a missing transform type */
    prop.num = 2;
    prop.n_transforms = 2;
    assert_int_equal(ike_proposal_check_reply(IKE_PROTO_IKE, ours, 2, &sa, &a, &d),
                     IKE_E_MALFORMED);
    /* a proposal number we never sent */
    prop.n_transforms = 3;
    prop.num = 3;
    assert_int_equal(ike_proposal_check_reply(IKE_PROTO_IKE, ours, 2, &sa, &a, &d),
                     IKE_E_MALFORMED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_shape),
        cmocka_unit_test(test_responder_preference),
        cmocka_unit_test(test_aead_suite),
        cmocka_unit_test(test_invalid_ke_round_trip),
        cmocka_unit_test(test_ke_group_kept_when_acceptable),
        cmocka_unit_test(test_invalid_ke_unconfigured_group),
        cmocka_unit_test(test_no_common_group),
        cmocka_unit_test(test_no_proposal_chosen),
        cmocka_unit_test(test_nat_detected),
        cmocka_unit_test(test_no_nat),
        cmocka_unit_test(test_fragmentation_flag),
        cmocka_unit_test(test_bad_ke_public_dropped),
        cmocka_unit_test(test_select_rules),
        cmocka_unit_test(test_check_reply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
