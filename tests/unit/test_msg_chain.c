/* The generic payload header and the payload chain (RFC 7296 §3.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helper_msg.h"

static size_t frame(uint8_t *b, size_t cap, uint8_t first, const char *plds_hex)
{
    uint8_t plds[2048];
    size_t n = helper_msg_hex(plds_hex, plds, sizeof(plds));
    return helper_msg_frame(b, cap, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_INITIATOR, false, first, plds,
                            n);
}

#define NONCE16 "00112233445566778899aabbccddeeff"

static void test_generic_length_checks(void **state)
{
    (void)state;
    uint8_t b[256];
    size_t n = frame(b, sizeof(b), IKE_PLD_NOTIFY, "00 00 0003 00004000");
    helper_msg_expect_fail(b, n, IKE_E_MALFORMED, "N payload length 3 < generic header 4");
    n = frame(b, sizeof(b), IKE_PLD_NONCE, "00 00 0064" NONCE16);
    helper_msg_expect_fail(b, n, IKE_E_MALFORMED, "Nonce payload length 100 > 20 octets remaining");
    n = frame(b, sizeof(b), IKE_PLD_NONCE, "00 00");
    helper_msg_expect_fail(b, n, IKE_E_MALFORMED,
                           "Nonce payload (type 40): 2 octets left < generic header 4");
    /* the chain announces a next payload but the datagram ends */
    n = frame(b, sizeof(b), IKE_PLD_NONCE, "2b 00 0014" NONCE16);
    helper_msg_expect_fail(b, n, IKE_E_MALFORMED, "V payload (type 43): 0 octets left");
    /* bytes after the last payload */
    n = frame(b, sizeof(b), IKE_PLD_VENDOR, "00 00 0005 41 424344");
    helper_msg_expect_fail(b, n, IKE_E_MALFORMED, "3 octets after the last payload (V)");
    n = frame(b, sizeof(b), IKE_PLD_NONE, "00");
    helper_msg_expect_fail(b, n, IKE_E_MALFORMED, "1 octets after the last payload (none)");
}

static void test_payload_leftover(void **state)
{
    (void)state;
    uint8_t b[256];
    /* a TS payload whose selectors end before the payload does */
    size_t n = frame(b, sizeof(b), IKE_PLD_TSI,
                     "00 00 001c 01000000 07000010 0000ffff c0000200 c000027f 00000000");
    helper_msg_expect_fail(b, n, IKE_E_MALFORMED, "TSi payload: 4 octets left after 1 selectors");
}

static void test_unknown_critical(void **state)
{
    (void)state;
    uint8_t b[256];
    size_t n = frame(b, sizeof(b), 200, "00 80 0008 01020304");
    helper_msg_expect_fail(b, n, IKE_E_CRITICAL, "unknown payload type 200 with critical bit");
    struct ike_msg msg = {0};
    struct ike_diag diag = {0};
    assert_int_equal(ike_msg_decode(&msg, b, n, &diag), IKE_E_CRITICAL);
    assert_int_equal(diag.payload_type, 200);
    ike_msg_clear(&msg);
}

static void test_unknown_skipped(void **state)
{
    (void)state;
    uint8_t b[256];
    struct ike_msg msg = {0};
    struct ike_diag diag = {0};
    /* Nonce, an unknown payload 200 (critical bit clear), Vendor ID */
    size_t n = frame(b, sizeof(b), IKE_PLD_NONCE,
                     "c8 00 0014" NONCE16 "2b 00 0007 aabbcc 00 00 0005 56");
    assert_int_equal(ike_msg_decode(&msg, b, n, &diag), IKE_OK);
    assert_int_equal(msg.n_payloads, 3);
    assert_int_equal(msg.n_unknown, 1);
    const struct ike_pld *u = msg.first->next;
    assert_true(u->unknown);
    assert_int_equal(u->type, 200);
    assert_int_equal(u->raw.len, 3);
    assert_memory_equal(u->raw.ptr, "\xaa\xbb\xcc", 3);
    assert_ptr_equal(ike_msg_find(&msg, IKE_PLD_VENDOR), u->next);
    assert_int_equal(ike_msg_count(&msg, 200), 0); /* find() skips unknown payloads */
    char line[128];
    assert_string_equal(ike_msg_describe(&msg, line, sizeof(line)),
                        "IKE_SA_INIT request 0 [ Nonce UNKNOWN(200) V ]");
    ike_msg_clear(&msg);
    helper_msg_roundtrip(b, n);
}

static void test_ignored_bits(void **state)
{
    (void)state;
    uint8_t b[256];
    struct ike_msg msg = {0};
    struct ike_diag diag = {0};
    /* critical bit on a known payload and reserved bits: ignored */
    size_t n = frame(b, sizeof(b), IKE_PLD_NONCE, "00 ff 0014" NONCE16);
    assert_int_equal(ike_msg_decode(&msg, b, n, &diag), IKE_OK);
    assert_int_equal(msg.first->nonce.data.len, 16);
    uint8_t *out;
    size_t len;
    assert_int_equal(ike_msg_encode(&msg, &out, &len, &diag), IKE_OK);
    assert_int_equal(out[IKE_HDR_LEN + 1], 0); /* sent as zero */
    ike_msg_free_buf(out, len);
    ike_msg_clear(&msg);
}

static void test_empty_message(void **state)
{
    (void)state;
    uint8_t b[64];
    size_t n = frame(b, sizeof(b), IKE_PLD_NONE, "");
    helper_msg_roundtrip(b, n);
    /* decoding into a message that still owns memory is refused, not leaked */
    struct ike_msg msg = {0};
    struct ike_diag diag = {0};
    assert_int_equal(ike_msg_decode(&msg, b, n, &diag), IKE_OK);
    assert_int_equal(ike_msg_decode(&msg, b, n, &diag), IKE_E_INVALID_ARG);
    assert_non_null(strstr(diag.reason, "decode: message not cleared"));
    ike_msg_clear(&msg);
}

static void test_payload_cap(void **state)
{
    (void)state;
    size_t count = 257;
    uint8_t *plds = malloc(count * 4);
    uint8_t *b = malloc(count * 4 + IKE_HDR_LEN);
    assert_non_null(plds);
    assert_non_null(b);
    for (size_t i = 0; i < count; i++)
        helper_msg_pld(plds + 4 * i, i + 1 < count ? IKE_PLD_VENDOR : 0, 0, NULL, 0);
    size_t n = helper_msg_frame(b, count * 4 + IKE_HDR_LEN, IKE_EXCH_IKE_SA_INIT, 0, false,
                                IKE_PLD_VENDOR, plds, count * 4);
    helper_msg_expect_fail(b, n, IKE_E_MALFORMED, "more than 256 payloads in one message");
    n = helper_msg_frame(b, count * 4 + IKE_HDR_LEN, IKE_EXCH_IKE_SA_INIT, 0, false,
                         IKE_PLD_VENDOR, plds, (count - 1) * 4);
    b[IKE_HDR_LEN + (count - 2) * 4] = 0; /* 256th is the last */
    helper_msg_roundtrip(b, n);
    free(plds);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generic_length_checks),
        cmocka_unit_test(test_payload_leftover),
        cmocka_unit_test(test_unknown_critical),
        cmocka_unit_test(test_unknown_skipped),
        cmocka_unit_test(test_ignored_bits),
        cmocka_unit_test(test_empty_message),
        cmocka_unit_test(test_payload_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
