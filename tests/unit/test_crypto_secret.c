/*
 * struct ike_secret (allocation, copies, bounds) and nonces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <ike/const.h>
#include <ike/nonce.h>
#include <ike/secret.h>

static void test_secret_new_from_dup(void **state)
{
    struct ike_secret *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(ike_secret_new(40, &a), IKE_OK);
    assert_int_equal(a->len, 40);
    for (size_t i = 0; i < 40; i++)
        assert_int_equal(a->data[i], 0);
    static const uint8_t bytes[] = {1, 2, 3, 4, 5};
    assert_int_equal(ike_secret_from(bytes, sizeof(bytes), &b), IKE_OK);
    assert_int_equal(b->len, 5);
    assert_memory_equal(b->data, bytes, 5);
    assert_int_equal(ike_secret_dup(b, &c), IKE_OK);
    assert_true(c != b);
    assert_true(ike_secret_equal(b, c));
    c->data[4] ^= 1;
    assert_false(ike_secret_equal(b, c));
    assert_false(ike_secret_equal(a, b));
    ike_secret_free(a);
    ike_secret_free(b);
    ike_secret_free(c);
    ike_secret_free(NULL);

    struct ike_secret *empty = NULL;
    assert_int_equal(ike_secret_from(NULL, 0, &empty), IKE_OK);
    assert_int_equal(empty->len, 0);
    ike_secret_free(empty);
    assert_int_equal(ike_secret_from(NULL, 3, &empty), IKE_E_INVALID_ARG);
    assert_null(empty);
    assert_int_equal(ike_secret_new(IKE_SECRET_MAX + 1, &empty), IKE_E_TOO_BIG);
    assert_null(empty);
}

static void test_secret_concat_slice(void **state)
{
    struct ike_secret *a = NULL, *b = NULL, *ab = NULL, *s = NULL;
    assert_int_equal(ike_secret_from((const uint8_t *)"abc", 3, &a), IKE_OK);
    assert_int_equal(ike_secret_from((const uint8_t *)"defgh", 5, &b), IKE_OK);
    assert_int_equal(ike_secret_concat(a, b, &ab), IKE_OK);
    assert_int_equal(ab->len, 8);
    assert_memory_equal(ab->data, "abcdefgh", 8);

    assert_int_equal(ike_secret_slice(ab, 2, 4, &s), IKE_OK);
    assert_int_equal(s->len, 4);
    assert_memory_equal(s->data, "cdef", 4);
    ike_secret_free(s);
    assert_int_equal(ike_secret_slice(ab, 8, 0, &s), IKE_OK);
    assert_int_equal(s->len, 0);
    ike_secret_free(s);
    /* Outside the secret, including a length that would wrap off + len. */
    assert_int_equal(ike_secret_slice(ab, 5, 4, &s), IKE_E_INVALID_ARG);
    assert_null(s);
    assert_int_equal(ike_secret_slice(ab, 9, 0, &s), IKE_E_INVALID_ARG);
    assert_int_equal(ike_secret_slice(ab, 1, SIZE_MAX, &s), IKE_E_INVALID_ARG);
    assert_null(s);
    ike_secret_free(a);
    ike_secret_free(b);
    ike_secret_free(ab);
}

static void test_nonce(void **state)
{
    uint8_t a[IKE_NONCE_MAX], b[IKE_NONCE_MAX];
    assert_int_equal(ike_nonce_generate(a, IKE_NONCE_MIN - 1), IKE_E_INVALID_ARG);
    assert_int_equal(ike_nonce_generate(a, IKE_NONCE_MAX + 1), IKE_E_INVALID_ARG);
    assert_int_equal(ike_nonce_generate(a, IKE_NONCE_MIN), IKE_OK);
    assert_int_equal(ike_nonce_generate(a, IKE_NONCE_MAX), IKE_OK);
    assert_int_equal(ike_nonce_generate(b, IKE_NONCE_MAX), IKE_OK);
    assert_memory_not_equal(a, b, IKE_NONCE_MAX);

    assert_int_equal(ike_nonce_len(IKE_PRF_HMAC_SHA1), 32);
    assert_int_equal(ike_nonce_len(IKE_PRF_HMAC_SHA2_256), 32);
    assert_int_equal(ike_nonce_len(IKE_PRF_HMAC_SHA2_384), 48);
    assert_int_equal(ike_nonce_len(IKE_PRF_HMAC_SHA2_512), 64);
    assert_int_equal(ike_nonce_len(IKE_PRF_HMAC_MD5), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_new_from_dup),
        cmocka_unit_test(test_secret_concat_slice),
        cmocka_unit_test(test_nonce),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
