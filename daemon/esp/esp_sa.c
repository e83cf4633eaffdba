/* ESP tunnel-mode encapsulation and decapsulation of one SA pair (see esp_sa.h). */
#include "esp_sa.h"

#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <ike/const.h>
#include <ike/transform.h>

static const char *const result_names[] = {
    [ESP_OK] = "ok",
    [ESP_E_MALFORMED] = "malformed",
    [ESP_E_REPLAY] = "replay",
    [ESP_E_INTEGRITY] = "integrity",
    [ESP_E_PADDING] = "padding",
    [ESP_E_SEQ_EXHAUSTED] = "seq-exhausted",
    [ESP_E_SPACE] = "no-space",
    [ESP_E_CRYPTO] = "crypto",
};

const char *esp_result_name(enum esp_result r)
{
    return (unsigned)r <= ESP_E_CRYPTO ? result_names[r] : "?";
}

static void put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

uint32_t esp_packet_spi(const uint8_t *pkt, size_t len)
{
    return len < 4 ? 0 : get32(pkt);
}

static const EVP_CIPHER *cipher_for(uint16_t id, size_t key_len)
{
    switch (id) {
    case IKE_ENCR_AES_CBC:
        return key_len == 16 ? EVP_aes_128_cbc() : key_len == 24 ? EVP_aes_192_cbc()
               : key_len == 32 ? EVP_aes_256_cbc() : NULL;
    case IKE_ENCR_AES_GCM_8:
    case IKE_ENCR_AES_GCM_12:
    case IKE_ENCR_AES_GCM_16:
        return key_len == 16 ? EVP_aes_128_gcm() : key_len == 24 ? EVP_aes_192_gcm()
               : key_len == 32 ? EVP_aes_256_gcm() : NULL;
    case IKE_ENCR_CHACHA20_POLY1305:
        return key_len == 32 ? EVP_chacha20_poly1305() : NULL;
    default:
        return NULL;
    }
}

static const char *digest_for(uint16_t integ_id)
{
    switch (integ_id) {
    case IKE_INTEG_HMAC_SHA1_96:
        return "SHA1";
    case IKE_INTEG_HMAC_SHA2_256_128:
        return "SHA256";
    case IKE_INTEG_HMAC_SHA2_384_192:
        return "SHA384";
    case IKE_INTEG_HMAC_SHA2_512_256:
        return "SHA512";
    default:
        return NULL;
    }
}

/* One direction's contexts, keyed once. */
static int dir_init(struct esp_sa *sa, struct esp_dir *d, const EVP_CIPHER *ciph,
                    size_t cipher_key_len, const char *digest, const struct esp_keys *k,
                    bool enc, char *err, size_t errlen)
{
    d->cipher = EVP_CIPHER_CTX_new();
    if (!d->cipher)
        goto fail;
    if (sa->aead) {
        memcpy(d->salt, k->encr + cipher_key_len, 4);
        if (EVP_CipherInit_ex(d->cipher, ciph, NULL, NULL, NULL, enc) != 1 ||
            EVP_CIPHER_CTX_ctrl(d->cipher, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1 ||
            EVP_CipherInit_ex(d->cipher, NULL, NULL, k->encr, NULL, enc) != 1)
            goto fail;
        return 0;
    }
    if (EVP_CipherInit_ex(d->cipher, ciph, NULL, k->encr, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_set_padding(d->cipher, 0) != 1)
        goto fail;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!mac)
        goto fail;
    d->mac = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!d->mac || EVP_MAC_init(d->mac, k->integ, k->integ_len, params) != 1)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "OpenSSL refused the %s %s context", enc ? "outbound" : "inbound",
             d->mac || !sa->aead ? "cipher/HMAC" : "AEAD");
    return -1;
}

int esp_sa_init(struct esp_sa *sa, const struct esp_sa_params *p, char *err, size_t errlen)
{
    memset(sa, 0, sizeof(*sa));
    struct ike_encr_info ei;
    if (ike_encr_lookup(p->encr_id, p->encr_key_bits, &ei) != IKE_OK) {
        snprintf(err, errlen, "ESP encryption %u/%u is not supported", p->encr_id,
                 p->encr_key_bits);
        return -1;
    }
    size_t cipher_key_len = ei.key_len - ei.salt_len;
    const EVP_CIPHER *ciph = cipher_for(p->encr_id, cipher_key_len);
    if (!ciph || (ei.aead && ei.salt_len != 4)) {
        snprintf(err, errlen, "ESP encryption %s is not implemented in the userspace data plane",
                 ike_encr_name(p->encr_id, p->encr_key_bits) ? ike_encr_name(p->encr_id,
                 p->encr_key_bits) : "?");
        return -1;
    }
    sa->aead = ei.aead;
    sa->esn = p->esn;
    sa->iv_len = ei.iv_len;
    const char *digest = NULL;
    if (ei.aead) {
        if (p->integ_id != IKE_INTEG_NONE) {
            snprintf(err, errlen, "an AEAD cipher takes no integrity algorithm (got %u)",
                     p->integ_id);
            return -1;
        }
        sa->icv_len = ei.icv_len;
        sa->block_len = 4;
    } else {
        struct ike_integ_info ii;
        digest = digest_for(p->integ_id);
        if (!digest || ike_integ_lookup(p->integ_id, &ii) != IKE_OK) {
            snprintf(err, errlen, "ESP integrity %u is not supported", p->integ_id);
            return -1;
        }
        if (p->in.integ_len != ii.key_len || p->out.integ_len != ii.key_len) {
            snprintf(err, errlen, "integrity key is %zu/%zu octets, %s needs %zu",
                     p->in.integ_len, p->out.integ_len, ike_integ_name(p->integ_id), ii.key_len);
            return -1;
        }
        sa->icv_len = ii.icv_len;
        sa->block_len = ei.block_len;
    }
    if (p->in.encr_len != ei.key_len || p->out.encr_len != ei.key_len) {
        snprintf(err, errlen, "encryption key is %zu/%zu octets, the algorithm needs %zu",
                 p->in.encr_len, p->out.encr_len, ei.key_len);
        return -1;
    }
    if (sa->iv_len > ESP_IV_MAX || sa->icv_len > ESP_ICV_MAX || sa->block_len > 16 ||
        sa->block_len < 1) {
        snprintf(err, errlen, "algorithm sizes out of range");
        return -1;
    }
    sa->in.spi = p->spi_in;
    sa->out.spi = p->spi_out;
    if (dir_init(sa, &sa->out, ciph, cipher_key_len, digest, &p->out, true, err, errlen) < 0 ||
        dir_init(sa, &sa->in, ciph, cipher_key_len, digest, &p->in, false, err, errlen) < 0) {
        esp_sa_free(sa);
        return -1;
    }
    esp_replay_init(&sa->replay, p->replay_window, p->esn);
    return 0;
}

static void dir_free(struct esp_dir *d)
{
    EVP_CIPHER_CTX_free(d->cipher); /* cleanses the key schedule */
    EVP_MAC_CTX_free(d->mac);
    OPENSSL_cleanse(d->salt, sizeof(d->salt));
    d->cipher = NULL;
    d->mac = NULL;
}

void esp_sa_free(struct esp_sa *sa)
{
    dir_free(&sa->in);
    dir_free(&sa->out);
}

/* Additional authenticated data: SPI | seq (RFC 4106 §5 / RFC 7634 §3). */
static size_t aead_aad(uint8_t aad[12], uint32_t spi, uint64_t seq, bool esn)
{
    put32(aad, spi);
    if (!esn) {
        put32(aad + 4, (uint32_t)seq);
        return 8;
    }
    put32(aad + 4, (uint32_t)(seq >> 32));
    put32(aad + 8, (uint32_t)seq);
    return 12;
}

/* HMAC over data (| seq high with ESN) into icv (icv_len octets). */
static int hmac_icv(const struct esp_sa *sa, EVP_MAC_CTX *mac, const uint8_t *data, size_t len,
                    uint64_t seq, uint8_t *icv)
{
    uint8_t full[EVP_MAX_MD_SIZE];
    size_t out = 0;
    if (EVP_MAC_init(mac, NULL, 0, NULL) != 1 || EVP_MAC_update(mac, data, len) != 1)
        return -1;
    if (sa->esn) {
        uint8_t hi[4];
        put32(hi, (uint32_t)(seq >> 32));
        if (EVP_MAC_update(mac, hi, sizeof(hi)) != 1)
            return -1;
    }
    if (EVP_MAC_final(mac, full, &out, sizeof(full)) != 1 || out < sa->icv_len)
        return -1;
    memcpy(icv, full, sa->icv_len);
    return 0;
}

enum esp_result esp_encap(struct esp_sa *sa, uint8_t *buf, size_t inner_len, size_t cap,
                          uint8_t next_header, size_t *out_len)
{
    size_t hdr = esp_sa_hdr_len(sa);
    size_t padded = (inner_len + 2 + sa->block_len - 1) / sa->block_len * sa->block_len;
    size_t total = hdr + padded + sa->icv_len;
    enum esp_result r = ESP_OK;
    if (total > cap) {
        r = ESP_E_SPACE;
        goto out;
    }
    uint64_t seq = sa->out.seq + 1;
    if ((!sa->esn && seq > UINT32_MAX) || seq == 0) {
        r = ESP_E_SEQ_EXHAUSTED; /* the SA must be rekeyed (§3.3.3) */
        goto out;
    }
    sa->out.seq = seq;
    put32(buf, sa->out.spi);
    put32(buf + 4, (uint32_t)seq);
    uint8_t *iv = buf + ESP_HDR_LEN, *p = buf + hdr;
    size_t padlen = padded - inner_len - 2;
    for (size_t i = 0; i < padlen; i++)
        p[inner_len + i] = (uint8_t)(i + 1);
    p[padded - 2] = (uint8_t)padlen;
    p[padded - 1] = next_header;
    EVP_CIPHER_CTX *c = sa->out.cipher;
    int n = 0;
    if (sa->aead) {
        uint8_t nonce[12], aad[12];
        put32(iv, (uint32_t)(seq >> 32));
        put32(iv + 4, (uint32_t)seq);
        memcpy(nonce, sa->out.salt, 4);
        memcpy(nonce + 4, iv, 8);
        size_t aad_len = aead_aad(aad, sa->out.spi, seq, sa->esn);
        if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, nonce) != 1 ||
            EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len) != 1 ||
            EVP_EncryptUpdate(c, p, &n, p, (int)padded) != 1 ||
            EVP_EncryptFinal_ex(c, p + n, &n) != 1 ||
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, (int)sa->icv_len, p + padded) != 1)
            r = ESP_E_CRYPTO;
    } else {
        if (RAND_bytes(iv, (int)sa->iv_len) != 1 ||
            EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv) != 1 ||
            EVP_EncryptUpdate(c, p, &n, p, (int)padded) != 1 ||
            hmac_icv(sa, sa->out.mac, buf, hdr + padded, seq, p + padded) < 0)
            r = ESP_E_CRYPTO;
    }
    if (r == ESP_OK) {
        *out_len = total;
        sa->ctr.packets_out++;
        sa->ctr.bytes_out += inner_len;
    }
out:
    if (r != ESP_OK)
        sa->ctr.err[r]++;
    return r;
}

static enum esp_result decap(struct esp_sa *sa, uint8_t *pkt, size_t len, uint8_t **inner,
                             size_t *inner_len, uint8_t *next_header)
{
    size_t hdr = esp_sa_hdr_len(sa);
    if (len < hdr + sa->icv_len + 2)
        return ESP_E_MALFORMED;
    size_t clen = len - hdr - sa->icv_len;
    if (clen % sa->block_len)
        return ESP_E_MALFORMED;
    uint64_t seq = esp_replay_seq(&sa->replay, get32(pkt + 4));
    if (!esp_replay_check(&sa->replay, seq))
        return ESP_E_REPLAY;
    uint8_t *iv = pkt + ESP_HDR_LEN, *p = pkt + hdr, *icv = p + clen;
    EVP_CIPHER_CTX *c = sa->in.cipher;
    int n = 0;
    if (sa->aead) {
        uint8_t nonce[12], aad[12];
        memcpy(nonce, sa->in.salt, 4);
        memcpy(nonce + 4, iv, 8);
        size_t aad_len = aead_aad(aad, sa->in.spi, seq, sa->esn);
        if (EVP_DecryptInit_ex(c, NULL, NULL, NULL, nonce) != 1 ||
            EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_len) != 1 ||
            EVP_DecryptUpdate(c, p, &n, p, (int)clen) != 1 ||
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, (int)sa->icv_len, icv) != 1)
            return ESP_E_CRYPTO;
        if (EVP_DecryptFinal_ex(c, p + n, &n) != 1)
            return ESP_E_INTEGRITY;
    } else {
        uint8_t mine[ESP_ICV_MAX];
        if (hmac_icv(sa, sa->in.mac, pkt, hdr + clen, seq, mine) < 0)
            return ESP_E_CRYPTO;
        if (CRYPTO_memcmp(mine, icv, sa->icv_len) != 0)
            return ESP_E_INTEGRITY;
        if (EVP_DecryptInit_ex(c, NULL, NULL, NULL, iv) != 1 ||
            EVP_DecryptUpdate(c, p, &n, p, (int)clen) != 1)
            return ESP_E_CRYPTO;
    }
    size_t padlen = p[clen - 2];
    if (padlen + 2 > clen)
        return ESP_E_MALFORMED;
    size_t ilen = clen - 2 - padlen;
    for (size_t i = 0; i < padlen; i++)
        if (p[ilen + i] != (uint8_t)(i + 1))
            return ESP_E_PADDING;
    /* authentic: only now may the window move (RFC 4303 §3.4.3) */
    esp_replay_update(&sa->replay, seq);
    *inner = p;
    *inner_len = ilen;
    *next_header = p[clen - 1];
    sa->ctr.packets_in++;
    sa->ctr.bytes_in += ilen;
    return ESP_OK;
}

enum esp_result esp_decap(struct esp_sa *sa, uint8_t *pkt, size_t len, uint8_t **inner,
                          size_t *inner_len, uint8_t *next_header)
{
    enum esp_result r = decap(sa, pkt, len, inner, inner_len, next_header);
    if (r != ESP_OK)
        sa->ctr.err[r]++;
    return r;
}
