/* Delete payload (RFC 7296 §3.11): protocol, SPI size, number of SPIs,
 * SPIs. Deleting the IKE SA carries no SPI (size 0, count 0); deleting
 * Child SAs lists their 4-octet inbound SPIs as seen by the receiver. */
#include "pld.h"

#define DELETE_FIXED 4

static enum ike_status delete_check(uint8_t protocol, uint8_t spi_len, size_t n,
                                    struct ike_diag *diag)
{
    if (protocol == IKE_PROTO_IKE) {
        if (spi_len != 0 || n != 0)
            return ike_diag_fail(diag, IKE_E_MALFORMED,
                                 "D(IKE) must have SPI size 0 and no SPIs, has size %u count %zu",
                                 spi_len, n);
        return IKE_OK;
    }
    if (protocol != IKE_PROTO_AH && protocol != IKE_PROTO_ESP)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "D payload protocol %u unknown", protocol);
    if (spi_len != 4)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "D(%s) SPI size %u != 4",
                             ike_protocol_name(protocol), spi_len);
    if (n == 0)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "D(%s) without SPIs",
                             ike_protocol_name(protocol));
    return IKE_OK;
}

enum ike_status ike_pld_delete_parse(struct ike_pld_ctx *ctx, struct ike_rd *rd,
                                     struct ike_pld *pld)
{
    struct ike_pld_delete *d = &pld->del;
    uint8_t spi_len;
    uint16_t n;
    if (ike_rd_left(rd) < DELETE_FIXED)
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "D payload body %zu < fixed part %d",
                             ike_rd_left(rd), DELETE_FIXED);
    if (!ike_rd_u8(rd, &d->protocol) || !ike_rd_u8(rd, &spi_len) || !ike_rd_u16(rd, &n))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "D payload truncated");
    enum ike_status st = delete_check(d->protocol, spi_len, n, ctx->diag);
    if (st != IKE_OK)
        return st;
    if ((size_t)n * spi_len != ike_rd_left(rd))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED,
                             "D payload: %u SPIs of %u octets != %zu octets left", n, spi_len,
                             ike_rd_left(rd));
    d->spis = ike_arena_array(ctx->arena, n, sizeof(*d->spis));
    if (!d->spis)
        return ike_diag_fail(ctx->diag, IKE_E_NOMEM, "D payload: no memory for %u SPIs", n);
    for (size_t i = 0; i < n; i++)
        if (!ike_rd_u32(rd, &d->spis[i]))
            return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "D payload truncated");
    d->n_spis = n;
    return IKE_OK;
}

enum ike_status ike_pld_delete_encode(struct ike_pld_ctx *ctx, struct ike_wr *wr,
                                 const struct ike_pld *pld
                                      )
{
    struct ike_diag *diag = ctx->diag;
    const struct ike_pld_delete *d = &pld->del;
    uint8_t spi_len = d->protocol == IKE_PROTO_IKE ? 0 : 4;
    enum ike_status st = delete_check(d->protocol, spi_len, d->n_spis, diag);
    if (st != IKE_OK)
        return st;
    if (d->n_spis > UINT16_MAX)
        return ike_diag_fail(diag, IKE_E_TOO_BIG, "D payload: %zu SPIs > %u", d->n_spis,
                             UINT16_MAX);
    ike_wr_u8(wr, d->protocol);
    ike_wr_u8(wr, spi_len);
    ike_wr_u16(wr, (uint16_t)d->n_spis);
    for (size_t i = 0; i < d->n_spis; i++)
        ike_wr_u32(wr, d->spis[i]);
    return IKE_OK;
}

enum ike_status ike_pld_delete_copy(struct ike_arena *a, struct ike_pld *dst,
                                    const struct ike_pld *src)
{
    dst->del = src->del;
    dst->del.spis = NULL;
    if (src->del.n_spis == 0)
        return IKE_OK;
    dst->del.spis = ike_arena_dup(a, src->del.spis, src->del.n_spis * sizeof(*src->del.spis));
    return dst->del.spis ? IKE_OK : IKE_E_NOMEM;
}
