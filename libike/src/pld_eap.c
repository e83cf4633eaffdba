/* EAP payload (RFC 7296 §3.16): exactly one EAP message (RFC 3748), whose
 * own Length field must cover the payload body exactly. The EAP method
 * itself is not our business here. */
#include "pld.h"

#define EAP_HDR 4

static enum ike_status eap_check(struct ike_slice d, struct ike_diag *diag)
{
    if (d.len < EAP_HDR)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "EAP message length %zu < header %d",
                             d.len, EAP_HDR);
    uint16_t eap_len = ike_get_u16(d.ptr + 2);
    if (eap_len != d.len)
        return ike_diag_fail(diag, IKE_E_MALFORMED,
                             "EAP Length field %u != payload body %zu", eap_len, d.len);
    return IKE_OK;
}

enum ike_status ike_pld_eap_parse(struct ike_pld_ctx *ctx, struct ike_rd *rd, struct ike_pld *pld)
{
    struct ike_slice d = ike_rd_rest(rd);
    enum ike_status st = eap_check(d, ctx->diag);
    if (st == IKE_OK)
        pld->eap.data = d;
    return st;
}

enum ike_status ike_pld_eap_encode(struct ike_pld_ctx *ctx, struct ike_wr *wr,
                                 const struct ike_pld *pld
                                   )
{
    struct ike_diag *diag = ctx->diag;
    enum ike_status st = eap_check(pld->eap.data, diag);
    if (st == IKE_OK)
        ike_wr_bytes(wr, pld->eap.data.ptr, pld->eap.data.len);
    return st;
}

enum ike_status ike_pld_eap_copy(struct ike_arena *a, struct ike_pld *dst,
                                 const struct ike_pld *src)
{
    return ike_slice_dup(a, &dst->eap.data, src->eap.data);
}
