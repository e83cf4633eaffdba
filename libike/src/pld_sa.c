/* Security Association payload (RFC 7296 §3.3): proposals, each with
 * transforms, each with attributes. Every substructure is carved out by
 * its own length field and must be consumed exactly. */
#include <stdio.h>
#include <string.h>

#include "pld.h"

#define PROP_HDR 8      /* Last Substruc, RESERVED, Length, Num, Protocol, SPI Size, #Trans */
#define XFORM_HDR 8     /* Last Substruc, RESERVED, Length, Type, RESERVED, Transform ID */
#define ATTR_HDR 4
#define PROP_MORE 2     /* Last Substruc value when another proposal follows */
#define XFORM_MORE 3    /* ... when another transform follows */
#define ATTR_TYPE_MASK 0x7fff

/* ---- attributes (§3.3.5) ---------------------------------------------- */

/* Parses a transform's attribute area. Only a single TV Key Length with a
 * non-zero value is understood; anything else makes the transform
 * unacceptable (§3.3.6) but not the message malformed. */
static enum ike_status attrs_parse(struct ike_diag *diag, const char *where, struct ike_rd *rd,
                                   struct ike_transform *t)
{
    struct ike_rd whole = *rd;
    struct ike_slice all = ike_rd_rest(&whole);
    bool seen_key_len = false;
    t->key_bits = 0;
    t->unacceptable = false;
    while (ike_rd_left(rd) > 0) {
        uint16_t af_type, val;
        if (ike_rd_left(rd) < ATTR_HDR)
            return ike_diag_fail(diag, IKE_E_MALFORMED, "%s attribute: %zu octets left < %d",
                                 where, ike_rd_left(rd), ATTR_HDR);
        if (!ike_rd_u16(rd, &af_type) || !ike_rd_u16(rd, &val))
            return ike_diag_fail(diag, IKE_E_MALFORMED, "%s attribute truncated", where);
        bool tv = af_type & IKE_ATTR_FORMAT_TV;
        if (!tv && val > ike_rd_left(rd))
            return ike_diag_fail(diag, IKE_E_MALFORMED,
                                 "%s attribute type %u length %u > %zu octets left", where,
                                 af_type & ATTR_TYPE_MASK, val, ike_rd_left(rd));
        if (!tv && !ike_rd_skip(rd, val))
            return ike_diag_fail(diag, IKE_E_MALFORMED, "%s attribute truncated", where);
        if (tv && (af_type & ATTR_TYPE_MASK) == IKE_ATTR_KEY_LENGTH && !seen_key_len &&
            val != 0) {
            t->key_bits = val;
            seen_key_len = true;
        } else {
            t->unacceptable = true;
        }
    }
    t->raw_attrs = t->unacceptable ? all : (struct ike_slice){NULL, 0};
    return IKE_OK;
}

/* ---- substructure headers ----------------------------------------------- */

struct substruc {
    const char *what; /* "proposal 2" or "proposal 1 transform 3" */
    uint8_t last;     /* the Last Substruc octet */
    struct ike_rd body; /* after the 4-octet substructure header */
};

static enum ike_status substruc_read(struct ike_diag *diag, struct ike_rd *rd, size_t min,
                                     struct substruc *s)
{
    uint16_t len;
    if (ike_rd_left(rd) < min)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "SA %s: %zu octets left < header %zu",
                             s->what, ike_rd_left(rd), min);
    if (!ike_rd_u8(rd, &s->last) || !ike_rd_skip(rd, 1) || !ike_rd_u16(rd, &len))
        return ike_diag_fail(diag, IKE_E_MALFORMED, "SA %s truncated", s->what);
    if (len < min)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "SA %s length %u < header %zu", s->what,
                             len, min);
    if (len - 4u > ike_rd_left(rd))
        return ike_diag_fail(diag, IKE_E_MALFORMED, "SA %s length %u > %zu octets left",
                             s->what, len, ike_rd_left(rd) + 4);
    if (!ike_rd_sub(rd, len - 4u, &s->body))
        return ike_diag_fail(diag, IKE_E_MALFORMED, "SA %s truncated", s->what);
    return IKE_OK;
}

static enum ike_status last_check(struct ike_diag *diag, const struct substruc *s, bool final,
                                  uint8_t more)
{
    uint8_t want = final ? 0 : more;
    if (s->last != want)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "SA %s Last Substruc %u, expected %u (%s)",
                             s->what, s->last, want, final ? "last" : "more follow");
    return IKE_OK;
}

/* ---- transforms (§3.3.2) ------------------------------------------------ */

static enum ike_status xform_parse(struct ike_diag *diag, size_t pi, size_t ti, bool final,
                                   struct ike_rd *rd, struct ike_transform *t)
{
    char what[64];
    snprintf(what, sizeof(what), "proposal %zu transform %zu", pi, ti);
    struct substruc s = {.what = what};
    enum ike_status st = substruc_read(diag, rd, XFORM_HDR, &s);
    if (st == IKE_OK)
        st = last_check(diag, &s, final, XFORM_MORE);
    if (st != IKE_OK)
        return st;
    if (!ike_rd_u8(&s.body, &t->type) || !ike_rd_skip(&s.body, 1) || !ike_rd_u16(&s.body, &t->id))
        return ike_diag_fail(diag, IKE_E_MALFORMED, "SA %s truncated", what);
    return attrs_parse(diag, what, &s.body, t);
}

/* ---- proposals (§3.3.1) ------------------------------------------------- */

static enum ike_status spi_check(struct ike_diag *diag, size_t pi, uint8_t protocol,
                                 uint8_t spi_len)
{
    bool ok;
    if (protocol == IKE_PROTO_IKE)
        ok = spi_len == 0 || spi_len == 8;
    else if (protocol == IKE_PROTO_AH || protocol == IKE_PROTO_ESP)
        ok = spi_len == 4;
    else
        return ike_diag_fail(diag, IKE_E_MALFORMED, "SA proposal %zu protocol %u unknown", pi,
                             protocol);
    if (!ok)
        return ike_diag_fail(diag, IKE_E_MALFORMED,
                             "SA proposal %zu SPI size %u invalid for %s (IKE: 0 or 8, "
                             "AH/ESP: 4)",
                             pi, spi_len, ike_protocol_name(protocol));
    return IKE_OK;
}

static enum ike_status prop_body_parse(struct ike_pld_ctx *ctx, size_t pi, struct ike_rd *rd,
                                       struct ike_proposal *p)
{
    uint8_t n;
    if (!ike_rd_u8(rd, &p->num) || !ike_rd_u8(rd, &p->protocol) || !ike_rd_u8(rd, &p->spi_len) ||
        !ike_rd_u8(rd, &n))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "SA proposal %zu truncated", pi);
    enum ike_status st = spi_check(ctx->diag, pi, p->protocol, p->spi_len);
    if (st != IKE_OK)
        return st;
    if (!ike_rd_copy(rd, p->spi, p->spi_len))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED, "SA proposal %zu SPI truncated", pi);
    /* Refuse an impossible count before allocating for it. */
    if ((size_t)n * XFORM_HDR > ike_rd_left(rd))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED,
                             "SA proposal %zu: %u transforms cannot fit in %zu octets", pi, n,
                             ike_rd_left(rd));
    p->transforms = ike_arena_array(ctx->arena, n, sizeof(*p->transforms));
    if (!p->transforms)
        return ike_diag_fail(ctx->diag, IKE_E_NOMEM, "SA proposal %zu: no memory", pi);
    for (size_t i = 0; i < n; i++) {
        st = xform_parse(ctx->diag, pi, i + 1, i + 1 == n, rd, &p->transforms[i]);
        if (st != IKE_OK)
            return st;
    }
    p->n_transforms = n;
    if (ike_rd_left(rd))
        return ike_diag_fail(ctx->diag, IKE_E_MALFORMED,
                             "SA proposal %zu: %zu octets left after %u transforms", pi,
                             ike_rd_left(rd), n);
    return IKE_OK;
}

/* §3.3.1: proposals of an offer are numbered 1, 2, 3...; an answer holds
 * exactly the one proposal chosen, with the number it had in the offer. */
static enum ike_status numbering_check(struct ike_diag *diag, bool response,
                                       const struct ike_proposal *p, size_t n)
{
    if (n == 0)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "SA payload without proposals");
    if (response) {
        if (n != 1)
            return ike_diag_fail(diag, IKE_E_MALFORMED,
                                 "SA payload in a response has %zu proposals, not 1", n);
        if (p[0].num == 0)
            return ike_diag_fail(diag, IKE_E_MALFORMED, "SA proposal number 0");
        return IKE_OK;
    }
    for (size_t i = 0; i < n; i++)
        if (p[i].num != i + 1)
            return ike_diag_fail(diag, IKE_E_MALFORMED,
                                 "SA proposal %zu has number %u, expected %zu", i + 1, p[i].num,
                                 i + 1);
    return IKE_OK;
}

/* Counts proposals by their length fields, capped, before allocating. A
 * broken one is counted too: the real parse reports it in detail. */
static enum ike_status prop_count(struct ike_diag *diag, struct ike_rd rd, size_t *n)
{
    *n = 0;
    while (ike_rd_left(&rd) > 0) {
        uint16_t len;
        if (++*n > IKE_SA_MAX_PROPOSALS)
            return ike_diag_fail(diag, IKE_E_MALFORMED, "SA payload: more than %u proposals",
                                 IKE_SA_MAX_PROPOSALS);
        if (!ike_rd_skip(&rd, 2) || !ike_rd_u16(&rd, &len) || len < 4 ||
            !ike_rd_skip(&rd, len - 4u))
            break;
    }
    return IKE_OK;
}

enum ike_status ike_pld_sa_parse(struct ike_pld_ctx *ctx, struct ike_rd *rd, struct ike_pld *pld)
{
    size_t n;
    enum ike_status st = prop_count(ctx->diag, *rd, &n);
    if (st != IKE_OK)
        return st;
    struct ike_proposal *props = ike_arena_array(ctx->arena, n, sizeof(*props));
    if (!props)
        return ike_diag_fail(ctx->diag, IKE_E_NOMEM, "SA payload: no memory");
    for (size_t i = 0; i < n; i++) {
        char what[40];
        snprintf(what, sizeof(what), "proposal %zu", i + 1);
        struct substruc s = {.what = what};
        st = substruc_read(ctx->diag, rd, PROP_HDR, &s);
        if (st == IKE_OK)
            st = last_check(ctx->diag, &s, ike_rd_left(rd) == 0, PROP_MORE);
        if (st == IKE_OK)
            st = prop_body_parse(ctx, i + 1, &s.body, &props[i]);
        if (st != IKE_OK)
            return st;
    }
    st = numbering_check(ctx->diag, ctx->response, props, n);
    if (st != IKE_OK)
        return st;
    pld->sa.proposals = props;
    pld->sa.n_proposals = n;
    return IKE_OK;
}

/* ---- encoding ----------------------------------------------------------- */

static enum ike_status xform_encode(struct ike_diag *diag, struct ike_wr *wr, size_t pi,
                                    size_t ti, bool final, const struct ike_transform *t)
{
    char what[64];
    snprintf(what, sizeof(what), "proposal %zu transform %zu", pi, ti);
    if (t->raw_attrs.len) {
        /* Re-check kept attributes so the decoder will accept them. */
        struct ike_rd rd;
        struct ike_transform tmp;
        ike_rd_init(&rd, t->raw_attrs.ptr, t->raw_attrs.len);
        enum ike_status st = attrs_parse(diag, what, &rd, &tmp);
        if (st != IKE_OK)
            return st;
    }
    size_t start = wr->len;
    ike_wr_u8(wr, final ? 0 : XFORM_MORE);
    ike_wr_u8(wr, 0);
    size_t len_off = ike_wr_reserve(wr, 2);
    ike_wr_u8(wr, t->type);
    ike_wr_u8(wr, 0);
    ike_wr_u16(wr, t->id);
    if (t->raw_attrs.len) {
        ike_wr_bytes(wr, t->raw_attrs.ptr, t->raw_attrs.len);
    } else if (t->key_bits) {
        ike_wr_u16(wr, IKE_ATTR_FORMAT_TV | IKE_ATTR_KEY_LENGTH);
        ike_wr_u16(wr, t->key_bits);
    }
    if (wr->len - start > UINT16_MAX)
        return ike_diag_fail(diag, IKE_E_TOO_BIG, "SA %s length %zu > %u", what,
                             wr->len - start, UINT16_MAX);
    ike_wr_patch_u16(wr, len_off, (uint16_t)(wr->len - start));
    return IKE_OK;
}

static enum ike_status prop_encode(struct ike_diag *diag, struct ike_wr *wr, size_t pi,
                                   bool final, const struct ike_proposal *p)
{
    enum ike_status st = spi_check(diag, pi, p->protocol, p->spi_len);
    if (st != IKE_OK)
        return st;
    if (p->n_transforms > IKE_PROP_MAX_TRANSFORMS)
        return ike_diag_fail(diag, IKE_E_TOO_BIG, "SA proposal %zu: %zu transforms > %u", pi,
                             p->n_transforms, IKE_PROP_MAX_TRANSFORMS);
    size_t start = wr->len;
    ike_wr_u8(wr, final ? 0 : PROP_MORE);
    ike_wr_u8(wr, 0);
    size_t len_off = ike_wr_reserve(wr, 2);
    ike_wr_u8(wr, p->num);
    ike_wr_u8(wr, p->protocol);
    ike_wr_u8(wr, p->spi_len);
    ike_wr_u8(wr, (uint8_t)p->n_transforms);
    ike_wr_bytes(wr, p->spi, p->spi_len);
    for (size_t i = 0; i < p->n_transforms; i++) {
        st = xform_encode(diag, wr, pi, i + 1, i + 1 == p->n_transforms, &p->transforms[i]);
        if (st != IKE_OK)
            return st;
    }
    if (wr->len - start > UINT16_MAX)
        return ike_diag_fail(diag, IKE_E_TOO_BIG, "SA proposal %zu length %zu > %u", pi,
                             wr->len - start, UINT16_MAX);
    ike_wr_patch_u16(wr, len_off, (uint16_t)(wr->len - start));
    return IKE_OK;
}

enum ike_status ike_pld_sa_encode(struct ike_pld_ctx *ctx, struct ike_wr *wr,
                                  const struct ike_pld *pld)
{
    const struct ike_pld_sa *sa = &pld->sa;
    if (sa->n_proposals > IKE_SA_MAX_PROPOSALS)
        return ike_diag_fail(ctx->diag, IKE_E_TOO_BIG, "SA payload: %zu proposals > max %u",
                             sa->n_proposals, IKE_SA_MAX_PROPOSALS);
    enum ike_status st = numbering_check(ctx->diag, ctx->response, sa->proposals,
                                         sa->n_proposals);
    for (size_t i = 0; st == IKE_OK && i < sa->n_proposals; i++)
        st = prop_encode(ctx->diag, wr, i + 1, i + 1 == sa->n_proposals, &sa->proposals[i]);
    return st;
}

enum ike_status ike_pld_sa_copy(struct ike_arena *a, struct ike_pld *dst,
                                const struct ike_pld *src)
{
    size_t n = src->sa.n_proposals;
    dst->sa.n_proposals = 0;
    dst->sa.proposals = ike_arena_array(a, n, sizeof(*dst->sa.proposals));
    if (!dst->sa.proposals)
        return IKE_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct ike_proposal *sp = &src->sa.proposals[i];
        struct ike_proposal *dp = &dst->sa.proposals[i];
        *dp = *sp;
        dp->n_transforms = 0;
        dp->transforms = ike_arena_array(a, sp->n_transforms, sizeof(*dp->transforms));
        if (!dp->transforms)
            return IKE_E_NOMEM;
        for (size_t j = 0; j < sp->n_transforms; j++) {
            dp->transforms[j] = sp->transforms[j];
            if (ike_slice_dup(a, &dp->transforms[j].raw_attrs, sp->transforms[j].raw_attrs))
                return IKE_E_NOMEM;
        }
        dp->n_transforms = sp->n_transforms;
    }
    dst->sa.n_proposals = n;
    return IKE_OK;
}
