/* Deleting SAs (RFC 7296 §1.4.1): the queued INFORMATIONAL Delete tasks of
 * the initiator side, the public delete/drop calls, and the one place a
 * CHILD SA or the whole IKE SA leaves the data plane with its sync event.
 *
 *   CHILD:  HDR, SK{D(ESP, our inbound SPI)}  ->  HDR, SK{D(ESP, theirs)}
 *   IKE:    HDR, SK{D(IKE)}                   ->  HDR, SK{}
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sa_internal.h"

size_t ike_child_find_in(const struct ike_sa *sa, uint32_t spi_in)
{
    for (size_t i = 0; i < sa->n_children; i++)
        if (sa->children[i].spi_in == spi_in)
            return i;
    return SIZE_MAX;
}

size_t ike_child_find_out(const struct ike_sa *sa, uint32_t spi_out)
{
    for (size_t i = 0; i < sa->n_children; i++)
        if (sa->children[i].spi_out == spi_out)
            return i;
    return SIZE_MAX;
}

void ike_child_remove(struct ike_sa *sa, size_t i, const char *why)
{
    if (i >= sa->n_children)
        return;
    struct ike_child_export *c = &sa->children[i];
    uint32_t spi_in = c->spi_in;
    sa->ctx.ops->child_delete(sa->ctx.user, sa, spi_in);
    ike_sa_emit_child_del(sa, spi_in);
    ike_sa_log(sa, IKE_LOG_INFO, "CHILD SA %s deleted (%s), SPI in %08x out %08x", c->cfg_name, why,
               spi_in, c->spi_out);
    memmove(c, c + 1, (sa->n_children - i - 1) * sizeof(*c));
    sa->n_children--;
    OPENSSL_cleanse(&sa->children[sa->n_children], sizeof(*c));
    ike_life_child_rearm(sa);
}

void ike_sa_remove_all(struct ike_sa *sa)
{
    while (sa->n_children > 0)
        ike_child_remove(sa, sa->n_children - 1, "IKE SA gone");
    ike_sa_emit_ike_del(sa);
}

static void request_init(const struct ike_sa *sa, struct ike_msg *msg)
{
    ike_msg_init(msg, sa->spi_i, sa->spi_r, IKE_EXCH_INFORMATIONAL,
                 sa->initiator ? IKE_FLAG_INITIATOR : 0, sa->send_next);
}

static enum ike_status send_and_clear(struct ike_sa *sa, struct ike_msg *msg)
{
    enum ike_status st = ike_sa_send_request(sa, msg);
    ike_msg_clear(msg);
    return st;
}

/* ---- CHILD SA ------------------------------------------------------------ */

static enum ike_status child_delete_start(struct ike_sa *sa, struct ike_task *t)
{
    size_t i = ike_child_find_in(sa, t->spi);
    if (i == SIZE_MAX) {
        ike_sa_log(sa, IKE_LOG_DEBUG, "CHILD SA %08x is already gone, no Delete sent", t->spi);
        return IKE_E_STATE;
    }
    struct ike_msg msg;
    request_init(sa, &msg);
    ike_msg_add_delete(&msg, sa->children[i].protocol, &t->spi, 1);
    ike_sa_log(sa, IKE_LOG_INFO, "deleting CHILD SA %s, SPI in %08x out %08x",
               sa->children[i].cfg_name, t->spi, sa->children[i].spi_out);
    return send_and_clear(sa, &msg);
}

static enum ike_task_result child_delete_reply(struct ike_sa *sa, struct ike_task *t,
                                               const struct ike_msg *resp)
{
    ike_info_log_errors(sa, resp, "answer to our Delete");
    size_t i = ike_child_find_in(sa, t->spi);
    if (i == SIZE_MAX)
        return IKE_TASK_DONE; /* crossed Deletes: removed with the peer's request */
    bool paired = false;
    for (const struct ike_pld *p = ike_msg_find(resp, IKE_PLD_DELETE); p;
         p = ike_msg_find_next(p, IKE_PLD_DELETE))
        for (size_t k = 0; k < p->del.n_spis; k++)
            paired |= p->del.spis[k] == sa->children[i].spi_out;
    ike_child_remove(sa, i, paired ? "Delete answered" : "answered without its pair's Delete");
    return IKE_TASK_DONE;
}

const struct ike_task_ops ike_task_child_delete = {
    .name = "CHILD_DELETE",
    .exchange = IKE_EXCH_INFORMATIONAL,
    .start = child_delete_start,
    .reply = child_delete_reply,
};

enum ike_status ike_sa_delete_child(struct ike_sa *sa, uint32_t spi_in, struct ike_diag *diag)
{
    if (!sa)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "ike_sa_delete_child: NULL SA");
    if (sa->state != IKE_SA_STATE_ESTABLISHED)
        return ike_diag_fail(diag, IKE_E_STATE, "delete CHILD SA in state %s",
                             ike_sa_state_name(sa->state));
    if (ike_child_find_in(sa, spi_in) == SIZE_MAX)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "no CHILD SA with inbound SPI %08x", spi_in);
    enum ike_status st = ike_sa_queue_add(sa, IKE_TASK_CHILD_DELETE, spi_in, 0);
    if (st != IKE_OK)
        return ike_diag_fail(diag, st, "Delete of CHILD SA %08x not queued", spi_in);
    return IKE_OK;
}

/* ---- IKE SA ------------------------------------------------------------- */

static enum ike_status ike_delete_start(struct ike_sa *sa, struct ike_task *t)
{
    (void)t;
    struct ike_msg msg;
    request_init(sa, &msg);
    ike_msg_add_delete(&msg, IKE_PROTO_IKE, NULL, 0);
    ike_sa_log(sa, IKE_LOG_INFO, "deleting the IKE SA (%zu CHILD SAs)", sa->n_children);
    return send_and_clear(sa, &msg);
}

static enum ike_task_result ike_delete_reply(struct ike_sa *sa, struct ike_task *t,
                                             const struct ike_msg *resp)
{
    (void)t;
    ike_info_log_errors(sa, resp, "answer to our IKE SA Delete");
    ike_sa_remove_all(sa);
    ike_sa_log(sa, IKE_LOG_INFO, "IKE SA deleted");
    (void)ike_sa_transition(sa, IKE_SA_STATE_DEAD);
    return IKE_TASK_DONE;
}

const struct ike_task_ops ike_task_ike_delete = {
    .name = "IKE_DELETE",
    .exchange = IKE_EXCH_INFORMATIONAL,
    .start = ike_delete_start,
    .reply = ike_delete_reply,
};

enum ike_status ike_sa_delete(struct ike_sa *sa, struct ike_diag *diag)
{
    if (!sa)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "ike_sa_delete: NULL SA");
    if (sa->state == IKE_SA_STATE_DEAD)
        return IKE_OK;
    if (sa->state != IKE_SA_STATE_ESTABLISHED) {
        ike_sa_fail(sa, IKE_LOG_INFO, "deleted in state %s, before it was established",
                    ike_sa_state_name(sa->state));
        return IKE_OK;
    }
    if (sa->live.deleting)
        return IKE_OK;
    /* waiting work is moot now: the Delete goes right after the running task */
    for (size_t i = sa->queue.n; i-- > 0;)
        if (!sa->queue.tasks[i].started && sa->queue.tasks[i].kind != IKE_TASK_IKE_DELETE)
            ike_sa_queue_cancel(sa, &sa->queue.tasks[i]);
    enum ike_status st = ike_sa_queue_add(sa, IKE_TASK_IKE_DELETE, 0, 0);
    if (st != IKE_OK) {
        /* the peer will find out by DPD; the standby must know now */
        ike_sa_drop(sa, "Delete could not be queued");
        return ike_diag_fail(diag, st, "Delete of the IKE SA not queued, dropped locally");
    }
    if (sa->state == IKE_SA_STATE_ESTABLISHED)
        sa->live.deleting = true;
    return IKE_OK;
}

void ike_sa_drop(struct ike_sa *sa, const char *why)
{
    if (!sa || sa->state == IKE_SA_STATE_DEAD)
        return;
    ike_sa_fail(sa, IKE_LOG_INFO, "dropped without telling the peer: %s", why ? why : "-");
}

const struct ike_id_export *ike_sa_peer_id(const struct ike_sa *sa)
{
    return &sa->remote_id;
}
