/* CHILD SA rekey (RFC 7296 §1.3.3, §2.8): a CREATE_CHILD_SA with
 * N(REKEY_SA) naming the SA by the SPI its sender expects inbound, with or
 * without PFS; the new pair is installed, then the old one deleted by an
 * INFORMATIONAL Delete (IKE_TASK_CHILD_DELETE) from the rekey's initiator.
 *
 * Simultaneous rekeys (§2.8.1): when the peer rekeys the SA we are
 * rekeying, we answer it as usual and note the lowest nonce of its
 * exchange; once our own exchange ends, the SA created by the exchange
 * holding the lowest of the four nonces is redundant and is deleted by
 * its creator, and the winner's creator deletes the old SA. A rekey of an
 * SA we are deleting (or already replaced) gets TEMPORARY_FAILURE, of an
 * unknown SA CHILD_SA_NOT_FOUND (§2.25.1). */
#include <stdio.h>

#include <openssl/crypto.h>

#include <ike/nonce.h>

#include "exch_ccs.h"

/* The old SA is already replaced or is being deleted by us. */
static bool replaced_or_closing(struct ike_sa *sa, uint32_t spi_in)
{
    if (ike_sa_queue_find(sa, IKE_TASK_CHILD_DELETE, true, spi_in))
        return true;
    for (size_t i = 0; i < sa->n_children; i++)
        if (sa->children[i].replaces_spi_in == spi_in)
            return true;
    return false;
}

/* ---- initiator ----------------------------------------------------------- */

/* The PFS group the old SA was made with if still configured (the peer
 * took it, so no INVALID_KE_PAYLOAD round), else our first choice. */
static uint16_t rekey_group(const struct ike_child_export *old, const struct ike_cfg_child *cfg)
{
    for (size_t i = 0; old->pfs_group && i < cfg->n_proposals; i++)
        for (size_t j = 0; j < cfg->proposals[i].n_dh; j++)
            if (cfg->proposals[i].dh[j] == old->pfs_group)
                return old->pfs_group;
    return ike_ccs_pfs_group(cfg);
}

static enum ike_status rekey_start(struct ike_sa *sa, struct ike_task *t)
{
    const struct ike_child_export *old = ike_child_find(sa, true, t->spi);
    if (!old || replaced_or_closing(sa, t->spi)) {
        ike_sa_log(sa, IKE_LOG_INFO, "CHILD SA %08x %s: no rekey", t->spi,
                   old ? "already replaced or being deleted" : "is gone");
        return IKE_E_STATE;
    }
    const struct ike_cfg_child *cfg = ike_child_cfg_by_name(sa, old->cfg_name);
    if (!cfg) {
        ike_sa_log(sa, IKE_LOG_ERR, "CHILD SA %08x: selector pair %s not configured, no rekey",
                   t->spi, old->cfg_name);
        return IKE_E_STATE;
    }
    struct ike_ccs *x = t->data;
    if (!x) {
        x = ike_ccs_new(sa, ike_nonce_len(sa->algs.prf_id), rekey_group(old, cfg));
        enum ike_status st = x ? ike_sa_random_child_spi(sa, &x->child_spi) : IKE_E_NOMEM;
        if (st != IKE_OK) {
            ike_ccs_free(x);
            return st;
        }
        t->data = x;
    }
    x->cfg = cfg;
    struct ike_ts tsi[IKE_EXPORT_TS_MAX], tsr[IKE_EXPORT_TS_MAX];
    ike_ts_from_export(old->ts_local, old->n_ts_local, tsi);
    ike_ts_from_export(old->ts_remote, old->n_ts_remote, tsr);
    struct ike_msg msg;
    ike_ccs_msg_init(sa, &msg, false, sa->send_next);
    /* §1.3.3: the SPI we expect in inbound packets of the old SA */
    ike_msg_add_n_rekey_sa(&msg, IKE_PROTO_ESP, t->spi);
    enum ike_status st =
        ike_ccs_child_build(sa, x, cfg, tsi, old->n_ts_local, tsr, old->n_ts_remote, &msg);
    if (st == IKE_OK)
        st = ike_sa_send_request(sa, &msg);
    ike_msg_clear(&msg);
    if (st == IKE_OK)
        ike_sa_log(sa, IKE_LOG_INFO, "rekeying CHILD SA %s %08x (new SPI in %08x%s)",
                   cfg->name ? cfg->name : "-", t->spi, x->child_spi, x->dh ? ", PFS" : "");
    return st;
}

/* Our rekey created a new SA: who deletes what (§2.8.1). */
static void rekeyed(struct ike_sa *sa, struct ike_task *t, struct ike_ccs *x)
{
    char what[96];
    if (!x->collision) {
        snprintf(what, sizeof(what), "CHILD SA %08x, replaced by %08x", t->spi, x->created_spi);
        ike_ccs_queue_delete(sa, IKE_TASK_CHILD_DELETE, t->spi, what);
        return;
    }
    uint8_t low[IKE_NONCE_MAX];
    size_t low_len = 0;
    ike_nonce_low(x->ni, x->ni_len, x->nr, x->nr_len, low, &low_len);
    bool lost = ike_nonce_cmp(low, low_len, x->peer_low, x->peer_low_len) < 0;
    ike_sa_log(sa, IKE_LOG_INFO,
               "simultaneous rekey of CHILD SA %08x: ours (%08x) %s, the peer's (%08x) %s", t->spi,
               x->created_spi, lost ? "is redundant" : "stays", x->peer_child_spi,
               lost ? "stays" : "is redundant");
    if (lost) {
        snprintf(what, sizeof(what), "redundant CHILD SA %08x", x->created_spi);
        ike_ccs_queue_delete(sa, IKE_TASK_CHILD_DELETE, x->created_spi, what);
    } else {
        snprintf(what, sizeof(what), "CHILD SA %08x, replaced by %08x", t->spi, x->created_spi);
        ike_ccs_queue_delete(sa, IKE_TASK_CHILD_DELETE, t->spi, what);
    }
    OPENSSL_cleanse(low, sizeof(low));
}

static enum ike_task_result rekey_reply(struct ike_sa *sa, struct ike_task *t,
                                        const struct ike_msg *resp)
{
    struct ike_ccs *x = t->data;
    if (!ike_child_find(sa, true, t->spi)) {
        /* deleted meanwhile (the peer's Delete crossed our request): a
         * pair it created all the same is installed (and the peer's
         * Delete-or-lifetime logic applies to it as to any other) */
        const struct ike_pld *err = ike_msg_find_error(resp);
        ike_sa_log(sa, IKE_LOG_INFO, "rekey response for CHILD SA %08x, which is gone (%s)", t->spi,
                   err ? ike_notify_name(err->notify.type) : "new SA created");
        if (err && x->collision)
            ike_sa_log(sa, IKE_LOG_INFO, "CHILD SA %08x was rekeyed by the peer (%08x) instead",
                       t->spi, x->peer_child_spi);
        if (err)
            return IKE_TASK_DONE;
    }
    switch (ike_ccs_child_reply(sa, x, x->cfg, t->spi, resp)) {
    case IKE_CCS_CREATED: rekeyed(sa, t, x); break;
    case IKE_CCS_RETRY:
        if (rekey_start(sa, t) == IKE_OK)
            return IKE_TASK_AGAIN;
        break;
    case IKE_CCS_FAILED:
        if (x->collision)
            ike_sa_log(sa, IKE_LOG_INFO, "CHILD SA %08x was rekeyed by the peer (%08x) instead",
                       t->spi, x->peer_child_spi);
        break;
    }
    return IKE_TASK_DONE;
}

const struct ike_task_ops ike_task_child_rekey = {
    .name = "CHILD_REKEY",
    .exchange = IKE_EXCH_CREATE_CHILD_SA,
    .start = rekey_start,
    .reply = rekey_reply,
    .release = ike_ccs_release,
};

/* ---- responder ----------------------------------------------------------- */

void ike_ccs_child_rekey_respond(struct ike_sa *sa, const struct ike_msg *req,
                                 const struct ike_pld *rekey, struct ike_msg *resp)
{
    uint32_t spi = 0;
    struct ike_diag d = {0};
    if (rekey->notify.protocol != IKE_PROTO_ESP ||
        ike_notify_get_spi(&rekey->notify, &spi, &d) != IKE_OK) {
        ike_sa_log(sa, IKE_LOG_WARN, "REKEY_SA for protocol %u: %s", rekey->notify.protocol,
                   d.reason[0] ? d.reason : "only ESP is supported");
        ike_msg_add_notify(resp, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0);
        return;
    }
    /* the peer names it by its inbound SPI: our outbound one */
    const struct ike_child_export *old = ike_child_find(sa, false, spi);
    if (!old) {
        ike_sa_log(sa, IKE_LOG_WARN, "peer rekeys CHILD SA %08x, which we do not have", spi);
        ike_msg_add_notify_spi(resp, IKE_N_CHILD_SA_NOT_FOUND, IKE_PROTO_ESP, spi, NULL, 0);
        return;
    }
    if (replaced_or_closing(sa, old->spi_in)) {
        ike_sa_log(sa, IKE_LOG_INFO,
                   "peer rekeys CHILD SA %08x, which is replaced or being deleted: "
                   "TEMPORARY_FAILURE",
                   old->spi_in);
        ike_msg_add_notify(resp, IKE_N_TEMPORARY_FAILURE, NULL, 0);
        return;
    }
    struct ike_task *ours = ike_sa_queue_running(sa);
    bool collision = ours && ours->kind == IKE_TASK_CHILD_REKEY && ours->spi == old->spi_in;
    struct ike_child_export copy = *old; /* ike_child_add may move the array */
    uint32_t new_spi = 0;
    uint8_t nr[IKE_NONCE_MAX];
    size_t nr_len = 0;
    uint16_t err = ike_ccs_child_respond(sa, req, resp, &copy, &new_spi, nr, &nr_len);
    if (err && err != IKE_N_INVALID_KE_PAYLOAD)
        ike_msg_add_notify(resp, err, NULL, 0);
    if (!err) {
        /* a rekey of ours still waiting is now pointless */
        struct ike_task *waiting = ike_sa_queue_find(sa, IKE_TASK_CHILD_REKEY, true, copy.spi_in);
        if (waiting && !waiting->started)
            ike_sa_queue_cancel(sa, waiting);
    }
    if (!err && collision && ours->data) {
        struct ike_ccs *x = ours->data;
        const struct ike_pld *ni = ike_msg_find(req, IKE_PLD_NONCE);
        x->collision = true;
        x->peer_child_spi = new_spi;
        ike_nonce_low(ni->nonce.data.ptr, ni->nonce.data.len, nr, nr_len, x->peer_low,
                      &x->peer_low_len);
        ike_sa_log(sa, IKE_LOG_INFO, "simultaneous rekey of CHILD SA %08x detected", copy.spi_in);
    }
    OPENSSL_cleanse(&copy, sizeof(copy));
    OPENSSL_cleanse(nr, sizeof(nr));
}
