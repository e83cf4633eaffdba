/* The table of payload types the codec understands, and small helpers
 * shared by the pld_*.c files. */
#include "pld.h"

#define OPS(t, name) {t, ike_pld_##name##_parse, ike_pld_##name##_encode, ike_pld_##name##_copy}

static const struct ike_pld_ops pld_ops[] = {
    OPS(IKE_PLD_SA, sa),         OPS(IKE_PLD_KE, ke),         OPS(IKE_PLD_IDI, id),
    OPS(IKE_PLD_IDR, id),        OPS(IKE_PLD_CERT, cert),     OPS(IKE_PLD_CERTREQ, cert),
    OPS(IKE_PLD_AUTH, auth),     OPS(IKE_PLD_NONCE, nonce),   OPS(IKE_PLD_NOTIFY, notify),
    OPS(IKE_PLD_DELETE, delete), OPS(IKE_PLD_VENDOR, vendor), OPS(IKE_PLD_TSI, ts),
    OPS(IKE_PLD_TSR, ts),        OPS(IKE_PLD_SK, sk),         OPS(IKE_PLD_CP, cp),
    OPS(IKE_PLD_EAP, eap),       OPS(IKE_PLD_SKF, sk),
};

static const struct ike_pld_ops pld_ops_unknown = {0, ike_pld_unknown_parse,
                                                   ike_pld_unknown_encode, ike_pld_unknown_copy};

const struct ike_pld_ops *ike_pld_ops_find(uint8_t type)
{
    for (size_t i = 0; i < sizeof(pld_ops) / sizeof(pld_ops[0]); i++)
        if (pld_ops[i].type == type)
            return &pld_ops[i];
    return NULL;
}

const struct ike_pld_ops *ike_pld_ops_unknown(void)
{
    return &pld_ops_unknown;
}

enum ike_status ike_slice_dup(struct ike_arena *a, struct ike_slice *dst, struct ike_slice src)
{
    dst->len = 0;
    dst->ptr = NULL;
    if (src.len == 0)
        return IKE_OK;
    uint8_t *p = ike_arena_dup(a, src.ptr, src.len);
    if (!p)
        return IKE_E_NOMEM;
    dst->ptr = p;
    dst->len = src.len;
    return IKE_OK;
}

struct ike_slice ike_rd_rest(struct ike_rd *rd)
{
    struct ike_slice s = {NULL, ike_rd_left(rd)};
    if (s.len == 0 || !ike_rd_slice(rd, s.len, &s.ptr))
        return (struct ike_slice){NULL, 0};
    return s;
}
