/* The CREATE_CHILD_SA exchange (RFC 7296 §1.3): the responder's dispatch
 * between a new CHILD SA, a CHILD rekey and an IKE rekey, the public calls
 * that queue our own exchanges (sa_queue.h), and what all kinds share:
 * nonces, KE and INVALID_KE_PAYLOAD retries, nonce comparison (§2.8.1).
 *
 *   new CHILD SA  req  SK{SA, Ni, [KEi], TSi, TSr}
 *                 resp SK{SA, Nr, [KEr], TSi, TSr}
 *   CHILD rekey   req  SK{N(REKEY_SA), SA, Ni, [KEi], TSi, TSr}
 *                 resp SK{SA, Nr, [KEr], TSi, TSr}
 *   IKE rekey     req  SK{SA, Ni, KEi}
 *                 resp SK{SA, Nr, KEr}
 *   or            resp SK{N(error)}
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <ike/nonce.h>
#include <ike/transform.h>

#include "exch_ccs.h"

/* ---- shared helpers --------------------------------------------------- */

struct ike_ccs *ike_ccs_new(struct ike_sa *sa, size_t nonce_len, uint16_t group)
{
    struct ike_ccs *x = calloc(1, sizeof(*x));
    struct ike_diag d = {0};
    if (!x) {
        ike_sa_log(sa, IKE_LOG_ERR, "CREATE_CHILD_SA: out of memory");
        return NULL;
    }
    x->ni_len = nonce_len;
    if (ike_nonce_generate(x->ni, x->ni_len) != IKE_OK ||
        (group && ike_dh_new(group, &x->dh, &d) != IKE_OK)) {
        ike_sa_log(sa, IKE_LOG_ERR, "CREATE_CHILD_SA: nonce or DH group %u: %s", group,
                   d.reason[0] ? d.reason : "RNG failed");
        ike_ccs_free(x);
        return NULL;
    }
    return x;
}

void ike_ccs_free(struct ike_ccs *x)
{
    if (!x)
        return;
    ike_dh_free(x->dh);
    ike_sa_free(x->peer_sa); /* held back by a collision that never resolved */
    OPENSSL_cleanse(x, sizeof(*x));
    free(x);
}

void ike_ccs_release(struct ike_sa *sa, struct ike_task *t)
{
    (void)sa;
    ike_ccs_free(t->data);
    t->data = NULL;
}

static bool group_allowed(const struct ike_cfg_proposal *p, size_t n, uint16_t group)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p[i].n_dh; j++)
            if (p[i].dh[j] == group)
                return true;
    return false;
}

bool ike_ccs_retry_ke(struct ike_sa *sa, struct ike_ccs *x, const struct ike_pld *n,
                      const struct ike_cfg_proposal *allowed, size_t n_allowed)
{
    uint16_t group = 0;
    struct ike_diag d = {0};
    struct ike_dh *dh = NULL;
    if (ike_notify_get_group(&n->notify, &group, &d) != IKE_OK || !x->dh ||
        group == ike_dh_group(x->dh) || !group_allowed(allowed, n_allowed, group) ||
        x->invalid_ke_retries >= IKE_CCS_INVALID_KE_MAX || ike_dh_new(group, &dh, &d) != IKE_OK) {
        ike_sa_log(sa, IKE_LOG_ERR,
                   "CREATE_CHILD_SA: peer requires DH group %u (INVALID_KE_PAYLOAD), which we "
                   "cannot use (sent %u, retries %u)",
                   group, x->dh ? ike_dh_group(x->dh) : 0, x->invalid_ke_retries);
        return false;
    }
    ike_dh_free(x->dh);
    x->dh = dh;
    x->invalid_ke_retries++;
    ike_sa_log(sa, IKE_LOG_INFO, "CREATE_CHILD_SA: peer requires DH group %s, retrying",
               ike_dh_name(group) ? ike_dh_name(group) : "?");
    return true;
}

enum ike_status ike_ccs_shared(struct ike_sa *sa, struct ike_dh *dh, const struct ike_pld *ke,
                               struct ike_secret **g_ir)
{
    struct ike_diag d = {0};
    if (!ke || ke->ke.group != ike_dh_group(dh)) {
        ike_sa_log(sa, IKE_LOG_ERR, "CREATE_CHILD_SA: KE of group %u, expected %u",
                   ke ? ke->ke.group : 0, ike_dh_group(dh));
        return IKE_E_MALFORMED;
    }
    enum ike_status st = ike_dh_derive(dh, ke->ke.data.ptr, ke->ke.data.len, g_ir, &d);
    if (st != IKE_OK)
        ike_sa_log(sa, IKE_LOG_ERR, "CREATE_CHILD_SA: DH: %s", d.reason);
    return st;
}

bool ike_ccs_take_nr(struct ike_ccs *x, const struct ike_msg *resp)
{
    const struct ike_pld *n = ike_msg_find(resp, IKE_PLD_NONCE);
    if (!n || n->nonce.data.len > IKE_NONCE_MAX)
        return false;
    memcpy(x->nr, n->nonce.data.ptr, n->nonce.data.len);
    x->nr_len = n->nonce.data.len;
    return true;
}

int ike_nonce_cmp(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (c != 0)
        return c;
    return a_len < b_len ? -1 : a_len > b_len;
}

void ike_nonce_low(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t *out,
                   size_t *out_len)
{
    bool a_low = ike_nonce_cmp(a, a_len, b, b_len) <= 0;
    *out_len = a_low ? a_len : b_len;
    memcpy(out, a_low ? a : b, *out_len);
}

void ike_ccs_msg_init(const struct ike_sa *sa, struct ike_msg *msg, bool response,
                      uint32_t message_id)
{
    /* the Initiator flag names the original initiator of the IKE SA */
    uint8_t flags =
        (uint8_t)((sa->initiator ? IKE_FLAG_INITIATOR : 0) | (response ? IKE_FLAG_RESPONSE : 0));
    ike_msg_init(msg, sa->spi_i, sa->spi_r, IKE_EXCH_CREATE_CHILD_SA, flags, message_id);
}

void ike_ccs_queue_delete(struct ike_sa *sa, enum ike_task_kind kind, uint32_t spi,
                          const char *what)
{
    ike_sa_log(sa, IKE_LOG_INFO, "deleting %s", what);
    if (ike_sa_queue_add(sa, kind, spi, 0) != IKE_OK)
        ike_sa_log(sa, IKE_LOG_WARN, "cannot queue the Delete of %s: it stays until it expires",
                   what);
}

/* ---- responder dispatch ----------------------------------------------- */

/* §2.25: no new work on an IKE SA that is being replaced or closed. */
static bool closing(struct ike_sa *sa)
{
    return sa->rekeyed || ike_sa_queue_find(sa, IKE_TASK_IKE_DELETE, false, 0);
}

static void respond(struct ike_sa *sa, const struct ike_msg *req, struct ike_msg *resp,
                    struct ike_sa **successor)
{
    const struct ike_pld *sap = ike_msg_find(req, IKE_PLD_SA);
    const struct ike_pld *rekey = ike_msg_find_notify(req, IKE_N_REKEY_SA);
    bool ike = sap->sa.n_proposals > 0 && sap->sa.proposals[0].protocol == IKE_PROTO_IKE;
    if (closing(sa)) {
        ike_sa_log(sa, IKE_LOG_INFO, "CREATE_CHILD_SA on an IKE SA being %s: TEMPORARY_FAILURE",
                   sa->rekeyed ? "replaced" : "deleted");
        ike_msg_add_notify(resp, IKE_N_TEMPORARY_FAILURE, NULL, 0);
    } else if (ike) {
        ike_ccs_ike_rekey_respond(sa, req, resp, successor);
    } else if (rekey) {
        ike_ccs_child_rekey_respond(sa, req, rekey, resp);
    } else {
        uint32_t spi = 0;
        uint8_t nr[IKE_NONCE_MAX];
        size_t nr_len = 0;
        uint16_t err = ike_ccs_child_respond(sa, req, resp, NULL, &spi, nr, &nr_len);
        if (err && err != IKE_N_INVALID_KE_PAYLOAD)
            ike_msg_add_notify(resp, err, NULL, 0);
        OPENSSL_cleanse(nr, sizeof(nr));
    }
}

enum ike_status ike_exch_create_child_sa_request(struct ike_sa *sa, const struct ike_msg *req,
                                                 const uint8_t *data, size_t len,
                                                 const struct ike_addr *local,
                                                 const struct ike_addr *remote,
                                                 struct ike_diag *diag)
{
    sa->recv_next++;
    ike_sa_emit_msgid(sa); /* write-ahead, before anything it causes */
    struct ike_msg resp;
    ike_ccs_msg_init(sa, &resp, true, req->hdr.message_id);
    struct ike_sa *successor = NULL;
    respond(sa, req, &resp, &successor);
    enum ike_status st = ike_sa_send_response(sa, &resp, data, len, local, remote);
    ike_msg_clear(&resp);
    if (successor) /* after our response: the peer must know the new SA first */
        ike_sa_queue_kick(successor);
    if (st != IKE_OK)
        return ike_diag_fail(diag, st, "CREATE_CHILD_SA response: %s", ike_status_str(st));
    return IKE_OK;
}

/* ---- public calls ----------------------------------------------------- */

static enum ike_status queue(struct ike_sa *sa, enum ike_task_kind kind, uint32_t spi, size_t idx,
                             struct ike_diag *diag)
{
    enum ike_status st = ike_sa_queue_add(sa, kind, spi, idx);
    if (st != IKE_OK)
        return ike_diag_fail(diag, st, "%s not queued: %s", ike_task_kind_name(kind),
                             ike_status_str(st));
    return IKE_OK;
}

/* The start of every public request below: a NULL diag gets scratch,
 * the diag is cleared, and sa must be established and not replaced. */
static enum ike_status begin(const struct ike_sa *sa, struct ike_diag **diagp,
                             struct ike_diag *scratch)
{
    if (!*diagp)
        *diagp = scratch;
    struct ike_diag *diag = *diagp;
    ike_diag_clear(diag);
    if (!sa)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "NULL SA");
    if (sa->state != IKE_SA_STATE_ESTABLISHED || sa->rekeyed)
        return ike_diag_fail(diag, IKE_E_STATE, "IKE SA is %s",
                             sa->rekeyed ? "replaced by a rekey" : ike_sa_state_name(sa->state));
    return IKE_OK;
}

enum ike_status ike_sa_child_create(struct ike_sa *sa, size_t child_cfg_index,
                                    struct ike_diag *diag)
{
    struct ike_diag scratch;
    enum ike_status st = begin(sa, &diag, &scratch);
    if (st != IKE_OK)
        return st;
    if (child_cfg_index >= sa->cfg->n_children)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "selector pair %zu of %zu", child_cfg_index,
                             sa->cfg->n_children);
    return queue(sa, IKE_TASK_CHILD_CREATE, 0, child_cfg_index, diag);
}

enum ike_status ike_sa_child_create_named(struct ike_sa *sa, const char *name,
                                          struct ike_diag *diag)
{
    struct ike_diag scratch;
    enum ike_status st = begin(sa, &diag, &scratch);
    if (st != IKE_OK)
        return st;
    const struct ike_cfg_child *c = name ? ike_child_cfg_by_name(sa, name) : NULL;
    if (!c)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "no selector pair named %s",
                             name ? name : "(null)");
    return queue(sa, IKE_TASK_CHILD_CREATE, 0, (size_t)(c - sa->cfg->children), diag);
}

enum ike_status ike_sa_child_rekey(struct ike_sa *sa, uint32_t spi_in, struct ike_diag *diag)
{
    struct ike_diag scratch;
    enum ike_status st = begin(sa, &diag, &scratch);
    if (st != IKE_OK)
        return st;
    if (!ike_child_find(sa, true, spi_in))
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "no CHILD SA with inbound SPI %08x", spi_in);
    return queue(sa, IKE_TASK_CHILD_REKEY, spi_in, 0, diag);
}

enum ike_status ike_sa_rekey(struct ike_sa *sa, struct ike_diag *diag)
{
    struct ike_diag scratch;
    enum ike_status st = begin(sa, &diag, &scratch);
    if (st != IKE_OK)
        return st;
    if (!sa->ctx.ops->ike_rekeyed)
        return ike_diag_fail(diag, IKE_E_UNSUPPORTED, "IKE rekey needs the ike_rekeyed callback");
    return queue(sa, IKE_TASK_IKE_REKEY, 0, 0, diag);
}

void ike_exch_child_create_more(struct ike_sa *sa)
{
    for (size_t i = 1; i < sa->cfg->n_children; i++)
        (void)ike_sa_queue_add(sa, IKE_TASK_CHILD_CREATE, 0, i);
}
