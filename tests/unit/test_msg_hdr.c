/* IKE header (RFC 7296 §3.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helper_msg.h"

static size_t nonce_msg(uint8_t *b, size_t cap)
{
    uint8_t pld[64], nonce[16] = {0};
    size_t pl = helper_msg_pld(pld, IKE_PLD_NONE, 0, nonce, sizeof(nonce));
    return helper_msg_frame(b, cap, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_INITIATOR, false,
                            IKE_PLD_NONCE, pld, pl);
}

static void test_hdr_fields(void **state)
{
    (void)state;
    uint8_t b[128];
    struct ike_hdr hdr;
    struct ike_diag diag = {0};
    size_t n = nonce_msg(b, sizeof(b));
    b[19] = IKE_FLAG_RESPONSE | IKE_FLAG_VERSION;
    b[20] = 0x12;
    b[23] = 0x34;
    assert_int_equal(ike_hdr_decode(b, n, &hdr, &diag), IKE_OK);
    assert_int_equal(hdr.spi_i[7], 8);
    assert_int_equal(hdr.next_payload, IKE_PLD_NONCE);
    assert_int_equal(hdr.exchange, IKE_EXCH_IKE_SA_INIT);
    assert_int_equal(hdr.flags, IKE_FLAG_RESPONSE | IKE_FLAG_VERSION);
    assert_int_equal(hdr.message_id, 0x12000034);
    assert_int_equal(hdr.length, n);
    /* flags we do not know, and a minor version, are kept and ignored */
    b[17] = 0x21;
    b[19] |= 0x01;
    helper_msg_roundtrip(b, n);
}

static void test_truncated(void **state)
{
    (void)state;
    uint8_t b[128];
    struct ike_hdr hdr;
    struct ike_diag diag = {0};
    size_t n = nonce_msg(b, sizeof(b));
    helper_msg_expect_fail(b, 27, IKE_E_MALFORMED, "datagram 27 octets < IKE header 28");
    helper_msg_expect_fail(b, 0, IKE_E_MALFORMED, "datagram 0 octets < IKE header 28");
    assert_int_equal(ike_hdr_decode(NULL, n, &hdr, &diag), IKE_E_MALFORMED);
    assert_non_null(strstr(diag.reason, "datagram 0 octets"));
}

static void test_major_version(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = nonce_msg(b, sizeof(b));
    b[17] = 0x10;
    helper_msg_expect_fail(b, n, IKE_E_UNSUPPORTED,
                           "major version 1 (version octet 0x10): only 2 is supported");
    b[17] = 0x30;
    helper_msg_expect_fail(b, n, IKE_E_UNSUPPORTED, "major version 3");
    /* the header is still there to answer INVALID_MAJOR_VERSION with */
    struct ike_msg msg = {0};
    struct ike_diag diag = {0};
    assert_int_equal(ike_msg_decode(&msg, b, n, &diag), IKE_E_UNSUPPORTED);
    assert_int_equal(msg.hdr.exchange, IKE_EXCH_IKE_SA_INIT);
    assert_int_equal(msg.hdr.spi_i[0], 1);
    assert_int_equal(msg.n_payloads, 0);
    ike_msg_clear(&msg);
}

static void test_length_mismatch(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = nonce_msg(b, sizeof(b));
    helper_msg_expect_fail(b, n - 1, IKE_E_MALFORMED, "header length 48 != datagram length 47");
    b[27] = 40;
    helper_msg_expect_fail(b, n, IKE_E_MALFORMED, "header length 40 != datagram length 48");
    b[24] = 0x80;
    b[27] = (uint8_t)n;
    helper_msg_expect_fail(b, n, IKE_E_MALFORMED, "header length 2147483696 != datagram length 48");
}

static void test_too_long(void **state)
{
    (void)state;
    size_t n = 70000;
    uint8_t *b = calloc(1, n);
    assert_non_null(b);
    b[0] = 1;
    b[17] = IKE_VERSION_2;
    b[25] = (uint8_t)(n >> 16);
    b[26] = (uint8_t)(n >> 8);
    b[27] = (uint8_t)n;
    helper_msg_expect_fail(b, n, IKE_E_MALFORMED, "message length 70000 > max 65535");
    free(b);
}

static void test_zero_initiator_spi(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = nonce_msg(b, sizeof(b));
    memset(b, 0, 8);
    helper_msg_expect_fail(b, n, IKE_E_MALFORMED, "initiator SPI is zero");
}

static void test_encode_header(void **state)
{
    (void)state;
    const uint8_t spi_i[8] = {0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 1, 2};
    const uint8_t spi_r[8] = {3, 4, 5, 6, 7, 8, 9, 0};
    struct ike_msg msg;
    struct ike_diag diag = {0};
    uint8_t *out;
    size_t len;
    ike_msg_init(&msg, spi_i, spi_r, IKE_EXCH_INFORMATIONAL, IKE_FLAG_RESPONSE, 0x01020304);
    msg.add_inside_sk = false; /* plaintext for this test */
    ike_msg_add_notify(&msg, IKE_N_INITIAL_CONTACT, NULL, 0);
    assert_int_equal(ike_msg_encode(&msg, &out, &len, &diag), IKE_OK);
    assert_int_equal(len, 36);
    const uint8_t want[36] = {0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0,
                              IKE_PLD_NOTIFY, 0x20, 37, 0x20, 1, 2, 3, 4, 0, 0, 0, 36,
                              0, 0, 0, 8, 0, 0, 0x40, 0x00};
    assert_memory_equal(out, want, sizeof(want));
    ike_msg_free_buf(out, len);
    msg.hdr.version = 0x10;
    assert_int_equal(ike_msg_encode(&msg, &out, &len, &diag), IKE_E_INVALID_ARG);
    assert_non_null(strstr(diag.reason, "version octet 0x10 is not IKEv2"));
    ike_msg_clear(&msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hdr_fields),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_major_version),
        cmocka_unit_test(test_length_mismatch),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_zero_initiator_spi),
        cmocka_unit_test(test_encode_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
