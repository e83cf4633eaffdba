/* A payload type we do not understand, sent without the critical bit: we
 * skip it (RFC 7296 §3.2) but keep its body in pld->raw so the message
 * still says it was there and re-encodes to the same bytes. */
#include "pld.h"

enum ike_status ike_pld_unknown_parse(struct ike_pld_ctx *ctx, struct ike_rd *rd,
                                      struct ike_pld *pld)
{
    (void)ctx;
    pld->unknown = true;
    pld->raw = ike_rd_rest(rd);
    return IKE_OK;
}

enum ike_status ike_pld_unknown_encode(struct ike_pld_ctx *ctx, struct ike_wr *wr,
                                 const struct ike_pld *pld
                                       )
{
    struct ike_diag *diag = ctx->diag;
    (void)diag;
    ike_wr_bytes(wr, pld->raw.ptr, pld->raw.len);
    return IKE_OK;
}

enum ike_status ike_pld_unknown_copy(struct ike_arena *a, struct ike_pld *dst,
                                     const struct ike_pld *src)
{
    dst->unknown = true;
    return ike_slice_dup(a, &dst->raw, src->raw);
}
