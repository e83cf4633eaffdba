/* Key Exchange payload (RFC 7296 §3.4): DH group, 2 reserved octets, the
 * public value. Its length per group is checked by the DH code. */
#include "pld.h"

#define KE_FIXED 4

enum ike_status ike_pld_ke_parse(struct ike_pld_ctx *ctx, struct ike_rd *rd, struct ike_pld *pld)
{
    if (ike_rd_left(rd) <= KE_FIXED)
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED,
                             "KE payload body %zu octets <= fixed part %d: no key data",
                             ike_rd_left(rd), KE_FIXED);
    if (!ike_rd_u16(rd, &pld->ke.group) || !ike_rd_skip(rd, 2))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "KE payload truncated");
    pld->ke.data = ike_rd_rest(rd);
    return IKE_OK;
}

enum ike_status ike_pld_ke_encode(struct ike_pld_ctx *ctx, struct ike_wr *wr,
                                 const struct ike_pld *pld
                                  )
{
    struct ike_diag *diag = ctx->diag;
    if (pld->ke.data.len == 0)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "KE payload without key data");
    ike_wr_u16(wr, pld->ke.group);
    ike_wr_zeros(wr, 2);
    ike_wr_bytes(wr, pld->ke.data.ptr, pld->ke.data.len);
    return IKE_OK;
}

enum ike_status ike_pld_ke_copy(struct ike_arena *a, struct ike_pld *dst,
                                const struct ike_pld *src)
{
    dst->ke.group = src->ke.group;
    return ike_slice_dup(a, &dst->ke.data, src->ke.data);
}
