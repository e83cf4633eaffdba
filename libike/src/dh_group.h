/*
 * Private: what the DH dispatcher (dh.c) needs from each group family
 * (dh_modp.c, dh_ecp.c, dh_x25519.c). Each family turns bytes into OpenSSL
 * keys and back, and validates a peer's public value; dh.c does the common
 * part (derive, length checks, the ike_dh object).
 */
#ifndef IKE_DH_GROUP_H
#define IKE_DH_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include <ike/error.h>

struct ike_dh_group;

struct ike_dh_ops {
    enum ike_status (*generate)(const struct ike_dh_group *g, EVP_PKEY **key);
    enum ike_status (*from_private)(const struct ike_dh_group *g, const uint8_t *priv,
                                    size_t priv_len, EVP_PKEY **key, struct ike_diag *diag);
    /* Writes exactly g->public_len octets of our public value. */
    enum ike_status (*public_value)(const struct ike_dh_group *g, EVP_PKEY *key, uint8_t *out);
    /* Validates the peer's value (already checked to be public_len octets)
     * and returns it as an OpenSSL key in the group of own. */
    enum ike_status (*peer_key)(const struct ike_dh_group *g, EVP_PKEY *own, const uint8_t *pub,
                                EVP_PKEY **peer, struct ike_diag *diag);
    /* Non-NULL when a derive failure can only be the peer's fault (X25519
     * refuses a low-order point): the reason reported with IKE_E_DH_PUBLIC. */
    const char *derive_fail_reason;
    /* RFC 7296 §2.14: g^ir is padded with leading zeros to the modulus
     * length, which OpenSSL's DH only does when asked. */
    bool pad_secret;
};

struct ike_dh_group {
    uint16_t id;
    const char *ossl_group; /* OpenSSL group name, NULL for X25519 */
    size_t public_len;
    size_t secret_len;
    const struct ike_dh_ops *ops;
};

extern const struct ike_dh_ops ike_dh_modp_ops;
extern const struct ike_dh_ops ike_dh_ecp_ops;
extern const struct ike_dh_ops ike_dh_x25519_ops;

/* EVP_PKEY_fromdata() for algorithm ("DH", "EC") with params; selection
 * is EVP_PKEY_PUBLIC_KEY or EVP_PKEY_KEYPAIR. Shared by the families. */
enum ike_status ike_dh_pkey_fromdata(const char *algorithm, int selection, OSSL_PARAM *params,
                                     EVP_PKEY **key);
/* A key in the group of own holding the peer's public value in OpenSSL's
 * encoding (big-endian y for DH, a SEC1 point for EC). The import decodes
 * the value: IKE_E_DH_PUBLIC when OpenSSL refuses it, IKE_E_CRYPTO when
 * the key cannot be built at all. */
enum ike_status ike_dh_pkey_peer(EVP_PKEY *own, const uint8_t *encoded, size_t len,
                                 EVP_PKEY **peer);
/* Keygen of algorithm in the named group (NULL for none). */
enum ike_status ike_dh_pkey_generate(const char *algorithm, const char *group, EVP_PKEY **key);

#endif
