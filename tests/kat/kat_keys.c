/* Key derivation checks: SKEYSEED, SK_*, and both CHILD_SAs' KEYMAT
 * (the one from IKE_AUTH without PFS, the rekeyed one with PFS). */
#include <stdio.h>
#include <string.h>

#include <ike/transform.h>

#include "kat.h"

static struct ike_secret *secret_of(struct kat_ctx *k, const char *key)
{
    const struct kat_value *v = kat_need(k, key);
    struct ike_secret *s = NULL;
    if (v && v->bytes && ike_secret_from(v->bytes, v->len, &s) != IKE_OK)
        s = NULL;
    return s;
}

static void expect_secret(struct kat_ctx *k, const char *key, const struct ike_secret *s)
{
    kat_expect(k, key, s ? s->data : NULL, s ? s->len : 0);
}

void kat_check_ike_keys(struct kat_ctx *k)
{
    const struct kat_value *ni = kat_need(k, "ni"), *nr = kat_need(k, "nr");
    const struct kat_value *spi_i = kat_need(k, "spi_i"), *spi_r = kat_need(k, "spi_r");
    struct ike_secret *g_ir = secret_of(k, "g_ir");
    if (!ni || !nr || !spi_i || !spi_r || !g_ir || spi_i->len != 8 || spi_r->len != 8) {
        kat_fail(k, "IKE inputs", "nonces, SPIs or g_ir missing/invalid");
        ike_secret_free(g_ir);
        return;
    }
    struct ike_keys_nonces n = {ni->bytes, ni->len, nr->bytes, nr->len};
    struct ike_secret *skeyseed = NULL;
    if (ike_keys_skeyseed(k->prf, &n, g_ir, &skeyseed) != IKE_OK)
        kat_fail(k, "skeyseed", "derivation failed");
    else
        expect_secret(k, "skeyseed", skeyseed);

    struct ike_keys_suite ks = {k->suite.encr_id, k->suite.encr_key_bits, k->suite.integ_id};
    if (!skeyseed || ike_keys_sa_derive(k->prf, &ks, skeyseed, &n, spi_i->bytes, spi_r->bytes,
                                        &k->keys) != IKE_OK) {
        kat_fail(k, "SK_* keys", "derivation failed");
    } else {
        expect_secret(k, "sk_d", k->keys.sk_d);
        expect_secret(k, "sk_ai", k->keys.sk_ai);
        expect_secret(k, "sk_ar", k->keys.sk_ar);
        expect_secret(k, "sk_ei", k->keys.sk_ei);
        expect_secret(k, "sk_er", k->keys.sk_er);
        expect_secret(k, "sk_pi", k->keys.sk_pi);
        expect_secret(k, "sk_pr", k->keys.sk_pr);
    }
    ike_secret_free(skeyseed);
    ike_secret_free(g_ir);
}

/* One CHILD_SA's KEYMAT; prefix is "auth_child_" or "child_". The ESP
 * suite of the fixtures equals the IKE suite (see the fixture README). */
static void check_child(struct kat_ctx *k, const char *prefix, bool pfs)
{
    /* The CHILD_SA of IKE_AUTH reuses the IKE_SA_INIT nonces and has no DH. */
    char ni_key[64], nr_key[64], g_key[64], key[64];
    snprintf(ni_key, sizeof(ni_key), "%sni", pfs ? prefix : "");
    snprintf(nr_key, sizeof(nr_key), "%snr", pfs ? prefix : "");
    snprintf(g_key, sizeof(g_key), "%sg_ir", prefix);
    const struct kat_value *ni = kat_need(k, ni_key), *nr = kat_need(k, nr_key);
    struct ike_secret *g_ir = pfs ? secret_of(k, g_key) : NULL;
    if (!ni || !nr || (pfs && !g_ir) || !k->keys.sk_d) {
        kat_fail(k, prefix, "CHILD inputs missing");
        ike_secret_free(g_ir);
        return;
    }
    struct ike_keys_nonces n = {ni->bytes, ni->len, nr->bytes, nr->len};
    struct ike_keys_suite esp = {k->suite.encr_id, k->suite.encr_key_bits, k->suite.integ_id};
    struct ike_keys_child out = {0};
    if (ike_keys_child_derive(k->prf, &esp, k->keys.sk_d, g_ir, &n, &out) != IKE_OK) {
        kat_fail(k, prefix, "KEYMAT derivation failed");
    } else {
        const char *names[4] = {"encr_i", "integ_i", "encr_r", "integ_r"};
        struct ike_secret *got[4] = {out.encr_i, out.integ_i, out.encr_r, out.integ_r};
        for (int i = 0; i < 4; i++) {
            snprintf(key, sizeof(key), "%s%s", prefix, names[i]);
            expect_secret(k, key, got[i]);
        }
    }
    ike_keys_child_clear(&out);
    ike_secret_free(g_ir);
}

void kat_check_child_keys(struct kat_ctx *k)
{
    check_child(k, "auth_child_", false);
    check_child(k, "child_", true);
}
