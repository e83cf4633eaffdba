/*
 * ike_kat_check DIR: the end-to-end known-answer test against a real
 * strongSwan exchange captured by scripts/capture-strongswan. From the
 * values charon logged (nonces, SPIs, DH shared secrets) it derives
 * SKEYSEED, SK_* and both CHILD_SAs' KEYMAT with libike and requires them
 * identical to charon's; then it decodes, re-encodes, decrypts and checks
 * every captured datagram and verifies both PSK AUTH payloads.
 * Exit 0 only if every check passed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ike/transform.h>

#include "kat.h"

void kat_ok(struct kat_ctx *k, const char *what)
{
    k->checks++;
    printf("ok   %s\n", what);
}

void kat_fail(struct kat_ctx *k, const char *what, const char *fmt, ...)
{
    k->checks++;
    k->failures++;
    printf("FAIL %s: ", what);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

const struct kat_value *kat_need(struct kat_ctx *k, const char *key)
{
    const struct kat_value *v = kat_values_get(&k->vals, key);
    if (!v)
        kat_fail(k, key, "missing from values.txt");
    return v;
}

void kat_expect(struct kat_ctx *k, const char *key, const uint8_t *got, size_t got_len)
{
    const struct kat_value *v = kat_need(k, key);
    if (!v)
        return;
    char label[96];
    snprintf(label, sizeof(label), "%s matches strongSwan (%zu octets)", key, got_len);
    if (!got)
        kat_fail(k, label, "not derived");
    else if (v->len != got_len)
        kat_fail(k, label, "length %zu, strongSwan logged %zu", got_len, v->len);
    else if (got_len && memcmp(v->bytes, got, got_len) != 0)
        kat_fail(k, label, "value differs");
    else
        kat_ok(k, label);
}

static int setup(struct kat_ctx *k, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/values.txt", dir);
    if (kat_values_load(path, &k->vals) != 0) {
        fprintf(stderr, "ike_kat_check: cannot load %s\n", path);
        return -1;
    }
    const struct kat_value *suite = kat_values_get(&k->vals, "suite");
    if (!suite || kat_suite_parse(suite->text, &k->suite) != 0)
        return -1;
    if (ike_prf_new(k->suite.prf_id, &k->prf) != IKE_OK) {
        fprintf(stderr, "ike_kat_check: PRF %u unsupported\n", k->suite.prf_id);
        return -1;
    }
    printf("suite %s: %s %s %s %s\n", suite->text,
           ike_encr_name(k->suite.encr_id, k->suite.encr_key_bits),
           k->suite.integ_id ? ike_integ_name(k->suite.integ_id) : "(aead)",
           ike_prf_name(k->suite.prf_id), ike_dh_name(k->suite.dh_id));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: ike_kat_check FIXTURE_DIR\n");
        return 2;
    }
    struct kat_ctx k = {.dir = argv[1]};
    int rc = setup(&k, argv[1]);
    if (rc == 0) {
        kat_check_ike_keys(&k);
        kat_check_child_keys(&k);
        kat_check_messages(&k);
        printf("%u passed, %u failed\n", k.checks - k.failures, k.failures);
        rc = k.failures || k.checks == 0 ? 1 : 0;
    } else {
        rc = 1;
    }
    ike_keys_sa_clear(&k.keys);
    ike_prf_free(k.prf);
    kat_values_free(&k.vals);
    return rc;
}
