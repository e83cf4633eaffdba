/* Encrypted payload SK (RFC 7296 §3.14) and Encrypted Fragment payload SKF
 * (RFC 7383 §2.5), framing only: the body (IV | ciphertext | ICV) stays
 * opaque for the SK layer, which knows the algorithms. The chain decoder
 * stores the generic header's Next Payload (the first inner payload type)
 * in first_inner before calling the parser. */
#include "pld.h"

#define SKF_FIXED 4

enum ike_status ike_pld_sk_check(uint8_t type, const struct ike_pld_sk *sk, struct ike_diag *diag)
{
    if (type == IKE_PLD_SK) {
        if (sk->frag_num || sk->frag_total)
            return ike_diag_fail(diag, IKE_E_INVALID_ARG,
                                 "SK payload with fragment number %u/%u (SKF?)", sk->frag_num,
                                 sk->frag_total);
    } else if (sk->frag_num < 1 || sk->frag_num > sk->frag_total) {
        return ike_diag_fail(diag, IKE_E_MALFORMED,
                             "SKF fragment number %u not in 1..total %u", sk->frag_num,
                             sk->frag_total);
    }
    if (sk->body.len == 0)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "%s payload with empty body",
                             ike_payload_name(type));
    return IKE_OK;
}

enum ike_status ike_pld_sk_parse(struct ike_pld_ctx *ctx, struct ike_rd *rd, struct ike_pld *pld)
{
    struct ike_pld_sk *sk = &pld->sk;
    if (pld->type == IKE_PLD_SKF) {
        if (ike_rd_left(rd) < SKF_FIXED)
            return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "SKF payload body %zu < fixed part %d",
                                 ike_rd_left(rd), SKF_FIXED);
        if (!ike_rd_u16(rd, &sk->frag_num) || !ike_rd_u16(rd, &sk->frag_total))
            return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "SKF payload truncated");
    }
    sk->body_off = ike_rd_abs(rd);
    sk->body = ike_rd_rest(rd);
    return ike_pld_sk_check(pld->type, sk, ctx->diag);
}

enum ike_status ike_pld_sk_encode(struct ike_pld_ctx *ctx, struct ike_wr *wr,
                                 const struct ike_pld *pld
                                  )
{
    struct ike_diag *diag = ctx->diag;
    const struct ike_pld_sk *sk = &pld->sk;
    enum ike_status st = ike_pld_sk_check(pld->type, sk, diag);
    if (st != IKE_OK)
        return st;
    if (pld->type == IKE_PLD_SKF) {
        ike_wr_u16(wr, sk->frag_num);
        ike_wr_u16(wr, sk->frag_total);
    }
    if (sk->body.ptr)
        ike_wr_bytes(wr, sk->body.ptr, sk->body.len);
    else
        ike_wr_zeros(wr, sk->body.len); /* reserved: the SK layer fills it in place */
    return IKE_OK;
}

enum ike_status ike_pld_sk_copy(struct ike_arena *a, struct ike_pld *dst,
                                const struct ike_pld *src)
{
    dst->sk = src->sk;
    dst->sk.body_off = 0;
    if (!src->sk.body.ptr)
        return IKE_OK; /* a reservation stays a reservation */
    return ike_slice_dup(a, &dst->sk.body, src->sk.body);
}
