/* IKEv2 ESP transforms -> the kernel's crypto template names (see dp_xfrm.h). */
#include <stdio.h>
#include <string.h>

#include <ike/const.h>

#include "dp_xfrm.h"

#define XF_SALT_LEN 4 /* RFC 4106 §8.1, RFC 7634 §2 */

static int map_encr(uint16_t id, uint16_t key_bits, struct xf_alg *a, char *err, size_t errlen)
{
    switch (id) {
    case IKE_ENCR_AES_GCM_16:
    case IKE_ENCR_AES_GCM_12:
    case IKE_ENCR_AES_GCM_8:
        if (key_bits != 128 && key_bits != 192 && key_bits != 256)
            break;
        a->aead = true;
        snprintf(a->enc, sizeof(a->enc), "rfc4106(gcm(aes))");
        a->icv_bits = id == IKE_ENCR_AES_GCM_16 ? 128 : id == IKE_ENCR_AES_GCM_12 ? 96 : 64;
        a->enc_key_len = key_bits / 8 + XF_SALT_LEN;
        return 0;
    case IKE_ENCR_CHACHA20_POLY1305:
        if (key_bits != 256 && key_bits != 0) /* no Key Length attribute (RFC 7634 §4) */
            break;
        a->aead = true;
        snprintf(a->enc, sizeof(a->enc), "rfc7539esp(chacha20,poly1305)");
        a->icv_bits = 128;
        a->enc_key_len = 32 + XF_SALT_LEN;
        return 0;
    case IKE_ENCR_AES_CBC:
        if (key_bits != 128 && key_bits != 192 && key_bits != 256)
            break;
        snprintf(a->enc, sizeof(a->enc), "cbc(aes)");
        a->enc_key_len = key_bits / 8;
        return 0;
    default:
        snprintf(err, errlen,
                 "ESP encryption transform %u is not supported by the kernel data "
                 "plane",
                 id);
        return -1;
    }
    snprintf(err, errlen, "ESP encryption transform %u with a %u-bit key is not supported", id,
             key_bits);
    return -1;
}

static int map_integ(uint16_t id, struct xf_alg *a, char *err, size_t errlen)
{
    static const struct {
        uint16_t id;
        const char *name;
        unsigned trunc, key;
    } t[] = {
        {IKE_INTEG_HMAC_SHA1_96, "hmac(sha1)", 96, 20},         /* RFC 2404 */
        {IKE_INTEG_HMAC_SHA2_256_128, "hmac(sha256)", 128, 32}, /* RFC 4868 */
        {IKE_INTEG_HMAC_SHA2_384_192, "hmac(sha384)", 192, 48},
        {IKE_INTEG_HMAC_SHA2_512_256, "hmac(sha512)", 256, 64},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (t[i].id == id) {
            snprintf(a->auth, sizeof(a->auth), "%s", t[i].name);
            a->trunc_bits = t[i].trunc;
            a->auth_key_len = t[i].key;
            return 0;
        }
    snprintf(err, errlen, "ESP integrity transform %u is not supported by the kernel data plane",
             id);
    return -1;
}

int xf_alg_map(uint16_t encr_id, uint16_t encr_key_bits, uint16_t integ_id, struct xf_alg *out,
               char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (map_encr(encr_id, encr_key_bits, out, err, errlen) < 0)
        return -1;
    if (out->aead) {
        if (integ_id != IKE_INTEG_NONE) {
            snprintf(err, errlen, "an AEAD (transform %u) with integrity transform %u", encr_id,
                     integ_id);
            return -1;
        }
        return 0;
    }
    if (integ_id == IKE_INTEG_NONE) {
        snprintf(err, errlen, "encryption transform %u needs an integrity transform", encr_id);
        return -1;
    }
    return map_integ(integ_id, out, err, errlen);
}
