/* SA proposals: building our offer, the responder's choice by its own
 * preference (RFC 7296 §2.7, §3.3.6), checking the choice we get back,
 * and describing both for log lines. */
#include <stdio.h>
#include <string.h>

#include <ike/dh.h>
#include <ike/transform.h>

#include "sa_internal.h"

#define MAX_OFFER_TRANSFORMS (4 * IKE_CFG_MAX_TRANSFORMS + 2)

static const uint16_t esn_default[] = {IKE_ESN_NO};

static void esn_list(const struct ike_cfg_proposal *p, const uint16_t **list, size_t *n)
{
    *list = p->n_esn ? p->esn : esn_default;
    *n = p->n_esn ? p->n_esn : 1;
}

static bool encr_is_aead(uint16_t id, uint16_t bits)
{
    struct ike_encr_info info;
    return ike_encr_lookup(id, bits, &info) == IKE_OK && info.aead;
}

static bool type_known(uint8_t protocol, uint8_t type)
{
    if (type == IKE_TRANS_ENCR || type == IKE_TRANS_INTEG || type == IKE_TRANS_DH)
        return true;
    return protocol == IKE_PROTO_IKE ? type == IKE_TRANS_PRF : type == IKE_TRANS_ESN;
}

/* The peer offers transform (type, id, bits), acceptable per §3.3.6. */
static bool offers(const struct ike_proposal *q, uint8_t type, uint16_t id, uint16_t bits)
{
    for (size_t i = 0; i < q->n_transforms; i++) {
        const struct ike_transform *t = &q->transforms[i];
        if (!t->unacceptable && t->type == type && t->id == id && t->key_bits == bits)
            return true;
    }
    return false;
}

static bool has_type(const struct ike_proposal *q, uint8_t type)
{
    for (size_t i = 0; i < q->n_transforms; i++)
        if (q->transforms[i].type == type)
            return true;
    return false;
}

/* Our most preferred id of a list that q offers. */
static bool pick(const struct ike_proposal *q, uint8_t type, const uint16_t *ours, size_t n,
                 uint16_t *out)
{
    for (size_t i = 0; i < n; i++)
        if (offers(q, type, ours[i], 0)) {
            *out = ours[i];
            return true;
        }
    return false;
}

static bool pick_integ(const struct ike_cfg_proposal *p, const struct ike_proposal *q, bool aead,
                       uint16_t *out)
{
    if (!aead)
        return pick(q, IKE_TRANS_INTEG, p->integ, p->n_integ, out);
    /* AEAD: no integrity transform, or only NONE (RFC 5282 §8). */
    for (size_t i = 0; i < q->n_transforms; i++)
        if (q->transforms[i].type == IKE_TRANS_INTEG && q->transforms[i].id != IKE_INTEG_NONE)
            return false;
    *out = IKE_INTEG_NONE;
    return true;
}

static bool pick_dh(const struct ike_cfg_proposal *p, const struct ike_proposal *q,
                    uint16_t ke_group, uint16_t *out)
{
    for (size_t i = 0; ke_group && i < p->n_dh; i++)
        if (p->dh[i] == ke_group && offers(q, IKE_TRANS_DH, ke_group, 0)) {
            *out = ke_group;
            return true;
        }
    return pick(q, IKE_TRANS_DH, p->dh, p->n_dh, out);
}

static bool match(uint8_t protocol, const struct ike_cfg_proposal *p, const struct ike_proposal *q,
                  uint16_t ke_group, struct ike_sa_algs *a)
{
    memset(a, 0, sizeof(*a));
    if (q->protocol != protocol)
        return false;
    for (size_t i = 0; i < q->n_transforms; i++)
        if (!type_known(protocol, q->transforms[i].type))
            return false; /* §3.3.6: unknown transform type, proposal unacceptable */
    bool found = false;
    for (size_t i = 0; i < p->n_encr && !found; i++)
        if (offers(q, IKE_TRANS_ENCR, p->encr[i].id, p->encr[i].key_bits)) {
            a->encr_id = p->encr[i].id;
            a->encr_key_bits = p->encr[i].key_bits;
            found = true;
        }
    if (!found || !pick_integ(p, q, encr_is_aead(a->encr_id, a->encr_key_bits), &a->integ_id))
        return false;
    if (protocol == IKE_PROTO_IKE)
        return pick(q, IKE_TRANS_PRF, p->prf, p->n_prf, &a->prf_id) &&
               pick_dh(p, q, ke_group, &a->dh_group);
    const uint16_t *esn;
    size_t n_esn;
    esn_list(p, &esn, &n_esn);
    uint16_t e = IKE_ESN_NO;
    if (has_type(q, IKE_TRANS_ESN) && !pick(q, IKE_TRANS_ESN, esn, n_esn, &e))
        return false;
    if (!has_type(q, IKE_TRANS_ESN) && esn[0] != IKE_ESN_NO && !(n_esn > 1 && esn[1] == IKE_ESN_NO))
        return false;
    a->esn = e == IKE_ESN_YES;
    return true;
}

static enum ike_status cfg_check_one(uint8_t protocol, const struct ike_cfg_proposal *p, size_t num,
                                     struct ike_diag *diag)
{
    struct ike_integ_info ii;
    struct ike_prf_info pi;
    bool ike = protocol == IKE_PROTO_IKE;
    if (!p->n_encr || p->n_encr > IKE_CFG_MAX_TRANSFORMS || p->n_integ > IKE_CFG_MAX_TRANSFORMS ||
        p->n_prf > IKE_CFG_MAX_TRANSFORMS || p->n_dh > IKE_CFG_MAX_TRANSFORMS || p->n_esn > 2)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "proposal %zu: bad transform counts", num);
    if (ike && (!p->n_prf || !p->n_dh))
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "IKE proposal %zu: no PRF or DH group", num);
    size_t aead = 0;
    for (size_t i = 0; i < p->n_encr; i++) {
        struct ike_encr_info ei;
        if (ike_encr_lookup(p->encr[i].id, p->encr[i].key_bits, &ei) != IKE_OK)
            return ike_diag_fail(diag, IKE_E_INVALID_ARG,
                                 "proposal %zu: cipher %u with %u-bit key not supported", num,
                                 p->encr[i].id, p->encr[i].key_bits);
        aead += ei.aead;
    }
    if (aead && aead != p->n_encr)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG,
                             "proposal %zu mixes AEAD and non-AEAD ciphers", num);
    if ((aead != 0) != (p->n_integ == 0))
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "proposal %zu: %s", num,
                             aead ? "AEAD cipher with integrity" : "no integrity algorithm");
    for (size_t i = 0; i < p->n_integ; i++)
        if (ike_integ_lookup(p->integ[i], &ii) != IKE_OK)
            return ike_diag_fail(diag, IKE_E_INVALID_ARG, "proposal %zu: integrity %u unknown", num,
                                 p->integ[i]);
    for (size_t i = 0; ike && i < p->n_prf; i++)
        if (ike_prf_lookup(p->prf[i], &pi) != IKE_OK)
            return ike_diag_fail(diag, IKE_E_INVALID_ARG, "proposal %zu: PRF %u unknown", num,
                                 p->prf[i]);
    for (size_t i = 0; ike && i < p->n_dh; i++)
        if (!ike_dh_supported(p->dh[i]))
            return ike_diag_fail(diag, IKE_E_INVALID_ARG,
                                 "IKE proposal %zu: DH group %u not supported", num, p->dh[i]);
    for (size_t i = 0; i < p->n_esn; i++)
        if (p->esn[i] != IKE_ESN_NO && p->esn[i] != IKE_ESN_YES)
            return ike_diag_fail(diag, IKE_E_INVALID_ARG, "proposal %zu: ESN value %u", num,
                                 p->esn[i]);
    return IKE_OK;
}

enum ike_status ike_proposal_cfg_check(uint8_t protocol, const struct ike_cfg_proposal *p, size_t n,
                                       struct ike_diag *diag)
{
    if (n == 0 || n > IKE_CFG_MAX_PROPOSALS)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "%zu proposals configured (1..%u)", n,
                             IKE_CFG_MAX_PROPOSALS);
    for (size_t i = 0; i < n; i++) {
        enum ike_status st = cfg_check_one(protocol, &p[i], i + 1, diag);
        if (st != IKE_OK)
            return st;
    }
    return IKE_OK;
}

enum ike_status ike_proposal_select(uint8_t protocol, const struct ike_cfg_proposal *ours,
                                    size_t n_ours, const struct ike_pld_sa *theirs,
                                    uint16_t ke_group, struct ike_sa_algs *algs,
                                    uint8_t *chosen_num)
{
    for (size_t i = 0; i < n_ours; i++)
        for (size_t j = 0; j < theirs->n_proposals; j++)
            if (match(protocol, &ours[i], &theirs->proposals[j], ke_group, algs)) {
                *chosen_num = theirs->proposals[j].num;
                return IKE_OK;
            }
    return IKE_E_UNSUPPORTED;
}

static void add_t(struct ike_transform *t, size_t *n, uint8_t type, uint16_t id, uint16_t bits)
{
    t[*n] = (struct ike_transform){.type = type, .id = id, .key_bits = bits};
    (*n)++;
}

static size_t offer_transforms(uint8_t protocol, const struct ike_cfg_proposal *p, bool with_dh,
                               struct ike_transform *t)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_encr; i++)
        add_t(t, &n, IKE_TRANS_ENCR, p->encr[i].id, p->encr[i].key_bits);
    for (size_t i = 0; i < p->n_integ; i++)
        add_t(t, &n, IKE_TRANS_INTEG, p->integ[i], 0);
    if (protocol == IKE_PROTO_IKE)
        for (size_t i = 0; i < p->n_prf; i++)
            add_t(t, &n, IKE_TRANS_PRF, p->prf[i], 0);
    for (size_t i = 0; with_dh && i < p->n_dh; i++)
        add_t(t, &n, IKE_TRANS_DH, p->dh[i], 0);
    if (protocol != IKE_PROTO_IKE) {
        const uint16_t *esn;
        size_t n_esn;
        esn_list(p, &esn, &n_esn);
        for (size_t i = 0; i < n_esn; i++)
            add_t(t, &n, IKE_TRANS_ESN, esn[i], 0);
    }
    return n;
}

enum ike_status ike_proposal_build(uint8_t protocol, const struct ike_cfg_proposal *ours,
                                   size_t n_ours, const uint8_t *spi, uint8_t spi_len, bool with_dh,
                                   struct ike_msg *msg)
{
    struct ike_transform t[IKE_CFG_MAX_PROPOSALS][MAX_OFFER_TRANSFORMS];
    struct ike_proposal props[IKE_CFG_MAX_PROPOSALS];
    if (n_ours == 0 || n_ours > IKE_CFG_MAX_PROPOSALS || spi_len > 8)
        return IKE_E_INVALID_ARG;
    for (size_t i = 0; i < n_ours; i++) {
        props[i] = (struct ike_proposal){
            .num = (uint8_t)(i + 1), .protocol = protocol, .spi_len = spi_len, .transforms = t[i]};
        if (spi_len)
            memcpy(props[i].spi, spi, spi_len);
        props[i].n_transforms = offer_transforms(protocol, &ours[i], with_dh, t[i]);
    }
    struct ike_pld_sa sa = {.n_proposals = n_ours, .proposals = props};
    return ike_msg_add_sa(msg, &sa) ? IKE_OK : msg->build_err.status;
}

struct ike_pld *ike_proposal_add_chosen(struct ike_msg *msg, uint8_t protocol, uint8_t num,
                                        const uint8_t *spi, uint8_t spi_len,
                                        const struct ike_sa_algs *a)
{
    struct ike_transform t[5];
    size_t n = 0;
    add_t(t, &n, IKE_TRANS_ENCR, a->encr_id, a->encr_key_bits);
    if (a->integ_id != IKE_INTEG_NONE)
        add_t(t, &n, IKE_TRANS_INTEG, a->integ_id, 0);
    if (protocol == IKE_PROTO_IKE) {
        add_t(t, &n, IKE_TRANS_PRF, a->prf_id, 0);
        add_t(t, &n, IKE_TRANS_DH, a->dh_group, 0);
    } else {
        if (a->dh_group) /* PFS in CREATE_CHILD_SA (§1.3.1) */
            add_t(t, &n, IKE_TRANS_DH, a->dh_group, 0);
        add_t(t, &n, IKE_TRANS_ESN, a->esn ? IKE_ESN_YES : IKE_ESN_NO, 0);
    }
    struct ike_proposal prop = {
        .num = num, .protocol = protocol, .spi_len = spi_len, .n_transforms = n, .transforms = t};
    if (spi_len)
        memcpy(prop.spi, spi, spi_len);
    struct ike_pld_sa sa = {.n_proposals = 1, .proposals = &prop};
    return ike_msg_add_sa(msg, &sa);
}

static bool in_list(const uint16_t *l, size_t n, uint16_t v)
{
    for (size_t i = 0; i < n; i++)
        if (l[i] == v)
            return true;
    return false;
}

/* One reply transform, checked against our proposal p. */
static enum ike_status reply_transform(uint8_t protocol, const struct ike_cfg_proposal *p,
                                       const struct ike_transform *t, struct ike_sa_algs *a,
                                       unsigned *seen, struct ike_diag *diag)
{
    if (t->type > 5 || (*seen & (1u << t->type)))
        return ike_diag_fail(diag, IKE_E_MALFORMED, "chosen proposal: transform type %u %s",
                             t->type, t->type > 5 ? "unknown" : "repeated");
    *seen |= 1u << t->type;
    bool ok = false;
    const uint16_t *esn;
    size_t n_esn;
    esn_list(p, &esn, &n_esn);
    switch (t->type) {
    case IKE_TRANS_ENCR:
        for (size_t i = 0; i < p->n_encr && !ok; i++)
            ok = p->encr[i].id == t->id && p->encr[i].key_bits == t->key_bits;
        a->encr_id = t->id;
        a->encr_key_bits = t->key_bits;
        break;
    case IKE_TRANS_INTEG:
        ok = in_list(p->integ, p->n_integ, t->id) || t->id == IKE_INTEG_NONE;
        a->integ_id = t->id;
        break;
    case IKE_TRANS_PRF:
        ok = protocol == IKE_PROTO_IKE && in_list(p->prf, p->n_prf, t->id);
        a->prf_id = t->id;
        break;
    case IKE_TRANS_DH:
        /* ESP: a PFS group of ours (CREATE_CHILD_SA) or none */
        ok = in_list(p->dh, p->n_dh, t->id) || (protocol != IKE_PROTO_IKE && t->id == IKE_DH_NONE);
        a->dh_group = t->id;
        break;
    case IKE_TRANS_ESN:
        ok = protocol != IKE_PROTO_IKE && in_list(esn, n_esn, t->id);
        a->esn = t->id == IKE_ESN_YES;
        break;
    default: break;
    }
    if (!ok)
        return ike_diag_fail(diag, IKE_E_MALFORMED,
                             "chosen proposal: transform type %u id %u was not offered", t->type,
                             t->id);
    return IKE_OK;
}

enum ike_status ike_proposal_check_reply(uint8_t protocol, const struct ike_cfg_proposal *ours,
                                         size_t n_ours, const struct ike_pld_sa *reply,
                                         struct ike_sa_algs *algs, struct ike_diag *diag)
{
    memset(algs, 0, sizeof(*algs));
    if (reply->n_proposals != 1)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "reply SA has %zu proposals, need 1",
                             reply->n_proposals);
    const struct ike_proposal *q = &reply->proposals[0];
    if (q->protocol != protocol || q->num < 1 || q->num > n_ours)
        return ike_diag_fail(diag, IKE_E_MALFORMED,
                             "reply proposal %u protocol %u: we offered %zu of protocol %u", q->num,
                             q->protocol, n_ours, protocol);
    const struct ike_cfg_proposal *p = &ours[q->num - 1];
    unsigned seen = 0;
    for (size_t i = 0; i < q->n_transforms; i++) {
        enum ike_status st = reply_transform(protocol, p, &q->transforms[i], algs, &seen, diag);
        if (st != IKE_OK)
            return st;
    }
    bool aead = encr_is_aead(algs->encr_id, algs->encr_key_bits);
    bool need_integ = !aead, bad_integ = aead && algs->integ_id != IKE_INTEG_NONE;
    unsigned need = 1u << IKE_TRANS_ENCR | (need_integ ? 1u << IKE_TRANS_INTEG : 0) |
                    (protocol == IKE_PROTO_IKE ? 1u << IKE_TRANS_PRF | 1u << IKE_TRANS_DH : 0);
    if ((seen & need) != need || bad_integ || (need_integ && algs->integ_id == IKE_INTEG_NONE))
        return ike_diag_fail(diag, IKE_E_MALFORMED,
                             "chosen proposal %u lacks a transform type or mixes AEAD with "
                             "integrity",
                             q->num);
    return IKE_OK;
}

/* ---- descriptions for log lines -------------------------------------- */

static void put_s(char *buf, size_t size, size_t *n, const char *s)
{
    if (*n >= size)
        return;
    int w = snprintf(buf + *n, size - *n, "%s", s);
    if (w > 0)
        *n += (size_t)w;
}

/* name, or prefix and number when the name is unknown */
static void put_named(char *buf, size_t size, size_t *n, const char *name, const char *prefix,
                      unsigned v)
{
    if (*n >= size)
        return;
    int w = name ? snprintf(buf + *n, size - *n, "%s", name)
                 : snprintf(buf + *n, size - *n, "%s%u", prefix, v);
    if (w > 0)
        *n += (size_t)w;
}

static void put_list(char *buf, size_t size, size_t *n, const char *sep,
                     const char *(*name)(uint16_t), const char *fallback, const uint16_t *ids,
                     size_t n_ids)
{
    for (size_t i = 0; i < n_ids; i++) {
        put_s(buf, size, n, i ? "/" : sep);
        put_named(buf, size, n, name(ids[i]), fallback, ids[i]);
    }
}

static void describe_one(const struct ike_cfg_proposal *p, char *buf, size_t size, size_t *n)
{
    for (size_t i = 0; i < p->n_encr; i++) {
        put_s(buf, size, n, i ? "/" : "");
        put_named(buf, size, n, ike_encr_name(p->encr[i].id, p->encr[i].key_bits), "encr",
                  p->encr[i].id);
    }
    put_list(buf, size, n, "-", ike_integ_name, "integ", p->integ, p->n_integ);
    put_list(buf, size, n, "-", ike_prf_name, "prf", p->prf, p->n_prf);
    put_list(buf, size, n, "-", ike_dh_name, "dh", p->dh, p->n_dh);
}

void ike_proposal_describe_cfg(const struct ike_cfg_proposal *p, size_t n_p, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n_p; i++) {
        put_s(buf, size, &n, i ? ", " : "");
        describe_one(&p[i], buf, size, &n);
    }
}

/* A peer proposal as a config proposal (unknown types and ESN left out). */
static void from_pld(const struct ike_proposal *q, struct ike_cfg_proposal *p)
{
    memset(p, 0, sizeof(*p));
    for (size_t i = 0; i < q->n_transforms; i++) {
        const struct ike_transform *t = &q->transforms[i];
        if (t->type == IKE_TRANS_ENCR && p->n_encr < IKE_CFG_MAX_TRANSFORMS)
            p->encr[p->n_encr++] = (struct ike_cfg_encr){t->id, t->key_bits};
        else if (t->type == IKE_TRANS_INTEG && p->n_integ < IKE_CFG_MAX_TRANSFORMS)
            p->integ[p->n_integ++] = t->id;
        else if (t->type == IKE_TRANS_PRF && p->n_prf < IKE_CFG_MAX_TRANSFORMS)
            p->prf[p->n_prf++] = t->id;
        else if (t->type == IKE_TRANS_DH && p->n_dh < IKE_CFG_MAX_TRANSFORMS)
            p->dh[p->n_dh++] = t->id;
    }
}

void ike_proposal_describe_pld(const struct ike_pld_sa *sa, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sa->n_proposals; i++) {
        struct ike_cfg_proposal p;
        from_pld(&sa->proposals[i], &p);
        put_s(buf, size, &n, i ? ", " : "");
        describe_one(&p, buf, size, &n);
    }
}

void ike_proposal_describe_algs(const struct ike_sa_algs *a, char *buf, size_t size)
{
    struct ike_cfg_proposal p = {.n_encr = 1};
    p.encr[0] = (struct ike_cfg_encr){a->encr_id, a->encr_key_bits};
    if (a->integ_id)
        p.integ[p.n_integ++] = a->integ_id;
    if (a->prf_id)
        p.prf[p.n_prf++] = a->prf_id;
    if (a->dh_group)
        p.dh[p.n_dh++] = a->dh_group;
    ike_proposal_describe_cfg(&p, 1, buf, size);
}
