/* Configuration payload (RFC 7296 §3.15): CFG type, 3 reserved octets,
 * attributes of R bit + 15-bit type, 2-octet length, value. Values of the
 * attribute types in §3.15.1 must have one of the lengths listed there
 * (0 in a request means "please assign"). */
#include "pld.h"

#define CP_FIXED 4
#define CP_ATTR_HDR 4
#define CP_TYPE_MASK 0x7fff

struct cp_attr_len {
    uint16_t type;
    uint16_t len;  /* the one non-zero length allowed (besides 0) */
};

static const struct cp_attr_len cp_attr_lens[] = {
    {IKE_CFG_INTERNAL_IP4_ADDRESS, 4}, {IKE_CFG_INTERNAL_IP4_NETMASK, 4},
    {IKE_CFG_INTERNAL_IP4_DNS, 4},     {IKE_CFG_INTERNAL_IP4_NBNS, 4},
    {IKE_CFG_INTERNAL_IP4_DHCP, 4},    {IKE_CFG_INTERNAL_IP6_ADDRESS, 17},
    {IKE_CFG_INTERNAL_IP6_DNS, 16},    {IKE_CFG_INTERNAL_IP6_DHCP, 16},
    {IKE_CFG_INTERNAL_IP4_SUBNET, 8},  {IKE_CFG_INTERNAL_IP6_SUBNET, 17},
};

static enum ike_status cp_attr_check(const struct ike_cp_attr *at, size_t idx,
                                     struct ike_diag *diag)
{
    if (at->type > CP_TYPE_MASK)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "CP attribute %zu type %u > 15 bits", idx,
                             at->type);
    if (at->value.len > UINT16_MAX)
        return ike_diag_fail(diag, IKE_E_TOO_BIG, "CP attribute %zu length %zu > %u", idx,
                             at->value.len, UINT16_MAX);
    if (at->type == IKE_CFG_SUPPORTED_ATTRIBUTES && at->value.len % 2)
        return ike_diag_fail(diag, IKE_E_MALFORMED,
                             "CP attribute %zu SUPPORTED_ATTRIBUTES length %zu is odd", idx,
                             at->value.len);
    for (size_t i = 0; i < sizeof(cp_attr_lens) / sizeof(cp_attr_lens[0]); i++) {
        const struct cp_attr_len *l = &cp_attr_lens[i];
        if (l->type == at->type && at->value.len != 0 && at->value.len != l->len)
            return ike_diag_fail(diag, IKE_E_MALFORMED,
                                 "CP attribute %zu type %u length %zu not 0 or %u", idx,
                                 at->type, at->value.len, l->len);
    }
    return IKE_OK;
}

static enum ike_status cp_parse_attr(struct ike_pld_ctx *ctx, size_t idx, struct ike_rd *rd,
                                     struct ike_cp_attr *at)
{
    uint16_t type, len;
    const uint8_t *p;
    if (ike_rd_left(rd) < CP_ATTR_HDR)
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED,
                             "CP attribute %zu: %zu octets left < header %d", idx,
                             ike_rd_left(rd), CP_ATTR_HDR);
    if (!ike_rd_u16(rd, &type) || !ike_rd_u16(rd, &len))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "CP attribute truncated");
    if (len > ike_rd_left(rd))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED,
                             "CP attribute %zu length %u > %zu octets left", idx, len,
                             ike_rd_left(rd));
    if (!ike_rd_slice(rd, len, &p))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "CP attribute truncated");
    /* The R bit is reserved: ignored on receipt. */
    at->type = type & CP_TYPE_MASK;
    at->value.ptr = p;
    at->value.len = len;
    return cp_attr_check(at, idx, ctx->diag);
}

/* Counts attributes first so the array is allocated once, capped. A
 * truncated last attribute is counted too: cp_parse_attr reports it. */
static enum ike_status cp_count(struct ike_pld_ctx *ctx, struct ike_rd rd, size_t *n)
{
    *n = 0;
    while (ike_rd_left(&rd) > 0) {
        uint16_t type, len;
        if (++*n > IKE_CP_MAX_ATTRS)
            return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "CP payload: more than %u attributes",
                                 IKE_CP_MAX_ATTRS);
        if (!ike_rd_u16(&rd, &type) || !ike_rd_u16(&rd, &len) || !ike_rd_skip(&rd, len))
            break;
    }
    return IKE_OK;
}

enum ike_status ike_pld_cp_parse(struct ike_pld_ctx *ctx, struct ike_rd *rd, struct ike_pld *pld)
{
    size_t n;
    if (ike_rd_left(rd) < CP_FIXED)
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "CP payload body %zu < fixed part %d",
                             ike_rd_left(rd), CP_FIXED);
    if (!ike_rd_u8(rd, &pld->cp.cfg_type) || !ike_rd_skip(rd, 3))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "CP payload truncated");
    enum ike_status st = cp_count(ctx, *rd, &n);
    if (st != IKE_OK)
        return st;
    struct ike_cp_attr *attrs = ike_arena_array(ctx->arena, n, sizeof(*attrs));
    if (!attrs)
        return ike_diag_fail(ctx->diag, IKE_E_NOMEM, "CP payload: no memory");
    for (size_t i = 0; i < n; i++) {
        st = cp_parse_attr(ctx, i + 1, rd, &attrs[i]);
        if (st != IKE_OK)
            return st;
    }
    pld->cp.attrs = attrs;
    pld->cp.n_attrs = n;
    return IKE_OK;
}

enum ike_status ike_pld_cp_encode(struct ike_pld_ctx *ctx, struct ike_wr *wr,
                                 const struct ike_pld *pld
                                  )
{
    struct ike_diag *diag = ctx->diag;
    if (pld->cp.n_attrs > IKE_CP_MAX_ATTRS)
        return ike_diag_fail(diag, IKE_E_TOO_BIG, "CP payload: %zu attributes > max %u",
                             pld->cp.n_attrs, IKE_CP_MAX_ATTRS);
    ike_wr_u8(wr, pld->cp.cfg_type);
    ike_wr_zeros(wr, 3);
    for (size_t i = 0; i < pld->cp.n_attrs; i++) {
        const struct ike_cp_attr *at = &pld->cp.attrs[i];
        enum ike_status st = cp_attr_check(at, i + 1, diag);
        if (st != IKE_OK)
            return st;
        ike_wr_u16(wr, at->type);
        ike_wr_u16(wr, (uint16_t)at->value.len);
        ike_wr_bytes(wr, at->value.ptr, at->value.len);
    }
    return IKE_OK;
}

enum ike_status ike_pld_cp_copy(struct ike_arena *a, struct ike_pld *dst,
                                const struct ike_pld *src)
{
    size_t n = src->cp.n_attrs;
    dst->cp.cfg_type = src->cp.cfg_type;
    dst->cp.n_attrs = 0;
    dst->cp.attrs = ike_arena_array(a, n, sizeof(*dst->cp.attrs));
    if (!dst->cp.attrs)
        return IKE_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        dst->cp.attrs[i].type = src->cp.attrs[i].type;
        if (ike_slice_dup(a, &dst->cp.attrs[i].value, src->cp.attrs[i].value) != IKE_OK)
            return IKE_E_NOMEM;
    }
    dst->cp.n_attrs = n;
    return IKE_OK;
}
