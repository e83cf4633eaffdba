/* Notify payload (RFC 7296 §3.10): protocol ID, SPI size, notify type,
 * SPI, notification data. The data of the types we use is checked by
 * ike_notify_check() (pld_notify_data.c). */
#include <string.h>

#include "pld.h"

#define NOTIFY_FIXED 4

/* SPI size 0 (protocol then "MUST be ignored on receipt"), 4 for AH/ESP,
 * or 8 for IKE (RFC 4306 style). */
static enum ike_status notify_spi_check(uint8_t protocol, uint8_t spi_len, uint16_t type,
                                        struct ike_diag *diag)
{
    bool ok = spi_len == 0 ||
              (spi_len == 4 && (protocol == IKE_PROTO_AH || protocol == IKE_PROTO_ESP)) ||
              (spi_len == 8 && protocol == IKE_PROTO_IKE);
    if (!ok)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "N(%s) SPI size %u invalid for protocol %u",
                             ike_notify_name(type), spi_len, protocol);
    return IKE_OK;
}

enum ike_status ike_pld_notify_parse(struct ike_pld_ctx *ctx, struct ike_rd *rd,
                                     struct ike_pld *pld)
{
    struct ike_pld_notify *n = &pld->notify;
    if (ike_rd_left(rd) < NOTIFY_FIXED)
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "N payload body %zu < fixed part %d",
                             ike_rd_left(rd), NOTIFY_FIXED);
    if (!ike_rd_u8(rd, &n->protocol) || !ike_rd_u8(rd, &n->spi_len) || !ike_rd_u16(rd, &n->type))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "N payload truncated");
    enum ike_status st = notify_spi_check(n->protocol, n->spi_len, n->type, ctx->diag);
    if (st != IKE_OK)
        return st;
    if (ike_rd_left(rd) < n->spi_len)
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "N(%s) SPI size %u > %zu octets left",
                             ike_notify_name(n->type), n->spi_len, ike_rd_left(rd));
    if (!ike_rd_copy(rd, n->spi, n->spi_len))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "N payload truncated");
    n->data = ike_rd_rest(rd);
    return ike_notify_check(n, ctx->diag);
}

enum ike_status ike_pld_notify_encode(struct ike_pld_ctx *ctx, struct ike_wr *wr,
                                 const struct ike_pld *pld
                                      )
{
    struct ike_diag *diag = ctx->diag;
    const struct ike_pld_notify *n = &pld->notify;
    enum ike_status st = notify_spi_check(n->protocol, n->spi_len, n->type, diag);
    if (st == IKE_OK)
        st = ike_notify_check(n, diag);
    if (st != IKE_OK)
        return st;
    ike_wr_u8(wr, n->protocol);
    ike_wr_u8(wr, n->spi_len);
    ike_wr_u16(wr, n->type);
    ike_wr_bytes(wr, n->spi, n->spi_len);
    ike_wr_bytes(wr, n->data.ptr, n->data.len);
    return IKE_OK;
}

enum ike_status ike_pld_notify_copy(struct ike_arena *a, struct ike_pld *dst,
                                    const struct ike_pld *src)
{
    dst->notify = src->notify;
    return ike_slice_dup(a, &dst->notify.data, src->notify.data);
}
