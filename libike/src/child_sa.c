/* CHILD SAs: the ESP proposal, traffic selectors and keys of a CHILD SA
 * negotiated inside IKE_AUTH (RFC 7296 §1.2, §2.9, §2.17), both roles,
 * its installation through the context and its CHILD_SA_ADD event; key
 * derivation and lookups shared with CREATE_CHILD_SA (exch_child_*.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sa_internal.h"

void ike_child_put_spi(uint8_t *b, uint32_t spi)
{
    b[0] = (uint8_t)(spi >> 24);
    b[1] = (uint8_t)(spi >> 16);
    b[2] = (uint8_t)(spi >> 8);
    b[3] = (uint8_t)spi;
}

uint32_t ike_child_get_spi(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static enum ike_status key_put(struct ike_key_export *k, const struct ike_secret *s)
{
    if (s->len > IKE_EXPORT_KEY_MAX)
        return IKE_E_TOO_BIG;
    k->len = (uint16_t)s->len;
    memcpy(k->data, s->data, s->len);
    return IKE_OK;
}

enum ike_status ike_child_derive_keys(struct ike_sa *sa, struct ike_child_export *c,
                                      bool exch_initiator, const struct ike_secret *g_ir,
                                      const struct ike_keys_nonces *n, struct ike_diag *diag)
{
    struct ike_keys_suite suite = {c->encr_id, c->encr_key_bits, c->integ_id};
    struct ike_keys_child k = {0};
    enum ike_status st = ike_keys_child_derive(sa->prf, &suite, sa->keys.sk_d, g_ir, n, &k);
    if (st == IKE_OK) {
        /* encr_i/integ_i protect traffic from the initiator of the
         * exchange that created the CHILD SA (§2.17) */
        bool i = exch_initiator;
        st = key_put(&c->encr_out, i ? k.encr_i : k.encr_r);
        if (st == IKE_OK)
            st = key_put(&c->integ_out, i ? k.integ_i : k.integ_r);
        if (st == IKE_OK)
            st = key_put(&c->encr_in, i ? k.encr_r : k.encr_i);
        if (st == IKE_OK)
            st = key_put(&c->integ_in, i ? k.integ_r : k.integ_i);
    }
    ike_keys_child_clear(&k);
    if (st != IKE_OK)
        return ike_diag_fail(diag, st, "CHILD SA key derivation: %s", ike_status_str(st));
    return IKE_OK;
}

enum ike_status ike_child_derive(struct ike_sa *sa, struct ike_child_export *c,
                                 struct ike_diag *diag)
{
    const struct ike_sa_init_data *in = sa->init;
    struct ike_keys_nonces n = {in->ni, in->ni_len, in->nr, in->nr_len};
    return ike_child_derive_keys(sa, c, sa->initiator, NULL, &n, diag);
}

struct ike_child_export *ike_child_find(struct ike_sa *sa, bool inbound, uint32_t spi)
{
    for (size_t i = 0; i < sa->n_children; i++)
        if ((inbound ? sa->children[i].spi_in : sa->children[i].spi_out) == spi)
            return &sa->children[i];
    return NULL;
}

const struct ike_cfg_child *ike_child_cfg_by_name(const struct ike_sa *sa, const char *name)
{
    for (size_t i = 0; i < sa->cfg->n_children; i++) {
        const char *n = sa->cfg->children[i].name ? sa->cfg->children[i].name : "-";
        if (strncmp(n, name, IKE_EXPORT_NAME_MAX - 1) == 0)
            return &sa->cfg->children[i];
    }
    return NULL;
}

enum ike_status ike_child_add(struct ike_sa *sa, const struct ike_child_export *c)
{
    char l[512], r[512];
    struct ike_ts ts[IKE_EXPORT_TS_MAX];
    ike_ts_from_export(c->ts_local, c->n_ts_local, ts);
    ike_ts_describe(ts, c->n_ts_local, l, sizeof(l));
    ike_ts_from_export(c->ts_remote, c->n_ts_remote, ts);
    ike_ts_describe(ts, c->n_ts_remote, r, sizeof(r));
    if (sa->ctx.ops->child_install(sa->ctx.user, sa, c) != 0) {
        ike_sa_log(sa, IKE_LOG_ERR, "data plane refused CHILD SA %s (SPI in %08x)", c->cfg_name,
                   c->spi_in);
        return IKE_E_STATE;
    }
    struct ike_child_export *grown =
        realloc(sa->children, (sa->n_children + 1) * sizeof(*sa->children));
    if (!grown) {
        sa->ctx.ops->child_delete(sa->ctx.user, sa, c->spi_in);
        return IKE_E_NOMEM;
    }
    sa->children = grown;
    sa->children[sa->n_children++] = *c;
    ike_life_child_init(sa, &sa->children[sa->n_children - 1]); /* lifetimes (sa_lifetime.c) */
    ike_sa_emit_child_add(sa, &sa->children[sa->n_children - 1]);
    ike_life_child_rearm(sa);
    char rep[40] = "";
    if (c->replaces_spi_in)
        snprintf(rep, sizeof(rep), ", replaces %08x", c->replaces_spi_in);
    ike_sa_log(sa, IKE_LOG_INFO,
               "CHILD SA %s established, SPI in %08x out %08x, local %s, "
               "remote %s%s",
               c->cfg_name, c->spi_in, c->spi_out, l, r, rep);
    return IKE_OK;
}

void ike_child_init(const struct ike_sa *sa, const struct ike_cfg_child *cfg,
                       const struct ike_sa_algs *a, struct ike_child_export *c)
{
    memset(c, 0, sizeof(*c));
    c->version = IKE_EXPORT_VERSION;
    memcpy(c->ike_spi_i, sa->spi_i, IKE_SPI_LEN);
    memcpy(c->ike_spi_r, sa->spi_r, IKE_SPI_LEN);
    snprintf(c->cfg_name, sizeof(c->cfg_name), "%s", cfg->name ? cfg->name : "-");
    c->protocol = IKE_PROTO_ESP;
    c->tunnel = true;
    c->encr_id = a->encr_id;
    c->encr_key_bits = a->encr_key_bits;
    c->integ_id = a->integ_id;
    c->esn = a->esn;
    c->pfs_group = a->dh_group; /* ESP: only CREATE_CHILD_SA sets it */
}

/* ---- initiator ----------------------------------------------------------- */

enum ike_status ike_child_build_request(struct ike_sa *sa, struct ike_msg *msg)
{
    const struct ike_cfg_child *c = &sa->cfg->children[0];
    uint8_t spi[4];
    ike_child_put_spi(spi, sa->init->child_spi);
    enum ike_status st =
        ike_proposal_build(IKE_PROTO_ESP, c->proposals, c->n_proposals, spi, 4, false, msg);
    ike_msg_add_ts(msg, IKE_PLD_TSI, c->local_ts, c->n_local_ts);
    ike_msg_add_ts(msg, IKE_PLD_TSR, c->remote_ts, c->n_remote_ts);
    return st;
}

void ike_child_log_failed(struct ike_sa *sa, const struct ike_cfg_child *c, const char *head,
                          const char *tail, const char *why)
{
    char p[512], l[512], r[512];
    ike_proposal_describe_cfg(c->proposals, c->n_proposals, p, sizeof(p));
    ike_ts_describe(c->local_ts, c->n_local_ts, l, sizeof(l));
    ike_ts_describe(c->remote_ts, c->n_remote_ts, r, sizeof(r));
    ike_sa_log(sa, IKE_LOG_ERR, "%s%s%s: %s; we offered %s, TSi %s, TSr %s", head,
               c->name ? c->name : "-", tail, why, p, l, r);
}

static void reply_failed(struct ike_sa *sa, const struct ike_cfg_child *c, const char *why)
{
    ike_child_log_failed(sa, c, "CHILD SA ", " not created", why);
}

void ike_child_handle_reply(struct ike_sa *sa, const struct ike_msg *resp)
{
    const struct ike_cfg_child *cfg = &sa->cfg->children[0];
    const struct ike_pld *sap = ike_msg_find(resp, IKE_PLD_SA);
    const struct ike_pld *tsi = ike_msg_find(resp, IKE_PLD_TSI);
    const struct ike_pld *tsr = ike_msg_find(resp, IKE_PLD_TSR);
    const struct ike_pld *err = ike_msg_find_error(resp);
    char why[256];
    if (!sap || !tsi || !tsr) {
        snprintf(why, sizeof(why), "peer answered %s",
                 err ? ike_notify_name(err->notify.type) : "without SA (childless)");
        reply_failed(sa, cfg, why);
        return;
    }
    struct ike_sa_algs a;
    struct ike_diag d = {0};
    if (ike_proposal_check_reply(IKE_PROTO_ESP, cfg->proposals, cfg->n_proposals, &sap->sa, &a,
                                 &d) != IKE_OK ||
        sap->sa.proposals[0].spi_len != 4) {
        snprintf(why, sizeof(why), "bad reply proposal: %s",
                 d.reason[0] ? d.reason : "SPI size is not 4");
        reply_failed(sa, cfg, why);
        return;
    }
    if (tsi->ts.n_ts > IKE_EXPORT_TS_MAX || tsr->ts.n_ts > IKE_EXPORT_TS_MAX ||
        !ike_ts_subset(tsi->ts.ts, tsi->ts.n_ts, cfg->local_ts, cfg->n_local_ts) ||
        !ike_ts_subset(tsr->ts.ts, tsr->ts.n_ts, cfg->remote_ts, cfg->n_remote_ts)) {
        reply_failed(sa, cfg, "responder's selectors are not within what we offered");
        return;
    }
    struct ike_child_export c;
    ike_child_init(sa, cfg, &a, &c);
    c.spi_in = sa->init->child_spi;
    c.spi_out = ike_child_get_spi(sap->sa.proposals[0].spi);
    c.n_ts_local = tsi->ts.n_ts;
    ike_ts_to_export(tsi->ts.ts, tsi->ts.n_ts, c.ts_local);
    c.n_ts_remote = tsr->ts.n_ts;
    ike_ts_to_export(tsr->ts.ts, tsr->ts.n_ts, c.ts_remote);
    if (ike_child_derive(sa, &c, &d) != IKE_OK)
        reply_failed(sa, cfg, d.reason);
    else
        (void)ike_child_add(sa, &c);
    OPENSSL_cleanse(&c, sizeof(c));
}

/* ---- responder ----------------------------------------------------------- */

struct child_match {
    const struct ike_cfg_child *cfg;
    struct ike_sa_algs algs;
    uint8_t num;
    struct ike_ts tsi[IKE_EXPORT_TS_MAX], tsr[IKE_EXPORT_TS_MAX];
    size_t n_tsi, n_tsr;
};

/* The first selector config whose proposals and selectors both fit;
 * otherwise the error notify to answer. */
static uint16_t find_match(const struct ike_sa *sa, const struct ike_msg *req,
                           struct child_match *m)
{
    const struct ike_pld *sap = ike_msg_find(req, IKE_PLD_SA);
    const struct ike_pld *tsi = ike_msg_find(req, IKE_PLD_TSI);
    const struct ike_pld *tsr = ike_msg_find(req, IKE_PLD_TSR);
    bool any_proposal = false;
    for (size_t i = 0; i < sa->cfg->n_children; i++) {
        const struct ike_cfg_child *c = &sa->cfg->children[i];
        memset(m, 0, sizeof(*m));
        if (ike_proposal_select(IKE_PROTO_ESP, c->proposals, c->n_proposals, &sap->sa, 0, &m->algs,
                                &m->num) != IKE_OK)
            continue;
        any_proposal = true;
        if (ike_ts_narrow_child(c, &tsi->ts, &tsr->ts, m->tsi, &m->n_tsi, m->tsr, &m->n_tsr)) {
            m->cfg = c;
            return 0;
        }
    }
    return any_proposal ? IKE_N_TS_UNACCEPTABLE : IKE_N_NO_PROPOSAL_CHOSEN;
}

static void log_no_match(const struct ike_sa *sa, const struct ike_msg *req, uint16_t notify)
{
    char offered[512], cfgd[1024] = "", a[512], b[512];
    size_t n = 0;
    if (notify == IKE_N_NO_PROPOSAL_CHOSEN) {
        ike_proposal_describe_pld(&ike_msg_find(req, IKE_PLD_SA)->sa, offered, sizeof(offered));
        for (size_t i = 0; i < sa->cfg->n_children && n < sizeof(cfgd); i++) {
            const struct ike_cfg_child *c = &sa->cfg->children[i];
            ike_proposal_describe_cfg(c->proposals, c->n_proposals, a, sizeof(a));
            n += (size_t)snprintf(cfgd + n, sizeof(cfgd) - n, "%s%s: %s", i ? "; " : "",
                                  c->name ? c->name : "-", a);
        }
        ike_sa_log(sa, IKE_LOG_ERR,
                   "CHILD SA: NO_PROPOSAL_CHOSEN: peer offered ESP %s; "
                   "configured %s",
                   offered, sa->cfg->n_children ? cfgd : "no selectors");
        return;
    }
    const struct ike_pld *tsi = ike_msg_find(req, IKE_PLD_TSI);
    const struct ike_pld *tsr = ike_msg_find(req, IKE_PLD_TSR);
    ike_ts_describe(tsi->ts.ts, tsi->ts.n_ts, a, sizeof(a));
    ike_ts_describe(tsr->ts.ts, tsr->ts.n_ts, b, sizeof(b));
    for (size_t i = 0; i < sa->cfg->n_children && n < sizeof(cfgd); i++) {
        const struct ike_cfg_child *c = &sa->cfg->children[i];
        char l[256], r[256];
        ike_ts_describe(c->remote_ts, c->n_remote_ts, r, sizeof(r));
        ike_ts_describe(c->local_ts, c->n_local_ts, l, sizeof(l));
        n += (size_t)snprintf(cfgd + n, sizeof(cfgd) - n, "%s%s: remote %s local %s", i ? "; " : "",
                              c->name ? c->name : "-", r, l);
    }
    ike_sa_log(sa, IKE_LOG_ERR,
               "CHILD SA: TS_UNACCEPTABLE: peer offered TSi %s TSr %s; "
               "configured %s",
               a, b, cfgd);
}

/* Builds the CHILD SA of match m; 0 or the notify to answer instead. */
static uint16_t create(struct ike_sa *sa, const struct ike_msg *req, const struct child_match *m,
                       struct ike_msg *resp)
{
    const struct ike_pld *sap = ike_msg_find(req, IKE_PLD_SA);
    const struct ike_proposal *peer = NULL;
    for (size_t i = 0; i < sap->sa.n_proposals && !peer; i++)
        if (sap->sa.proposals[i].num == m->num && sap->sa.proposals[i].protocol == IKE_PROTO_ESP)
            peer = &sap->sa.proposals[i];
    struct ike_child_export c;
    struct ike_diag d = {0};
    ike_child_init(sa, m->cfg, &m->algs, &c);
    if (!peer || peer->spi_len != 4) {
        ike_sa_log(sa, IKE_LOG_ERR, "CHILD SA: proposal %u has no 4-octet ESP SPI", m->num);
        return IKE_N_NO_PROPOSAL_CHOSEN;
    }
    if (ike_sa_random_child_spi(sa, &c.spi_in) != IKE_OK)
        return IKE_N_TEMPORARY_FAILURE; /* logged: no free inbound SPI */
    c.spi_out = ike_child_get_spi(peer->spi);
    c.n_ts_local = m->n_tsr; /* the responder's side is TSr */
    ike_ts_to_export(m->tsr, m->n_tsr, c.ts_local);
    c.n_ts_remote = m->n_tsi;
    ike_ts_to_export(m->tsi, m->n_tsi, c.ts_remote);
    uint16_t notify = 0;
    if (ike_child_derive(sa, &c, &d) != IKE_OK || ike_child_add(sa, &c) != IKE_OK) {
        notify = IKE_N_TEMPORARY_FAILURE;
    } else {
        uint8_t spi[4];
        ike_child_put_spi(spi, c.spi_in);
        ike_proposal_add_chosen(resp, IKE_PROTO_ESP, m->num, spi, 4, &m->algs);
        ike_msg_add_ts(resp, IKE_PLD_TSI, m->tsi, m->n_tsi);
        ike_msg_add_ts(resp, IKE_PLD_TSR, m->tsr, m->n_tsr);
    }
    OPENSSL_cleanse(&c, sizeof(c));
    return notify;
}

void ike_child_respond(struct ike_sa *sa, const struct ike_msg *req, struct ike_msg *resp)
{
    struct child_match m;
    uint16_t notify = find_match(sa, req, &m);
    if (notify)
        log_no_match(sa, req, notify);
    else
        notify = create(sa, req, &m, resp);
    if (notify)
        ike_msg_add_notify(resp, notify, NULL, 0);
}
