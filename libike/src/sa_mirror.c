/* A standby's passive copy of an IKE SA kept current from the master's sync
 * stream, and an active SA made passive again (<ike/mirror.h>). Nothing here
 * sends, arms a timer or calls the context back: a passive SA is data. */
#include <ike/mirror.h>

#include <string.h>

#include <openssl/crypto.h>

#include "sa_internal.h"

bool ike_sa_is_passive(const struct ike_sa *sa)
{
    return sa && sa->live.passive;
}

/* Only a passive, ESTABLISHED copy may be changed from outside. */
static enum ike_status need_passive(const struct ike_sa *sa, const char *what,
                                    struct ike_diag *diag)
{
    if (!sa)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "%s: no SA", what);
    if (!sa->live.passive || sa->state != IKE_SA_STATE_ESTABLISHED)
        return ike_diag_fail(diag, IKE_E_STATE, "%s: SA is %s%s", what,
                             sa->live.passive ? "passive but " : "active, ",
                             ike_sa_state_name(sa->state));
    return IKE_OK;
}

enum ike_status ike_sa_mirror_msgid(struct ike_sa *sa, uint32_t send_next, uint32_t recv_next,
                                    struct ike_diag *diag)
{
    enum ike_status st = need_passive(sa, "mirror message IDs", diag);
    if (st != IKE_OK)
        return st;
    if (send_next < sa->send_next || recv_next < sa->recv_next)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG,
                             "mirror message IDs: send/recv %u/%u would go back from %u/%u",
                             send_next, recv_next, sa->send_next, sa->recv_next);
    sa->send_next = send_next;
    sa->recv_next = recv_next;
    return IKE_OK;
}

static bool family_ok(uint8_t f)
{
    return f == IKE_AF_INET || f == IKE_AF_INET6;
}

enum ike_status ike_sa_mirror_update(struct ike_sa *sa, const struct ike_ev_ike_update *u,
                                     struct ike_diag *diag)
{
    enum ike_status st = need_passive(sa, "mirror addresses", diag);
    if (st != IKE_OK)
        return st;
    if (!u || !family_ok(u->local.family) || u->local.family != u->remote.family)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "mirror addresses: families %u/%u",
                             u ? u->local.family : 0, u ? u->remote.family : 0);
    sa->local = u->local;
    sa->remote = u->remote;
    sa->nat_local = u->nat_local;
    sa->nat_remote = u->nat_remote;
    return IKE_OK;
}

enum ike_status ike_sa_mirror_child_del(struct ike_sa *sa, uint32_t spi_in, struct ike_diag *diag)
{
    enum ike_status st = need_passive(sa, "mirror CHILD SA delete", diag);
    if (st != IKE_OK)
        return st;
    size_t i = ike_child_find_in(sa, spi_in);
    if (i == SIZE_MAX)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "mirror CHILD SA delete: no SPI %08x",
                             spi_in);
    struct ike_child_export *c = &sa->children[i];
    memmove(c, c + 1, (sa->n_children - i - 1) * sizeof(*c));
    sa->n_children--;
    OPENSSL_cleanse(&sa->children[sa->n_children], sizeof(*c)); /* keys */
    return IKE_OK;
}

enum ike_status ike_sa_deactivate(struct ike_sa *sa, struct ike_diag *diag)
{
    if (!sa)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "deactivate: no SA");
    if (sa->state != IKE_SA_STATE_ESTABLISHED || sa->rekeyed)
        return ike_diag_fail(diag, IKE_E_STATE, "deactivate: SA is %s%s",
                             ike_sa_state_name(sa->state), sa->rekeyed ? " and replaced" : "");
    if (sa->live.passive)
        return IKE_OK;
    /* The new master drives it now: nothing of ours may fire or retransmit.
     * Order: the outstanding request first (its retransmit timer), then
     * the queue (a task's release() may look at the request), then the
     * remaining timers. */
    if (sa->req.active) /* the drain timed out, or there was none */
        ike_sa_log(sa, IKE_LOG_WARN,
                   "passive: our %s request %u abandoned unanswered (the new master "
                   "continues from message ID %u)",
                   ike_exchange_name(sa->req.exchange), sa->req.message_id, sa->send_next);
    ike_sa_request_done(sa);
    for (size_t i = sa->queue.n; i-- > 0;)
        ike_sa_log(sa, IKE_LOG_INFO, "passive: %s task dropped (%s)",
                   ike_task_kind_name(sa->queue.tasks[i].kind),
                   sa->queue.tasks[i].started ? "its request was abandoned"
                                              : "the new master's own timers decide");
    ike_sa_queue_clear(sa);
    sa->sync.outstanding = false;
    sa->live.draining = false;
    for (int t = 0; t < IKE_TIMER_COUNT; t++)
        sa->ctx.ops->timer_cancel(sa->ctx.user, sa, (enum ike_timer)t);
    sa->live.passive = true;
    ike_sa_log(sa, IKE_LOG_INFO, "passive: timers cancelled, %s", "mirroring the new master");
    return IKE_OK;
}
