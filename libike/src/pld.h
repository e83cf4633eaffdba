/*
 * Per-payload codec functions (private). One table entry per payload type
 * the codec understands, pointing into the pld_*.c files:
 *
 *   parse   reads the payload body (the generic header is already consumed
 *           and rd spans exactly the body); the chain decoder rejects
 *           anything the parser leaves over. Slices may point into rd's
 *           data: the caller guarantees it lives in the message arena.
 *   encode  writes the body (ctx->arena unused) after validating it
 *           with the same limits the parser enforces, so that
 *           decode(encode(m)) always succeeds.
 *   copy    deep copy of the type-specific part into an arena.
 */
#ifndef IKE_PLD_H
#define IKE_PLD_H

#include <ike/error.h>
#include <ike/message.h>

#include "arena.h"
#include "buf.h"

struct ike_pld_ctx {
    struct ike_arena *arena; /* decode only */
    struct ike_diag *diag;
    bool response;           /* from the IKE header: SA numbering rules */
};

struct ike_pld_ops {
    uint8_t type;
    enum ike_status (*parse)(struct ike_pld_ctx *ctx, struct ike_rd *rd, struct ike_pld *pld);
    enum ike_status (*encode)(struct ike_pld_ctx *ctx, struct ike_wr *wr,
                              const struct ike_pld *pld);
    enum ike_status (*copy)(struct ike_arena *a, struct ike_pld *dst, const struct ike_pld *src);
};

/* NULL for types the codec does not understand. */
const struct ike_pld_ops *ike_pld_ops_find(uint8_t type);
/* Opaque handling of a skipped, non-critical unknown payload. */
const struct ike_pld_ops *ike_pld_ops_unknown(void);

/* Copies a slice into the arena (src.len 0 gives an empty slice). */
enum ike_status ike_slice_dup(struct ike_arena *a, struct ike_slice *dst, struct ike_slice src);
/* Reads the rest of rd as a slice. */
struct ike_slice ike_rd_rest(struct ike_rd *rd);

#define IKE_PLD_FUNCS(name)                                                                   \
    enum ike_status ike_pld_##name##_parse(struct ike_pld_ctx *ctx, struct ike_rd *rd,        \
                                           struct ike_pld *pld);                              \
    enum ike_status ike_pld_##name##_encode(struct ike_pld_ctx *ctx, struct ike_wr *wr,       \
                                            const struct ike_pld *pld);                       \
    enum ike_status ike_pld_##name##_copy(struct ike_arena *a, struct ike_pld *dst,           \
                                          const struct ike_pld *src)

IKE_PLD_FUNCS(sa);
IKE_PLD_FUNCS(ke);
IKE_PLD_FUNCS(id);
IKE_PLD_FUNCS(cert);   /* CERT and CERTREQ */
IKE_PLD_FUNCS(auth);
IKE_PLD_FUNCS(nonce);
IKE_PLD_FUNCS(notify);
IKE_PLD_FUNCS(delete);
IKE_PLD_FUNCS(vendor);
IKE_PLD_FUNCS(ts);     /* TSi and TSr */
IKE_PLD_FUNCS(cp);
IKE_PLD_FUNCS(eap);
IKE_PLD_FUNCS(sk);     /* SK and SKF */
IKE_PLD_FUNCS(unknown); /* opaque body of a skipped payload */

/* Shared by parser and encoder of each family: one place per limit. */
enum ike_status ike_pld_nonce_check(size_t len, struct ike_diag *diag);
enum ike_status ike_pld_id_check(const struct ike_pld_id *id, const char *name,
                                 struct ike_diag *diag);
enum ike_status ike_pld_sk_check(uint8_t type, const struct ike_pld_sk *sk,
                                 struct ike_diag *diag);

#endif
