/* Per-exchange payload rules. Messages are built with the builders; for
 * protected exchanges an SK payload is placed outside and the others
 * inside, as after ike_msg_decode() + ike_msg_decode_inner(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helper_msg.h"
#include "msg_rules.h"

static const uint8_t SPI_I[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t SPI_R[8] = {8, 7, 6, 5, 4, 3, 2, 1};
static uint8_t data[64];
static struct ike_transform xf = {IKE_TRANS_ENCR, IKE_ENCR_AES_GCM_16, 256, false, {NULL, 0}};
static struct ike_proposal prop = {1, IKE_PROTO_ESP, 4, {1, 2, 3, 4}, 1, &xf};
static struct ike_pld_sa sa = {1, &prop};
static struct ike_ts ts = {.type = IKE_TS_IPV4_ADDR_RANGE, .end_port = 65535};

/* Starts a message; `sk` adds the SK (or SKF) payload of protected ones. */
static void start(struct ike_msg *m, uint8_t exch, bool response, uint8_t sk)
{
    ike_msg_init(m, SPI_I, exch == IKE_EXCH_IKE_SA_INIT && !response ? NULL : SPI_R, exch,
                 response ? IKE_FLAG_RESPONSE : IKE_FLAG_INITIATOR,
                 exch == IKE_EXCH_IKE_SA_INIT ? 0 : 1);
    if (sk) {
        struct ike_pld p = {.type = sk, .sk = {.body = {NULL, 32}}};
        if (sk == IKE_PLD_SKF)
            p.sk.frag_num = p.sk.frag_total = 1;
        m->add_inside_sk = false;
        ike_msg_add_copy(m, &p);
        m->add_inside_sk = true;
    }
}

/* Adds payloads named by letters: s=SA k=KE n=Nonce i=IDi r=IDr a=AUTH
 * c=CERT q=CERTREQ t=TSi u=TSr p=CP e=EAP v=V d=D x=unknown(200) */
static void add(struct ike_msg *m, const char *spec)
{
    for (const char *c = spec; *c; c++) {
        switch (*c) {
        case 's': ike_msg_add_sa(m, &sa); break;
        case 'k': ike_msg_add_ke(m, IKE_DH_ECP_256, data, 64); break;
        case 'n': ike_msg_add_nonce(m, data, 32); break;
        case 'i': ike_msg_add_id(m, IKE_PLD_IDI, IKE_ID_FQDN, data, 4); break;
        case 'r': ike_msg_add_id(m, IKE_PLD_IDR, IKE_ID_FQDN, data, 4); break;
        case 'a': ike_msg_add_auth(m, IKE_AUTH_SHARED_KEY_MIC, data, 32); break;
        case 'c': ike_msg_add_cert(m, IKE_PLD_CERT, IKE_CERT_X509_SIGNATURE, data, 10); break;
        case 'q': ike_msg_add_cert(m, IKE_PLD_CERTREQ, IKE_CERT_X509_SIGNATURE, data, 20); break;
        case 't': ike_msg_add_ts(m, IKE_PLD_TSI, &ts, 1); break;
        case 'u': ike_msg_add_ts(m, IKE_PLD_TSR, &ts, 1); break;
        case 'p': ike_msg_add_cp(m, IKE_CFG_REQUEST, NULL, 0); break;
        case 'e': ike_msg_add_eap(m, (const uint8_t *)"\2\1\0\4", 4); break;
        case 'v': ike_msg_add_vendor(m, data, 8); break;
        case 'd': ike_msg_add_delete(m, IKE_PROTO_IKE, NULL, 0); break;
        case 'x': {
            struct ike_pld u = {.type = 200, .unknown = true};
            ike_msg_add_copy(m, &u);
            break;
        }
        default: fail();
        }
    }
    assert_int_equal(m->build_err.status, IKE_OK);
}

static void expect(struct ike_msg *m, enum ike_status st, const char *reason)
{
    struct ike_diag diag = {0};
    enum ike_status got = ike_msg_check_rules(m, &diag);
    if (got != st || (reason && !strstr(diag.reason, reason)))
        print_error("got %s \"%s\", want %s \"%s\"\n", ike_status_str(got), diag.reason,
                    ike_status_str(st), reason ? reason : "");
    assert_int_equal(got, st);
    if (reason)
        assert_non_null(strstr(diag.reason, reason));
    ike_msg_clear(m);
}

static void ok(uint8_t exch, bool resp, uint8_t sk, const char *spec)
{
    struct ike_msg m;
    start(&m, exch, resp, sk);
    add(&m, spec);
    expect(&m, IKE_OK, NULL);
}

static void bad(uint8_t exch, bool resp, uint8_t sk, const char *spec, const char *reason)
{
    struct ike_msg m;
    start(&m, exch, resp, sk);
    add(&m, spec);
    expect(&m, IKE_E_RULES, reason);
}

static void ok_notify(uint8_t exch, bool resp, uint8_t sk, uint16_t type, const char *spec)
{
    struct ike_msg m;
    start(&m, exch, resp, sk);
    ike_msg_add_notify(&m, type, data, type == IKE_N_INVALID_KE_PAYLOAD ? 2
                                       : type == IKE_N_COOKIE            ? 16
                                                                         : 0);
    add(&m, spec);
    expect(&m, IKE_OK, NULL);
}

static void bad_notify(uint8_t exch, bool resp, uint8_t sk, uint16_t type, const char *spec,
                       const char *reason)
{
    struct ike_msg m;
    start(&m, exch, resp, sk);
    ike_msg_add_notify(&m, type, data, type == IKE_N_COOKIE ? 16 : 0);
    add(&m, spec);
    expect(&m, IKE_E_RULES, reason);
}

#define INIT IKE_EXCH_IKE_SA_INIT
#define AUTH IKE_EXCH_IKE_AUTH
#define CHILD IKE_EXCH_CREATE_CHILD_SA
#define INFO IKE_EXCH_INFORMATIONAL
#define SK IKE_PLD_SK
#define SKF IKE_PLD_SKF

static void test_ike_sa_init(void **state)
{
    (void)state;
    ok(INIT, false, 0, "sknvv");
    ok_notify(INIT, false, 0, IKE_N_COOKIE, "skn");
    ok(INIT, true, 0, "sknqqv");
    ok(INIT, false, 0, "sknx"); /* skipped unknown payloads are not judged */
    /* error responses: only the notify */
    ok_notify(INIT, true, 0, IKE_N_NO_PROPOSAL_CHOSEN, "");
    ok_notify(INIT, true, 0, IKE_N_INVALID_KE_PAYLOAD, "");
    ok_notify(INIT, true, 0, IKE_N_COOKIE, "");
    ok_notify(INIT, true, 0, IKE_N_COOKIE, "v");

    bad(INIT, false, 0, "sn", "IKE_SA_INIT request: KE payload missing (0 < min 1)");
    bad(INIT, false, 0, "knn", "IKE_SA_INIT request: SA payload missing");
    bad(INIT, false, 0, "sknn", "IKE_SA_INIT request: 2 Nonce payloads > max 1");
    bad(INIT, false, 0, "sknq", "IKE_SA_INIT request: CERTREQ payload not allowed");
    bad(INIT, true, 0, "sknr", "IKE_SA_INIT response: IDr payload not allowed");
    bad(INIT, false, SK, "skn", "IKE_SA_INIT request: SK payload not allowed");
    /* an error notify waives nothing in a request, a status one nothing
     * in a response */
    bad_notify(INIT, false, 0, IKE_N_NO_PROPOSAL_CHOSEN, "", "SA payload missing");
    bad_notify(INIT, true, 0, IKE_N_INITIAL_CONTACT, "", "SA payload missing");
    bad_notify(INIT, true, 0, IKE_N_COOKIE, "sknn", "2 Nonce payloads > max 1");

    struct ike_msg m;
    start(&m, INIT, false, 0);
    m.add_inside_sk = true;
    add(&m, "skn");
    expect(&m, IKE_E_RULES, "IKE_SA_INIT request: SA payload must be outside SK");
    start(&m, INIT, false, 0);
    add(&m, "skn");
    m.hdr.message_id = 1;
    expect(&m, IKE_E_RULES, "IKE_SA_INIT request: message ID 1 != 0");
    start(&m, INIT, false, 0);
    add(&m, "skn");
    m.hdr.spi_r[3] = 1;
    expect(&m, IKE_E_RULES, "IKE_SA_INIT request: responder SPI is not zero");
}

static void test_ike_auth(void **state)
{
    (void)state;
    ok(AUTH, false, SK, "iccqqrapsutv");  /* everything */
    ok(AUTH, false, SK, "ia");            /* childless (RFC 6023) */
    ok(AUTH, false, SK, "istu");          /* EAP: no AUTH in the first request */
    ok(AUTH, false, SK, "e");             /* EAP rounds */
    ok(AUTH, false, SK, "a");             /* final AUTH after EAP */
    ok(AUTH, false, SKF, "iastu");        /* reassembled fragments */
    ok(AUTH, true, SK, "rcapstu");
    ok(AUTH, true, SK, "rae");
    ok_notify(AUTH, true, SK, IKE_N_AUTHENTICATION_FAILED, "");
    ok_notify(AUTH, true, SK, IKE_N_TS_UNACCEPTABLE, "ra"); /* IKE SA up, child failed */

    bad(AUTH, false, SK, "iast", "IKE_AUTH request: SA/TSi/TSr must be all present or all "
                                 "absent (2 of 3)");
    bad(AUTH, false, SK, "iatu", "(2 of 3)");
    bad(AUTH, false, 0, "ia", "IKE_AUTH request: needs exactly one of SK/SKF, has 0");
    bad(AUTH, false, SK, "iia", "IKE_AUTH request: 2 IDi payloads > max 1");
    bad(AUTH, true, SK, "ira", "IKE_AUTH response: IDi payload not allowed");
    bad(AUTH, true, SK, "raq", "IKE_AUTH response: CERTREQ payload not allowed");
    bad(AUTH, false, SK, "iaa", "IKE_AUTH request: 2 AUTH payloads > max 1");
    bad(AUTH, false, SK, "iak", "IKE_AUTH request: KE payload not allowed");

    struct ike_msg m;
    start(&m, AUTH, false, SK);
    m.add_inside_sk = false;
    add(&m, "i");
    expect(&m, IKE_E_RULES, "IKE_AUTH request: IDi payload must be inside SK");
    start(&m, AUTH, false, SK);
    struct ike_pld skf = {.type = SKF, .sk = {.frag_num = 1, .frag_total = 1}};
    m.add_inside_sk = false;
    ike_msg_add_copy(&m, &skf);
    expect(&m, IKE_E_RULES, "needs exactly one of SK/SKF, has 2");
    start(&m, AUTH, false, 0);
    m.add_inside_sk = true;
    struct ike_pld sk = {.type = SK};
    ike_msg_add_copy(&m, &sk);
    expect(&m, IKE_E_RULES, "IKE_AUTH request: SK payload must be outside SK");
}

static void test_create_child_sa(void **state)
{
    (void)state;
    struct ike_msg m;
    start(&m, CHILD, false, SK);
    ike_msg_add_n_rekey_sa(&m, IKE_PROTO_ESP, 0xc0000001); /* Child SA rekey */
    add(&m, "snktu");
    expect(&m, IKE_OK, NULL);
    ok(CHILD, false, SK, "sntu");  /* new Child SA without PFS */
    ok(CHILD, false, SK, "snk");   /* IKE SA rekey: no TS */
    ok(CHILD, true, SK, "snktu");
    ok(CHILD, true, SK, "snk");
    ok_notify(CHILD, true, SK, IKE_N_NO_ADDITIONAL_SAS, "");
    ok_notify(CHILD, true, SK, IKE_N_INVALID_KE_PAYLOAD, "");
    ok_notify(CHILD, true, SK, IKE_N_TEMPORARY_FAILURE, "");

    bad(CHILD, false, SK, "stu", "CREATE_CHILD_SA request: Nonce payload missing (0 < min 1)");
    bad(CHILD, false, SK, "ntu", "CREATE_CHILD_SA request: SA payload missing");
    bad(CHILD, false, SK, "snt", "CREATE_CHILD_SA request: TSi/TSr must be all present or all "
                                 "absent (1 of 2)");
    bad(CHILD, true, SK, "snkk", "CREATE_CHILD_SA response: 2 KE payloads > max 1");
    bad(CHILD, false, SK, "snia", "CREATE_CHILD_SA request: IDi payload not allowed");
    bad_notify(CHILD, false, SK, IKE_N_NO_PROPOSAL_CHOSEN, "", "SA payload missing");
    bad_notify(CHILD, true, SK, IKE_N_REKEY_SA, "", "SA payload missing");
}

static void test_informational(void **state)
{
    (void)state;
    ok(INFO, false, SK, "");  /* liveness check */
    ok(INFO, true, SK, "");
    ok(INFO, false, SK, "ddv");
    ok(INFO, false, SKF, "d");
    ok(INFO, false, SK, "p");
    ok_notify(INFO, false, SK, IKE_N_AUTHENTICATION_FAILED, "");

    struct ike_msg m;
    start(&m, INFO, false, SK);
    struct ike_n_msgid_sync sync = {{1, 2, 3, 4}, 10, 20};
    ike_msg_add_n_msgid_sync(&m, &sync);
    ike_msg_add_n_replay_sync(&m, 1u << 20);
    m.hdr.message_id = 0; /* RFC 6311: message ID 0 */
    expect(&m, IKE_OK, NULL);

    bad(INFO, false, SK, "s", "INFORMATIONAL request: SA payload not allowed");
    bad(INFO, true, SK, "pp", "INFORMATIONAL response: 2 CP payloads > max 1");
    bad(INFO, false, 0, "d", "INFORMATIONAL request: needs exactly one of SK/SKF, has 0");
}

static void test_unknown_exchange_and_tables(void **state)
{
    (void)state;
    struct ike_msg m;
    start(&m, 99, false, 0);
    expect(&m, IKE_E_UNSUPPORTED, "no payload rules for exchange 99 (UNKNOWN)");
    /* one table per message kind, each listing a type at most once */
    const uint8_t exch[] = {INIT, AUTH, CHILD, INFO};
    for (size_t i = 0; i < sizeof(exch); i++) {
        for (int resp = 0; resp < 2; resp++) {
            const struct ike_msg_rules *r = ike_msg_rules_find(exch[i], resp);
            assert_non_null(r);
            assert_int_equal(r->response, resp);
            for (size_t a = 0; a < r->n_plds; a++) {
                assert_true(r->plds[a].min <= r->plds[a].max);
                for (size_t b = a + 1; b < r->n_plds; b++)
                    assert_int_not_equal(r->plds[a].type, r->plds[b].type);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ike_sa_init),
        cmocka_unit_test(test_ike_auth),
        cmocka_unit_test(test_create_child_sa),
        cmocka_unit_test(test_informational),
        cmocka_unit_test(test_unknown_exchange_and_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
