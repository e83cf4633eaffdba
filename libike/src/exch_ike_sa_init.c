/* The IKE_SA_INIT exchange (RFC 7296 §1.2), both roles: proposals, KE,
 * nonces, NAT detection, RFC 7383 support, INVALID_KE_PAYLOAD retry.
 *
 *   initiator: HDR, SAi1, KEi, Ni, N(NAT_D_SRC), N(NAT_D_DST), [N(FRAG_SUP)]
 *   responder: HDR, SAr1, KEr, Nr, N(NAT_D_SRC), N(NAT_D_DST), [N(FRAG_SUP)]
 *              or, keeping no state, N(INVALID_KE_PAYLOAD) / N(NO_PROPOSAL_CHOSEN)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ike/nonce.h>
#include <ike/transform.h>

#include "sa_internal.h"

#define IKE_INVALID_KE_MAX_RETRIES 2

static enum ike_status check_cfg(const struct ike_ctx *ctx, const struct ike_sa_cfg *cfg,
                                 struct ike_diag *diag)
{
    if (ike_ctx_check(ctx, diag) != IKE_OK)
        return IKE_E_INVALID_ARG;
    if (!cfg || !cfg->psk)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "gateway config without PSK");
    if (!cfg->local_id.type || cfg->local_id.len > IKE_CFG_MAX_ID ||
        cfg->remote_id.len > IKE_CFG_MAX_ID || (cfg->n_children && !cfg->children))
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "gateway config: bad ID or children");
    enum ike_status st =
        ike_proposal_cfg_check(IKE_PROTO_IKE, cfg->proposals, cfg->n_proposals, diag);
    for (size_t i = 0; st == IKE_OK && i < cfg->n_children; i++) {
        const struct ike_cfg_child *c = &cfg->children[i];
        st = ike_proposal_cfg_check(IKE_PROTO_ESP, c->proposals, c->n_proposals, diag);
        if (st == IKE_OK && (!c->n_local_ts || c->n_local_ts > IKE_CFG_MAX_TS || !c->n_remote_ts ||
                             c->n_remote_ts > IKE_CFG_MAX_TS))
            st = ike_diag_fail(diag, IKE_E_INVALID_ARG, "child %zu: 1..%u selectors each side",
                               i + 1, IKE_CFG_MAX_TS);
    }
    if (st == IKE_OK)
        st = ike_life_cfg_check(cfg, diag); /* sa_lifetime.c */
    return st;
}

static size_t nonce_len_for(const struct ike_sa_cfg *cfg)
{
    size_t len = IKE_NONCE_MIN;
    for (size_t i = 0; i < cfg->n_proposals; i++)
        for (size_t j = 0; j < cfg->proposals[i].n_prf; j++) {
            size_t n = ike_nonce_len(cfg->proposals[i].prf[j]);
            len = n > len ? n : len;
        }
    return len;
}

/* ---- initiator ----------------------------------------------------------- */

enum ike_status ike_exch_ike_sa_init_start(struct ike_sa *sa, struct ike_diag *diag)
{
    struct ike_sa_init_data *in = sa->init;
    struct ike_msg msg;
    size_t ke_len = 0;
    ike_msg_init(&msg, sa->spi_i, NULL, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_INITIATOR, 0);
    if (in->cookie_len) /* RFC 7296 §2.6: the echoed COOKIE comes first */
        ike_msg_add_notify(&msg, IKE_N_COOKIE, in->cookie, in->cookie_len);
    enum ike_status st = ike_proposal_build(IKE_PROTO_IKE, sa->cfg->proposals, sa->cfg->n_proposals,
                                            NULL, 0, true, &msg);
    const uint8_t *ke = ike_dh_public(in->dh, &ke_len);
    ike_msg_add_ke(&msg, ike_dh_group(in->dh), ke, ke_len);
    ike_msg_add_nonce(&msg, in->ni, in->ni_len);
    if (st == IKE_OK)
        st = ike_nat_add_notifies(sa->cfg->natt, &msg, &sa->local, &sa->remote);
    if (sa->cfg->fragmentation)
        ike_msg_add_notify(&msg, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
    if (st == IKE_OK)
        st = ike_sa_send_request(sa, &msg);
    ike_msg_clear(&msg);
    if (st != IKE_OK)
        return ike_diag_fail(diag, st, "cannot send IKE_SA_INIT request");
    free(in->req);
    in->req = malloc(sa->req.len);
    if (!in->req)
        return ike_diag_fail(diag, IKE_E_NOMEM, "IKE_SA_INIT request copy");
    memcpy(in->req, sa->req.buf, sa->req.len);
    in->req_len = sa->req.len;
    if (sa->state == IKE_SA_STATE_NEW)
        return ike_sa_transition(sa, IKE_SA_STATE_INIT_SENT);
    return IKE_OK;
}

enum ike_status ike_sa_initiate(const struct ike_ctx *ctx, const struct ike_sa_cfg *cfg,
                                struct ike_sa **out, struct ike_diag *diag)
{
    struct ike_diag scratch;
    if (!diag)
        diag = &scratch;
    ike_diag_clear(diag);
    if (!out)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "ike_sa_initiate: NULL out");
    *out = NULL;
    enum ike_status st = check_cfg(ctx, cfg, diag);
    if (st != IKE_OK)
        return st;
    struct ike_sa *sa = ike_sa_alloc(ctx, cfg, true);
    if (!sa || !(sa->init = calloc(1, sizeof(*sa->init)))) {
        ike_sa_free(sa);
        return ike_diag_fail(diag, IKE_E_NOMEM, "new IKE SA");
    }
    sa->local = cfg->local;
    sa->remote = cfg->remote;
    sa->init->ni_len = nonce_len_for(cfg);
    st = ike_sa_random_spi(sa->spi_i);
    if (st == IKE_OK)
        st = ike_nonce_generate(sa->init->ni, sa->init->ni_len);
    if (st == IKE_OK && cfg->n_children &&
        (st = ike_sa_random_child_spi(sa, &sa->init->child_spi)) != IKE_OK)
        ike_diag_fail(diag, st, "no free inbound CHILD SPI");
    if (st == IKE_OK)
        st = ike_dh_new(cfg->proposals[0].dh[0], &sa->init->dh, diag);
    if (st == IKE_OK)
        st = ike_exch_ike_sa_init_start(sa, diag);
    if (st != IKE_OK) {
        ike_sa_free(sa);
        return ike_diag_fail(diag, st, "initiate %s: %s", cfg->name ? cfg->name : "-",
                             diag->reason[0] ? diag->reason : ike_status_str(st));
    }
    *out = sa;
    return IKE_OK;
}

static bool group_configured(const struct ike_sa_cfg *cfg, uint16_t group)
{
    for (size_t i = 0; i < cfg->n_proposals; i++)
        for (size_t j = 0; j < cfg->proposals[i].n_dh; j++)
            if (cfg->proposals[i].dh[j] == group)
                return true;
    return false;
}

static enum ike_status retry_invalid_ke(struct ike_sa *sa, const struct ike_pld *n,
                                        struct ike_diag *diag)
{
    uint16_t group = 0;
    char cfgd[512];
    enum ike_status st = ike_notify_get_group(&n->notify, &group, diag);
    if (st != IKE_OK)
        return st; /* malformed: keep waiting for a proper answer */
    ike_proposal_describe_cfg(sa->cfg->proposals, sa->cfg->n_proposals, cfgd, sizeof(cfgd));
    if (group == ike_dh_group(sa->init->dh) || !group_configured(sa->cfg, group) ||
        sa->init->invalid_ke_retries >= IKE_INVALID_KE_MAX_RETRIES) {
        ike_sa_fail(sa, IKE_LOG_ERR,
                    "peer requires DH group %u (%s) by INVALID_KE_PAYLOAD; configured: %s", group,
                    ike_dh_name(group) ? ike_dh_name(group) : "unknown", cfgd);
        return ike_diag_fail(diag, IKE_E_STATE, "INVALID_KE_PAYLOAD for group %u", group);
    }
    struct ike_dh *dh = NULL;
    st = ike_dh_new(group, &dh, diag);
    if (st != IKE_OK) {
        ike_sa_fail(sa, IKE_LOG_ERR, "DH group %u: %s", group, diag->reason);
        return st;
    }
    ike_dh_free(sa->init->dh);
    sa->init->dh = dh;
    sa->init->invalid_ke_retries++;
    ike_sa_log(sa, IKE_LOG_INFO, "peer requires DH group %s (INVALID_KE_PAYLOAD), retrying",
               ike_dh_name(group));
    st = ike_exch_ike_sa_init_start(sa, diag);
    if (st != IKE_OK)
        ike_sa_fail(sa, IKE_LOG_ERR, "IKE_SA_INIT retry failed: %s", diag->reason);
    return st;
}

static enum ike_status init_error(struct ike_sa *sa, const struct ike_pld *n, struct ike_diag *diag)
{
    if (n->notify.type == IKE_N_INVALID_KE_PAYLOAD)
        return retry_invalid_ke(sa, n, diag);
    if (n->notify.type == IKE_N_NO_PROPOSAL_CHOSEN) {
        char cfgd[512];
        ike_proposal_describe_cfg(sa->cfg->proposals, sa->cfg->n_proposals, cfgd, sizeof(cfgd));
        ike_sa_fail(sa, IKE_LOG_ERR,
                    "peer accepted none of our IKE proposals (NO_PROPOSAL_CHOSEN); offered: %s",
                    cfgd);
    } else {
        ike_sa_fail(sa, IKE_LOG_ERR, "peer answered IKE_SA_INIT with error %s (%u)",
                    ike_notify_name(n->notify.type), n->notify.type);
    }
    return ike_diag_fail(diag, IKE_E_STATE, "IKE_SA_INIT error notify %u", n->notify.type);
}

static enum ike_status copy_bytes(uint8_t **dst, size_t *dst_len, const uint8_t *src, size_t len)
{
    free(*dst);
    *dst = malloc(len ? len : 1);
    if (!*dst)
        return IKE_E_NOMEM;
    memcpy(*dst, src, len);
    *dst_len = len;
    return IKE_OK;
}

/* Initiator: the reply carries what we need to derive the keys. */
static enum ike_status init_keys(struct ike_sa *sa, const struct ike_msg *resp,
                                 struct ike_diag *diag)
{
    static const uint8_t zero[IKE_SPI_LEN];
    const struct ike_pld *ke = ike_msg_find(resp, IKE_PLD_KE);
    const struct ike_pld *nr = ike_msg_find(resp, IKE_PLD_NONCE);
    const struct ike_pld *sap = ike_msg_find(resp, IKE_PLD_SA);
    if (!ke || !nr || !sap || memcmp(resp->hdr.spi_r, zero, IKE_SPI_LEN) == 0)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "IKE_SA_INIT response lacks SPIr/SA/KE/Nr");
    enum ike_status st = ike_proposal_check_reply(IKE_PROTO_IKE, sa->cfg->proposals,
                                                  sa->cfg->n_proposals, &sap->sa, &sa->algs, diag);
    if (st == IKE_OK &&
        (sa->algs.dh_group != ke->ke.group || ke->ke.group != ike_dh_group(sa->init->dh)))
        st = ike_diag_fail(diag, IKE_E_MALFORMED, "KEr group %u, chosen %u, our KEi group %u",
                           ke->ke.group, sa->algs.dh_group, ike_dh_group(sa->init->dh));
    if (st != IKE_OK)
        return st;
    memcpy(sa->spi_r, resp->hdr.spi_r, IKE_SPI_LEN);
    memcpy(sa->init->nr, nr->nonce.data.ptr, nr->nonce.data.len);
    sa->init->nr_len = nr->nonce.data.len;
    struct ike_secret *g_ir = NULL;
    st = ike_dh_derive(sa->init->dh, ke->ke.data.ptr, ke->ke.data.len, &g_ir, diag);
    if (st == IKE_OK)
        st = ike_sa_derive_keys(sa, g_ir, diag);
    ike_secret_free(g_ir);
    return st;
}

static void note_nat(struct ike_sa *sa)
{
    if (!ike_sa_nat_detected(sa))
        return;
    if (sa->cfg->natt == IKE_NATT_FORCED) {
        /* nat_local is our own faked hash: only a NAT in front of the peer
         * is a finding, but the operator must still see why we moved. */
        ike_sa_log(sa, IKE_LOG_INFO, "%sNAT-T forced by configuration, IKE moves to port %u",
                   sa->nat_remote ? "NAT detected (peer is behind it), " : "", IKE_PORT_NATT);
        return;
    }
    ike_sa_log(sa, IKE_LOG_INFO, "NAT detected (%s%s%s), IKE moves to port %u",
               sa->nat_local ? "we are behind it" : "", sa->nat_local && sa->nat_remote ? ", " : "",
               sa->nat_remote ? "peer is behind it" : "", IKE_PORT_NATT);
}

enum ike_status ike_exch_ike_sa_init_reply(struct ike_sa *sa, const struct ike_msg *resp,
                                           const uint8_t *data, size_t len, struct ike_diag *diag)
{
    const struct ike_pld *err = ike_msg_find_error(resp);
    if (err)
        return init_error(sa, err, diag);
    const struct ike_pld *cookie = ike_msg_find_notify(resp, IKE_N_COOKIE);
    if (cookie)
        return ike_cookie_retry(sa, cookie, diag);
    enum ike_status st = init_keys(sa, resp, diag);
    if (st != IKE_OK) {
        ike_sa_fail(sa, IKE_LOG_ERR, "IKE_SA_INIT response unusable: %s", diag->reason);
        return st;
    }
    ike_sa_request_done(sa);
    ike_nat_detect(sa->cfg->natt, resp, &sa->local, &sa->remote, &sa->nat_local, &sa->nat_remote);
    sa->fragmentation =
        sa->cfg->fragmentation && ike_msg_find_notify(resp, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED);
    if (copy_bytes(&sa->init->resp, &sa->init->resp_len, data, len) != IKE_OK) {
        ike_sa_fail(sa, IKE_LOG_ERR, "out of memory");
        return ike_diag_fail(diag, IKE_E_NOMEM, "IKE_SA_INIT response copy");
    }
    char a[128];
    ike_proposal_describe_algs(&sa->algs, a, sizeof(a));
    ike_sa_log(sa, IKE_LOG_INFO, "IKE_SA_INIT done, proposal %s", a);
    note_nat(sa);
    if (ike_sa_nat_detected(sa)) { /* RFC 7296 §2.23: all later IKE traffic on 4500 */
        sa->local.port = IKE_PORT_NATT;
        sa->remote.port = IKE_PORT_NATT;
    }
    st = ike_exch_ike_auth_start(sa, diag);
    if (st != IKE_OK)
        ike_sa_fail(sa, IKE_LOG_ERR, "cannot start IKE_AUTH: %s", diag->reason);
    return st;
}

/* ---- responder ----------------------------------------------------------- */

/* An answer without state: the SA does not exist (yet). */
static void send_stateless(const struct ike_ctx *ctx, const struct ike_msg *req, uint16_t type,
                           uint16_t group, const struct ike_addr *local,
                           const struct ike_addr *remote)
{
    struct ike_msg msg;
    struct ike_diag diag = {0};
    uint8_t *buf = NULL;
    size_t len = 0;
    ike_msg_init(&msg, req->hdr.spi_i, NULL, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_RESPONSE, 0);
    if (type == IKE_N_INVALID_KE_PAYLOAD)
        ike_msg_add_n_invalid_ke(&msg, group);
    else
        ike_msg_add_notify(&msg, type, NULL, 0);
    if (ike_msg_encode(&msg, &buf, &len, &diag) == IKE_OK) {
        ctx->ops->send(ctx->user, NULL, local, remote, buf, len);
        ike_msg_free_buf(buf, len);
    } else {
        ike_ctx_log(ctx, IKE_LOG_ERR, "cannot encode %s answer: %s", ike_notify_name(type),
                    diag.reason);
    }
    ike_msg_clear(&msg);
}

static enum ike_status respond_keys(struct ike_sa *sa, const struct ike_msg *req,
                                    struct ike_diag *diag)
{
    const struct ike_pld *ke = ike_msg_find(req, IKE_PLD_KE);
    const struct ike_pld *ni = ike_msg_find(req, IKE_PLD_NONCE);
    struct ike_sa_init_data *in = sa->init;
    memcpy(in->ni, ni->nonce.data.ptr, ni->nonce.data.len);
    in->ni_len = ni->nonce.data.len;
    in->nr_len = ike_nonce_len(sa->algs.prf_id);
    struct ike_secret *g_ir = NULL;
    enum ike_status st = ike_sa_random_spi(sa->spi_r);
    if (st == IKE_OK)
        st = ike_nonce_generate(in->nr, in->nr_len);
    if (st == IKE_OK)
        st = ike_dh_new(sa->algs.dh_group, &in->dh, diag);
    if (st == IKE_OK)
        st = ike_dh_derive(in->dh, ke->ke.data.ptr, ke->ke.data.len, &g_ir, diag);
    if (st == IKE_OK)
        st = ike_sa_derive_keys(sa, g_ir, diag);
    ike_secret_free(g_ir);
    return st;
}

static enum ike_status respond_send(struct ike_sa *sa, const struct ike_msg *req, uint8_t num,
                                    const uint8_t *data, size_t len)
{
    struct ike_sa_init_data *in = sa->init;
    struct ike_msg msg;
    size_t ke_len = 0;
    ike_msg_init(&msg, sa->spi_i, sa->spi_r, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_RESPONSE, 0);
    ike_proposal_add_chosen(&msg, IKE_PROTO_IKE, num, NULL, 0, &sa->algs);
    const uint8_t *ke = ike_dh_public(in->dh, &ke_len);
    ike_msg_add_ke(&msg, sa->algs.dh_group, ke, ke_len);
    ike_msg_add_nonce(&msg, in->nr, in->nr_len);
    enum ike_status st = ike_nat_add_notifies(sa->cfg->natt, &msg, &sa->local, &sa->remote);
    if (sa->cfg->fragmentation && ike_msg_find_notify(req, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED))
        ike_msg_add_notify(&msg, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
    if (st == IKE_OK)
        st = ike_sa_send_response(sa, &msg, data, len, &sa->local, &sa->remote);
    ike_msg_clear(&msg);
    if (st == IKE_OK)
        st = copy_bytes(&in->resp, &in->resp_len, sa->cache.buf, sa->cache.len);
    if (st == IKE_OK)
        st = copy_bytes(&in->req, &in->req_len, data, len);
    return st;
}

/* Proposal and KE group: answered without state when they do not fit. */
static bool respond_choose(const struct ike_ctx *ctx, const struct ike_sa_cfg *cfg,
                           const struct ike_msg *req, const struct ike_addr *local,
                           const struct ike_addr *remote, struct ike_sa_algs *algs, uint8_t *num)
{
    const struct ike_pld *sap = ike_msg_find(req, IKE_PLD_SA);
    const struct ike_pld *ke = ike_msg_find(req, IKE_PLD_KE);
    char peer[IKE_ADDR_STR_MAX];
    ike_addr_str(remote, peer, sizeof(peer));
    if (ike_proposal_select(IKE_PROTO_IKE, cfg->proposals, cfg->n_proposals, &sap->sa, ke->ke.group,
                            algs, num) != IKE_OK) {
        char offered[512], cfgd[512];
        ike_proposal_describe_pld(&sap->sa, offered, sizeof(offered));
        ike_proposal_describe_cfg(cfg->proposals, cfg->n_proposals, cfgd, sizeof(cfgd));
        ike_ctx_log(ctx, IKE_LOG_ERR,
                    "%s: IKE_SA_INIT from %s: NO_PROPOSAL_CHOSEN: peer offered %s; "
                    "configured %s",
                    cfg->name ? cfg->name : "-", peer, offered, cfgd);
        send_stateless(ctx, req, IKE_N_NO_PROPOSAL_CHOSEN, 0, local, remote);
        return false;
    }
    if (algs->dh_group != ke->ke.group) {
        ike_ctx_log(ctx, IKE_LOG_INFO,
                    "%s: IKE_SA_INIT from %s: KE group %u is not our choice %u, answering "
                    "INVALID_KE_PAYLOAD",
                    cfg->name ? cfg->name : "-", peer, ke->ke.group, algs->dh_group);
        send_stateless(ctx, req, IKE_N_INVALID_KE_PAYLOAD, algs->dh_group, local, remote);
        return false;
    }
    return true;
}

enum ike_status ike_exch_ike_sa_init_respond(const struct ike_ctx *ctx,
                                             const struct ike_sa_cfg *cfg,
                                             const struct ike_msg *req, const uint8_t *data,
                                             size_t len, const struct ike_addr *local,
                                             const struct ike_addr *remote, struct ike_sa **out,
                                             struct ike_diag *diag)
{
    struct ike_sa_algs algs;
    uint8_t num = 0;
    if (!respond_choose(ctx, cfg, req, local, remote, &algs, &num))
        return IKE_OK;
    struct ike_sa *sa = ike_sa_alloc(ctx, cfg, false);
    if (!sa || !(sa->init = calloc(1, sizeof(*sa->init)))) {
        ike_sa_free(sa);
        return ike_diag_fail(diag, IKE_E_NOMEM, "new IKE SA");
    }
    sa->algs = algs;
    sa->local = *local;
    sa->remote = *remote;
    memcpy(sa->spi_i, req->hdr.spi_i, IKE_SPI_LEN);
    enum ike_status st = respond_keys(sa, req, diag);
    if (st != IKE_OK) {
        ike_sa_log(sa, IKE_LOG_WARN, "IKE_SA_INIT request dropped: %s", diag->reason);
        ike_sa_free(sa);
        return st;
    }
    ike_nat_detect(cfg->natt, req, local, remote, &sa->nat_local, &sa->nat_remote);
    sa->fragmentation =
        cfg->fragmentation && ike_msg_find_notify(req, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED);
    sa->recv_next = 1;
    st = ike_sa_transition(sa, IKE_SA_STATE_INIT_DONE);
    if (st == IKE_OK)
        st = respond_send(sa, req, num, data, len);
    if (st != IKE_OK) {
        ike_sa_free(sa);
        return ike_diag_fail(diag, st, "cannot answer IKE_SA_INIT");
    }
    char a[128];
    ike_proposal_describe_algs(&sa->algs, a, sizeof(a));
    ike_sa_log(sa, IKE_LOG_INFO, "IKE_SA_INIT answered, proposal %s", a);
    note_nat(sa);
    sa->ctx.ops->timer_arm(sa->ctx.user, sa, IKE_TIMER_HALF_OPEN, sa->ctx.half_open_timeout_ms);
    *out = sa;
    return IKE_OK;
}

enum ike_status ike_sa_respond(const struct ike_ctx *ctx, const struct ike_sa_cfg *cfg,
                               const uint8_t *data, size_t len, const struct ike_addr *local,
                               const struct ike_addr *remote, struct ike_sa **out,
                               struct ike_diag *diag)
{
    struct ike_diag scratch;
    if (!diag)
        diag = &scratch;
    ike_diag_clear(diag);
    if (!out || !data || !local || !remote)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "ike_sa_respond: NULL argument");
    *out = NULL;
    enum ike_status st = check_cfg(ctx, cfg, diag);
    if (st != IKE_OK)
        return st;
    struct ike_msg req = {0};
    st = ike_msg_decode(&req, data, len, diag);
    if (st == IKE_OK && (req.hdr.exchange != IKE_EXCH_IKE_SA_INIT || ike_msg_is_response(&req) ||
                         !(req.hdr.flags & IKE_FLAG_INITIATOR)))
        st = ike_diag_fail(diag, IKE_E_STATE, "%s %s is not an IKE_SA_INIT request",
                           ike_exchange_name(req.hdr.exchange),
                           ike_msg_is_response(&req) ? "response" : "request");
    if (st == IKE_OK)
        st = ike_msg_check_rules(&req, diag);
    if (st == IKE_OK && !ike_cookie_admit(ctx, cfg, &req, local, remote)) {
        ike_msg_clear(&req); /* answered with N(COOKIE), no state kept */
        return IKE_OK;
    }
    if (st == IKE_OK)
        st = ike_exch_ike_sa_init_respond(ctx, cfg, &req, data, len, local, remote, out, diag);
    else
        ike_ctx_log(ctx, IKE_LOG_DEBUG, "IKE_SA_INIT request dropped: %s", diag->reason);
    ike_msg_clear(&req);
    return st;
}
