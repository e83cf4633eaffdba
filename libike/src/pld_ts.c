/* Traffic Selector payloads TSi/TSr (RFC 7296 §3.13): number of TSs,
 * 3 reserved octets, then the selectors. An address-range selector has an
 * exact length (16 octets for IPv4, 40 for IPv6); a selector of a type we
 * do not know is kept opaque so the SA code can answer TS_UNACCEPTABLE. */
#include <string.h>

#include "pld.h"

#define TS_FIXED 4
#define TS_SEL_HDR 4u
#define TS_V4_LEN 16
#define TS_V6_LEN 40

static size_t ts_addr_len(uint8_t type)
{
    if (type == IKE_TS_IPV4_ADDR_RANGE)
        return 4;
    if (type == IKE_TS_IPV6_ADDR_RANGE)
        return 16;
    return 0;
}

static enum ike_status ts_parse_one(struct ike_pld_ctx *ctx, const char *name, size_t idx,
                                    struct ike_rd *rd, struct ike_ts *ts)
{
    uint16_t len;
    if (ike_rd_left(rd) < TS_SEL_HDR)
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED,
                             "%s selector %zu: %zu octets left < header %u", name, idx,
                             ike_rd_left(rd), TS_SEL_HDR);
    if (!ike_rd_u8(rd, &ts->type) || !ike_rd_u8(rd, &ts->ip_proto) || !ike_rd_u16(rd, &len))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "%s selector truncated", name);
    if (len < TS_SEL_HDR || len - TS_SEL_HDR > ike_rd_left(rd))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED,
                             "%s selector %zu length %u outside [%u, %zu]", name, idx, len,
                             TS_SEL_HDR, ike_rd_left(rd) + TS_SEL_HDR);
    struct ike_rd sel;
    if (!ike_rd_sub(rd, len - TS_SEL_HDR, &sel))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "%s selector truncated", name);
    size_t alen = ts_addr_len(ts->type);
    if (!alen) {
        ts->opaque = ike_rd_rest(&sel);
        return IKE_OK;
    }
    size_t want = 8 + 2 * alen;
    if (len != want)
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED,
                             "%s selector %zu type %u length %u != %zu", name, idx, ts->type,
                             len, want);
    if (!ike_rd_u16(&sel, &ts->start_port) || !ike_rd_u16(&sel, &ts->end_port) ||
        !ike_rd_copy(&sel, ts->start_addr, alen) || !ike_rd_copy(&sel, ts->end_addr, alen))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "%s selector truncated", name);
    return IKE_OK;
}

enum ike_status ike_pld_ts_parse(struct ike_pld_ctx *ctx, struct ike_rd *rd, struct ike_pld *pld)
{
    const char *name = ike_payload_name(pld->type);
    uint8_t n;
    if (ike_rd_left(rd) < TS_FIXED)
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "%s payload body %zu < fixed part %d",
                             name, ike_rd_left(rd), TS_FIXED);
    if (!ike_rd_u8(rd, &n) || !ike_rd_skip(rd, 3))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "%s payload truncated", name);
    if (n == 0)
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "%s payload with 0 selectors", name);
    if (n > IKE_TS_MAX)
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "%s payload: %u selectors > max %u",
                             name, n, IKE_TS_MAX);
    struct ike_ts *ts = ike_arena_array(ctx->arena, n, sizeof(*ts));
    if (!ts)
        return ike_diag_fail(ctx->diag, IKE_E_NOMEM, "%s payload: no memory", name);
    for (size_t i = 0; i < n; i++) {
        enum ike_status st = ts_parse_one(ctx, name, i + 1, rd, &ts[i]);
        if (st != IKE_OK)
            return st;
    }
    if (ike_rd_left(rd))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED,
                             "%s payload: %zu octets left after %u selectors", name,
                             ike_rd_left(rd), n);
    pld->ts.ts = ts;
    pld->ts.n_ts = n;
    return IKE_OK;
}

static enum ike_status ts_encode_one(struct ike_wr *wr, const char *name, const struct ike_ts *ts,
                                     struct ike_diag *diag)
{
    size_t alen = ts_addr_len(ts->type);
    size_t len = alen ? 8 + 2 * alen : TS_SEL_HDR + ts->opaque.len;
    if (len > UINT16_MAX)
        return ike_diag_fail(diag, IKE_E_TOO_BIG, "%s selector length %zu > %u", name, len,
                             UINT16_MAX);
    ike_wr_u8(wr, ts->type);
    ike_wr_u8(wr, ts->ip_proto);
    ike_wr_u16(wr, (uint16_t)len);
    if (!alen) {
        ike_wr_bytes(wr, ts->opaque.ptr, ts->opaque.len);
        return IKE_OK;
    }
    ike_wr_u16(wr, ts->start_port);
    ike_wr_u16(wr, ts->end_port);
    ike_wr_bytes(wr, ts->start_addr, alen);
    ike_wr_bytes(wr, ts->end_addr, alen);
    return IKE_OK;
}

enum ike_status ike_pld_ts_encode(struct ike_pld_ctx *ctx, struct ike_wr *wr,
                                 const struct ike_pld *pld
                                  )
{
    struct ike_diag *diag = ctx->diag;
    const char *name = ike_payload_name(pld->type);
    if (pld->ts.n_ts == 0 || pld->ts.n_ts > IKE_TS_MAX)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "%s payload: %zu selectors not in 1..%u",
                             name, pld->ts.n_ts, IKE_TS_MAX);
    ike_wr_u8(wr, (uint8_t)pld->ts.n_ts);
    ike_wr_zeros(wr, 3);
    for (size_t i = 0; i < pld->ts.n_ts; i++) {
        enum ike_status st = ts_encode_one(wr, name, &pld->ts.ts[i], diag);
        if (st != IKE_OK)
            return st;
    }
    return IKE_OK;
}

enum ike_status ike_pld_ts_copy(struct ike_arena *a, struct ike_pld *dst,
                                const struct ike_pld *src)
{
    size_t n = src->ts.n_ts;
    dst->ts.n_ts = 0;
    dst->ts.ts = ike_arena_array(a, n, sizeof(*dst->ts.ts));
    if (!dst->ts.ts)
        return IKE_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        dst->ts.ts[i] = src->ts.ts[i];
        if (ike_slice_dup(a, &dst->ts.ts[i].opaque, src->ts.ts[i].opaque) != IKE_OK)
            return IKE_E_NOMEM;
    }
    dst->ts.n_ts = n;
    return IKE_OK;
}
