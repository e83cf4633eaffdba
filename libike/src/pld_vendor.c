/* Vendor ID payload (RFC 7296 §3.12): opaque, any length. */
#include "pld.h"

enum ike_status ike_pld_vendor_parse(struct ike_pld_ctx *ctx, struct ike_rd *rd,
                                     struct ike_pld *pld)
{
    (void)ctx;
    pld->vendor.data = ike_rd_rest(rd);
    return IKE_OK;
}

enum ike_status ike_pld_vendor_encode(struct ike_pld_ctx *ctx, struct ike_wr *wr,
                                 const struct ike_pld *pld
                                      )
{
    struct ike_diag *diag = ctx->diag;
    (void)diag;
    ike_wr_bytes(wr, pld->vendor.data.ptr, pld->vendor.data.len);
    return IKE_OK;
}

enum ike_status ike_pld_vendor_copy(struct ike_arena *a, struct ike_pld *dst,
                                    const struct ike_pld *src)
{
    return ike_slice_dup(a, &dst->vendor.data, src->vendor.data);
}
