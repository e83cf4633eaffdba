/* CREATE_CHILD_SA for a CHILD SA (RFC 7296 §1.3.1, §2.9, §2.17): the
 * CHILD_CREATE task, and the request/response halves shared with the
 * CHILD rekey (exch_child_rekey.c): proposals with PFS groups, KE,
 * selector narrowing, keys from SK_d and this exchange's nonces. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include <ike/nonce.h>
#include <ike/transform.h>

#include "exch_ccs.h"

uint16_t ike_ccs_pfs_group(const struct ike_cfg_child *cfg)
{
    return cfg->n_proposals && cfg->proposals[0].n_dh ? cfg->proposals[0].dh[0] : 0;
}

static bool any_pfs(const struct ike_cfg_child *cfg)
{
    for (size_t i = 0; i < cfg->n_proposals; i++)
        if (cfg->proposals[i].n_dh)
            return true;
    return false;
}

/* ---- initiator ----------------------------------------------------------- */

enum ike_status ike_ccs_child_build(struct ike_sa *sa, const struct ike_ccs *x,
                                    const struct ike_cfg_child *cfg, const struct ike_ts *tsi,
                                    size_t n_tsi, const struct ike_ts *tsr, size_t n_tsr,
                                    struct ike_msg *msg)
{
    uint8_t spi[4];
    ike_child_put_spi(spi, x->child_spi);
    enum ike_status st = ike_proposal_build(IKE_PROTO_ESP, cfg->proposals, cfg->n_proposals, spi, 4,
                                            any_pfs(cfg), msg);
    ike_msg_add_nonce(msg, x->ni, x->ni_len);
    if (x->dh) {
        size_t len = 0;
        const uint8_t *ke = ike_dh_public(x->dh, &len);
        ike_msg_add_ke(msg, ike_dh_group(x->dh), ke, len);
    }
    ike_msg_add_ts(msg, IKE_PLD_TSI, tsi, n_tsi);
    ike_msg_add_ts(msg, IKE_PLD_TSR, tsr, n_tsr);
    (void)sa;
    return st;
}

static void reply_failed(struct ike_sa *sa, const struct ike_cfg_child *c, const char *why)
{
    ike_child_log_failed(sa, c, "CREATE_CHILD_SA for ", " failed", why);
}

/* The negotiated algorithms and PFS secret of a response. */
static bool reply_algs(struct ike_sa *sa, struct ike_ccs *x, const struct ike_cfg_child *cfg,
                       const struct ike_msg *resp, struct ike_sa_algs *a, struct ike_secret **g_ir)
{
    const struct ike_pld *sap = ike_msg_find(resp, IKE_PLD_SA);
    struct ike_diag d = {0};
    char why[300];
    if (ike_proposal_check_reply(IKE_PROTO_ESP, cfg->proposals, cfg->n_proposals, &sap->sa, a,
                                 &d) != IKE_OK ||
        sap->sa.proposals[0].spi_len != 4) {
        snprintf(why, sizeof(why), "bad reply proposal: %s",
                 d.reason[0] ? d.reason : "SPI size is not 4");
        reply_failed(sa, cfg, why);
        return false;
    }
    uint16_t sent = x->dh ? ike_dh_group(x->dh) : 0;
    if (a->dh_group != sent) {
        snprintf(why, sizeof(why), "responder chose PFS group %u, our KE was %u", a->dh_group,
                 sent);
        reply_failed(sa, cfg, why);
        return false;
    }
    if (x->dh && ike_ccs_shared(sa, x->dh, ike_msg_find(resp, IKE_PLD_KE), g_ir) != IKE_OK) {
        reply_failed(sa, cfg, "no usable KEr");
        return false;
    }
    return true;
}

enum ike_ccs_outcome ike_ccs_child_reply(struct ike_sa *sa, struct ike_ccs *x,
                                         const struct ike_cfg_child *cfg, uint32_t replaces,
                                         const struct ike_msg *resp)
{
    const struct ike_pld *err = ike_msg_find_error(resp);
    const struct ike_pld *tsi = ike_msg_find(resp, IKE_PLD_TSI);
    const struct ike_pld *tsr = ike_msg_find(resp, IKE_PLD_TSR);
    char why[256];
    if (err && err->notify.type == IKE_N_INVALID_KE_PAYLOAD)
        return ike_ccs_retry_ke(sa, x, err, cfg->proposals, cfg->n_proposals) ? IKE_CCS_RETRY
                                                                              : IKE_CCS_FAILED;
    if (err || !ike_msg_find(resp, IKE_PLD_SA) || !tsi || !tsr || !ike_ccs_take_nr(x, resp)) {
        snprintf(why, sizeof(why), "peer answered %s",
                 err ? ike_notify_name(err->notify.type) : "without SA, Nr, TSi and TSr");
        reply_failed(sa, cfg, why);
        return IKE_CCS_FAILED;
    }
    struct ike_sa_algs a;
    struct ike_secret *g_ir = NULL;
    if (!reply_algs(sa, x, cfg, resp, &a, &g_ir))
        return IKE_CCS_FAILED;
    enum ike_ccs_outcome out = IKE_CCS_FAILED;
    struct ike_child_export c;
    struct ike_diag d = {0};
    struct ike_keys_nonces n = {x->ni, x->ni_len, x->nr, x->nr_len};
    if (tsi->ts.n_ts > IKE_EXPORT_TS_MAX || tsr->ts.n_ts > IKE_EXPORT_TS_MAX ||
        !ike_ts_subset(tsi->ts.ts, tsi->ts.n_ts, cfg->local_ts, cfg->n_local_ts) ||
        !ike_ts_subset(tsr->ts.ts, tsr->ts.n_ts, cfg->remote_ts, cfg->n_remote_ts)) {
        reply_failed(sa, cfg, "responder's selectors are not within what we offered");
        goto out;
    }
    ike_child_init(sa, cfg, &a, &c);
    c.spi_in = x->child_spi;
    c.spi_out = ike_child_get_spi(ike_msg_find(resp, IKE_PLD_SA)->sa.proposals[0].spi);
    c.replaces_spi_in = replaces;
    c.n_ts_local = tsi->ts.n_ts;
    ike_ts_to_export(tsi->ts.ts, tsi->ts.n_ts, c.ts_local);
    c.n_ts_remote = tsr->ts.n_ts;
    ike_ts_to_export(tsr->ts.ts, tsr->ts.n_ts, c.ts_remote);
    if (ike_child_derive_keys(sa, &c, true, g_ir, &n, &d) != IKE_OK)
        reply_failed(sa, cfg, d.reason);
    else if (ike_child_add(sa, &c) == IKE_OK) {
        x->created_spi = c.spi_in;
        out = IKE_CCS_CREATED;
    }
    OPENSSL_cleanse(&c, sizeof(c));
out:
    ike_secret_free(g_ir);
    return out;
}

static const struct ike_cfg_child *task_cfg(const struct ike_sa *sa, const struct ike_task *t)
{
    return t->cfg_index < sa->cfg->n_children ? &sa->cfg->children[t->cfg_index] : NULL;
}

static enum ike_status create_start(struct ike_sa *sa, struct ike_task *t)
{
    const struct ike_cfg_child *cfg = task_cfg(sa, t);
    if (!cfg)
        return IKE_E_INVALID_ARG;
    struct ike_ccs *x = t->data;
    if (!x) {
        x = ike_ccs_new(sa, ike_nonce_len(sa->algs.prf_id), ike_ccs_pfs_group(cfg));
        enum ike_status st = x ? ike_sa_random_child_spi(sa, &x->child_spi) : IKE_E_NOMEM;
        if (st != IKE_OK) {
            ike_ccs_free(x);
            return st;
        }
        t->data = x;
    }
    struct ike_msg msg;
    ike_ccs_msg_init(sa, &msg, false, sa->send_next);
    enum ike_status st = ike_ccs_child_build(sa, x, cfg, cfg->local_ts, cfg->n_local_ts,
                                             cfg->remote_ts, cfg->n_remote_ts, &msg);
    if (st == IKE_OK)
        st = ike_sa_send_request(sa, &msg);
    ike_msg_clear(&msg);
    if (st == IKE_OK)
        ike_sa_log(sa, IKE_LOG_INFO, "creating CHILD SA %s (SPI in %08x%s)",
                   cfg->name ? cfg->name : "-", x->child_spi, x->dh ? ", PFS" : "");
    return st;
}

static enum ike_task_result create_reply(struct ike_sa *sa, struct ike_task *t,
                                         const struct ike_msg *resp)
{
    const struct ike_cfg_child *cfg = task_cfg(sa, t);
    if (ike_ccs_child_reply(sa, t->data, cfg, 0, resp) == IKE_CCS_RETRY &&
        create_start(sa, t) == IKE_OK)
        return IKE_TASK_AGAIN;
    return IKE_TASK_DONE;
}

const struct ike_task_ops ike_task_child_create = {
    .name = "CHILD_CREATE",
    .exchange = IKE_EXCH_CREATE_CHILD_SA,
    .start = create_start,
    .reply = create_reply,
    .release = ike_ccs_release,
};

/* ---- responder ----------------------------------------------------------- */

/* PFS of our proposal p against the peer's q: our most preferred group q
 * offers (the KE's group if possible), or none when we configure none
 * and q allows none. */
static bool pfs_pick(const struct ike_cfg_proposal *p, const struct ike_proposal *q,
                     uint16_t ke_group, uint16_t *group)
{
    bool has = false, none = false;
    for (size_t i = 0; i < q->n_transforms; i++)
        if (q->transforms[i].type == IKE_TRANS_DH && !q->transforms[i].unacceptable) {
            has |= q->transforms[i].id != IKE_DH_NONE;
            none |= q->transforms[i].id == IKE_DH_NONE;
        }
    *group = 0;
    if (!p->n_dh)
        return !has || none;
    bool offered[IKE_CFG_MAX_TRANSFORMS] = {false};
    for (size_t i = 0; i < p->n_dh; i++)
        for (size_t j = 0; j < q->n_transforms; j++)
            if (q->transforms[j].type == IKE_TRANS_DH && q->transforms[j].id == p->dh[i] &&
                !q->transforms[j].unacceptable)
                offered[i] = true;
    for (size_t i = 0; i < p->n_dh; i++)
        if (offered[i] && p->dh[i] == ke_group) {
            *group = ke_group;
            return true;
        }
    for (size_t i = 0; i < p->n_dh; i++)
        if (offered[i]) {
            *group = p->dh[i];
            return true;
        }
    return false;
}

struct child_match {
    const struct ike_cfg_child *cfg;
    struct ike_sa_algs algs;
    const struct ike_proposal *peer;
    struct ike_ts tsi[IKE_EXPORT_TS_MAX], tsr[IKE_EXPORT_TS_MAX];
    size_t n_tsi, n_tsr;
};

static bool select_proposal(const struct ike_cfg_child *c, const struct ike_pld_sa *sap,
                            uint16_t ke_group, struct child_match *m)
{
    for (size_t i = 0; i < c->n_proposals; i++)
        for (size_t j = 0; j < sap->n_proposals; j++) {
            struct ike_pld_sa one = {.n_proposals = 1, .proposals = &sap->proposals[j]};
            uint8_t num = 0;
            uint16_t g = 0;
            if (ike_proposal_select(IKE_PROTO_ESP, &c->proposals[i], 1, &one, 0, &m->algs, &num) !=
                    IKE_OK ||
                !pfs_pick(&c->proposals[i], &sap->proposals[j], ke_group, &g) ||
                sap->proposals[j].spi_len != 4)
                continue;
            m->algs.dh_group = g;
            m->peer = &sap->proposals[j];
            return true;
        }
    return false;
}

/* The first selector pair (only `only` for a rekey) whose proposals and
 * selectors fit; otherwise the error notify. */
static uint16_t find_match(const struct ike_sa *sa, const struct ike_msg *req,
                           const struct ike_cfg_child *only, struct child_match *m)
{
    const struct ike_pld *sap = ike_msg_find(req, IKE_PLD_SA);
    const struct ike_pld *tsi = ike_msg_find(req, IKE_PLD_TSI);
    const struct ike_pld *tsr = ike_msg_find(req, IKE_PLD_TSR);
    const struct ike_pld *ke = ike_msg_find(req, IKE_PLD_KE);
    bool any_proposal = false;
    size_t n = only ? 1 : sa->cfg->n_children;
    for (size_t i = 0; i < n; i++) {
        const struct ike_cfg_child *c = only ? only : &sa->cfg->children[i];
        memset(m, 0, sizeof(*m));
        if (!select_proposal(c, &sap->sa, ke ? ke->ke.group : 0, m))
            continue;
        any_proposal = true;
        if (ike_ts_narrow_child(c, &tsi->ts, &tsr->ts, m->tsi, &m->n_tsi, m->tsr, &m->n_tsr)) {
            m->cfg = c;
            return 0;
        }
    }
    return any_proposal ? IKE_N_TS_UNACCEPTABLE : IKE_N_NO_PROPOSAL_CHOSEN;
}

static void log_no_match(struct ike_sa *sa, const struct ike_msg *req, uint16_t notify)
{
    char offered[512], a[512], b[512];
    const struct ike_pld *tsi = ike_msg_find(req, IKE_PLD_TSI);
    const struct ike_pld *tsr = ike_msg_find(req, IKE_PLD_TSR);
    ike_proposal_describe_pld(&ike_msg_find(req, IKE_PLD_SA)->sa, offered, sizeof(offered));
    ike_ts_describe(tsi->ts.ts, tsi->ts.n_ts, a, sizeof(a));
    ike_ts_describe(tsr->ts.ts, tsr->ts.n_ts, b, sizeof(b));
    ike_sa_log(sa, IKE_LOG_ERR,
               "CREATE_CHILD_SA: %s: peer offered ESP %s, TSi %s, TSr %s; no configured selector "
               "pair of %zu accepts it",
               ike_notify_name(notify), offered, a, b, sa->cfg->n_children);
}

/* KE check, Nr, g^ir, the CHILD SA. 0 or the notify to answer. */
static uint16_t create(struct ike_sa *sa, const struct ike_msg *req, const struct child_match *m,
                       const struct ike_child_export *old, struct ike_msg *resp, uint32_t *spi_in,
                       uint8_t *nr, size_t *nr_len)
{
    const struct ike_pld *ke = ike_msg_find(req, IKE_PLD_KE);
    const struct ike_pld *ni = ike_msg_find(req, IKE_PLD_NONCE);
    struct ike_secret *g_ir = NULL;
    struct ike_dh *dh = NULL;
    struct ike_diag d = {0};
    if (m->algs.dh_group && (!ke || ke->ke.group != m->algs.dh_group)) {
        ike_sa_log(sa, IKE_LOG_INFO,
                   "CREATE_CHILD_SA: KE group %u, we chose %u: INVALID_KE_PAYLOAD",
                   ke ? ke->ke.group : 0, m->algs.dh_group);
        ike_msg_add_n_invalid_ke(resp, m->algs.dh_group);
        return IKE_N_INVALID_KE_PAYLOAD;
    }
    if (m->algs.dh_group)
        ike_sa_log(sa, IKE_LOG_DEBUG, "CREATE_CHILD_SA: PFS group %u", m->algs.dh_group);
    *nr_len = ike_nonce_len(sa->algs.prf_id);
    if (ike_nonce_generate(nr, *nr_len) != IKE_OK ||
        (m->algs.dh_group && (ike_dh_new(m->algs.dh_group, &dh, &d) != IKE_OK ||
                              ike_ccs_shared(sa, dh, ke, &g_ir) != IKE_OK))) {
        ike_dh_free(dh);
        return IKE_N_NO_PROPOSAL_CHOSEN;
    }
    struct ike_child_export c;
    struct ike_keys_nonces n = {ni->nonce.data.ptr, ni->nonce.data.len, nr, *nr_len};
    uint16_t notify = 0;
    ike_child_init(sa, m->cfg, &m->algs, &c);
    c.spi_out = ike_child_get_spi(m->peer->spi);
    c.replaces_spi_in = old ? old->spi_in : 0;
    c.n_ts_local = m->n_tsr; /* the responder's side is TSr */
    ike_ts_to_export(m->tsr, m->n_tsr, c.ts_local);
    c.n_ts_remote = m->n_tsi;
    ike_ts_to_export(m->tsi, m->n_tsi, c.ts_remote);
    if (ike_sa_random_child_spi(sa, &c.spi_in) != IKE_OK ||
        ike_child_derive_keys(sa, &c, false, g_ir, &n, &d) != IKE_OK ||
        ike_child_add(sa, &c) != IKE_OK) {
        notify = IKE_N_TEMPORARY_FAILURE;
    } else {
        uint8_t spi[4];
        ike_child_put_spi(spi, c.spi_in);
        *spi_in = c.spi_in;
        ike_proposal_add_chosen(resp, IKE_PROTO_ESP, m->peer->num, spi, 4, &m->algs);
        ike_msg_add_nonce(resp, nr, *nr_len);
        if (dh) {
            size_t len = 0;
            const uint8_t *pub = ike_dh_public(dh, &len);
            ike_msg_add_ke(resp, ike_dh_group(dh), pub, len);
        }
        ike_msg_add_ts(resp, IKE_PLD_TSI, m->tsi, m->n_tsi);
        ike_msg_add_ts(resp, IKE_PLD_TSR, m->tsr, m->n_tsr);
    }
    OPENSSL_cleanse(&c, sizeof(c));
    ike_secret_free(g_ir);
    ike_dh_free(dh);
    return notify;
}

uint16_t ike_ccs_child_respond(struct ike_sa *sa, const struct ike_msg *req, struct ike_msg *resp,
                               const struct ike_child_export *old, uint32_t *spi_in, uint8_t *nr,
                               size_t *nr_len)
{
    if (!ike_msg_find(req, IKE_PLD_TSI) || !ike_msg_find(req, IKE_PLD_TSR)) {
        ike_sa_log(sa, IKE_LOG_WARN, "CREATE_CHILD_SA for a CHILD SA without TSi/TSr");
        return IKE_N_INVALID_SYNTAX;
    }
    const struct ike_cfg_child *only = NULL;
    if (old && !(only = ike_child_cfg_by_name(sa, old->cfg_name))) {
        ike_sa_log(sa, IKE_LOG_ERR, "rekey of CHILD SA %08x: its selector pair %s is gone",
                   old->spi_in, old->cfg_name);
        return IKE_N_NO_PROPOSAL_CHOSEN;
    }
    struct child_match m;
    uint16_t notify = find_match(sa, req, only, &m);
    if (notify) {
        log_no_match(sa, req, notify);
        return notify;
    }
    return create(sa, req, &m, old, resp, spi_in, nr, nr_len);
}
