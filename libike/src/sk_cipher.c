/*
 * SK payload crypto for one direction of one IKE SA (contract in
 * <ike/sk_cipher.h>). Everything OpenSSL needs is fetched and keyed once in
 * ike_sk_cipher_new: a cipher context per direction (CBC key schedules
 * differ for encryption and decryption) and, for encrypt-then-MAC, an HMAC
 * context. Per message only the IV is set and the MAC re-initialised.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <ike/const.h>
#include <ike/sk_cipher.h>

#include "transform_ossl.h"

#define SK_NONCE_MAX 12 /* salt (4) | iv (8) for the AEADs we implement */
#define SK_MAC_MAX   64

struct ike_sk_cipher {
    struct ike_encr_info encr;
    struct ike_integ_info integ; /* id IKE_INTEG_NONE for AEAD */
    EVP_CIPHER *cipher;
    EVP_CIPHER_CTX *seal_ctx;
    EVP_CIPHER_CTX *open_ctx;
    EVP_MAC *mac;
    EVP_MAC_CTX *mac_ctx;
    uint8_t salt[4];
    uint64_t iv_next; /* AEAD IV counter, starts at a random value */
    uint64_t iv_left; /* IVs that may still be issued before wrapping */
    uint8_t *scratch; /* AEAD open decrypts here until the tag checked out */
    size_t scratch_len;
};

static enum ike_status sk_lookup(struct ike_sk_cipher *c, uint16_t encr_id, uint16_t key_bits,
                                 uint16_t integ_id, size_t encr_key_len, size_t integ_key_len,
                                 struct ike_diag *diag)
{
    if (ike_encr_lookup(encr_id, key_bits, &c->encr) != IKE_OK)
        return ike_diag_fail(diag, IKE_E_UNSUPPORTED, "encryption %u/%u bits not supported",
                             encr_id, key_bits);
    if (encr_key_len != c->encr.key_len)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "%s key length %zu != %zu",
                             ike_encr_name(encr_id, key_bits), encr_key_len, c->encr.key_len);
    if (c->encr.aead) {
        if (integ_id != IKE_INTEG_NONE || integ_key_len != 0)
            return ike_diag_fail(diag, IKE_E_INVALID_ARG, "AEAD %s with integrity %u",
                                 ike_encr_name(encr_id, key_bits), integ_id);
        return IKE_OK;
    }
    if (ike_integ_lookup(integ_id, &c->integ) != IKE_OK)
        return ike_diag_fail(diag, IKE_E_UNSUPPORTED, "integrity %u not supported", integ_id);
    if (integ_key_len != c->integ.key_len)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "%s key length %zu != %zu",
                             ike_integ_name(integ_id), integ_key_len, c->integ.key_len);
    return IKE_OK;
}

static EVP_CIPHER_CTX *sk_cipher_ctx(const EVP_CIPHER *cipher, const uint8_t *key, int enc,
                                     bool aead)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx || !EVP_CipherInit_ex2(ctx, cipher, key, NULL, enc, NULL)) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    /* The SK layer pads itself (RFC 7296 §3.14); OpenSSL must not. */
    if (!aead)
        EVP_CIPHER_CTX_set_padding(ctx, 0);
    return ctx;
}

static enum ike_status sk_prepare(struct ike_sk_cipher *c, uint16_t key_bits,
                                  const uint8_t *encr_key, const uint8_t *integ_key)
{
    c->cipher = EVP_CIPHER_fetch(NULL, ike_encr_ossl_cipher(c->encr.id, key_bits), NULL);
    if (!c->cipher)
        return IKE_E_CRYPTO;
    /* AEAD key material is key | salt; the salt is the nonce prefix. */
    memcpy(c->salt, encr_key + c->encr.key_len - c->encr.salt_len, c->encr.salt_len);
    c->seal_ctx = sk_cipher_ctx(c->cipher, encr_key, 1, c->encr.aead);
    c->open_ctx = sk_cipher_ctx(c->cipher, encr_key, 0, c->encr.aead);
    if (!c->seal_ctx || !c->open_ctx)
        return IKE_E_CRYPTO;
    if (c->encr.aead) {
        c->iv_left = UINT64_MAX;
        if (RAND_bytes((uint8_t *)&c->iv_next, sizeof(c->iv_next)) != 1)
            return IKE_E_CRYPTO;
        return IKE_OK;
    }
    enum ike_status st = ike_hmac_ctx_new(ike_integ_ossl_digest(c->integ.id), &c->mac, &c->mac_ctx);
    if (st != IKE_OK)
        return st;
    return EVP_MAC_init(c->mac_ctx, integ_key, c->integ.key_len, NULL) ? IKE_OK : IKE_E_CRYPTO;
}

enum ike_status ike_sk_cipher_new(uint16_t encr_id, uint16_t key_bits, uint16_t integ_id,
                                  const uint8_t *encr_key, size_t encr_key_len,
                                  const uint8_t *integ_key, size_t integ_key_len,
                                  struct ike_sk_cipher **out, struct ike_diag *diag)
{
    *out = NULL;
    struct ike_sk_cipher *c = calloc(1, sizeof(*c));
    if (!c)
        return ike_diag_fail(diag, IKE_E_NOMEM, "no memory for SK cipher");
    enum ike_status st =
        sk_lookup(c, encr_id, key_bits, integ_id, encr_key_len, integ_key_len, diag);
    if (st == IKE_OK) {
        st = sk_prepare(c, key_bits, encr_key, integ_key);
        if (st != IKE_OK) {
            ERR_clear_error();
            ike_diag_fail(diag, st, "OpenSSL setup of %s failed", ike_encr_name(encr_id, key_bits));
        }
    }
    if (st != IKE_OK) {
        ike_sk_cipher_free(c);
        return st;
    }
    *out = c;
    return IKE_OK;
}

void ike_sk_cipher_free(struct ike_sk_cipher *c)
{
    if (!c)
        return;
    /* The OpenSSL contexts cleanse their key schedules on free. */
    EVP_CIPHER_CTX_free(c->seal_ctx);
    EVP_CIPHER_CTX_free(c->open_ctx);
    EVP_CIPHER_free(c->cipher);
    EVP_MAC_CTX_free(c->mac_ctx);
    EVP_MAC_free(c->mac);
    OPENSSL_clear_free(c->scratch, c->scratch_len);
    OPENSSL_cleanse(c->salt, sizeof(c->salt));
    free(c);
}

size_t ike_sk_cipher_iv_len(const struct ike_sk_cipher *c)
{
    return c->encr.iv_len;
}

size_t ike_sk_cipher_block_len(const struct ike_sk_cipher *c)
{
    return c->encr.block_len;
}

size_t ike_sk_cipher_icv_len(const struct ike_sk_cipher *c)
{
    return c->encr.aead ? c->encr.icv_len : c->integ.icv_len;
}

enum ike_status ike_sk_cipher_next_iv(struct ike_sk_cipher *c, uint8_t *iv)
{
    if (!c->encr.aead) {
        /* CBC needs an unpredictable IV (RFC 7296 §3.14). */
        if (RAND_bytes(iv, (int)c->encr.iv_len) != 1) {
            ERR_clear_error();
            return IKE_E_CRYPTO;
        }
        return IKE_OK;
    }
    /* AEAD needs a unique IV per key. A counter never repeats within this
     * object; the random start keeps a standby that rebuilt the SA after
     * failover (with its own new counter) from reusing the old range. */
    if (c->iv_left == 0)
        return IKE_E_TOO_BIG;
    c->iv_left--;
    uint64_t v = c->iv_next++;
    for (size_t i = 0; i < 8; i++)
        iv[i] = (uint8_t)(v >> (56 - 8 * i));
    return IKE_OK;
}

/* Sets the per-message IV: salt | iv for AEAD, iv for CBC. */
static int sk_set_iv(const struct ike_sk_cipher *c, EVP_CIPHER_CTX *ctx, const uint8_t *iv)
{
    if (!c->encr.aead)
        return EVP_CipherInit_ex2(ctx, NULL, NULL, iv, -1, NULL);
    uint8_t nonce[SK_NONCE_MAX];
    memcpy(nonce, c->salt, c->encr.salt_len);
    memcpy(nonce + c->encr.salt_len, iv, c->encr.iv_len);
    return EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, -1, NULL);
}

/* Runs len octets of in through ctx into out (in may equal out). */
static int sk_update(EVP_CIPHER_CTX *ctx, const uint8_t *in, size_t len, uint8_t *out)
{
    int n = 0;
    if (len > INT_MAX)
        return 0;
    if (len == 0)
        return 1;
    return EVP_CipherUpdate(ctx, out, &n, in, (int)len) && (size_t)n == len;
}

static int sk_final(EVP_CIPHER_CTX *ctx)
{
    uint8_t tail[EVP_MAX_BLOCK_LENGTH];
    int n = 0;
    return EVP_CipherFinal_ex(ctx, tail, &n) && n == 0;
}

static int sk_aad(EVP_CIPHER_CTX *ctx, const uint8_t *aad, size_t aad_len)
{
    int n = 0;
    if (aad_len == 0)
        return 1;
    return aad_len <= INT_MAX && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len);
}

/* Truncated HMAC(integ key, aad | iv | ct) into icv. */
static int sk_mac(struct ike_sk_cipher *c, const uint8_t *aad, size_t aad_len, const uint8_t *iv,
                  const uint8_t *ct, size_t ct_len, uint8_t *icv)
{
    uint8_t full[SK_MAC_MAX];
    size_t n = 0;
    int ok = EVP_MAC_init(c->mac_ctx, NULL, 0, NULL) && EVP_MAC_update(c->mac_ctx, aad, aad_len) &&
             EVP_MAC_update(c->mac_ctx, iv, c->encr.iv_len) &&
             EVP_MAC_update(c->mac_ctx, ct, ct_len) &&
             EVP_MAC_final(c->mac_ctx, full, &n, sizeof(full)) && n >= c->integ.icv_len;
    if (ok)
        memcpy(icv, full, c->integ.icv_len);
    return ok;
}

static enum ike_status sk_seal_aead(struct ike_sk_cipher *c, const uint8_t *aad, size_t aad_len,
                                    const uint8_t *iv, const uint8_t *pt, size_t pt_len,
                                    uint8_t *ct, uint8_t *icv)
{
    EVP_CIPHER_CTX *ctx = c->seal_ctx;
    OSSL_PARAM tag[] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, icv, c->encr.icv_len),
        OSSL_PARAM_construct_end(),
    };
    int ok = sk_set_iv(c, ctx, iv) && sk_aad(ctx, aad, aad_len) && sk_update(ctx, pt, pt_len, ct) &&
             sk_final(ctx) && EVP_CIPHER_CTX_get_params(ctx, tag);
    return ok ? IKE_OK : IKE_E_CRYPTO;
}

static enum ike_status sk_seal_cbc(struct ike_sk_cipher *c, const uint8_t *aad, size_t aad_len,
                                   const uint8_t *iv, const uint8_t *pt, size_t pt_len, uint8_t *ct,
                                   uint8_t *icv)
{
    EVP_CIPHER_CTX *ctx = c->seal_ctx;
    int ok = sk_set_iv(c, ctx, iv) && sk_update(ctx, pt, pt_len, ct) && sk_final(ctx) &&
             sk_mac(c, aad, aad_len, iv, ct, pt_len, icv);
    return ok ? IKE_OK : IKE_E_CRYPTO;
}

enum ike_status ike_sk_cipher_seal(struct ike_sk_cipher *c, const uint8_t *aad, size_t aad_len,
                                   const uint8_t *iv, const uint8_t *pt, size_t pt_len, uint8_t *ct,
                                   uint8_t *icv)
{
    if (pt_len % c->encr.block_len != 0)
        return IKE_E_INVALID_ARG;
    enum ike_status st = c->encr.aead ? sk_seal_aead(c, aad, aad_len, iv, pt, pt_len, ct, icv)
                                      : sk_seal_cbc(c, aad, aad_len, iv, pt, pt_len, ct, icv);
    if (st != IKE_OK)
        ERR_clear_error();
    return st;
}

static int sk_scratch(struct ike_sk_cipher *c, size_t len)
{
    if (len <= c->scratch_len)
        return 1;
    uint8_t *p = OPENSSL_zalloc(len);
    if (!p)
        return 0;
    OPENSSL_clear_free(c->scratch, c->scratch_len);
    c->scratch = p;
    c->scratch_len = len;
    return 1;
}

/* OpenSSL's AEAD decryption produces plaintext before the tag is checked
 * (in Final), so it runs into a scratch buffer and only a verified message
 * reaches pt. */
static enum ike_status sk_open_aead(struct ike_sk_cipher *c, const uint8_t *aad, size_t aad_len,
                                    const uint8_t *iv, const uint8_t *ct, size_t ct_len,
                                    const uint8_t *icv, uint8_t *pt, struct ike_diag *diag)
{
    EVP_CIPHER_CTX *ctx = c->open_ctx;
    if (!sk_scratch(c, ct_len))
        return ike_diag_fail(diag, IKE_E_NOMEM, "no memory for %zu octets of SK data", ct_len);
    OSSL_PARAM tag[] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, (void *)icv, c->encr.icv_len),
        OSSL_PARAM_construct_end(),
    };
    int ok = sk_set_iv(c, ctx, iv) && EVP_CIPHER_CTX_set_params(ctx, tag) &&
             sk_aad(ctx, aad, aad_len) && sk_update(ctx, ct, ct_len, c->scratch);
    if (!ok)
        return ike_diag_fail(diag, IKE_E_CRYPTO, "SK decryption setup failed");
    if (!sk_final(ctx)) {
        OPENSSL_cleanse(c->scratch, ct_len);
        return ike_diag_fail(diag, IKE_E_INTEGRITY, "SK %s ICV mismatch (%zu octets of data)",
                             ike_encr_name(c->encr.id, c->encr.key_bits), ct_len);
    }
    memcpy(pt, c->scratch, ct_len);
    OPENSSL_cleanse(c->scratch, ct_len);
    return IKE_OK;
}

static enum ike_status sk_open_cbc(struct ike_sk_cipher *c, const uint8_t *aad, size_t aad_len,
                                   const uint8_t *iv, const uint8_t *ct, size_t ct_len,
                                   const uint8_t *icv, uint8_t *pt, struct ike_diag *diag)
{
    uint8_t expect[SK_MAC_MAX];
    if (!sk_mac(c, aad, aad_len, iv, ct, ct_len, expect))
        return ike_diag_fail(diag, IKE_E_CRYPTO, "SK integrity computation failed");
    if (CRYPTO_memcmp(expect, icv, c->integ.icv_len) != 0)
        return ike_diag_fail(diag, IKE_E_INTEGRITY, "SK %s ICV mismatch (%zu octets of data)",
                             ike_integ_name(c->integ.id), ct_len);
    EVP_CIPHER_CTX *ctx = c->open_ctx;
    if (!sk_set_iv(c, ctx, iv) || !sk_update(ctx, ct, ct_len, pt) || !sk_final(ctx))
        return ike_diag_fail(diag, IKE_E_CRYPTO, "SK decryption failed");
    return IKE_OK;
}

enum ike_status ike_sk_cipher_open(struct ike_sk_cipher *c, const uint8_t *aad, size_t aad_len,
                                   const uint8_t *iv, const uint8_t *ct, size_t ct_len,
                                   const uint8_t *icv, uint8_t *pt, struct ike_diag *diag)
{
    /* At least the Pad Length octet is always encrypted (RFC 7296 §3.14). */
    if (ct_len == 0 || ct_len % c->encr.block_len != 0)
        return ike_diag_fail(diag, IKE_E_MALFORMED,
                             "SK encrypted data length %zu not a positive multiple of %zu", ct_len,
                             c->encr.block_len);
    enum ike_status st = c->encr.aead ? sk_open_aead(c, aad, aad_len, iv, ct, ct_len, icv, pt, diag)
                                      : sk_open_cbc(c, aad, aad_len, iv, ct, ct_len, icv, pt, diag);
    ERR_clear_error();
    return st;
}
