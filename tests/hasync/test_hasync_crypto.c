/* The plaintext-ring decision (hasync_crypto_judge). The cmap read itself is
 * covered by the lab test against a running corosync. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hasync_crypto.h"

static enum hasync_crypto_verdict judge(const char *transport, const char *cipher, const char *hash,
                                        bool allow, char *why)
{
    struct hasync_ring_crypto rc;

    memset(&rc, 0, sizeof(rc));
    strcpy(rc.transport, transport);
    strcpy(rc.cipher, cipher);
    strcpy(rc.hash, hash);
    return hasync_crypto_judge(&rc, allow, why, 256);
}

static void test_judge(void **state)
{
    char why[256];

    (void)state;
    assert_int_equal(judge("knet", "aes256", "sha256", false, why), HASYNC_CRYPTO_OK);
    assert_non_null(strstr(why, "aes256"));
    assert_int_equal(judge("", "aes128", "sha1", false, why), HASYNC_CRYPTO_OK);
    assert_int_equal(judge("knet", "none", "none", false, why), HASYNC_CRYPTO_REFUSED);
    assert_non_null(strstr(why, "allow_plaintext_sync"));
    assert_int_equal(judge("knet", "", "", false, why), HASYNC_CRYPTO_REFUSED);
    assert_int_equal(judge("knet", "aes256", "none", false, why), HASYNC_CRYPTO_REFUSED);
    assert_int_equal(judge("udpu", "aes256", "sha256", false, why), HASYNC_CRYPTO_REFUSED);
    assert_int_equal(judge("knet", "none", "none", true, why), HASYNC_CRYPTO_PLAINTEXT_ALLOWED);
    assert_non_null(strstr(why, "in the clear"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_judge)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
