/*
 * One table maps every algorithm name we recognise (strongSwan's and
 * FortiOS's spellings, plus common ones libike does not implement) to its
 * IANA transform; whether libike implements it is asked from libike itself
 * (ike_encr_lookup, ike_dh_supported, ...), so this file never claims more
 * than the library can do.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ike/const.h>
#include <ike/dh.h>
#include <ike/transform.h>

#include "config/proposal_parse.h"

enum alg_type {
    ALG_ENCR,
    ALG_INTEG,
    ALG_PRF,
    ALG_DH,
    ALG_ESN,
};

struct alg {
    const char *name;
    enum alg_type type;
    uint16_t id;       /* IANA transform ID; 0 for ones without an ID we use */
    uint16_t key_bits; /* ENCR: Key Length attribute */
};

/* IANA IDs not in <ike/const.h> because libike does not implement them;
 * named here only to say "not supported" instead of "unknown". */
enum {
    ENCR_DES = 2,
    ENCR_BLOWFISH = 7,
    ENCR_CAST = 6,
    ENCR_AES_CCM_8 = 14,
    ENCR_AES_CCM_12 = 15,
    ENCR_AES_CCM_16 = 16,
    ENCR_CAMELLIA_CBC = 23,
    INTEG_AES_CMAC_96 = 8,
    PRF_AES128_CMAC = 8,
    DH_MODP_768 = 1,
    DH_ECP_192 = 25,
    DH_ECP_224 = 26,
};

static const struct alg algs[] = {
    /* ciphers */
    {"aes128", ALG_ENCR, IKE_ENCR_AES_CBC, 128},
    {"aes192", ALG_ENCR, IKE_ENCR_AES_CBC, 192},
    {"aes256", ALG_ENCR, IKE_ENCR_AES_CBC, 256},
    {"aes128gcm16", ALG_ENCR, IKE_ENCR_AES_GCM_16, 128},
    {"aes192gcm16", ALG_ENCR, IKE_ENCR_AES_GCM_16, 192},
    {"aes256gcm16", ALG_ENCR, IKE_ENCR_AES_GCM_16, 256},
    {"aes128gcm128", ALG_ENCR, IKE_ENCR_AES_GCM_16, 128}, /* strongSwan alias (ICV bits) */
    {"aes192gcm128", ALG_ENCR, IKE_ENCR_AES_GCM_16, 192},
    {"aes256gcm128", ALG_ENCR, IKE_ENCR_AES_GCM_16, 256},
    {"aes128gcm", ALG_ENCR, IKE_ENCR_AES_GCM_16, 128}, /* FortiOS */
    {"aes192gcm", ALG_ENCR, IKE_ENCR_AES_GCM_16, 192},
    {"aes256gcm", ALG_ENCR, IKE_ENCR_AES_GCM_16, 256},
    {"chacha20poly1305", ALG_ENCR, IKE_ENCR_CHACHA20_POLY1305, 0},
    {"aes128gcm8", ALG_ENCR, IKE_ENCR_AES_GCM_8, 128},
    {"aes192gcm8", ALG_ENCR, IKE_ENCR_AES_GCM_8, 192},
    {"aes256gcm8", ALG_ENCR, IKE_ENCR_AES_GCM_8, 256},
    {"aes128gcm12", ALG_ENCR, IKE_ENCR_AES_GCM_12, 128},
    {"aes192gcm12", ALG_ENCR, IKE_ENCR_AES_GCM_12, 192},
    {"aes256gcm12", ALG_ENCR, IKE_ENCR_AES_GCM_12, 256},
    {"aes128ctr", ALG_ENCR, IKE_ENCR_AES_CTR, 128},
    {"aes192ctr", ALG_ENCR, IKE_ENCR_AES_CTR, 192},
    {"aes256ctr", ALG_ENCR, IKE_ENCR_AES_CTR, 256},
    {"aes128ccm8", ALG_ENCR, ENCR_AES_CCM_8, 128},
    {"aes128ccm12", ALG_ENCR, ENCR_AES_CCM_12, 128},
    {"aes128ccm16", ALG_ENCR, ENCR_AES_CCM_16, 128},
    {"aes256ccm8", ALG_ENCR, ENCR_AES_CCM_8, 256},
    {"aes256ccm12", ALG_ENCR, ENCR_AES_CCM_12, 256},
    {"aes256ccm16", ALG_ENCR, ENCR_AES_CCM_16, 256},
    {"camellia128", ALG_ENCR, ENCR_CAMELLIA_CBC, 128},
    {"camellia256", ALG_ENCR, ENCR_CAMELLIA_CBC, 256},
    {"3des", ALG_ENCR, IKE_ENCR_3DES, 0},
    {"des", ALG_ENCR, ENCR_DES, 0},
    {"blowfish", ALG_ENCR, ENCR_BLOWFISH, 128},
    {"cast128", ALG_ENCR, ENCR_CAST, 128},
    {"null", ALG_ENCR, IKE_ENCR_NULL, 0},
    /* integrity */
    {"sha1", ALG_INTEG, IKE_INTEG_HMAC_SHA1_96, 0},
    {"sha", ALG_INTEG, IKE_INTEG_HMAC_SHA1_96, 0},
    {"sha256", ALG_INTEG, IKE_INTEG_HMAC_SHA2_256_128, 0},
    {"sha2_256", ALG_INTEG, IKE_INTEG_HMAC_SHA2_256_128, 0},
    {"sha384", ALG_INTEG, IKE_INTEG_HMAC_SHA2_384_192, 0},
    {"sha2_384", ALG_INTEG, IKE_INTEG_HMAC_SHA2_384_192, 0},
    {"sha512", ALG_INTEG, IKE_INTEG_HMAC_SHA2_512_256, 0},
    {"sha2_512", ALG_INTEG, IKE_INTEG_HMAC_SHA2_512_256, 0},
    {"md5", ALG_INTEG, IKE_INTEG_HMAC_MD5_96, 0},
    {"aesxcbc", ALG_INTEG, IKE_INTEG_AES_XCBC_96, 0},
    {"aescmac", ALG_INTEG, INTEG_AES_CMAC_96, 0},
    /* PRFs */
    {"prfsha1", ALG_PRF, IKE_PRF_HMAC_SHA1, 0},
    {"prfsha256", ALG_PRF, IKE_PRF_HMAC_SHA2_256, 0},
    {"prfsha384", ALG_PRF, IKE_PRF_HMAC_SHA2_384, 0},
    {"prfsha512", ALG_PRF, IKE_PRF_HMAC_SHA2_512, 0},
    {"prfmd5", ALG_PRF, IKE_PRF_HMAC_MD5, 0},
    {"prfaesxcbc", ALG_PRF, IKE_PRF_AES128_XCBC, 0},
    {"prfaescmac", ALG_PRF, PRF_AES128_CMAC, 0},
    /* DH groups */
    {"modp2048", ALG_DH, IKE_DH_MODP_2048, 0},
    {"modp3072", ALG_DH, IKE_DH_MODP_3072, 0},
    {"modp4096", ALG_DH, IKE_DH_MODP_4096, 0},
    {"ecp256", ALG_DH, IKE_DH_ECP_256, 0},
    {"ecp384", ALG_DH, IKE_DH_ECP_384, 0},
    {"ecp521", ALG_DH, IKE_DH_ECP_521, 0},
    {"curve25519", ALG_DH, IKE_DH_CURVE25519, 0},
    {"x25519", ALG_DH, IKE_DH_CURVE25519, 0},
    {"modp768", ALG_DH, DH_MODP_768, 0},
    {"modp1024", ALG_DH, IKE_DH_MODP_1024, 0},
    {"modp1536", ALG_DH, IKE_DH_MODP_1536, 0},
    {"modp6144", ALG_DH, IKE_DH_MODP_6144, 0},
    {"modp8192", ALG_DH, IKE_DH_MODP_8192, 0},
    {"ecp192", ALG_DH, DH_ECP_192, 0},
    {"ecp224", ALG_DH, DH_ECP_224, 0},
    {"curve448", ALG_DH, IKE_DH_CURVE448, 0},
    {"x448", ALG_DH, IKE_DH_CURVE448, 0},
    /* ESP sequence numbers */
    {"esn", ALG_ESN, IKE_ESN_YES, 0},
    {"noesn", ALG_ESN, IKE_ESN_NO, 0},
};

#define NALGS (sizeof(algs) / sizeof(algs[0]))

static const char *const type_word[] = {
    [ALG_ENCR] = "cipher", [ALG_INTEG] = "integrity algorithm", [ALG_PRF] = "PRF",
    [ALG_DH] = "DH group", [ALG_ESN] = "ESN setting",
};

static bool alg_supported(const struct alg *a)
{
    struct ike_encr_info ei;
    struct ike_integ_info ii;
    struct ike_prf_info pi;
    switch (a->type) {
    case ALG_ENCR: return ike_encr_lookup(a->id, a->key_bits, &ei) == IKE_OK;
    case ALG_INTEG: return ike_integ_lookup(a->id, &ii) == IKE_OK;
    case ALG_PRF: return ike_prf_lookup(a->id, &pi) == IKE_OK;
    case ALG_DH: return ike_dh_supported(a->id);
    case ALG_ESN: return true;
    }
    return false;
}

static bool alg_is_aead(const struct alg *a)
{
    struct ike_encr_info ei;
    return a->type == ALG_ENCR && ike_encr_lookup(a->id, a->key_bits, &ei) == IKE_OK && ei.aead;
}

static const struct alg *alg_find(const char *name)
{
    for (size_t i = 0; i < NALGS; i++)
        if (strcasecmp(algs[i].name, name) == 0)
            return &algs[i];
    return NULL;
}

/* "aes128 aes192 ..." of the supported names of one type (first spelling
 * per transform only), for error messages. */
static void supported_list(enum alg_type type, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NALGS; i++) {
        const struct alg *a = &algs[i];
        if (a->type != type || !alg_supported(a) || alg_find(a->name) != a)
            continue;
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen |= algs[j].type == type && algs[j].id == a->id && algs[j].key_bits == a->key_bits;
        if (seen)
            continue;
        int w = type == ALG_DH
                    ? snprintf(buf + off, len - off, "%s%s(%u)", off ? " " : "", a->name, a->id)
                    : snprintf(buf + off, len - off, "%s%s", off ? " " : "", a->name);
        if (w < 0 || (size_t)w >= len - off)
            break;
        off += (size_t)w;
    }
}

static int add_u16(uint16_t *list, size_t *n, uint16_t v)
{
    for (size_t i = 0; i < *n; i++)
        if (list[i] == v)
            return 0;
    if (*n >= IKE_CFG_MAX_TRANSFORMS)
        return -1;
    list[(*n)++] = v;
    return 0;
}

int cfg_dh_list_add(uint16_t *list, size_t *n, size_t max, uint16_t group)
{
    for (size_t i = 0; i < *n; i++)
        if (list[i] == group)
            return 0;
    if (*n >= max)
        return -1;
    list[(*n)++] = group;
    return 0;
}

static int add_encr(struct ike_cfg_proposal *p, const struct alg *a)
{
    for (size_t i = 0; i < p->n_encr; i++)
        if (p->encr[i].id == a->id && p->encr[i].key_bits == a->key_bits)
            return 0;
    if (p->n_encr >= IKE_CFG_MAX_TRANSFORMS)
        return -1;
    p->encr[p->n_encr].id = a->id;
    p->encr[p->n_encr].key_bits = a->key_bits;
    p->n_encr++;
    return 0;
}

static int add_alg(struct ike_cfg_proposal *p, const struct alg *a)
{
    switch (a->type) {
    case ALG_ENCR: return add_encr(p, a);
    case ALG_INTEG: return add_u16(p->integ, &p->n_integ, a->id);
    case ALG_PRF: return add_u16(p->prf, &p->n_prf, a->id);
    case ALG_DH: return add_u16(p->dh, &p->n_dh, a->id);
    case ALG_ESN: /* only two values exist, so after dedup there is room */
        for (size_t i = 0; i < p->n_esn; i++)
            if (p->esn[i] == a->id)
                return 0;
        p->esn[p->n_esn++] = a->id;
        return 0;
    }
    return -1;
}

static int unsupported(const struct alg *a, char *err, size_t errlen, const char *prop)
{
    char list[256];
    supported_list(a->type, list, sizeof(list));
    snprintf(err, errlen, "proposal '%s': %s '%s' is not supported by libike (supported: %s)", prop,
             type_word[a->type], a->name, list);
    return -1;
}

/* Adds one '-'-separated algorithm name to p. */
static int parse_token(const char *tok, enum cfg_prop_kind kind, const char *prop,
                       struct ike_cfg_proposal *p, int *aead, char *err, size_t errlen)
{
    if (!*tok) {
        snprintf(err, errlen, "proposal '%s': empty algorithm name", prop);
        return -1;
    }
    const struct alg *a = alg_find(tok);
    if (!a) {
        snprintf(err, errlen, "proposal '%s': unknown algorithm '%s'", prop, tok);
        return -1;
    }
    if (!alg_supported(a))
        return unsupported(a, err, errlen, prop);
    if (kind == CFG_PROP_IKE && a->type == ALG_ESN) {
        snprintf(err, errlen, "proposal '%s': '%s' applies to ESP proposals only", prop, tok);
        return -1;
    }
    if (kind == CFG_PROP_ESP && a->type == ALG_PRF) {
        snprintf(err, errlen, "proposal '%s': PRF '%s' applies to IKE proposals only", prop, tok);
        return -1;
    }
    if (a->type == ALG_ENCR) {
        int this_aead = alg_is_aead(a) ? 1 : 0;
        if (*aead >= 0 && *aead != this_aead) {
            snprintf(err, errlen,
                     "proposal '%s': '%s' mixes AEAD and non-AEAD ciphers; write them as "
                     "separate proposals",
                     prop, tok);
            return -1;
        }
        *aead = this_aead;
    }
    if (add_alg(p, a) != 0) {
        snprintf(err, errlen, "proposal '%s': too many %ss (at most %d)", prop, type_word[a->type],
                 IKE_CFG_MAX_TRANSFORMS);
        return -1;
    }
    return 0;
}

/* The PRF paired with an integrity algorithm (FortiOS and strongSwan derive
 * the IKE PRF this way when none is written). */
static uint16_t prf_for_integ(uint16_t integ)
{
    switch (integ) {
    case IKE_INTEG_HMAC_SHA1_96: return IKE_PRF_HMAC_SHA1;
    case IKE_INTEG_HMAC_SHA2_256_128: return IKE_PRF_HMAC_SHA2_256;
    case IKE_INTEG_HMAC_SHA2_384_192: return IKE_PRF_HMAC_SHA2_384;
    case IKE_INTEG_HMAC_SHA2_512_256: return IKE_PRF_HMAC_SHA2_512;
    default: return 0;
    }
}

/* Completes and checks one proposal once all its names are in. */
static int finish(struct ike_cfg_proposal *p, enum cfg_prop_kind kind, int aead,
                  const uint16_t *dhgrp, size_t n_dhgrp, const char *prop, char *err, size_t errlen)
{
    if (!p->n_encr) {
        snprintf(err, errlen, "proposal '%s' has no cipher", prop);
        return -1;
    }
    if (aead == 1 && p->n_integ) {
        snprintf(err, errlen, "proposal '%s': an AEAD cipher takes no integrity algorithm (%s)",
                 prop,
                 kind == CFG_PROP_IKE ? "use prfsha* for the IKE PRF" : "use the cipher alone");
        return -1;
    }
    if (aead == 0 && !p->n_integ) {
        snprintf(err, errlen, "proposal '%s' needs an integrity algorithm (e.g. %s-sha256)", prop,
                 prop);
        return -1;
    }
    if (kind == CFG_PROP_IKE && !p->n_prf) {
        if (aead == 1) {
            snprintf(err, errlen, "proposal '%s': an AEAD cipher needs a PRF (e.g. %s-prfsha384)",
                     prop, prop);
            return -1;
        }
        for (size_t i = 0; i < p->n_integ; i++)
            (void)add_u16(p->prf, &p->n_prf, prf_for_integ(p->integ[i]));
    }
    if (!p->n_dh)
        for (size_t i = 0; i < n_dhgrp; i++)
            (void)add_u16(p->dh, &p->n_dh, dhgrp[i]);
    if (kind == CFG_PROP_IKE && !p->n_dh) {
        snprintf(err, errlen,
                 "proposal '%s' has no DH group (add one such as '%s-ecp256', or set dhgrp)", prop,
                 prop);
        return -1;
    }
    if (kind == CFG_PROP_ESP && !p->n_esn)
        p->esn[p->n_esn++] = IKE_ESN_NO;
    return 0;
}

static int parse_one(char *prop, enum cfg_prop_kind kind, const uint16_t *dhgrp, size_t n_dhgrp,
                     struct ike_cfg_proposal *p, char *err, size_t errlen)
{
    char shown[128];
    snprintf(shown, sizeof(shown), "%s", prop);
    memset(p, 0, sizeof(*p));
    int aead = -1;
    char *tok = prop;
    for (;;) {
        char *dash = strchr(tok, '-');
        if (dash)
            *dash = '\0';
        if (parse_token(tok, kind, shown, p, &aead, err, errlen) != 0)
            return -1;
        if (!dash)
            break;
        tok = dash + 1;
    }
    return finish(p, kind, aead, dhgrp, n_dhgrp, shown, err, errlen);
}

static bool is_sep(char c)
{
    return c == ',' || isspace((unsigned char)c);
}

int cfg_proposals_parse(const char *text, enum cfg_prop_kind kind, const uint16_t *dhgrp,
                        size_t n_dhgrp, struct ike_cfg_proposal *out, size_t *n_out, char *err,
                        size_t errlen)
{
    char *copy = strdup(text);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    size_t n = 0;
    char *s = copy;
    while (rc == 0) {
        while (*s && is_sep(*s))
            s++;
        if (!*s)
            break;
        char *start = s;
        while (*s && !is_sep(*s))
            s++;
        bool last = !*s;
        *s = '\0';
        if (n >= IKE_CFG_MAX_PROPOSALS) {
            snprintf(err, errlen, "too many proposals (at most %d)", IKE_CFG_MAX_PROPOSALS);
            rc = -1;
        } else {
            rc = parse_one(start, kind, dhgrp, n_dhgrp, &out[n], err, errlen);
            n++;
        }
        if (last)
            break;
        s++;
    }
    if (rc == 0 && n == 0) {
        snprintf(err, errlen, "empty proposal");
        rc = -1;
    }
    free(copy);
    *n_out = rc == 0 ? n : 0;
    return rc;
}

int cfg_dh_parse(const char *token, uint16_t *group, char *err, size_t errlen)
{
    const struct alg *a = NULL;
    struct alg num = {token, ALG_DH, 0, 0};
    if (isdigit((unsigned char)token[0])) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(token, &end, 10);
        if (errno || *end || v > 0xffff) {
            snprintf(err, errlen, "'%s' is not a DH group number", token);
            return -1;
        }
        num.id = (uint16_t)v;
        a = &num;
        for (size_t i = 0; i < NALGS; i++)
            if (algs[i].type == ALG_DH && algs[i].id == num.id) {
                a = &algs[i];
                break;
            }
    } else {
        a = alg_find(token);
        if (!a || a->type != ALG_DH) {
            snprintf(err, errlen, "unknown DH group '%s'", token);
            return -1;
        }
    }
    if (!alg_supported(a)) {
        char list[256];
        supported_list(ALG_DH, list, sizeof(list));
        snprintf(err, errlen, "DH group %s is not supported by libike (supported: %s)", token,
                 list);
        return -1;
    }
    *group = a->id;
    return 0;
}

int cfg_dhgrp_parse(const char *text, uint16_t *out, size_t max, size_t *n, char *err,
                    size_t errlen)
{
    char *copy = strdup(text);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    *n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, " \t,", &save); tok && rc == 0;
         tok = strtok_r(NULL, " \t,", &save)) {
        uint16_t g;
        rc = cfg_dh_parse(tok, &g, err, errlen);
        if (rc == 0 && cfg_dh_list_add(out, n, max, g) != 0) {
            snprintf(err, errlen, "too many DH groups (at most %zu)", max);
            rc = -1;
        }
    }
    if (rc == 0 && *n == 0) {
        snprintf(err, errlen, "empty DH group list");
        rc = -1;
    }
    free(copy);
    return rc;
}
