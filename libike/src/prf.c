/*
 * PRF and prf+ (RFC 7296 §2.13) over EVP_MAC HMAC.
 *
 * Speed matters here (every IKE SA runs prf+ once and every AUTH a few
 * PRFs), so the MAC and digest are fetched once in ike_prf_new and the
 * context is reused: keyed once per ike_prf_compute/ike_prf_plus, then
 * re-initialised with a NULL key for each further prf+ block, which keeps
 * the HMAC key schedule instead of redoing it.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <ike/prf.h>
#include <ike/transform.h>

#include "transform_ossl.h"

struct ike_prf {
    uint16_t id;
    size_t len;
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
};

enum ike_status ike_hmac_ctx_new(const char *digest, EVP_MAC **mac, EVP_MAC_CTX **ctx)
{
    *ctx = NULL;
    *mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
    if (!*mac)
        goto fail;
    *ctx = EVP_MAC_CTX_new(*mac);
    if (!*ctx)
        goto fail;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!EVP_MAC_CTX_set_params(*ctx, params))
        goto fail;
    return IKE_OK;
fail:
    EVP_MAC_CTX_free(*ctx);
    EVP_MAC_free(*mac);
    *ctx = NULL;
    *mac = NULL;
    ERR_clear_error();
    return IKE_E_CRYPTO;
}

enum ike_status ike_prf_new(uint16_t prf_id, struct ike_prf **out)
{
    *out = NULL;
    struct ike_prf_info info;
    if (ike_prf_lookup(prf_id, &info) != IKE_OK)
        return IKE_E_UNSUPPORTED;
    struct ike_prf *prf = calloc(1, sizeof(*prf));
    if (!prf)
        return IKE_E_NOMEM;
    prf->id = prf_id;
    prf->len = info.out_len;
    enum ike_status st = ike_hmac_ctx_new(ike_prf_ossl_digest(prf_id), &prf->mac, &prf->ctx);
    if (st != IKE_OK) {
        free(prf);
        return st;
    }
    *out = prf;
    return IKE_OK;
}

void ike_prf_free(struct ike_prf *prf)
{
    if (!prf)
        return;
    /* Frees the HMAC state, which OpenSSL cleanses (it holds the key pads). */
    EVP_MAC_CTX_free(prf->ctx);
    EVP_MAC_free(prf->mac);
    free(prf);
}

uint16_t ike_prf_id(const struct ike_prf *prf)
{
    return prf->id;
}

size_t ike_prf_len(const struct ike_prf *prf)
{
    return prf->len;
}

/* Keys the context. A NULL key pointer would mean "reuse the previous key"
 * to OpenSSL, so an empty key is passed as a non-NULL empty buffer. */
static int prf_init(struct ike_prf *prf, const uint8_t *key, size_t key_len)
{
    static const uint8_t empty[1];
    return EVP_MAC_init(prf->ctx, key ? key : empty, key_len, NULL);
}

static int prf_update(struct ike_prf *prf, const struct ike_prf_chunk *in, size_t n_in)
{
    for (size_t i = 0; i < n_in; i++) {
        if (in[i].len > 0 && !EVP_MAC_update(prf->ctx, in[i].data, in[i].len))
            return 0;
    }
    return 1;
}

static int prf_final(struct ike_prf *prf, uint8_t *out)
{
    size_t n = 0;
    return EVP_MAC_final(prf->ctx, out, &n, prf->len) && n == prf->len;
}

enum ike_status ike_prf_compute(struct ike_prf *prf, const uint8_t *key, size_t key_len,
                                const struct ike_prf_chunk *in, size_t n_in, uint8_t *out)
{
    if (!prf_init(prf, key, key_len) || !prf_update(prf, in, n_in) || !prf_final(prf, out)) {
        ERR_clear_error();
        return IKE_E_CRYPTO;
    }
    return IKE_OK;
}

/* One prf+ block: Tn = prf(K, Tn-1 | S | n), with T0 empty. The first block
 * keys the context; later ones reuse the key. */
static int prf_plus_block(struct ike_prf *prf, const uint8_t *key, size_t key_len,
                          const struct ike_prf_chunk *seed, size_t n_seed, uint8_t *t, uint8_t n)
{
    int ok = n == 1 ? prf_init(prf, key, key_len) : EVP_MAC_init(prf->ctx, NULL, 0, NULL);
    if (ok && n > 1)
        ok = EVP_MAC_update(prf->ctx, t, prf->len);
    return ok && prf_update(prf, seed, n_seed) && EVP_MAC_update(prf->ctx, &n, 1) &&
           prf_final(prf, t);
}

enum ike_status ike_prf_plus(struct ike_prf *prf, const uint8_t *key, size_t key_len,
                             const struct ike_prf_chunk *seed, size_t n_seed, size_t out_len,
                             struct ike_secret **out)
{
    *out = NULL;
    if (out_len == 0)
        return IKE_E_INVALID_ARG;
    size_t blocks = out_len / prf->len + (out_len % prf->len != 0);
    if (blocks > IKE_PRF_PLUS_MAX_BLOCKS)
        return IKE_E_TOO_BIG;
    struct ike_secret *s;
    enum ike_status st = ike_secret_new(out_len, &s);
    if (st != IKE_OK)
        return st;
    uint8_t t[IKE_PRF_MAX_LEN];
    size_t done = 0;
    for (size_t n = 1; n <= blocks; n++) {
        if (!prf_plus_block(prf, key, key_len, seed, n_seed, t, (uint8_t)n)) {
            OPENSSL_cleanse(t, sizeof(t));
            ike_secret_free(s);
            ERR_clear_error();
            return IKE_E_CRYPTO;
        }
        size_t take = out_len - done < prf->len ? out_len - done : prf->len;
        memcpy(s->data + done, t, take);
        done += take;
    }
    OPENSSL_cleanse(t, sizeof(t));
    *out = s;
    return IKE_OK;
}
