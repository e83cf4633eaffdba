/* Authentication payload (RFC 7296 §3.8): method, 3 reserved octets, the
 * authentication data (MAC or signature; verified elsewhere). */
#include "pld.h"

#define AUTH_FIXED 4

enum ike_status ike_pld_auth_parse(struct ike_pld_ctx *ctx, struct ike_rd *rd,
                                   struct ike_pld *pld)
{
    if (ike_rd_left(rd) <= AUTH_FIXED)
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED,
                             "AUTH payload body %zu octets <= fixed part %d: no data",
                             ike_rd_left(rd), AUTH_FIXED);
    if (!ike_rd_u8(rd, &pld->auth.method) || !ike_rd_skip(rd, 3))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "AUTH payload truncated");
    pld->auth.data = ike_rd_rest(rd);
    return IKE_OK;
}

enum ike_status ike_pld_auth_encode(struct ike_pld_ctx *ctx, struct ike_wr *wr,
                                 const struct ike_pld *pld
                                    )
{
    struct ike_diag *diag = ctx->diag;
    if (pld->auth.data.len == 0)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "AUTH payload without data");
    ike_wr_u8(wr, pld->auth.method);
    ike_wr_zeros(wr, 3);
    ike_wr_bytes(wr, pld->auth.data.ptr, pld->auth.data.len);
    return IKE_OK;
}

enum ike_status ike_pld_auth_copy(struct ike_arena *a, struct ike_pld *dst,
                                  const struct ike_pld *src)
{
    dst->auth.method = src->auth.method;
    return ike_slice_dup(a, &dst->auth.data, src->auth.data);
}
