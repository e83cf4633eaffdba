/* Decoding a datagram: header, then the payload chain (RFC 7296 §3.2) up
 * to the SK/SKF payload; later the decrypted inner chain. */
#include <string.h>

#include "msg_codec.h"
#include "pld.h"

static bool is_sk(uint8_t type)
{
    return type == IKE_PLD_SK || type == IKE_PLD_SKF;
}

/* Reads one generic payload header and carves the body out of rd. */
static enum ike_status generic_hdr(struct ike_diag *diag, struct ike_rd *rd, uint8_t type,
                                   uint8_t *next, uint8_t *flags, struct ike_rd *body)
{
    const char *name = ike_payload_name(type);
    uint16_t len;
    if (ike_rd_left(rd) < IKE_GENERIC_HDR_LEN)
        return ike_diag_fail(diag, IKE_E_MALFORMED,
                             "%s payload (type %u): %zu octets left < generic header %d", name,
                             type, ike_rd_left(rd), IKE_GENERIC_HDR_LEN);
    if (!ike_rd_u8(rd, next) || !ike_rd_u8(rd, flags) || !ike_rd_u16(rd, &len))
        return ike_diag_fail(diag, IKE_E_MALFORMED, "%s payload header truncated", name);
    if (len < IKE_GENERIC_HDR_LEN)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "%s payload length %u < generic header %d",
                             name, len, IKE_GENERIC_HDR_LEN);
    if (len - (size_t)IKE_GENERIC_HDR_LEN > ike_rd_left(rd))
        return ike_diag_fail(diag, IKE_E_MALFORMED, "%s payload length %u > %zu octets remaining",
                             name, len, ike_rd_left(rd) + IKE_GENERIC_HDR_LEN);
    if (!ike_rd_sub(rd, len - (size_t)IKE_GENERIC_HDR_LEN, body))
        return ike_diag_fail(diag, IKE_E_MALFORMED, "%s payload truncated", name);
    return IKE_OK;
}

static const struct ike_pld_ops *pick_ops(struct ike_msg *msg, struct ike_diag *diag,
                                          uint8_t type, uint8_t flags, enum ike_status *st)
{
    const struct ike_pld_ops *ops = ike_pld_ops_find(type);
    *st = IKE_OK;
    if (ops)
        return ops; /* the critical bit is ignored for types we know */
    if (flags & IKE_PLD_CRITICAL) {
        *st = ike_diag_fail(diag, IKE_E_CRITICAL, "unknown payload type %u with critical bit",
                            type);
        if (diag)
            diag->payload_type = type;
        return NULL;
    }
    msg->n_unknown++;
    return ike_pld_ops_unknown();
}

/* Decodes one payload; *next receives its Next Payload field. */
static enum ike_status decode_one(struct ike_msg *msg, struct ike_pld_ctx *ctx,
                                  struct ike_rd *rd, uint8_t type, bool inner, uint8_t *next)
{
    struct ike_rd body;
    uint8_t flags;
    size_t start = ike_rd_abs(rd);
    enum ike_status st = generic_hdr(ctx->diag, rd, type, next, &flags, &body);
    if (st != IKE_OK)
        return st;
    const struct ike_pld_ops *ops = pick_ops(msg, ctx->diag, type, flags, &st);
    if (!ops)
        return st;
    if (inner && is_sk(type))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "%s payload inside SK",
                             ike_payload_name(type));
    struct ike_pld *pld = ike_arena_alloc(ctx->arena, sizeof(*pld));
    if (!pld)
        return ike_diag_fail(ctx->diag, IKE_E_NOMEM, "no memory for payload %u", type);
    pld->type = type;
    pld->inside_sk = inner;
    pld->offset = start;
    struct ike_rd whole = body;
    pld->raw = ike_rd_rest(&whole);
    if (is_sk(type))
        pld->sk.first_inner = *next;
    st = ops->parse(ctx, &body, pld);
    if (st != IKE_OK)
        return st;
    if (ike_rd_left(&body))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED,
                             "%s payload: %zu octets left over after parsing",
                             ike_payload_name(type), ike_rd_left(&body));
    return ike_msg_append(msg, pld, ctx->diag);
}

static enum ike_status decode_chain(struct ike_msg *msg, struct ike_pld_ctx *ctx,
                                    struct ike_rd *rd, uint8_t next, bool inner)
{
    uint8_t last = IKE_PLD_NONE;
    while (next != IKE_PLD_NONE) {
        uint8_t type = next;
        enum ike_status st = decode_one(msg, ctx, rd, type, inner, &next);
        if (st != IKE_OK)
            return st;
        last = type;
        if (is_sk(type)) {
            /* Its Next Payload names the first inner payload: the outer
             * chain ends here, and SK(F) must be the last payload. */
            msg->sk = msg->last;
            if (ike_rd_left(rd))
                return ike_diag_fail(ctx->diag, IKE_E_MALFORMED,
                                     "%s payload must be last: %zu octets follow",
                                     ike_payload_name(type), ike_rd_left(rd));
            return IKE_OK;
        }
    }
    if (ike_rd_left(rd))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED,
                             "%zu octets after the last payload (%s)", ike_rd_left(rd),
                             last == IKE_PLD_NONE ? "none" : ike_payload_name(last));
    return IKE_OK;
}

enum ike_status ike_msg_decode(struct ike_msg *msg, const uint8_t *data, size_t len,
                               struct ike_diag *diag)
{
    if (msg->arena || msg->first)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "decode: message not cleared");
    enum ike_status st = ike_hdr_decode(data, len, &msg->hdr, diag);
    if (st != IKE_OK)
        return st;
    st = ike_msg_arena(msg);
    if (st != IKE_OK)
        return ike_diag_fail(diag, st, "no memory for message");
    uint8_t *copy = ike_arena_dup(msg->arena, data, len);
    if (!copy)
        return ike_diag_fail(diag, IKE_E_NOMEM, "no memory for %zu-octet message", len);
    msg->raw = (struct ike_slice){copy, len};
    struct ike_pld_ctx ctx = {msg->arena, diag, ike_msg_is_response(msg)};
    struct ike_rd rd;
    ike_rd_init(&rd, copy, len);
    if (!ike_rd_skip(&rd, IKE_HDR_LEN))
        return ike_diag_fail(diag, IKE_E_MALFORMED, "IKE header truncated");
    return decode_chain(msg, &ctx, &rd, msg->hdr.next_payload, false);
}

enum ike_status ike_msg_decode_inner(struct ike_msg *msg, const uint8_t *plaintext, size_t len,
                                     uint8_t first_type, struct ike_diag *diag)
{
    if (!msg->sk || !msg->arena)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "decode_inner: message has no SK payload");
    if (msg->inner_decoded || msg->inner.ptr)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "decode_inner: already called");
    if (len > IKE_MSG_MAX_LEN)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "inner payloads %zu octets > max %u", len,
                             IKE_MSG_MAX_LEN);
    if (len && !plaintext)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "decode_inner: NULL plaintext");
    uint8_t *copy = ike_arena_dup(msg->arena, plaintext, len);
    if (!copy)
        return ike_diag_fail(diag, IKE_E_NOMEM, "no memory for %zu octets of inner payloads",
                             len);
    msg->inner = (struct ike_slice){copy, len};
    struct ike_pld_ctx ctx = {msg->arena, diag, ike_msg_is_response(msg)};
    struct ike_rd rd;
    ike_rd_init(&rd, copy, len);
    enum ike_status st = decode_chain(msg, &ctx, &rd, first_type, true);
    if (st == IKE_OK)
        msg->inner_decoded = true;
    return st;
}
