#include "kat_suite.h"

#include <stdio.h>
#include <string.h>

#include <ike/const.h>
#include <ike/transform.h>

static const uint16_t encr_ids[] = {IKE_ENCR_AES_CBC, IKE_ENCR_AES_GCM_16,
                                    IKE_ENCR_CHACHA20_POLY1305};
static const uint16_t key_bits[] = {0, 128, 192, 256};
static const uint16_t integ_ids[] = {IKE_INTEG_HMAC_SHA1_96, IKE_INTEG_HMAC_SHA2_256_128,
                                     IKE_INTEG_HMAC_SHA2_384_192, IKE_INTEG_HMAC_SHA2_512_256};
/* strongSwan's default PRF for a suite without one follows the integrity
 * algorithm: same index as integ_ids. */
static const uint16_t prf_ids[] = {IKE_PRF_HMAC_SHA1, IKE_PRF_HMAC_SHA2_256,
                                   IKE_PRF_HMAC_SHA2_384, IKE_PRF_HMAC_SHA2_512};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int is(const char *name, const char *tok)
{
    return name && strcmp(name, tok) == 0;
}

static int match_token(const char *tok, struct kat_suite *s)
{
    for (size_t i = 0; i < N(encr_ids); i++)
        for (size_t k = 0; k < N(key_bits); k++)
            if (is(ike_encr_name(encr_ids[i], key_bits[k]), tok)) {
                s->encr_id = encr_ids[i];
                s->encr_key_bits = key_bits[k];
                return 0;
            }
    for (size_t i = 0; i < N(integ_ids); i++) {
        if (is(ike_integ_name(integ_ids[i]), tok)) {
            s->integ_id = integ_ids[i];
            if (!s->prf_id)
                s->prf_id = prf_ids[i];
            return 0;
        }
        if (is(ike_prf_name(prf_ids[i]), tok)) {
            s->prf_id = prf_ids[i];
            return 0;
        }
    }
    for (uint16_t g = 1; g < 64; g++)
        if (is(ike_dh_name(g), tok)) {
            s->dh_id = g;
            return 0;
        }
    fprintf(stderr, "kat: unknown algorithm '%s' in suite\n", tok);
    return -1;
}

int kat_suite_parse(const char *text, struct kat_suite *out)
{
    memset(out, 0, sizeof(*out));
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", text);
    char *save = NULL;
    for (char *tok = strtok_r(buf, "-", &save); tok; tok = strtok_r(NULL, "-", &save))
        if (match_token(tok, out) != 0)
            return -1;
    if (!out->encr_id || !out->prf_id || !out->dh_id) {
        fprintf(stderr, "kat: suite '%s' lacks encryption, PRF or DH group\n", text);
        return -1;
    }
    return 0;
}
