/*
 * DH dispatcher: the group table and the parts common to every family
 * (object lifetime, peer length check, the EVP_PKEY_derive itself).
 */
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <ike/const.h>
#include <ike/dh.h>
#include <ike/transform.h>

#include "dh_group.h"

struct ike_dh {
    const struct ike_dh_group *group;
    EVP_PKEY *key;
    uint8_t *public_value; /* group->public_len octets, wire format */
};

/* RFC 3526 (MODP), RFC 5903 §7 (ECP: x | y, each ceil(bits/8) octets, the
 * shared secret is x), RFC 8031 (Curve25519). */
static const struct ike_dh_group groups[] = {
    {IKE_DH_MODP_2048, "modp_2048", 256, 256, &ike_dh_modp_ops},
    {IKE_DH_MODP_3072, "modp_3072", 384, 384, &ike_dh_modp_ops},
    {IKE_DH_MODP_4096, "modp_4096", 512, 512, &ike_dh_modp_ops},
    {IKE_DH_ECP_256, "P-256", 64, 32, &ike_dh_ecp_ops},
    {IKE_DH_ECP_384, "P-384", 96, 48, &ike_dh_ecp_ops},
    {IKE_DH_ECP_521, "P-521", 132, 66, &ike_dh_ecp_ops},
    {IKE_DH_CURVE25519, NULL, 32, 32, &ike_dh_x25519_ops},
};

static const struct ike_dh_group *group_find(uint16_t id)
{
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        if (groups[i].id == id)
            return &groups[i];
    }
    return NULL;
}

enum ike_status ike_dh_pkey_fromdata(const char *algorithm, int selection, OSSL_PARAM *params,
                                     EVP_PKEY **key)
{
    *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, algorithm, NULL);
    int ok = ctx && EVP_PKEY_fromdata_init(ctx) > 0 &&
             EVP_PKEY_fromdata(ctx, key, selection, params) > 0;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        EVP_PKEY_free(*key);
        *key = NULL;
        ERR_clear_error();
        return IKE_E_CRYPTO;
    }
    return IKE_OK;
}

enum ike_status ike_dh_pkey_peer(EVP_PKEY *own, const uint8_t *encoded, size_t len, EVP_PKEY **peer)
{
    /* Copying our group is several times cheaper than building the key
     * from the group name (which re-creates the group every time). */
    *peer = EVP_PKEY_new();
    if (!*peer || !EVP_PKEY_copy_parameters(*peer, own)) {
        EVP_PKEY_free(*peer);
        *peer = NULL;
        ERR_clear_error();
        return IKE_E_CRYPTO;
    }
    if (!EVP_PKEY_set1_encoded_public_key(*peer, encoded, len)) {
        EVP_PKEY_free(*peer);
        *peer = NULL;
        ERR_clear_error();
        return IKE_E_DH_PUBLIC;
    }
    return IKE_OK;
}

enum ike_status ike_dh_pkey_generate(const char *algorithm, const char *group, EVP_PKEY **key)
{
    *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, algorithm, NULL);
    int ok = ctx && EVP_PKEY_keygen_init(ctx) > 0;
    if (ok && group) {
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
            OSSL_PARAM_construct_end(),
        };
        ok = EVP_PKEY_CTX_set_params(ctx, params) > 0;
    }
    ok = ok && EVP_PKEY_generate(ctx, key) > 0;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        EVP_PKEY_free(*key);
        *key = NULL;
        ERR_clear_error();
        return IKE_E_CRYPTO;
    }
    return IKE_OK;
}

bool ike_dh_supported(uint16_t group)
{
    return group_find(group) != NULL;
}

size_t ike_dh_public_len(uint16_t group)
{
    const struct ike_dh_group *g = group_find(group);
    return g ? g->public_len : 0;
}

size_t ike_dh_secret_len(uint16_t group)
{
    const struct ike_dh_group *g = group_find(group);
    return g ? g->secret_len : 0;
}

/* Takes ownership of key; fills in our public value. */
static enum ike_status dh_wrap(const struct ike_dh_group *g, EVP_PKEY *key, struct ike_dh **out,
                               struct ike_diag *diag)
{
    struct ike_dh *dh = calloc(1, sizeof(*dh));
    uint8_t *pub = malloc(g->public_len);
    if (!dh || !pub) {
        free(dh);
        free(pub);
        EVP_PKEY_free(key);
        return ike_diag_fail(diag, IKE_E_NOMEM, "no memory for DH group %u", g->id);
    }
    dh->group = g;
    dh->key = key;
    dh->public_value = pub;
    enum ike_status st = g->ops->public_value(g, key, pub);
    if (st != IKE_OK) {
        ike_dh_free(dh);
        return ike_diag_fail(diag, st, "%s: cannot encode our public value", ike_dh_name(g->id));
    }
    *out = dh;
    return IKE_OK;
}

enum ike_status ike_dh_new(uint16_t group, struct ike_dh **out, struct ike_diag *diag)
{
    *out = NULL;
    const struct ike_dh_group *g = group_find(group);
    if (!g)
        return ike_diag_fail(diag, IKE_E_UNSUPPORTED, "DH group %u not supported", group);
    EVP_PKEY *key;
    enum ike_status st = g->ops->generate(g, &key);
    if (st != IKE_OK)
        return ike_diag_fail(diag, st, "%s: key generation failed", ike_dh_name(group));
    return dh_wrap(g, key, out, diag);
}

enum ike_status ike_dh_new_from_private(uint16_t group, const uint8_t *priv, size_t priv_len,
                                        struct ike_dh **out, struct ike_diag *diag)
{
    *out = NULL;
    const struct ike_dh_group *g = group_find(group);
    if (!g)
        return ike_diag_fail(diag, IKE_E_UNSUPPORTED, "DH group %u not supported", group);
    EVP_PKEY *key;
    enum ike_status st = g->ops->from_private(g, priv, priv_len, &key, diag);
    if (st != IKE_OK)
        return st;
    return dh_wrap(g, key, out, diag);
}

void ike_dh_free(struct ike_dh *dh)
{
    if (!dh)
        return;
    EVP_PKEY_free(dh->key);
    free(dh->public_value);
    free(dh);
}

uint16_t ike_dh_group(const struct ike_dh *dh)
{
    return dh->group->id;
}

const uint8_t *ike_dh_public(const struct ike_dh *dh, size_t *len)
{
    *len = dh->group->public_len;
    return dh->public_value;
}

static bool all_zero(const uint8_t *p, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc |= p[i];
    return acc == 0;
}

/* EVP_PKEY_derive of our key with a validated peer key into s. */
static enum ike_status dh_exchange(struct ike_dh *dh, EVP_PKEY *peer, struct ike_secret *s,
                                   struct ike_diag *diag)
{
    const struct ike_dh_group *g = dh->group;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, dh->key, NULL);
    /* The peer was validated by its family; OpenSSL's own full check would
     * add a scalar multiplication (EC) or exponentiation (DH) per derive. */
    int ok = ctx && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) > 0;
    if (ok && g->ops->pad_secret) {
        unsigned int pad = 1;
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_uint(OSSL_EXCHANGE_PARAM_PAD, &pad),
            OSSL_PARAM_construct_end(),
        };
        ok = EVP_PKEY_CTX_set_params(ctx, params) > 0;
    }
    if (!ok) {
        EVP_PKEY_CTX_free(ctx);
        ERR_clear_error();
        return ike_diag_fail(diag, IKE_E_CRYPTO, "%s: derive setup failed", ike_dh_name(g->id));
    }
    size_t len = s->len;
    ok = EVP_PKEY_derive(ctx, s->data, &len) > 0;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    if (!ok && g->ops->derive_fail_reason)
        return ike_diag_fail(diag, IKE_E_DH_PUBLIC, "%s: %s", ike_dh_name(g->id),
                             g->ops->derive_fail_reason);
    if (!ok || len != s->len)
        return ike_diag_fail(diag, IKE_E_CRYPTO, "%s: derive failed (%zu of %zu octets)",
                             ike_dh_name(g->id), ok ? len : 0, s->len);
    if (g->ops->derive_fail_reason && all_zero(s->data, s->len))
        return ike_diag_fail(diag, IKE_E_DH_PUBLIC, "%s: %s", ike_dh_name(g->id),
                             g->ops->derive_fail_reason);
    return IKE_OK;
}

enum ike_status ike_dh_derive(struct ike_dh *dh, const uint8_t *peer, size_t peer_len,
                              struct ike_secret **shared, struct ike_diag *diag)
{
    *shared = NULL;
    const struct ike_dh_group *g = dh->group;
    if (peer_len != g->public_len)
        return ike_diag_fail(diag, IKE_E_DH_PUBLIC, "%s public value length %zu != %zu",
                             ike_dh_name(g->id), peer_len, g->public_len);
    EVP_PKEY *pk;
    enum ike_status st = g->ops->peer_key(g, dh->key, peer, &pk, diag);
    if (st != IKE_OK)
        return st;
    struct ike_secret *s;
    st = ike_secret_new(g->secret_len, &s);
    if (st == IKE_OK)
        st = dh_exchange(dh, pk, s, diag);
    EVP_PKEY_free(pk);
    if (st != IKE_OK) {
        ike_secret_free(s);
        return st;
    }
    *shared = s;
    return IKE_OK;
}
