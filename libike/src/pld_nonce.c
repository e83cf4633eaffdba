/* Nonce payload (RFC 7296 §3.9): 16..256 octets of random data. */
#include "pld.h"

enum ike_status ike_pld_nonce_check(size_t len, struct ike_diag *diag)
{
    if (len < IKE_NONCE_MIN)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "Nonce length %zu < min %d", len,
                             IKE_NONCE_MIN);
    if (len > IKE_NONCE_MAX)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "Nonce length %zu > max %d", len,
                             IKE_NONCE_MAX);
    return IKE_OK;
}

enum ike_status ike_pld_nonce_parse(struct ike_pld_ctx *ctx, struct ike_rd *rd,
                                    struct ike_pld *pld)
{
    enum ike_status st = ike_pld_nonce_check(ike_rd_left(rd), ctx->diag);
    if (st != IKE_OK)
        return st;
    pld->nonce.data = ike_rd_rest(rd);
    return IKE_OK;
}

enum ike_status ike_pld_nonce_encode(struct ike_pld_ctx *ctx, struct ike_wr *wr,
                                 const struct ike_pld *pld
                                     )
{
    struct ike_diag *diag = ctx->diag;
    enum ike_status st = ike_pld_nonce_check(pld->nonce.data.len, diag);
    if (st != IKE_OK)
        return st;
    ike_wr_bytes(wr, pld->nonce.data.ptr, pld->nonce.data.len);
    return IKE_OK;
}

enum ike_status ike_pld_nonce_copy(struct ike_arena *a, struct ike_pld *dst,
                                   const struct ike_pld *src)
{
    return ike_slice_dup(a, &dst->nonce.data, src->nonce.data);
}
