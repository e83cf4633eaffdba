#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <ike/const.h>
#include <ike/transform.h>

#include "helper_sk.h"

const struct helper_sk_suite helper_sk_suites[] = {
    {"aes128-sha1", IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA1_96},
    {"aes128-sha256", IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA2_256_128},
    {"aes128-sha384", IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA2_384_192},
    {"aes128-sha512", IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA2_512_256},
    {"aes256-sha1", IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA1_96},
    {"aes256-sha256", IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_256_128},
    {"aes256-sha384", IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_384_192},
    {"aes256-sha512", IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_512_256},
    {"aes128gcm16", IKE_ENCR_AES_GCM_16, 128, IKE_INTEG_NONE},
    {"aes256gcm16", IKE_ENCR_AES_GCM_16, 256, IKE_INTEG_NONE},
    {"chacha20poly1305", IKE_ENCR_CHACHA20_POLY1305, 0, IKE_INTEG_NONE},
};
const size_t helper_sk_n_suites = sizeof(helper_sk_suites) / sizeof(helper_sk_suites[0]);

const struct helper_sk_suite *helper_sk_suite(const char *name)
{
    for (size_t i = 0; i < helper_sk_n_suites; i++)
        if (strcmp(helper_sk_suites[i].name, name) == 0)
            return &helper_sk_suites[i];
    fail_msg("no suite %s", name);
    return NULL;
}

void helper_sk_keys(const struct helper_sk_suite *s, uint8_t seed, struct helper_sk_keys *k)
{
    struct ike_encr_info e;
    struct ike_integ_info i = {0};
    memset(k, 0, sizeof(*k));
    assert_int_equal(ike_encr_lookup(s->encr, s->key_bits, &e), IKE_OK);
    if (s->integ != IKE_INTEG_NONE)
        assert_int_equal(ike_integ_lookup(s->integ, &i), IKE_OK);
    assert_true(e.key_len <= sizeof(k->encr) && i.key_len <= sizeof(k->integ));
    k->encr_len = e.key_len;
    k->integ_len = i.key_len;
    for (size_t n = 0; n < sizeof(k->encr); n++) {
        k->encr[n] = (uint8_t)(seed + n);
        k->integ[n] = (uint8_t)(seed + 0x80 + n);
    }
}

struct ike_sk_cipher *helper_sk_cipher(const struct helper_sk_suite *s, uint8_t seed)
{
    struct helper_sk_keys k;
    struct ike_sk_cipher *c = NULL;
    struct ike_diag diag = {0};
    helper_sk_keys(s, seed, &k);
    enum ike_status st = ike_sk_cipher_new(s->encr, s->key_bits, s->integ, k.encr, k.encr_len,
                                           k.integ_len ? k.integ : NULL, k.integ_len, &c, &diag);
    if (st != IKE_OK)
        fail_msg("cipher %s: %s (%s)", s->name, ike_status_str(st), diag.reason);
    return c;
}

static void add_child_sa(struct ike_msg *msg)
{
    struct ike_transform t[] = {
        {.type = IKE_TRANS_ENCR, .id = IKE_ENCR_AES_GCM_16, .key_bits = 256},
        {.type = IKE_TRANS_ESN, .id = IKE_ESN_NO},
    };
    struct ike_proposal p = {.num = 1,
                             .protocol = IKE_PROTO_ESP,
                             .spi_len = 4,
                             .spi = {0xc1, 0x00, 0x00, 0x01},
                             .n_transforms = 2,
                             .transforms = t};
    struct ike_pld_sa sa = {.n_proposals = 1, .proposals = &p};
    assert_non_null(ike_msg_add_sa(msg, &sa));
}

static void add_ts(struct ike_msg *msg, uint8_t type, uint8_t net)
{
    struct ike_ts ts = {.type = IKE_TS_IPV4_ADDR_RANGE,
                        .start_port = 0,
                        .end_port = 65535,
                        .start_addr = {192, 0, 2, net},
                        .end_addr = {192, 0, 2, (uint8_t)(net + 127)}};
    assert_non_null(ike_msg_add_ts(msg, type, &ts, 1));
}

void helper_sk_auth_request(struct ike_msg *msg, uint32_t message_id, size_t cert_len)
{
    static const uint8_t spi_i[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t spi_r[8] = {0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18};
    static const char id[] = "moon.lab.example";
    uint8_t auth[32];
    uint8_t cert[8192];
    assert_true(cert_len <= sizeof(cert));
    for (size_t i = 0; i < sizeof(auth); i++)
        auth[i] = (uint8_t)(0xa0 + i);
    for (size_t i = 0; i < cert_len; i++)
        cert[i] = (uint8_t)(i * 7 + 3);
    ike_msg_init(msg, spi_i, spi_r, IKE_EXCH_IKE_AUTH, IKE_FLAG_INITIATOR, message_id);
    assert_non_null(
        ike_msg_add_id(msg, IKE_PLD_IDI, IKE_ID_FQDN, (const uint8_t *)id, sizeof(id) - 1));
    if (cert_len)
        assert_non_null(
            ike_msg_add_cert(msg, IKE_PLD_CERT, IKE_CERT_X509_SIGNATURE, cert, cert_len));
    assert_non_null(ike_msg_add_auth(msg, IKE_AUTH_SHARED_KEY_MIC, auth, sizeof(auth)));
    assert_non_null(ike_msg_add_notify(msg, IKE_N_INITIAL_CONTACT, NULL, 0));
    add_child_sa(msg);
    add_ts(msg, IKE_PLD_TSI, 0);
    add_ts(msg, IKE_PLD_TSR, 128);
}

void helper_sk_assert_same_inner(const struct ike_msg *a, const struct ike_msg *b)
{
    uint8_t *ea = NULL, *eb = NULL;
    size_t la = 0, lb = 0;
    uint8_t fa = 0, fb = 0;
    struct ike_diag diag = {0};
    enum ike_status st = ike_msg_encode_inner(a, &ea, &la, &fa, &diag);
    if (st != IKE_OK)
        fail_msg("encode_inner a: %s", diag.reason);
    st = ike_msg_encode_inner(b, &eb, &lb, &fb, &diag);
    if (st != IKE_OK)
        fail_msg("encode_inner b: %s", diag.reason);
    assert_int_equal(fa, fb);
    assert_int_equal(la, lb);
    assert_memory_equal(ea, eb, la);
    ike_msg_free_buf(ea, la);
    ike_msg_free_buf(eb, lb);
}
