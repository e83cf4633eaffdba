/* Real messages, captured from strongSwan 5.9.8 (charon, PSK,
 * aes256-sha256-ecp256, ESP aes128gcm16) between two lab namespaces
 * (203.0.113.1 "moon" initiator, 203.0.113.2 "sun"). The IKE_AUTH inner
 * payloads were decrypted offline with the SK_e keys charon logged.
 * IKE_AUTH and INFORMATIONAL ran on port 4500: the non-ESP marker is
 * stripped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helper_msg.h"

static const char *INIT_REQ_hex = /* 272 octets */
    "c23e35d2845afc5c0000000000000000212022080000000000000110220000300000002c"
    "010100040300000c0100000c800e0100030000080300000c030000080200000500000008"
    "040000132800004800130000d53917e9e56f4a0915a5cd99bb76478e07ce301eab23bf3e"
    "ffde704947afbb9a9770a47baff70f97c7d5eba47c0317b49e01f2cd9005c5baea59df12"
    "a1d8afd929000024af373f11545902d13387669b50289940c7845d2211d9a7b34fe2a31d"
    "6a84f4ad2900001c000040049466f0dac10a9649289527ead19cfb6481e616562900001c"
    "0000400560b58792ef30841b5e1cb0fb69d6e966ea12a014290000080000402e29000010"
    "0000402f00020003000400050000000800004016";

static const char *INIT_RESP_hex = /* 280 octets */
    "c23e35d2845afc5c88a55e2983363668212022200000000000000118220000300000002c"
    "010100040300000c0100000c800e0100030000080300000c030000080200000500000008"
    "04000013280000480013000081104a39831c5582b7e28e27f7081890e86c80ba1fca4835"
    "3fed3dfd9f3781d93e4e91ec0c3aa135fa51a79eeccf3a28c2cd54db199d2e9a01b41ff7"
    "ee460f6c29000024c884f9325a3bc483ef945316a1759fcf1a28043b36483ed39cc70894"
    "ffb4a3122900001c00004004ad3da618996e7bd28f72d288c78c552b10cf59652900001c"
    "00004005cea510ab8cf957e29482632d2aa923f4be1ff313290000080000402e29000010"
    "0000402f000200030004000529000008000040220000000800004014";

static const char *AUTH_REQ_hex = /* 272 octets */
    "c23e35d2845afc5c88a55e29833636682e2023080000000100000110230000f40628f1d9"
    "a06459aa64e59c6583d4f6ea82063ed2062b116e6a9b60d16f01fc883bb643d0c1dc9f68"
    "00916d225f45c97e00d3913d86a81b3b2adabd4d07d2a5741ca647c0ac01d9614c326759"
    "6ea9ba4028d4dae41116c2bfe3e353ea06ae78051ee94e5459416fb18a79474b5a6631b8"
    "da3dfc447979287c2dd380e36a021ea225070ba988a812cda5909f0ae7a4ab6d09fd2131"
    "2b6905eba35813352c7919f547401ea67e2b19348a85dcae4f1510dd9c36f43864ef06d0"
    "227348d1312ffb2533c7f18c3fc9475c0bbec4f70c90c0aa02477f42166b109741fa4c27"
    "4663172648ca180e7de32b4aef52cd629ae4425b";

static const char *AUTH_REQ_INNER_hex = /* 195 octets */
    "2900000c020000006d6f6f6e24000008000040002700000b0200000073756e2100002802"
    "000000fbecc08acaabf572f3ca2bf24a98a6973042b911f394f21a3cd6154edef3d01a2c"
    "00002400000020010304025e1cfba00300000c01000014800e008000000008050000002d"
    "00001801000000070000100000ffffc0000200c000027f29000018010000000700001000"
    "00ffffc0000280c00002ff290000080000400c290000080000400f290000080000401429"
    "000008000040210000000800004024";

static const char *AUTH_RESP_hex = /* 224 octets */
    "c23e35d2845afc5c88a55e29833636682e20232000000001000000e0240000c4f1911078"
    "3fcbca421b77f0cbbb901f1f622ce30257a274c7e20cb8d85bfd063acf8031d882ceeec5"
    "6ef9b589aac2315edbdf4351d5e7780a4c25ae564b5a1c8ef9d48e7a2e888f795f8ec3b0"
    "7983a8080a3bd921f4bbd6a6e85e377248365b36d69c080257d2c67bf2fa2cf19e777f80"
    "906b7e8835adb3a7ce6dcef7e3ccd8f123906b61b8d0105c1a6628dc7157d15ca240d7ef"
    "52a350a9de60115443b273863f074ac8b04d305c52990d8ea6e2beca4015128f369e188e"
    "4b1929e05b6676f0";

static const char *AUTH_RESP_INNER_hex = /* 151 octets */
    "2700000b0200000073756e2100002802000000c9a05c20da6e8ec262692696daa7ed2cd6"
    "0a4894f1b5c00fd3a1e3ccec95106d2c0000240000002001030402dad46bd60300000c01"
    "000014800e008000000008050000002d00001801000000070000100000ffffc0000200c0"
    "00027f2900001801000000070000100000ffffc0000280c00002ff290000080000400c00"
    "0000080000400f";

static const char *INFO_REQ_hex = /* 80 octets */
    "628873759628813c39a0e77f52dcc9a42e20250800000002000000502a0000345df5dc0f"
    "1de9130ab7400a15980227eab1cc04cdf00b105162c5331f33967a8b435dfc942d30ed57"
    "b6b32dca37179187";

static const char *INFO_RESP_hex = /* 80 octets */
    "628873759628813c39a0e77f52dcc9a42e2025200000000200000050000000340275c377"
    "bab8874f186b6561e51c21980cf8a8187f947941d2ca349ca6ac3ff91de548dd2fb9080a"
    "c57353b47b8cc5a4";

static const char *INIT_REQ_MODP_hex = /* 472 octets */
    "0567c8a07838e82900000000000000002120220800000000000001d82200003800000034"
    "010100050300000c0100000c800e0100030000080300000c030000080200000503000008"
    "0400000e000000080400001328000108000e0000690f0c55e9c706f1676c6cf97fd235e0"
    "9e3261849e4f770592efc18051a1feabebd890b0d18a7cca10a8eeb727e340b1007e379c"
    "31f8ec4eb36598c4ef8535cd439524c0951494733b029e6fdd8eb3e7f92a927a5fdc4c0c"
    "d6c61db8dd312e1c42a4be7dd87f4f7dedc100dc6d1b0773ba31381f6d0cc551dfd55fd5"
    "a022c93763282b526fedbd03c67c0d08cf2f795f39e8251b86a5f5ff72f1f827938b600f"
    "85084111f7945176695fc7ab74a1abd888e7de828f30be2960ace1b95e5c4ea8b40c8a51"
    "aaa6e4c0be90b237e02db4ea4f4a1d45b89db1a4a385d5046bffaf6553625af56e674eac"
    "12599184046929eeceeac31c7aab5e84bf724f677c4feb1f29000024b803a239e474583b"
    "db5ab877f206fdb029d7ded498272fa30be358d919e695522900001c00004004b6bb59f5"
    "ab35dea5a4094aabd2798d231ce7848c2900001c0000400564eae6e8664fc5ed3aea2f56"
    "8b6f037d5cce2769290000080000402e290000100000402f000200030004000500000008"
    "00004016";

static const char *INIT_RESP_INVALID_KE_hex = /* 38 octets */
    "0567c8a07838e82900000000000000002920222000000000000000260000000a00000011"
    "0013";
struct vec {
    uint8_t b[600];
    size_t n;
};

static void load(struct vec *v, const char *hex)
{
    v->n = helper_msg_hex(hex, v->b, sizeof(v->b));
}

static void decode_ok(struct ike_msg *msg, const struct vec *v)
{
    struct ike_diag diag = {0};
    memset(msg, 0, sizeof(*msg));
    enum ike_status st = ike_msg_decode(msg, v->b, v->n, &diag);
    if (st != IKE_OK)
        print_error("%s\n", diag.reason);
    assert_int_equal(st, IKE_OK);
}

static void assert_describe(const struct ike_msg *msg, const char *want)
{
    char line[400];
    ike_msg_describe(msg, line, sizeof(line));
    if (strcmp(line, want))
        print_error("got  %s\nwant %s\n", line, want);
    assert_string_equal(line, want);
}

static void assert_rules_ok(const struct ike_msg *msg)
{
    struct ike_diag diag = {0};
    enum ike_status st = ike_msg_check_rules(msg, &diag);
    if (st != IKE_OK)
        print_error("%s\n", diag.reason);
    assert_int_equal(st, IKE_OK);
}

static void test_ike_sa_init_request(void **state)
{
    (void)state;
    struct vec v;
    struct ike_msg msg;
    load(&v, INIT_REQ_hex);
    decode_ok(&msg, &v);
    static const uint8_t spi_i[8] = {0xc2, 0x3e, 0x35, 0xd2, 0x84, 0x5a, 0xfc, 0x5c};
    static const uint8_t zero[8] = {0};
    assert_memory_equal(msg.hdr.spi_i, spi_i, 8);
    assert_memory_equal(msg.hdr.spi_r, zero, 8);
    assert_int_equal(msg.hdr.exchange, IKE_EXCH_IKE_SA_INIT);
    assert_int_equal(msg.hdr.flags, IKE_FLAG_INITIATOR);
    assert_int_equal(msg.hdr.version, IKE_VERSION_2);
    assert_int_equal(msg.hdr.message_id, 0);
    assert_int_equal(msg.hdr.length, 272);
    assert_null(msg.sk);
    assert_describe(&msg, "IKE_SA_INIT request 0 [ SA KE Nonce N(NAT_DETECTION_SOURCE_IP) "
                          "N(NAT_DETECTION_DESTINATION_IP) N(IKEV2_FRAGMENTATION_SUPPORTED) "
                          "N(SIGNATURE_HASH_ALGORITHMS) N(REDIRECT_SUPPORTED) ]");
    const struct ike_pld *p = ike_msg_find(&msg, IKE_PLD_SA);
    assert_int_equal(p->sa.n_proposals, 1);
    const struct ike_proposal *pr = &p->sa.proposals[0];
    assert_int_equal(pr->protocol, IKE_PROTO_IKE);
    assert_int_equal(pr->spi_len, 0);
    assert_int_equal(pr->n_transforms, 4);
    assert_int_equal(pr->transforms[0].id, IKE_ENCR_AES_CBC);
    assert_int_equal(pr->transforms[0].key_bits, 256);
    assert_int_equal(pr->transforms[1].type, IKE_TRANS_INTEG);
    assert_int_equal(pr->transforms[1].id, IKE_INTEG_HMAC_SHA2_256_128);
    assert_int_equal(pr->transforms[2].id, IKE_PRF_HMAC_SHA2_256);
    assert_int_equal(pr->transforms[3].id, IKE_DH_ECP_256);
    p = ike_msg_find(&msg, IKE_PLD_KE);
    assert_int_equal(p->ke.group, IKE_DH_ECP_256);
    assert_int_equal(p->ke.data.len, 64);
    assert_int_equal(ike_msg_find(&msg, IKE_PLD_NONCE)->nonce.data.len, 32);
    p = ike_msg_find_notify(&msg, IKE_N_SIGNATURE_HASH_ALGORITHMS);
    assert_int_equal(p->notify.data.len, 8); /* SHA2-256, -384, -512, Identity */
    assert_int_equal(ike_msg_count(&msg, IKE_PLD_NOTIFY), 5);
    assert_rules_ok(&msg);
    ike_msg_clear(&msg);
    helper_msg_roundtrip(v.b, v.n);
}

static void test_ike_sa_init_response(void **state)
{
    (void)state;
    struct vec v;
    struct ike_msg msg;
    load(&v, INIT_RESP_hex);
    decode_ok(&msg, &v);
    assert_true(ike_msg_is_response(&msg));
    assert_describe(&msg, "IKE_SA_INIT response 0 [ SA KE Nonce N(NAT_DETECTION_SOURCE_IP) "
                          "N(NAT_DETECTION_DESTINATION_IP) N(IKEV2_FRAGMENTATION_SUPPORTED) "
                          "N(SIGNATURE_HASH_ALGORITHMS) N(CHILDLESS_IKEV2_SUPPORTED) "
                          "N(MULTIPLE_AUTH_SUPPORTED) ]");
    assert_int_equal(ike_msg_find(&msg, IKE_PLD_SA)->sa.proposals[0].num, 1);
    assert_rules_ok(&msg);
    ike_msg_clear(&msg);
    helper_msg_roundtrip(v.b, v.n);
}

static void check_inner(struct ike_msg *msg, const char *inner_hex, uint8_t first)
{
    struct vec in;
    struct ike_diag diag = {0};
    load(&in, inner_hex);
    assert_non_null(msg->sk);
    assert_int_equal(msg->sk->sk.first_inner, first);
    assert_int_equal(ike_msg_check_rules(msg, &diag), IKE_E_STATE);
    assert_int_equal(ike_msg_decode_inner(msg, in.b, in.n, first, &diag), IKE_OK);
    memset(in.b, 0, in.n); /* the message holds its own copy */
    load(&in, inner_hex);
    uint8_t *pt, got_first;
    size_t pt_len;
    assert_int_equal(ike_msg_encode_inner(msg, &pt, &pt_len, &got_first, &diag), IKE_OK);
    assert_int_equal(got_first, first);
    assert_int_equal(pt_len, in.n);
    assert_memory_equal(pt, in.b, in.n);
    ike_msg_free_buf(pt, pt_len);
    assert_rules_ok(msg);
}

static void assert_ts(const struct ike_pld *p, uint8_t lo, uint8_t hi)
{
    assert_int_equal(p->ts.n_ts, 1);
    const struct ike_ts *t = &p->ts.ts[0];
    assert_int_equal(t->type, IKE_TS_IPV4_ADDR_RANGE);
    assert_int_equal(t->ip_proto, 0);
    assert_int_equal(t->start_port, 0);
    assert_int_equal(t->end_port, 65535);
    uint8_t s[4] = {192, 0, 2, lo}, e[4] = {192, 0, 2, hi};
    assert_memory_equal(t->start_addr, s, 4);
    assert_memory_equal(t->end_addr, e, 4);
}

static void test_ike_auth_request(void **state)
{
    (void)state;
    struct vec v;
    struct ike_msg msg;
    load(&v, AUTH_REQ_hex);
    decode_ok(&msg, &v);
    assert_int_equal(msg.hdr.message_id, 1);
    assert_int_equal(msg.sk->sk.body_off, 32);
    assert_int_equal(msg.sk->sk.body.len, 272 - 32);
    check_inner(&msg, AUTH_REQ_INNER_hex, IKE_PLD_IDI);
    assert_describe(&msg, "IKE_AUTH request 1 [ SK { IDi N(INITIAL_CONTACT) IDr AUTH SA TSi "
                          "TSr N(MOBIKE_SUPPORTED) N(NO_ADDITIONAL_ADDRESSES) "
                          "N(MULTIPLE_AUTH_SUPPORTED) N(EAP_ONLY_AUTHENTICATION) "
                          "N(IKEV2_MESSAGE_ID_SYNC_SUPPORTED) } ]");
    const struct ike_pld *p = ike_msg_find(&msg, IKE_PLD_IDI);
    assert_int_equal(p->id.type, IKE_ID_FQDN);
    assert_int_equal(p->id.data.len, 4);
    assert_memory_equal(p->id.data.ptr, "moon", 4);
    p = ike_msg_find(&msg, IKE_PLD_IDR);
    assert_memory_equal(p->id.data.ptr, "sun", 3);
    p = ike_msg_find(&msg, IKE_PLD_AUTH);
    assert_int_equal(p->auth.method, IKE_AUTH_SHARED_KEY_MIC);
    assert_int_equal(p->auth.data.len, 32);
    p = ike_msg_find(&msg, IKE_PLD_SA);
    assert_int_equal(p->sa.proposals[0].protocol, IKE_PROTO_ESP);
    assert_int_equal(p->sa.proposals[0].spi_len, 4);
    assert_int_equal(p->sa.proposals[0].transforms[0].id, IKE_ENCR_AES_GCM_16);
    assert_int_equal(p->sa.proposals[0].transforms[0].key_bits, 128);
    assert_int_equal(p->sa.proposals[0].transforms[1].type, IKE_TRANS_ESN);
    assert_ts(ike_msg_find(&msg, IKE_PLD_TSI), 0, 127);
    assert_ts(ike_msg_find(&msg, IKE_PLD_TSR), 128, 255);
    assert_non_null(ike_msg_find_notify(&msg, IKE_N_IKEV2_MESSAGE_ID_SYNC_SUPPORTED));
    ike_msg_clear(&msg);
    helper_msg_roundtrip(v.b, v.n);
}

static void test_ike_auth_response(void **state)
{
    (void)state;
    struct vec v;
    struct ike_msg msg;
    load(&v, AUTH_RESP_hex);
    decode_ok(&msg, &v);
    check_inner(&msg, AUTH_RESP_INNER_hex, IKE_PLD_IDR);
    assert_describe(&msg, "IKE_AUTH response 1 [ SK { IDr AUTH SA TSi TSr "
                          "N(MOBIKE_SUPPORTED) N(NO_ADDITIONAL_ADDRESSES) } ]");
    assert_int_equal(ike_msg_find(&msg, IKE_PLD_SA)->sa.n_proposals, 1);
    ike_msg_clear(&msg);
    helper_msg_roundtrip(v.b, v.n);
}

static void test_informational(void **state)
{
    (void)state;
    const char *hex[] = {INFO_REQ_hex, INFO_RESP_hex};
    for (int i = 0; i < 2; i++) {
        struct vec v;
        struct ike_msg msg;
        load(&v, hex[i]);
        decode_ok(&msg, &v);
        assert_int_equal(msg.hdr.exchange, IKE_EXCH_INFORMATIONAL);
        assert_int_equal(msg.hdr.message_id, 2);
        assert_int_equal(msg.sk->type, IKE_PLD_SK);
        assert_int_equal(msg.sk->sk.first_inner, i == 0 ? IKE_PLD_DELETE : IKE_PLD_NONE);
        ike_msg_clear(&msg);
        helper_msg_roundtrip(v.b, v.n);
    }
}

static void test_invalid_ke_exchange(void **state)
{
    (void)state;
    struct vec v;
    struct ike_msg msg;
    load(&v, INIT_REQ_MODP_hex);
    decode_ok(&msg, &v);
    const struct ike_pld *p = ike_msg_find(&msg, IKE_PLD_KE);
    assert_int_equal(p->ke.group, IKE_DH_MODP_2048);
    assert_int_equal(p->ke.data.len, 256);
    assert_int_equal(ike_msg_find(&msg, IKE_PLD_SA)->sa.proposals[0].n_transforms, 5);
    assert_rules_ok(&msg);
    ike_msg_clear(&msg);
    helper_msg_roundtrip(v.b, v.n);

    load(&v, INIT_RESP_INVALID_KE_hex);
    decode_ok(&msg, &v);
    assert_describe(&msg, "IKE_SA_INIT response 0 [ N(INVALID_KE_PAYLOAD) ]");
    p = ike_msg_find_error(&msg);
    assert_non_null(p);
    uint16_t group = 0;
    assert_int_equal(ike_notify_get_group(&p->notify, &group, NULL), IKE_OK);
    assert_int_equal(group, IKE_DH_ECP_256);
    assert_rules_ok(&msg); /* an error response needs no SA, KE, Nonce */
    ike_msg_clear(&msg);
    helper_msg_roundtrip(v.b, v.n);
}

/* Every truncation and every single-octet corruption of the real
 * messages decodes or fails cleanly (ASan/UBSan builds check memory),
 * and whatever decodes re-encodes to the same bytes. */
static void sweep(const char *hex)
{
    struct vec v, w;
    load(&v, hex);
    for (size_t n = 0; n < v.n; n++) {
        w = v;
        if (n >= IKE_HDR_LEN) { /* keep the header length consistent */
            w.b[24] = (uint8_t)(n >> 24);
            w.b[25] = (uint8_t)(n >> 16);
            w.b[26] = (uint8_t)(n >> 8);
            w.b[27] = (uint8_t)n;
        }
        struct ike_msg msg = {0};
        struct ike_diag diag = {0};
        uint8_t *copy = malloc(n ? n : 1); /* exact size: overreads trip ASan */
        assert_non_null(copy);
        memcpy(copy, w.b, n);
        enum ike_status st = ike_msg_decode(&msg, copy, n, &diag);
        assert_true(st == IKE_OK || diag.reason[0] != '\0');
        ike_msg_clear(&msg);
        free(copy);
    }
    for (size_t i = 0; i < v.n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            w = v;
            w.b[i] ^= (uint8_t)(1u << bit);
            struct ike_msg msg = {0};
            struct ike_diag diag = {0};
            enum ike_status st = ike_msg_decode(&msg, w.b, w.n, &diag);
            if (st == IKE_OK) {
                /* whatever decodes must encode again, to the same size
                 * (ignored reserved bits come back as zero) */
                uint8_t *out;
                size_t len;
                st = ike_msg_encode(&msg, &out, &len, &diag);
                if (st != IKE_OK)
                    print_error("octet %zu bit %d: %s\n", i, bit, diag.reason);
                assert_int_equal(st, IKE_OK);
                assert_int_equal(len, w.n);
                ike_msg_free_buf(out, len);
            } else {
                assert_true(diag.reason[0] != '\0');
            }
            ike_msg_clear(&msg);
        }
    }
}

static void test_corruption_sweep(void **state)
{
    (void)state;
    sweep(INIT_REQ_hex);
    sweep(INIT_RESP_hex);
    sweep(AUTH_REQ_hex);
    sweep(INIT_RESP_INVALID_KE_hex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ike_sa_init_request),
        cmocka_unit_test(test_ike_sa_init_response),
        cmocka_unit_test(test_ike_auth_request),
        cmocka_unit_test(test_ike_auth_response),
        cmocka_unit_test(test_informational),
        cmocka_unit_test(test_invalid_ke_exchange),
        cmocka_unit_test(test_corruption_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
