/* Identification payloads IDi/IDr (RFC 7296 §3.5): ID type, 3 reserved
 * octets, identification data. */
#include "pld.h"

#define ID_FIXED 4

/* RFC 7296 §3.5: an FQDN or RFC822 address "MUST NOT contain any
 * terminators (e.g., NULL, CR, etc.)". */
static bool id_has_terminator(struct ike_slice d)
{
    for (size_t i = 0; i < d.len; i++)
        if (d.ptr[i] == 0 || d.ptr[i] == '\r' || d.ptr[i] == '\n')
            return true;
    return false;
}

enum ike_status ike_pld_id_check(const struct ike_pld_id *id, const char *name,
                                 struct ike_diag *diag)
{
    size_t want = 0;
    if (id->type == IKE_ID_IPV4_ADDR)
        want = 4;
    else if (id->type == IKE_ID_IPV6_ADDR)
        want = 16;
    if (want && id->data.len != want)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "%s type %u address length %zu != %zu",
                             name, id->type, id->data.len, want);
    if (id->data.len == 0)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "%s type %u with empty data", name,
                             id->type);
    if ((id->type == IKE_ID_FQDN || id->type == IKE_ID_RFC822_ADDR) &&
        id_has_terminator(id->data))
        return ike_diag_fail(diag, IKE_E_MALFORMED, "%s type %u contains NUL/CR/LF", name,
                             id->type);
    return IKE_OK;
}

enum ike_status ike_pld_id_parse(struct ike_pld_ctx *ctx, struct ike_rd *rd, struct ike_pld *pld)
{
    const char *name = ike_payload_name(pld->type);
    if (ike_rd_left(rd) < ID_FIXED)
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "%s payload body %zu < fixed part %d",
                             name, ike_rd_left(rd), ID_FIXED);
    if (!ike_rd_u8(rd, &pld->id.type) || !ike_rd_skip(rd, 3))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "%s payload truncated", name);
    pld->id.data = ike_rd_rest(rd);
    return ike_pld_id_check(&pld->id, name, ctx->diag);
}

enum ike_status ike_pld_id_encode(struct ike_pld_ctx *ctx, struct ike_wr *wr,
                                 const struct ike_pld *pld
                                  )
{
    struct ike_diag *diag = ctx->diag;
    enum ike_status st = ike_pld_id_check(&pld->id, ike_payload_name(pld->type), diag);
    if (st != IKE_OK)
        return st;
    ike_wr_u8(wr, pld->id.type);
    ike_wr_zeros(wr, 3);
    ike_wr_bytes(wr, pld->id.data.ptr, pld->id.data.len);
    return IKE_OK;
}

enum ike_status ike_pld_id_copy(struct ike_arena *a, struct ike_pld *dst,
                                const struct ike_pld *src)
{
    dst->id.type = src->id.type;
    return ike_slice_dup(a, &dst->id.data, src->id.data);
}
