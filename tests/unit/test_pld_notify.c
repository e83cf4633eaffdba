/* Notify payload and the notification data formats we use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "helper_msg.h"

static const uint8_t SPI_I[8] = {1, 2, 3, 4, 5, 6, 7, 8};

/* Notify body: protocol, SPI size, type, SPI, data (all hex). */
static size_t nbody(uint8_t *b, size_t cap, const char *hex)
{
    return helper_msg_hex(hex, b, cap);
}

static void test_decode_nat_detection(void **state)
{
    (void)state;
    uint8_t b[64];
    struct ike_msg msg = {0};
    size_t n = nbody(b, sizeof(b), "00 00 4004 00112233445566778899aabbccddeeff00112233");
    const struct ike_pld *p = helper_msg_pld_ok(&msg, IKE_PLD_NOTIFY, false, b, n);
    assert_int_equal(p->notify.type, IKE_N_NAT_DETECTION_SOURCE_IP);
    assert_int_equal(p->notify.protocol, 0);
    assert_int_equal(p->notify.spi_len, 0);
    assert_int_equal(p->notify.data.len, IKE_NAT_DETECTION_LEN);
    assert_int_equal(p->notify.data.ptr[19], 0x33);
    ike_msg_clear(&msg);
    helper_msg_pld_fail(IKE_PLD_NOTIFY, false, b, n - 1, IKE_E_MALFORMED,
                        "N(NAT_DETECTION_SOURCE_IP) data length 19 < 20");
    b[3] = 0x05; /* DESTINATION_IP, 21 octets */
    b[n] = 0;
    helper_msg_pld_fail(IKE_PLD_NOTIFY, false, b, n + 1, IKE_E_MALFORMED,
                        "N(NAT_DETECTION_DESTINATION_IP) data length 21 > 20");
}

static void test_cookie_limits(void **state)
{
    (void)state;
    uint8_t b[80] = {0, 0, 0x40, 0x06};
    struct ike_msg msg = {0};
    const struct ike_pld *p = helper_msg_pld_ok(&msg, IKE_PLD_NOTIFY, true, b, 4 + 64);
    assert_int_equal(p->notify.type, IKE_N_COOKIE);
    assert_int_equal(p->notify.data.len, 64);
    ike_msg_clear(&msg);
    helper_msg_pld_fail(IKE_PLD_NOTIFY, true, b, 4, IKE_E_MALFORMED,
                        "N(COOKIE) data length 0 < 1");
    helper_msg_pld_fail(IKE_PLD_NOTIFY, true, b, 4 + 65, IKE_E_MALFORMED,
                        "N(COOKIE) data length 65 > 64");
}

static void test_spi_sizes(void **state)
{
    (void)state;
    uint8_t b[32];
    struct ike_msg msg = {0};
    /* REKEY_SA for an ESP SA */
    size_t n = nbody(b, sizeof(b), "03 04 4009 c0ffee01");
    const struct ike_pld *p = helper_msg_pld_ok(&msg, IKE_PLD_NOTIFY, false, b, n);
    uint32_t spi = 0;
    assert_int_equal(ike_notify_get_spi(&p->notify, &spi, NULL), IKE_OK);
    assert_int_equal(spi, 0xc0ffee01);
    ike_msg_clear(&msg);
    /* IKE SPI of 8 octets accepted on an unlisted type */
    n = nbody(b, sizeof(b), "01 08 000b 0102030405060708");
    p = helper_msg_pld_ok(&msg, IKE_PLD_NOTIFY, false, b, n);
    assert_int_equal(p->notify.spi_len, 8);
    ike_msg_clear(&msg);
    n = nbody(b, sizeof(b), "03 03 4009 c0ffee");
    helper_msg_pld_fail(IKE_PLD_NOTIFY, false, b, n, IKE_E_MALFORMED,
                        "N(REKEY_SA) SPI size 3 invalid for protocol 3");
    n = nbody(b, sizeof(b), "03 08 0027 0102030405060708");
    helper_msg_pld_fail(IKE_PLD_NOTIFY, false, b, n, IKE_E_MALFORMED,
                        "N(INVALID_SELECTORS) SPI size 8 invalid for protocol 3");
    n = nbody(b, sizeof(b), "03 04 002c c0ff");
    helper_msg_pld_fail(IKE_PLD_NOTIFY, false, b, n, IKE_E_MALFORMED,
                        "N(CHILD_SA_NOT_FOUND) SPI size 4 > 2 octets left");
    n = nbody(b, sizeof(b), "00 00 4009");
    helper_msg_pld_fail(IKE_PLD_NOTIFY, false, b, n, IKE_E_MALFORMED,
                        "N(REKEY_SA) needs an AH/ESP SPI of 4 octets, has protocol 0 SPI size 0");
    helper_msg_pld_fail(IKE_PLD_NOTIFY, false, b, 3, IKE_E_MALFORMED,
                        "N payload body 3 < fixed part 4");
}

static void test_protocol_kept_without_spi(void **state)
{
    (void)state;
    uint8_t b[8];
    struct ike_msg msg = {0};
    /* "MUST be sent as zero and MUST be ignored on receipt": accepted, and
     * kept so the message re-encodes to the same bytes. */
    size_t n = nbody(b, sizeof(b), "01 00 4000");
    const struct ike_pld *p = helper_msg_pld_ok(&msg, IKE_PLD_NOTIFY, false, b, n);
    assert_int_equal(p->notify.type, IKE_N_INITIAL_CONTACT);
    assert_int_equal(p->notify.protocol, IKE_PROTO_IKE);
    ike_msg_clear(&msg);
}

static void test_empty_formats(void **state)
{
    (void)state;
    static const uint16_t empty[] = {
        IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, IKE_N_IKEV2_MESSAGE_ID_SYNC_SUPPORTED,
        IKE_N_IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED, IKE_N_INITIAL_CONTACT,
        IKE_N_USE_TRANSPORT_MODE, IKE_N_ESP_TFC_PADDING_NOT_SUPPORTED,
        IKE_N_NON_FIRST_FRAGMENTS_ALSO, IKE_N_MOBIKE_SUPPORTED};
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
        uint8_t b[5] = {0, 0, (uint8_t)(empty[i] >> 8), (uint8_t)empty[i], 0x99};
        struct ike_msg msg = {0};
        const struct ike_pld *p = helper_msg_pld_ok(&msg, IKE_PLD_NOTIFY, false, b, 4);
        assert_int_equal(p->notify.data.len, 0);
        ike_msg_clear(&msg);
        char want[96];
        snprintf(want, sizeof(want), "N(%s) data length 1 > 0", ike_notify_name(empty[i]));
        helper_msg_pld_fail(IKE_PLD_NOTIFY, false, b, 5, IKE_E_MALFORMED, want);
    }
}

static void test_fixed_formats_malformed(void **state)
{
    (void)state;
    uint8_t b[32];
    size_t n = nbody(b, sizeof(b), "00 00 0011 001300");
    helper_msg_pld_fail(IKE_PLD_NOTIFY, true, b, n, IKE_E_MALFORMED,
                        "N(INVALID_KE_PAYLOAD) data length 3 > 2");
    n = nbody(b, sizeof(b), "00 00 0001");
    helper_msg_pld_fail(IKE_PLD_NOTIFY, true, b, n, IKE_E_MALFORMED,
                        "N(UNSUPPORTED_CRITICAL_PAYLOAD) data length 0 < 1");
    n = nbody(b, sizeof(b), "00 00 4026 0102030400000001000000");
    helper_msg_pld_fail(IKE_PLD_NOTIFY, false, b, n, IKE_E_MALFORMED,
                        "N(IKEV2_MESSAGE_ID_SYNC) data length 11 < 12");
    n = nbody(b, sizeof(b), "00 00 4027 01020304");
    helper_msg_pld_fail(IKE_PLD_NOTIFY, false, b, n, IKE_E_MALFORMED,
                        "N(IPSEC_REPLAY_COUNTER_SYNC) data length 4 < 8");
    n = nbody(b, sizeof(b), "00 00 402f 000200");
    helper_msg_pld_fail(IKE_PLD_NOTIFY, false, b, n, IKE_E_MALFORMED,
                        "N(SIGNATURE_HASH_ALGORITHMS) data length 3 is odd");
    n = nbody(b, sizeof(b), "00 00 4001 000000");
    helper_msg_pld_fail(IKE_PLD_NOTIFY, false, b, n, IKE_E_MALFORMED,
                        "N(SET_WINDOW_SIZE) data length 3 < 4");
}

static void test_unknown_type_passes(void **state)
{
    (void)state;
    uint8_t b[16];
    struct ike_msg msg = {0};
    size_t n = nbody(b, sizeof(b), "00 00 a000 0102030405"); /* private use */
    const struct ike_pld *p = helper_msg_pld_ok(&msg, IKE_PLD_NOTIFY, false, b, n);
    assert_int_equal(p->notify.type, 0xa000);
    assert_string_equal(ike_notify_name(0xa000), "UNKNOWN");
    ike_msg_clear(&msg);
}

/* Every format builder, then encode -> decode -> typed reader. */
static void test_builders_and_readers(void **state)
{
    (void)state;
    const uint8_t natd[IKE_NAT_DETECTION_LEN] = {1, 2, 3};
    const uint8_t cookie[8] = {0xc0, 0x0c, 0x1e};
    struct ike_n_msgid_sync sync = {{0xde, 0xad, 0xbe, 0xef}, 0x10, 0x22};
    struct ike_msg msg, dec;
    ike_msg_init(&msg, SPI_I, NULL, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_INITIATOR, 0);
    ike_msg_add_notify(&msg, IKE_N_NAT_DETECTION_DESTINATION_IP, natd, sizeof(natd));
    ike_msg_add_notify(&msg, IKE_N_COOKIE, cookie, sizeof(cookie));
    ike_msg_add_notify(&msg, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
    ike_msg_add_n_invalid_ke(&msg, IKE_DH_CURVE25519);
    ike_msg_add_n_unsupported_critical(&msg, 200);
    ike_msg_add_n_rekey_sa(&msg, IKE_PROTO_ESP, 0xcafe0001);
    ike_msg_add_n_msgid_sync(&msg, &sync);
    assert_non_null(ike_msg_add_n_replay_sync(&msg, 0x0000000100000000ULL));
    helper_msg_reencode(&msg, &dec);
    assert_int_equal(dec.n_payloads, 8);

    struct ike_diag diag = {0};
    const struct ike_pld *p = ike_msg_find_notify(&dec, IKE_N_NAT_DETECTION_DESTINATION_IP);
    assert_non_null(p);
    assert_memory_equal(p->notify.data.ptr, natd, sizeof(natd));
    p = ike_msg_find_notify(&dec, IKE_N_COOKIE);
    assert_int_equal(p->notify.data.len, 8);
    assert_non_null(ike_msg_find_notify(&dec, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED));
    uint16_t group = 0;
    p = ike_msg_find_notify(&dec, IKE_N_INVALID_KE_PAYLOAD);
    assert_int_equal(ike_notify_get_group(&p->notify, &group, &diag), IKE_OK);
    assert_int_equal(group, IKE_DH_CURVE25519);
    uint8_t crit = 0;
    p = ike_msg_find_notify(&dec, IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD);
    assert_int_equal(ike_notify_get_critical_type(&p->notify, &crit, &diag), IKE_OK);
    assert_int_equal(crit, 200);
    uint32_t spi = 0;
    p = ike_msg_find_notify(&dec, IKE_N_REKEY_SA);
    assert_int_equal(p->notify.protocol, IKE_PROTO_ESP);
    assert_int_equal(ike_notify_get_spi(&p->notify, &spi, &diag), IKE_OK);
    assert_int_equal(spi, 0xcafe0001);
    struct ike_n_msgid_sync got = {0};
    p = ike_msg_find_notify(&dec, IKE_N_IKEV2_MESSAGE_ID_SYNC);
    assert_int_equal(ike_notify_get_msgid_sync(&p->notify, &got, &diag), IKE_OK);
    assert_memory_equal(got.nonce, sync.nonce, 4);
    assert_int_equal(got.expected_send_req_message_id, 0x10);
    assert_int_equal(got.expected_recv_req_message_id, 0x22);
    /* wire layout: nonce, then send, then receive, big-endian */
    const uint8_t wire[12] = {0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0x10, 0, 0, 0, 0x22};
    assert_memory_equal(p->notify.data.ptr, wire, 12);
    uint64_t delta = 0;
    p = ike_msg_find_notify(&dec, IKE_N_IPSEC_REPLAY_COUNTER_SYNC);
    assert_int_equal(ike_notify_get_replay_sync(&p->notify, &delta, &diag), IKE_OK);
    assert_true(delta == 0x0000000100000000ULL);

    /* A reader applied to the wrong type refuses. */
    assert_int_equal(ike_notify_get_group(&p->notify, &group, &diag), IKE_E_INVALID_ARG);
    assert_non_null(
        strstr(diag.reason, "N(IPSEC_REPLAY_COUNTER_SYNC) read as N(INVALID_KE_PAYLOAD)"));
    assert_int_equal(ike_notify_get_spi(&p->notify, &spi, &diag), IKE_E_INVALID_ARG);
    assert_non_null(strstr(diag.reason, "carries no Child SA SPI"));
    ike_msg_clear(&dec);
    ike_msg_clear(&msg);
}

static void test_reader_rechecks_built_data(void **state)
{
    (void)state;
    struct ike_pld_notify n = {.type = IKE_N_INVALID_KE_PAYLOAD};
    const uint8_t one = 1;
    n.data = (struct ike_slice){&one, 1};
    uint16_t group = 7;
    struct ike_diag diag = {0};
    assert_int_equal(ike_notify_get_group(&n, &group, &diag), IKE_E_MALFORMED);
    assert_int_equal(group, 7);
    assert_non_null(strstr(diag.reason, "data length 1 < 2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_nat_detection),
        cmocka_unit_test(test_cookie_limits),
        cmocka_unit_test(test_spi_sizes),
        cmocka_unit_test(test_protocol_kept_without_spi),
        cmocka_unit_test(test_empty_formats),
        cmocka_unit_test(test_fixed_formats_malformed),
        cmocka_unit_test(test_unknown_type_passes),
        cmocka_unit_test(test_builders_and_readers),
        cmocka_unit_test(test_reader_rechecks_built_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
