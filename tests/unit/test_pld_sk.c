/* SK (RFC 7296 §3.14) and SKF (RFC 7383 §2.5) framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helper_msg.h"

/* An IKE_AUTH request with one payload `type` (next = next) + body. */
static size_t auth_frame(uint8_t *out, size_t cap, uint8_t type, uint8_t next,
                         const uint8_t *body, size_t len, const uint8_t *extra, size_t extra_len)
{
    uint8_t pld[512];
    size_t n = helper_msg_pld(pld, next, 0, body, len);
    if (extra_len)
        memcpy(pld + n, extra, extra_len);
    return helper_msg_frame(out, cap, IKE_EXCH_IKE_AUTH, IKE_FLAG_INITIATOR, true, type, pld,
                            n + extra_len);
}

static void test_sk(void **state)
{
    (void)state;
    uint8_t body[40], frame[256];
    struct ike_msg msg = {0};
    struct ike_diag diag = {0};
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t)i;
    size_t n = auth_frame(frame, sizeof(frame), IKE_PLD_SK, IKE_PLD_IDI, body, sizeof(body),
                          NULL, 0);
    assert_int_equal(ike_msg_decode(&msg, frame, n, &diag), IKE_OK);
    assert_non_null(msg.sk);
    assert_ptr_equal(msg.sk, msg.first);
    assert_int_equal(msg.sk->type, IKE_PLD_SK);
    assert_int_equal(msg.sk->offset, IKE_HDR_LEN);
    assert_int_equal(msg.sk->sk.first_inner, IKE_PLD_IDI);
    assert_int_equal(msg.sk->sk.body_off, IKE_HDR_LEN + 4);
    assert_int_equal(msg.sk->sk.body.len, 40);
    assert_memory_equal(msg.sk->sk.body.ptr, body, 40);
    /* the body sits in msg->raw at body_off: AAD is raw[0..body_off) */
    assert_ptr_equal(msg.sk->sk.body.ptr, msg.raw.ptr + msg.sk->sk.body_off);
    assert_false(msg.inner_decoded);
    ike_msg_clear(&msg);
    helper_msg_roundtrip(frame, n);
}

static void test_skf(void **state)
{
    (void)state;
    uint8_t body[40] = {0, 2, 0, 3}, frame[256];
    struct ike_msg msg = {0};
    struct ike_diag diag = {0};
    size_t n = auth_frame(frame, sizeof(frame), IKE_PLD_SKF, IKE_PLD_NONE, body, sizeof(body),
                          NULL, 0);
    assert_int_equal(ike_msg_decode(&msg, frame, n, &diag), IKE_OK);
    assert_int_equal(msg.sk->type, IKE_PLD_SKF);
    assert_int_equal(msg.sk->sk.frag_num, 2);
    assert_int_equal(msg.sk->sk.frag_total, 3);
    assert_int_equal(msg.sk->sk.first_inner, IKE_PLD_NONE);
    assert_int_equal(msg.sk->sk.body_off, IKE_HDR_LEN + 8);
    assert_int_equal(msg.sk->sk.body.len, 36);
    ike_msg_clear(&msg);
    helper_msg_roundtrip(frame, n);

    body[1] = 0;
    n = auth_frame(frame, sizeof(frame), IKE_PLD_SKF, IKE_PLD_NONE, body, sizeof(body), NULL, 0);
    helper_msg_expect_fail(frame, n, IKE_E_MALFORMED, "SKF fragment number 0 not in 1..total 3");
    body[1] = 4;
    n = auth_frame(frame, sizeof(frame), IKE_PLD_SKF, IKE_PLD_NONE, body, sizeof(body), NULL, 0);
    helper_msg_expect_fail(frame, n, IKE_E_MALFORMED, "SKF fragment number 4 not in 1..total 3");
    body[1] = 1;
    body[3] = 0;
    n = auth_frame(frame, sizeof(frame), IKE_PLD_SKF, IKE_PLD_NONE, body, sizeof(body), NULL, 0);
    helper_msg_expect_fail(frame, n, IKE_E_MALFORMED, "SKF fragment number 1 not in 1..total 0");
    n = auth_frame(frame, sizeof(frame), IKE_PLD_SKF, IKE_PLD_NONE, body, 2, NULL, 0);
    helper_msg_expect_fail(frame, n, IKE_E_MALFORMED, "SKF payload body 2 < fixed part 4");
    body[3] = 1;
    n = auth_frame(frame, sizeof(frame), IKE_PLD_SKF, IKE_PLD_NONE, body, 4, NULL, 0);
    helper_msg_expect_fail(frame, n, IKE_E_MALFORMED, "SKF payload with empty body");
}

static void test_sk_must_be_last(void **state)
{
    (void)state;
    uint8_t body[20] = {0}, frame[256];
    const uint8_t extra[8] = {0, 0, 0, 8, 1, 2, 3, 4};
    size_t n = auth_frame(frame, sizeof(frame), IKE_PLD_SK, IKE_PLD_NONCE, body, sizeof(body),
                          extra, sizeof(extra));
    helper_msg_expect_fail(frame, n, IKE_E_MALFORMED, "SK payload must be last: 8 octets follow");
    n = auth_frame(frame, sizeof(frame), IKE_PLD_SK, IKE_PLD_NONCE, body, 0, NULL, 0);
    helper_msg_expect_fail(frame, n, IKE_E_MALFORMED, "SK payload with empty body");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sk),
        cmocka_unit_test(test_skf),
        cmocka_unit_test(test_sk_must_be_last),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
