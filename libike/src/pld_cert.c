/* Certificate (RFC 7296 §3.6) and Certificate Request (§3.7) payloads:
 * one encoding octet followed by data. A CERT must carry data; a CERTREQ
 * may be empty (some peers send one to say "any CA"). */
#include "pld.h"

enum ike_status ike_pld_cert_parse(struct ike_pld_ctx *ctx, struct ike_rd *rd,
                                   struct ike_pld *pld)
{
    const char *name = ike_payload_name(pld->type);
    if (!ike_rd_u8(rd, &pld->cert.encoding))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "%s payload body 0 < fixed part 1",
                             name);
    pld->cert.data = ike_rd_rest(rd);
    if (pld->type == IKE_PLD_CERT && pld->cert.data.len == 0)
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "CERT payload encoding %u without data",
                             pld->cert.encoding);
    return IKE_OK;
}

enum ike_status ike_pld_cert_encode(struct ike_pld_ctx *ctx, struct ike_wr *wr,
                                 const struct ike_pld *pld
                                    )
{
    struct ike_diag *diag = ctx->diag;
    if (pld->type == IKE_PLD_CERT && pld->cert.data.len == 0)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "CERT payload without data");
    ike_wr_u8(wr, pld->cert.encoding);
    ike_wr_bytes(wr, pld->cert.data.ptr, pld->cert.data.len);
    return IKE_OK;
}

enum ike_status ike_pld_cert_copy(struct ike_arena *a, struct ike_pld *dst,
                                  const struct ike_pld *src)
{
    dst->cert.encoding = src->cert.encoding;
    return ike_slice_dup(a, &dst->cert.data, src->cert.data);
}
