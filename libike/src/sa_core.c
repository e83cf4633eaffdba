/* IKE SA lifecycle: allocation, freeing, getters, logging helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "sa_internal.h"

#define IKE_LOG_LINE_MAX 512
#define IKE_LOG_NAME_MAX 64 /* octets of cfg->name in a log prefix */

enum ike_status ike_ctx_check(const struct ike_ctx *ctx, struct ike_diag *diag)
{
    const struct ike_ctx_ops *o = ctx ? ctx->ops : NULL;
    if (!o || !o->send || !o->timer_arm || !o->timer_cancel || !o->now_ms || !o->child_install ||
        !o->child_delete)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "context lacks a required callback");
    return IKE_OK;
}

struct ike_sa *ike_sa_alloc(const struct ike_ctx *ctx, const struct ike_sa_cfg *cfg, bool initiator)
{
    struct ike_sa *sa = calloc(1, sizeof(*sa));
    if (!sa)
        return NULL;
    sa->ctx = *ctx;
    if (!sa->ctx.retransmit_base_ms)
        sa->ctx.retransmit_base_ms = IKE_RETRANSMIT_BASE_MS;
    if (!sa->ctx.retransmit_tries)
        sa->ctx.retransmit_tries = IKE_RETRANSMIT_TRIES;
    if (!sa->ctx.half_open_timeout_ms)
        sa->ctx.half_open_timeout_ms = IKE_HALF_OPEN_TIMEOUT_MS;
    sa->cfg = cfg;
    sa->initiator = initiator;
    sa->state = IKE_SA_STATE_NEW;
    sa->created_ms = ctx->ops->now_ms(ctx->user);
    ike_sa_id_from_cfg(&cfg->local_id, &sa->local_id);
    return sa;
}

void ike_sa_init_data_free(struct ike_sa *sa)
{
    struct ike_sa_init_data *in = sa->init;
    if (!in)
        return;
    ike_dh_free(in->dh);
    free(in->req);
    free(in->resp);
    OPENSSL_cleanse(in, sizeof(*in));
    free(in);
    sa->init = NULL;
}

void ike_sa_free(struct ike_sa *sa)
{
    if (!sa)
        return;
    for (int t = 0; t < IKE_TIMER_COUNT; t++)
        sa->ctx.ops->timer_cancel(sa->ctx.user, sa, (enum ike_timer)t);
    ike_sa_queue_clear(sa);
    ike_sa_init_data_free(sa);
    ike_msgid_sync_free(sa);
    ike_prf_free(sa->prf);
    ike_keys_sa_clear(&sa->keys);
    ike_sk_cipher_free(sa->c_i);
    ike_sk_cipher_free(sa->c_r);
    ike_sk_reasm_free(sa->reasm[0]);
    ike_sk_reasm_free(sa->reasm[1]);
    if (sa->req.buf)
        ike_msg_free_buf(sa->req.buf, sa->req.len);
    if (sa->cache.buf)
        ike_msg_free_buf(sa->cache.buf, sa->cache.len);
    if (sa->children) {
        OPENSSL_cleanse(sa->children, sa->n_children * sizeof(*sa->children));
        free(sa->children);
    }
    OPENSSL_cleanse(sa, sizeof(*sa));
    free(sa);
}

static void spi_hex(const uint8_t *spi, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < IKE_SPI_LEN; i++) {
        out[2 * i] = hex[spi[i] >> 4];
        out[2 * i + 1] = hex[spi[i] & 15];
    }
    out[2 * IKE_SPI_LEN] = '\0';
}

/* fmt is checked at the callers (format(printf) on ike_sa_log/ike_ctx_log). */
__attribute__((format(printf, 5, 0))) static void
ctx_vlog(const struct ike_ctx *ctx, const struct ike_sa *sa, enum ike_log_level level,
         const char *prefix, const char *fmt, va_list ap)
{
    if (!ctx->ops->log)
        return;
    char line[IKE_LOG_LINE_MAX];
    size_t n = (size_t)snprintf(line, sizeof(line), "%s", prefix);
    if (n < sizeof(line))
        vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    ctx->ops->log(ctx->user, sa, level, line);
}

void ike_sa_log(const struct ike_sa *sa, enum ike_log_level level, const char *fmt, ...)
{
    /* The name is capped so the SPIs always follow it: a 63-octet gateway
     * name (the daemon's limit) used to fill prefix[96] and cut them off. */
    char i[2 * IKE_SPI_LEN + 1], r[2 * IKE_SPI_LEN + 1];
    char prefix[IKE_LOG_NAME_MAX + sizeof(i) + sizeof(r) + 3];
    spi_hex(sa->spi_i, i);
    spi_hex(sa->spi_r, r);
    snprintf(prefix, sizeof(prefix), "%.*s %s/%s: ", IKE_LOG_NAME_MAX,
             sa->cfg->name ? sa->cfg->name : "-", i, r);
    va_list ap;
    va_start(ap, fmt);
    ctx_vlog(&sa->ctx, sa, level, prefix, fmt, ap);
    va_end(ap);
}

void ike_ctx_log(const struct ike_ctx *ctx, enum ike_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ctx_vlog(ctx, NULL, level, "", fmt, ap);
    va_end(ap);
}

enum ike_status ike_sa_random_spi(uint8_t spi[IKE_SPI_LEN])
{
    static const uint8_t zero[IKE_SPI_LEN];
    do {
        if (RAND_bytes(spi, IKE_SPI_LEN) != 1)
            return IKE_E_CRYPTO;
    } while (memcmp(spi, zero, IKE_SPI_LEN) == 0); /* zero means "not yet" */
    return IKE_OK;
}

/* One draw of 256..2^32-1 (RFC 4303 §2.1: 1..255 are reserved by IANA,
 * 0 is never sent); the redraw below 256 is not counted as a try. */
static enum ike_status random_spi32(uint32_t *spi)
{
    uint8_t b[4];
    do {
        if (RAND_bytes(b, sizeof(b)) != 1)
            return IKE_E_CRYPTO;
        *spi = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    } while (*spi < 256);
    return IKE_OK;
}

enum ike_status ike_sa_random_child_spi(struct ike_sa *sa, uint32_t *spi)
{
    bool (*taken)(void *, uint32_t) = sa->ctx.ops->child_spi_taken;
    for (unsigned i = 0; i < IKE_CHILD_SPI_TRIES; i++) {
        enum ike_status st = random_spi32(spi);
        if (st != IKE_OK || !taken || !taken(sa->ctx.user, *spi))
            return st;
        ike_sa_log(sa, IKE_LOG_DEBUG, "inbound SPI %08x is in use, drawing another", *spi);
    }
    ike_sa_log(sa, IKE_LOG_ERR, "no free inbound CHILD SPI: %u random draws were all in use",
               IKE_CHILD_SPI_TRIES);
    *spi = 0;
    return IKE_E_STATE;
}

void ike_sa_id_from_cfg(const struct ike_cfg_id *id, struct ike_id_export *out)
{
    memset(out, 0, sizeof(*out));
    size_t len = id->len < IKE_EXPORT_ID_MAX ? id->len : IKE_EXPORT_ID_MAX;
    out->type = id->type;
    out->len = (uint16_t)len;
    memcpy(out->data, id->data, len);
}

size_t ike_sa_id_body(const struct ike_id_export *id, uint8_t *buf, size_t size)
{
    if (size < 4u + id->len)
        return 0;
    buf[0] = id->type;
    buf[1] = buf[2] = buf[3] = 0;
    memcpy(buf + 4, id->data, id->len);
    return 4u + id->len;
}

const char *ike_sa_id_str(const struct ike_id_export *id, char *buf, size_t size)
{
    switch (id->type) {
    case 0: snprintf(buf, size, "any"); break;
    case IKE_ID_FQDN:
    case IKE_ID_RFC822_ADDR:
        snprintf(buf, size, "%s:%.*s", id->type == IKE_ID_FQDN ? "fqdn" : "email", (int)id->len,
                 (const char *)id->data);
        break;
    case IKE_ID_IPV4_ADDR:
    case IKE_ID_IPV6_ADDR: {
        struct ike_addr a = {.family = id->type == IKE_ID_IPV4_ADDR ? IKE_AF_INET : IKE_AF_INET6};
        memcpy(a.addr, id->data, id->len < 16 ? id->len : 16);
        char s[IKE_ADDR_STR_MAX];
        ike_addr_str(&a, s, sizeof(s));
        /* drop the ":0" port suffix of ike_addr_str */
        char *colon = strrchr(s, ':');
        if (colon)
            *colon = '\0';
        snprintf(buf, size, "ip:%s", s);
        break;
    }
    default: snprintf(buf, size, "type%u(%u octets)", id->type, id->len);
    }
    return buf;
}

enum ike_sa_state ike_sa_state(const struct ike_sa *sa)
{
    return sa->state;
}

bool ike_sa_is_initiator(const struct ike_sa *sa)
{
    return sa->initiator;
}

const uint8_t *ike_sa_spi_i(const struct ike_sa *sa)
{
    return sa->spi_i;
}

const uint8_t *ike_sa_spi_r(const struct ike_sa *sa)
{
    return sa->spi_r;
}

const struct ike_addr *ike_sa_local_addr(const struct ike_sa *sa)
{
    return &sa->local;
}

const struct ike_addr *ike_sa_remote_addr(const struct ike_sa *sa)
{
    return &sa->remote;
}

const struct ike_sa_stats *ike_sa_stats(const struct ike_sa *sa)
{
    return &sa->stats;
}

bool ike_sa_nat_detected(const struct ike_sa *sa)
{
    return sa->nat_local || sa->nat_remote;
}

const struct ike_sa_cfg *ike_sa_cfg(const struct ike_sa *sa)
{
    return sa->cfg;
}

void ike_sa_set_user(struct ike_sa *sa, void *user)
{
    sa->user = user;
}

void *ike_sa_user(const struct ike_sa *sa)
{
    return sa->user;
}
