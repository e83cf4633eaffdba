/* COOKIE (RFC 7296 §2.6), both roles. The responder keeps no state for a
 * request it challenges: the cookie is <version> | HMAC-SHA-256(secret,
 * Ni | IPi | SPIi), checked against the current and the previous secret.
 * The caller decides when cookies are needed (it counts half-open SAs,
 * globally and per peer) by setting ctx->require_cookie. The initiator
 * repeats IKE_SA_INIT with the cookie as first payload, same SPIi, nonce
 * and KE; later INVALID_KE_PAYLOAD retries keep it (RFC 4718 §2.4). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <ike/cookie.h>

#include "sa_internal.h"

#define COOKIE_SECRET_LEN  32
#define COOKIE_MAX_RETRIES 3

struct ike_cookie_jar {
    uint8_t version; /* of cur; prev is version - 1 */
    bool has_prev;
    uint8_t cur[COOKIE_SECRET_LEN], prev[COOKIE_SECRET_LEN];
};

enum ike_status ike_cookie_jar_new(struct ike_cookie_jar **out)
{
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return IKE_E_NOMEM;
    if (RAND_bytes((*out)->cur, COOKIE_SECRET_LEN) != 1) {
        ike_cookie_jar_free(*out);
        *out = NULL;
        return IKE_E_CRYPTO;
    }
    return IKE_OK;
}

enum ike_status ike_cookie_jar_rotate(struct ike_cookie_jar *jar)
{
    uint8_t fresh[COOKIE_SECRET_LEN];
    if (RAND_bytes(fresh, sizeof(fresh)) != 1)
        return IKE_E_CRYPTO;
    memcpy(jar->prev, jar->cur, COOKIE_SECRET_LEN);
    memcpy(jar->cur, fresh, COOKIE_SECRET_LEN);
    OPENSSL_cleanse(fresh, sizeof(fresh));
    jar->has_prev = true;
    jar->version++;
    return IKE_OK;
}

void ike_cookie_jar_free(struct ike_cookie_jar *jar)
{
    if (!jar)
        return;
    OPENSSL_cleanse(jar, sizeof(*jar));
    free(jar);
}

static enum ike_status mac(const uint8_t secret[COOKIE_SECRET_LEN], uint8_t version,
                           const uint8_t *ni, size_t ni_len, const struct ike_addr *ip,
                           const uint8_t spi_i[8], uint8_t out[IKE_COOKIE_LEN])
{
    uint8_t in[IKE_NONCE_MAX + 16 + 8];
    size_t alen = ip->family == IKE_AF_INET ? 4 : 16, n = 0, outl = 0;
    if (ni_len > IKE_NONCE_MAX)
        return IKE_E_INVALID_ARG;
    memcpy(in, ni, ni_len);
    n += ni_len;
    memcpy(in + n, ip->addr, alen);
    n += alen;
    memcpy(in + n, spi_i, 8);
    n += 8;
    out[0] = version;
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, COOKIE_SECRET_LEN, in, n, out + 1,
                   IKE_COOKIE_LEN - 1, &outl) ||
        outl != IKE_COOKIE_LEN - 1)
        return IKE_E_CRYPTO;
    return IKE_OK;
}

enum ike_status ike_cookie_make(const struct ike_cookie_jar *jar, const uint8_t *ni, size_t ni_len,
                                const struct ike_addr *ip_i, const uint8_t spi_i[8],
                                uint8_t out[IKE_COOKIE_LEN])
{
    return mac(jar->cur, jar->version, ni, ni_len, ip_i, spi_i, out);
}

enum ike_status ike_cookie_verify(const struct ike_cookie_jar *jar, const uint8_t *ni,
                                  size_t ni_len, const struct ike_addr *ip_i,
                                  const uint8_t spi_i[8], const uint8_t *cookie, size_t cookie_len)
{
    uint8_t want[IKE_COOKIE_LEN];
    const uint8_t *secret = NULL;
    if (cookie_len != IKE_COOKIE_LEN)
        return IKE_E_AUTH;
    if (cookie[0] == jar->version)
        secret = jar->cur;
    else if (jar->has_prev && cookie[0] == (uint8_t)(jar->version - 1))
        secret = jar->prev;
    if (!secret || mac(secret, cookie[0], ni, ni_len, ip_i, spi_i, want) != IKE_OK)
        return IKE_E_AUTH;
    enum ike_status st = CRYPTO_memcmp(want, cookie, IKE_COOKIE_LEN) == 0 ? IKE_OK : IKE_E_AUTH;
    OPENSSL_cleanse(want, sizeof(want));
    return st;
}

/* ---- responder ----------------------------------------------------------- */

static void send_cookie(const struct ike_ctx *ctx, const struct ike_msg *req,
                        const uint8_t cookie[IKE_COOKIE_LEN], const struct ike_addr *local,
                        const struct ike_addr *remote)
{
    struct ike_msg msg;
    struct ike_diag diag = {0};
    uint8_t *buf = NULL;
    size_t len = 0;
    ike_msg_init(&msg, req->hdr.spi_i, NULL, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_RESPONSE, 0);
    ike_msg_add_notify(&msg, IKE_N_COOKIE, cookie, IKE_COOKIE_LEN);
    if (ike_msg_encode(&msg, &buf, &len, &diag) == IKE_OK) {
        ctx->ops->send(ctx->user, NULL, local, remote, buf, len);
        ike_msg_free_buf(buf, len);
    } else {
        ike_ctx_log(ctx, IKE_LOG_ERR, "cannot encode COOKIE answer: %s", diag.reason);
    }
    ike_msg_clear(&msg);
}

bool ike_cookie_admit(const struct ike_ctx *ctx, const struct ike_sa_cfg *cfg,
                      const struct ike_msg *req, const struct ike_addr *local,
                      const struct ike_addr *remote)
{
    if (!ctx->require_cookie || !ctx->cookies)
        return true;
    const struct ike_pld *ni = ike_msg_find(req, IKE_PLD_NONCE);
    const struct ike_pld *first = req->first;
    char peer[IKE_ADDR_STR_MAX];
    ike_addr_str(remote, peer, sizeof(peer));
    if (!ni)
        return false; /* the rules require Ni: never reached */
    const struct ike_slice *n = &ni->nonce.data;
    bool offered = first && first->type == IKE_PLD_NOTIFY && first->notify.type == IKE_N_COOKIE;
    if (offered && ike_cookie_verify(ctx->cookies, n->ptr, n->len, remote, req->hdr.spi_i,
                                     first->notify.data.ptr, first->notify.data.len) == IKE_OK)
        return true;
    uint8_t cookie[IKE_COOKIE_LEN];
    if (ike_cookie_make(ctx->cookies, n->ptr, n->len, remote, req->hdr.spi_i, cookie) != IKE_OK) {
        ike_ctx_log(ctx, IKE_LOG_ERR, "%s: IKE_SA_INIT from %s dropped: cannot make a cookie",
                    cfg->name ? cfg->name : "-", peer);
        return false;
    }
    ike_ctx_log(ctx, IKE_LOG_INFO, "%s: IKE_SA_INIT from %s %s: answering N(COOKIE)",
                cfg->name ? cfg->name : "-", peer,
                offered ? "with a stale or invalid cookie" : "without cookie under load");
    send_cookie(ctx, req, cookie, local, remote);
    return false;
}

/* ---- initiator ----------------------------------------------------------- */

enum ike_status ike_cookie_retry(struct ike_sa *sa, const struct ike_pld *n, struct ike_diag *diag)
{
    size_t len = n->notify.data.len;
    if (len < IKE_COOKIE_MIN || len > IKE_COOKIE_MAX) /* the decoder checked: belt and braces */
        return ike_diag_fail(diag, IKE_E_MALFORMED, "COOKIE of %zu octets", len);
    if (sa->init->cookie_retries >= COOKIE_MAX_RETRIES) {
        ike_sa_fail(sa, IKE_LOG_ERR, "peer demanded a COOKIE %u times: giving up",
                    sa->init->cookie_retries + 1);
        return ike_diag_fail(diag, IKE_E_STATE, "COOKIE loop");
    }
    memcpy(sa->init->cookie, n->notify.data.ptr, len);
    sa->init->cookie_len = len;
    sa->init->cookie_retries++;
    ike_sa_log(sa, IKE_LOG_INFO, "peer demands a COOKIE (%zu octets): retrying IKE_SA_INIT", len);
    enum ike_status st = ike_exch_ike_sa_init_start(sa, diag);
    if (st != IKE_OK)
        ike_sa_fail(sa, IKE_LOG_ERR, "IKE_SA_INIT retry with COOKIE failed: %s", diag->reason);
    return st;
}
