/* IKE SA rekey (RFC 7296 §1.3.2, §2.18): a CREATE_CHILD_SA whose SA
 * payload proposes protocol IKE with the sender's new SPI, plus Ni/Nr and
 * KE. The new IKE SA is a full struct ike_sa (SKEYSEED = prf(SK_d old,
 * g^ir | Ni | Nr), message IDs from 0, the rekey's initiator is its
 * initiator); the CHILD SAs and waiting tasks move to it, the caller gets
 * it through ctx ops->ike_rekeyed, it emits IKE_SA_ADD naming the old SA,
 * and the old SA is deleted by its rekey's initiator (IKE_TASK_IKE_DELETE).
 *
 * Simultaneous IKE rekeys (§2.8.2): the SA the peer's exchange created is
 * held back until ours completes; the one from the exchange holding the
 * lowest of the four nonces is redundant (it gets no CHILD SAs and its
 * creator deletes it), the other takes over. A rekey request while one of
 * our CHILD exchanges is running gets TEMPORARY_FAILURE (§2.25.2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <ike/nonce.h>

#include "exch_ccs.h"

static size_t nonce_len(const struct ike_sa_cfg *cfg)
{
    size_t len = IKE_NONCE_MIN;
    for (size_t i = 0; i < cfg->n_proposals; i++)
        for (size_t j = 0; j < cfg->proposals[i].n_prf; j++) {
            size_t n = ike_nonce_len(cfg->proposals[i].prf[j]);
            len = n > len ? n : len;
        }
    return len;
}

/* The group we used so far if still configured (no INVALID_KE round). */
static uint16_t first_group(const struct ike_sa *sa)
{
    const struct ike_sa_cfg *c = sa->cfg;
    for (size_t i = 0; i < c->n_proposals; i++)
        for (size_t j = 0; j < c->proposals[i].n_dh; j++)
            if (c->proposals[i].dh[j] == sa->algs.dh_group)
                return sa->algs.dh_group;
    return c->proposals[0].dh[0];
}

/* The new IKE SA from the old one's SK_d and this exchange. */
static struct ike_sa *make_sa(struct ike_sa *old, bool initiator, const uint8_t *spi_i,
                              const uint8_t *spi_r, const struct ike_sa_algs *a,
                              const struct ike_secret *g_ir, const struct ike_keys_nonces *n)
{
    struct ike_sa *sa = ike_sa_alloc(&old->ctx, old->cfg, initiator);
    struct ike_secret *skeyseed = NULL;
    struct ike_diag d = {0};
    if (!sa)
        return NULL;
    memcpy(sa->spi_i, spi_i, IKE_SPI_LEN);
    memcpy(sa->spi_r, spi_r, IKE_SPI_LEN);
    sa->local = old->local; /* user stays NULL until the caller has it (see adopt) */
    sa->remote = old->remote;
    sa->nat_local = old->nat_local;
    sa->nat_remote = old->nat_remote;
    sa->fragmentation = old->fragmentation;
    sa->peer_msgid_sync = old->peer_msgid_sync;
    sa->local_id = old->local_id;
    sa->remote_id = old->remote_id;
    sa->algs = *a;
    sa->live.passive = true; /* no timers before the caller knows it: go_live() */
    struct ike_keys_suite suite = {a->encr_id, a->encr_key_bits, a->integ_id};
    enum ike_status st = ike_keys_skeyseed_rekey(old->prf, old->keys.sk_d, g_ir, n, &skeyseed);
    if (st == IKE_OK)
        st = ike_prf_new(a->prf_id, &sa->prf);
    if (st == IKE_OK)
        st = ike_keys_sa_derive(sa->prf, &suite, skeyseed, n, spi_i, spi_r, &sa->keys);
    ike_secret_free(skeyseed);
    if (st == IKE_OK)
        st = ike_sa_make_ciphers(sa, &d);
    if (st == IKE_OK)
        st = ike_sa_transition(sa, IKE_SA_STATE_ESTABLISHED);
    if (st != IKE_OK) {
        ike_sa_log(old, IKE_LOG_ERR, "IKE rekey: keys of the new IKE SA: %s",
                   d.reason[0] ? d.reason : ike_status_str(st));
        ike_sa_free(sa);
        return NULL;
    }
    return sa;
}

static void emit_add(struct ike_sa *sa, const struct ike_sa *replaced)
{
    struct ike_sa_export ex;
    if (!sa->ctx.ops->event || ike_sa_export(sa, &ex, NULL) != IKE_OK)
        return;
    if (replaced) {
        memcpy(ex.replaces_spi_i, replaced->spi_i, IKE_SPI_LEN);
        memcpy(ex.replaces_spi_r, replaced->spi_r, IKE_SPI_LEN);
    }
    struct ike_event ev = {.type = IKE_EV_IKE_SA_ADD, .sa = sa, .ike_add = &ex};
    memcpy(ev.spi_i, sa->spi_i, IKE_SPI_LEN);
    memcpy(ev.spi_r, sa->spi_r, IKE_SPI_LEN);
    sa->ctx.ops->event(sa->ctx.user, &ev);
    OPENSSL_cleanse(&ex, sizeof(ex));
}

/* The caller has it now: lifetimes, DPD and its CHILD SAs' timers. */
static void go_live(struct ike_sa *sa)
{
    sa->live.passive = false;
    ike_life_start(sa);
}

/* new_sa replaces old: CHILD SAs and waiting tasks move, the caller gets
 * it, IKE_SA_ADD. */
static void adopt(struct ike_sa *old, struct ike_sa *new_sa)
{
    char a[128];
    new_sa->children = old->children;
    new_sa->n_children = old->n_children;
    old->children = NULL;
    old->n_children = 0;
    for (size_t i = 0; i < new_sa->n_children; i++) {
        memcpy(new_sa->children[i].ike_spi_i, new_sa->spi_i, IKE_SPI_LEN);
        memcpy(new_sa->children[i].ike_spi_r, new_sa->spi_r, IKE_SPI_LEN);
    }
    struct ike_task *again = ike_sa_queue_find(old, IKE_TASK_IKE_REKEY, false, 0);
    if (again && !again->started) /* done by this rekey */
        ike_sa_queue_cancel(old, again);
    new_sa->live.draining = old->live.draining; /* moved tasks stay held */
    ike_sa_queue_move(old, new_sa);
    old->rekeyed = true;
    new_sa->user = old->user;
    old->ctx.ops->ike_rekeyed(old->ctx.user, old, new_sa);
    go_live(new_sa); /* the CHILD SAs' lifetimes go on from their install time */
    emit_add(new_sa, old);
    ike_proposal_describe_algs(&new_sa->algs, a, sizeof(a));
    ike_sa_log(new_sa, IKE_LOG_INFO, "IKE SA rekeyed as %s, %s, %zu CHILD SAs moved",
               new_sa->initiator ? "initiator" : "responder", a, new_sa->n_children);
}

/* A redundant new SA of a collision: the caller owns it too (the peer may
 * still send its Delete to it), it replaces nothing. */
static void hand_over(struct ike_sa *old, struct ike_sa *redundant)
{
    redundant->user = old->user;
    old->ctx.ops->ike_rekeyed(old->ctx.user, old, redundant);
    go_live(redundant);
    emit_add(redundant, NULL);
    ike_sa_log(redundant, IKE_LOG_INFO, "redundant IKE SA of a simultaneous rekey");
}

/* ---- initiator ----------------------------------------------------------- */

static enum ike_status rekey_start(struct ike_sa *sa, struct ike_task *t)
{
    if (!sa->ctx.ops->ike_rekeyed || sa->rekeyed)
        return IKE_E_UNSUPPORTED;
    struct ike_ccs *x = t->data;
    if (!x) {
        x = ike_ccs_new(sa, nonce_len(sa->cfg), first_group(sa));
        if (!x || ike_sa_random_spi(x->ike_spi) != IKE_OK) {
            ike_ccs_free(x);
            return IKE_E_CRYPTO;
        }
        t->data = x;
    }
    struct ike_msg msg;
    size_t len = 0;
    const uint8_t *ke = ike_dh_public(x->dh, &len);
    ike_ccs_msg_init(sa, &msg, false, sa->send_next);
    enum ike_status st = ike_proposal_build(IKE_PROTO_IKE, sa->cfg->proposals, sa->cfg->n_proposals,
                                            x->ike_spi, IKE_SPI_LEN, true, &msg);
    ike_msg_add_nonce(&msg, x->ni, x->ni_len);
    ike_msg_add_ke(&msg, ike_dh_group(x->dh), ke, len);
    if (st == IKE_OK)
        st = ike_sa_send_request(sa, &msg);
    ike_msg_clear(&msg);
    if (st == IKE_OK)
        ike_sa_log(sa, IKE_LOG_INFO, "rekeying IKE SA (DH group %u)", ike_dh_group(x->dh));
    return st;
}

/* Our exchange's new SA from the response; NULL (logged) if unusable. */
static struct ike_sa *reply_sa(struct ike_sa *sa, struct ike_ccs *x, const struct ike_msg *resp)
{
    static const uint8_t zero[IKE_SPI_LEN];
    const struct ike_pld *sap = ike_msg_find(resp, IKE_PLD_SA);
    struct ike_sa_algs a;
    struct ike_diag d = {0};
    struct ike_secret *g_ir = NULL;
    if (ike_proposal_check_reply(IKE_PROTO_IKE, sa->cfg->proposals, sa->cfg->n_proposals, &sap->sa,
                                 &a, &d) != IKE_OK ||
        sap->sa.proposals[0].spi_len != IKE_SPI_LEN ||
        memcmp(sap->sa.proposals[0].spi, zero, IKE_SPI_LEN) == 0 ||
        a.dh_group != ike_dh_group(x->dh) || !ike_ccs_take_nr(x, resp)) {
        ike_sa_log(sa, IKE_LOG_ERR, "IKE rekey: unusable response (%s)",
                   d.reason[0] ? d.reason : "SPI, DH group or Nr");
        return NULL;
    }
    if (ike_ccs_shared(sa, x->dh, ike_msg_find(resp, IKE_PLD_KE), &g_ir) != IKE_OK)
        return NULL;
    struct ike_keys_nonces n = {x->ni, x->ni_len, x->nr, x->nr_len};
    struct ike_sa *new_sa = make_sa(sa, true, x->ike_spi, sap->sa.proposals[0].spi, &a, g_ir, &n);
    ike_secret_free(g_ir);
    return new_sa;
}

/* §2.8.2: which of the two new SAs stays; the loser is deleted by its
 * creator, the old SA by the winner's creator. */
static void resolve(struct ike_sa *sa, struct ike_ccs *x, struct ike_sa *mine)
{
    struct ike_sa *theirs = x->peer_sa;
    x->peer_sa = NULL;
    if (!mine) {
        ike_sa_log(sa, IKE_LOG_INFO, "IKE SA was rekeyed by the peer instead");
        adopt(sa, theirs);
        ike_sa_queue_kick(theirs);
        return;
    }
    uint8_t low[IKE_NONCE_MAX];
    size_t low_len = 0;
    ike_nonce_low(x->ni, x->ni_len, x->nr, x->nr_len, low, &low_len);
    bool lost = ike_nonce_cmp(low, low_len, x->peer_low, x->peer_low_len) < 0;
    OPENSSL_cleanse(low, sizeof(low));
    ike_sa_log(sa, IKE_LOG_INFO, "simultaneous IKE rekey: %s new IKE SA stays",
               lost ? "the peer's" : "our");
    adopt(sa, lost ? theirs : mine);
    hand_over(sa, lost ? mine : theirs);
    if (lost)
        ike_ccs_queue_delete(mine, IKE_TASK_IKE_DELETE, 0, "redundant IKE SA");
    else
        ike_ccs_queue_delete(sa, IKE_TASK_IKE_DELETE, 0, "IKE SA, replaced by rekey");
    ike_sa_queue_kick(lost ? theirs : mine);
}

static enum ike_task_result rekey_reply(struct ike_sa *sa, struct ike_task *t,
                                        const struct ike_msg *resp)
{
    struct ike_ccs *x = t->data;
    const struct ike_pld *err = ike_msg_find_error(resp);
    struct ike_sa *mine = NULL;
    if (err && err->notify.type == IKE_N_INVALID_KE_PAYLOAD && !x->collision &&
        ike_ccs_retry_ke(sa, x, err, sa->cfg->proposals, sa->cfg->n_proposals) &&
        rekey_start(sa, t) == IKE_OK)
        return IKE_TASK_AGAIN;
    if (err)
        ike_sa_log(sa, IKE_LOG_ERR, "IKE rekey refused by the peer: %s",
                   ike_notify_name(err->notify.type));
    else if (!ike_msg_find(resp, IKE_PLD_SA))
        ike_sa_log(sa, IKE_LOG_ERR, "IKE rekey: response without SA");
    else
        mine = reply_sa(sa, x, resp);
    if (x->collision && x->peer_sa) {
        resolve(sa, x, mine);
    } else if (mine) {
        adopt(sa, mine);
        ike_ccs_queue_delete(sa, IKE_TASK_IKE_DELETE, 0, "IKE SA, replaced by rekey");
        ike_sa_queue_kick(mine);
    }
    return IKE_TASK_DONE;
}

const struct ike_task_ops ike_task_ike_rekey = {
    .name = "IKE_REKEY",
    .exchange = IKE_EXCH_CREATE_CHILD_SA,
    .start = rekey_start,
    .reply = rekey_reply,
    .release = ike_ccs_release,
};

/* ---- responder ----------------------------------------------------------- */

/* 0, or the notify refusing the request. */
static uint16_t refuse(struct ike_sa *sa, const struct ike_msg *req)
{
    static const uint8_t zero[IKE_SPI_LEN];
    const struct ike_pld *sap = ike_msg_find(req, IKE_PLD_SA);
    struct ike_task *run = ike_sa_queue_running(sa);
    if (!sa->ctx.ops->ike_rekeyed) {
        ike_sa_log(sa, IKE_LOG_ERR, "peer rekeys the IKE SA, which this caller does not support");
        return IKE_N_NO_PROPOSAL_CHOSEN;
    }
    if (run && (run->kind == IKE_TASK_CHILD_CREATE || run->kind == IKE_TASK_CHILD_REKEY ||
                run->kind == IKE_TASK_CHILD_DELETE)) {
        ike_sa_log(sa, IKE_LOG_INFO, "peer rekeys the IKE SA during our %s: TEMPORARY_FAILURE",
                   ike_task_kind_name(run->kind));
        return IKE_N_TEMPORARY_FAILURE;
    }
    for (size_t i = 0; i < sap->sa.n_proposals; i++)
        if (sap->sa.proposals[i].spi_len != IKE_SPI_LEN ||
            memcmp(sap->sa.proposals[i].spi, zero, IKE_SPI_LEN) == 0) {
            ike_sa_log(sa, IKE_LOG_WARN, "IKE rekey proposal without an 8-octet SPI");
            return IKE_N_INVALID_SYNTAX;
        }
    if (!ike_msg_find(req, IKE_PLD_KE)) {
        ike_sa_log(sa, IKE_LOG_WARN, "IKE rekey without KE");
        return IKE_N_INVALID_SYNTAX;
    }
    return 0;
}

static const struct ike_proposal *peer_proposal(const struct ike_msg *req, uint8_t num)
{
    const struct ike_pld *sap = ike_msg_find(req, IKE_PLD_SA);
    for (size_t i = 0; i < sap->sa.n_proposals; i++)
        if (sap->sa.proposals[i].num == num)
            return &sap->sa.proposals[i];
    return NULL;
}

/* The new SA and our half of the response; 0 or the notify. */
static uint16_t create(struct ike_sa *sa, const struct ike_msg *req, struct ike_msg *resp,
                       struct ike_sa **out, uint8_t *nr, size_t *nr_len)
{
    const struct ike_pld *ke = ike_msg_find(req, IKE_PLD_KE);
    const struct ike_pld *ni = ike_msg_find(req, IKE_PLD_NONCE);
    struct ike_sa_algs a;
    uint8_t num = 0, spi_r[IKE_SPI_LEN];
    char offered[512], cfgd[512];
    if (ike_proposal_select(IKE_PROTO_IKE, sa->cfg->proposals, sa->cfg->n_proposals,
                            &ike_msg_find(req, IKE_PLD_SA)->sa, ke->ke.group, &a, &num) != IKE_OK) {
        ike_proposal_describe_pld(&ike_msg_find(req, IKE_PLD_SA)->sa, offered, sizeof(offered));
        ike_proposal_describe_cfg(sa->cfg->proposals, sa->cfg->n_proposals, cfgd, sizeof(cfgd));
        ike_sa_log(sa, IKE_LOG_ERR, "IKE rekey: NO_PROPOSAL_CHOSEN: peer offered %s; configured %s",
                   offered, cfgd);
        return IKE_N_NO_PROPOSAL_CHOSEN;
    }
    if (ke->ke.group != a.dh_group) {
        ike_msg_add_n_invalid_ke(resp, a.dh_group);
        return IKE_N_INVALID_KE_PAYLOAD;
    }
    struct ike_dh *dh = NULL;
    struct ike_secret *g_ir = NULL;
    struct ike_diag d = {0};
    *nr_len = ike_nonce_len(a.prf_id);
    if (ike_nonce_generate(nr, *nr_len) != IKE_OK || ike_sa_random_spi(spi_r) != IKE_OK ||
        ike_dh_new(a.dh_group, &dh, &d) != IKE_OK || ike_ccs_shared(sa, dh, ke, &g_ir) != IKE_OK) {
        ike_dh_free(dh);
        return IKE_N_NO_PROPOSAL_CHOSEN;
    }
    struct ike_keys_nonces n = {ni->nonce.data.ptr, ni->nonce.data.len, nr, *nr_len};
    *out = make_sa(sa, false, peer_proposal(req, num)->spi, spi_r, &a, g_ir, &n);
    ike_secret_free(g_ir);
    if (*out) {
        size_t len = 0;
        const uint8_t *pub = ike_dh_public(dh, &len);
        ike_proposal_add_chosen(resp, IKE_PROTO_IKE, num, spi_r, IKE_SPI_LEN, &a);
        ike_msg_add_nonce(resp, nr, *nr_len);
        ike_msg_add_ke(resp, a.dh_group, pub, len);
    }
    ike_dh_free(dh);
    return *out ? 0 : IKE_N_TEMPORARY_FAILURE;
}

void ike_ccs_ike_rekey_respond(struct ike_sa *sa, const struct ike_msg *req, struct ike_msg *resp,
                               struct ike_sa **successor)
{
    struct ike_sa *new_sa = NULL;
    uint8_t nr[IKE_NONCE_MAX];
    size_t nr_len = 0;
    uint16_t err = refuse(sa, req);
    if (!err)
        err = create(sa, req, resp, &new_sa, nr, &nr_len);
    if (err) {
        if (err != IKE_N_INVALID_KE_PAYLOAD)
            ike_msg_add_notify(resp, err, NULL, 0);
        return;
    }
    struct ike_task *ours = ike_sa_queue_running(sa);
    if (ours && ours->kind == IKE_TASK_IKE_REKEY && ours->data) {
        struct ike_ccs *x = ours->data;
        const struct ike_pld *ni = ike_msg_find(req, IKE_PLD_NONCE);
        ike_sa_free(x->peer_sa);
        x->peer_sa = new_sa;
        x->collision = true;
        ike_nonce_low(ni->nonce.data.ptr, ni->nonce.data.len, nr, nr_len, x->peer_low,
                      &x->peer_low_len);
        ike_sa_log(sa, IKE_LOG_INFO, "simultaneous IKE rekey detected");
    } else {
        adopt(sa, new_sa);
        *successor = new_sa;
    }
    OPENSSL_cleanse(nr, sizeof(nr));
}

void ike_exch_ike_rekey_on_info(struct ike_sa *sa, const struct ike_msg *req)
{
    struct ike_task *ours = ike_sa_queue_running(sa);
    struct ike_ccs *x = ours && ours->kind == IKE_TASK_IKE_REKEY ? ours->data : NULL;
    if (!x || !x->peer_sa)
        return;
    for (const struct ike_pld *p = ike_msg_find(req, IKE_PLD_DELETE); p;
         p = ike_msg_find_next(p, IKE_PLD_DELETE))
        if (p->del.protocol == IKE_PROTO_IKE) {
            struct ike_sa *theirs = x->peer_sa;
            x->peer_sa = NULL;
            ike_sa_log(sa, IKE_LOG_INFO,
                       "peer deletes the IKE SA during simultaneous rekeys: its new IKE SA "
                       "stays, ours is abandoned");
            adopt(sa, theirs);
            ike_sa_queue_kick(theirs);
            return;
        }
}
