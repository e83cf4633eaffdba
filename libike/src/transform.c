/*
 * Transform tables: sizes per RFC 7296 §3.3.2 (AES-CBC: RFC 3602),
 * RFC 5282 (AES-GCM in IKEv2: key + 4-octet salt, 8-octet IV, 16-octet ICV),
 * RFC 7634 (ChaCha20-Poly1305: 32-octet key + 4-octet salt) and RFC 4868
 * (HMAC-SHA2 truncated to half the output). Names as strongSwan prints
 * them in proposals.
 */
#include <stddef.h>

#include <ike/const.h>
#include <ike/transform.h>

#include "transform_ossl.h"

struct encr_row {
    struct ike_encr_info info;
    const char *name;
    const char *ossl;
};

struct integ_row {
    struct ike_integ_info info;
    const char *name;
    const char *ossl;
};

struct prf_row {
    struct ike_prf_info info;
    const char *name;
    const char *ossl;
};

struct dh_name {
    uint16_t id;
    const char *name;
};

#define AES_BLOCK 16
#define AEAD_SALT 4
#define AEAD_IV   8
#define AEAD_ICV  16

static const struct encr_row encr_rows[] = {
    {{IKE_ENCR_AES_CBC, 128, 16, 0, AES_BLOCK, AES_BLOCK, 0, false}, "aes128", "AES-128-CBC"},
    {{IKE_ENCR_AES_CBC, 192, 24, 0, AES_BLOCK, AES_BLOCK, 0, false}, "aes192", "AES-192-CBC"},
    {{IKE_ENCR_AES_CBC, 256, 32, 0, AES_BLOCK, AES_BLOCK, 0, false}, "aes256", "AES-256-CBC"},
    {{IKE_ENCR_AES_GCM_16, 128, 16 + AEAD_SALT, AEAD_SALT, AEAD_IV, 1, AEAD_ICV, true},
     "aes128gcm16",
     "AES-128-GCM"},
    {{IKE_ENCR_AES_GCM_16, 192, 24 + AEAD_SALT, AEAD_SALT, AEAD_IV, 1, AEAD_ICV, true},
     "aes192gcm16",
     "AES-192-GCM"},
    {{IKE_ENCR_AES_GCM_16, 256, 32 + AEAD_SALT, AEAD_SALT, AEAD_IV, 1, AEAD_ICV, true},
     "aes256gcm16",
     "AES-256-GCM"},
    /* RFC 7634 §2: fixed 256-bit key, the Key Length attribute is not sent. */
    {{IKE_ENCR_CHACHA20_POLY1305, 0, 32 + AEAD_SALT, AEAD_SALT, AEAD_IV, 1, AEAD_ICV, true},
     "chacha20poly1305",
     "ChaCha20-Poly1305"},
};

static const struct integ_row integ_rows[] = {
    {{IKE_INTEG_HMAC_SHA1_96, 20, 12}, "sha1", "SHA1"},
    {{IKE_INTEG_HMAC_SHA2_256_128, 32, 16}, "sha256", "SHA256"},
    {{IKE_INTEG_HMAC_SHA2_384_192, 48, 24}, "sha384", "SHA384"},
    {{IKE_INTEG_HMAC_SHA2_512_256, 64, 32}, "sha512", "SHA512"},
};

static const struct prf_row prf_rows[] = {
    {{IKE_PRF_HMAC_SHA1, 20}, "prfsha1", "SHA1"},
    {{IKE_PRF_HMAC_SHA2_256, 32}, "prfsha256", "SHA256"},
    {{IKE_PRF_HMAC_SHA2_384, 48}, "prfsha384", "SHA384"},
    {{IKE_PRF_HMAC_SHA2_512, 64}, "prfsha512", "SHA512"},
};

/* Names for every group in the registry subset we know, implemented or not,
 * so a peer's proposal can be logged readably. */
static const struct dh_name dh_names[] = {
    {IKE_DH_MODP_1024, "modp1024"},    {IKE_DH_MODP_1536, "modp1536"},
    {IKE_DH_MODP_2048, "modp2048"},    {IKE_DH_MODP_3072, "modp3072"},
    {IKE_DH_MODP_4096, "modp4096"},    {IKE_DH_MODP_6144, "modp6144"},
    {IKE_DH_MODP_8192, "modp8192"},    {IKE_DH_ECP_256, "ecp256"},
    {IKE_DH_ECP_384, "ecp384"},        {IKE_DH_ECP_521, "ecp521"},
    {IKE_DH_CURVE25519, "curve25519"}, {IKE_DH_CURVE448, "curve448"},
};

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

static const struct encr_row *encr_find(uint16_t id, uint16_t key_bits)
{
    /* ChaCha20-Poly1305 has one key size; tolerate a peer that sends 256. */
    if (id == IKE_ENCR_CHACHA20_POLY1305 && key_bits == 256)
        key_bits = 0;
    for (size_t i = 0; i < NROWS(encr_rows); i++) {
        if (encr_rows[i].info.id == id && encr_rows[i].info.key_bits == key_bits)
            return &encr_rows[i];
    }
    return NULL;
}

static const struct integ_row *integ_find(uint16_t id)
{
    for (size_t i = 0; i < NROWS(integ_rows); i++) {
        if (integ_rows[i].info.id == id)
            return &integ_rows[i];
    }
    return NULL;
}

static const struct prf_row *prf_find(uint16_t id)
{
    for (size_t i = 0; i < NROWS(prf_rows); i++) {
        if (prf_rows[i].info.id == id)
            return &prf_rows[i];
    }
    return NULL;
}

enum ike_status ike_encr_lookup(uint16_t id, uint16_t key_bits, struct ike_encr_info *info)
{
    const struct encr_row *row = encr_find(id, key_bits);
    if (!row)
        return IKE_E_UNSUPPORTED;
    *info = row->info;
    return IKE_OK;
}

enum ike_status ike_integ_lookup(uint16_t id, struct ike_integ_info *info)
{
    const struct integ_row *row = integ_find(id);
    if (!row)
        return IKE_E_UNSUPPORTED;
    *info = row->info;
    return IKE_OK;
}

enum ike_status ike_prf_lookup(uint16_t id, struct ike_prf_info *info)
{
    const struct prf_row *row = prf_find(id);
    if (!row)
        return IKE_E_UNSUPPORTED;
    *info = row->info;
    return IKE_OK;
}

const char *ike_encr_name(uint16_t id, uint16_t key_bits)
{
    const struct encr_row *row = encr_find(id, key_bits);
    return row ? row->name : NULL;
}

const char *ike_integ_name(uint16_t id)
{
    const struct integ_row *row = integ_find(id);
    return row ? row->name : NULL;
}

const char *ike_prf_name(uint16_t id)
{
    const struct prf_row *row = prf_find(id);
    return row ? row->name : NULL;
}

const char *ike_dh_name(uint16_t id)
{
    for (size_t i = 0; i < NROWS(dh_names); i++) {
        if (dh_names[i].id == id)
            return dh_names[i].name;
    }
    return NULL;
}

const char *ike_encr_ossl_cipher(uint16_t id, uint16_t key_bits)
{
    const struct encr_row *row = encr_find(id, key_bits);
    return row ? row->ossl : NULL;
}

const char *ike_integ_ossl_digest(uint16_t id)
{
    const struct integ_row *row = integ_find(id);
    return row ? row->ossl : NULL;
}

const char *ike_prf_ossl_digest(uint16_t id)
{
    const struct prf_row *row = prf_find(id);
    return row ? row->ossl : NULL;
}
