/* Draining an active SA before a graceful HA handover (<ike/mirror.h>):
 * the exchange in flight finishes here, nothing new starts, so the next
 * master inherits no half-done exchange of ours. */
#include <ike/mirror.h>

#include "sa_internal.h"

enum ike_status ike_sa_drain(struct ike_sa *sa, struct ike_diag *diag)
{
    if (!sa)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "drain: no SA");
    if (sa->state != IKE_SA_STATE_ESTABLISHED || sa->live.passive)
        return ike_diag_fail(diag, IKE_E_STATE, "drain: SA is %s%s",
                             sa->live.passive ? "passive and " : "", ike_sa_state_name(sa->state));
    if (sa->live.draining)
        return IKE_OK;
    sa->live.draining = true;
    if (sa->rekeyed) /* replaced by an IKE rekey: its pending Delete finishes that rekey */
        for (size_t i = 0; i < sa->queue.n; i++)
            sa->queue.tasks[i].followup = true;
    /* Lifetimes and DPD would start exchanges: the next master's own
     * timers (re-armed from its copy) decide. The retransmit timer stays. */
    for (int t = 0; t < IKE_TIMER_COUNT; t++)
        if (t != IKE_TIMER_RETRANSMIT)
            sa->ctx.ops->timer_cancel(sa->ctx.user, sa, (enum ike_timer)t);
    ike_sa_log(sa, IKE_LOG_INFO, "draining for an HA handover: %s%s, %zu task(s) held",
               sa->req.active ? "request " : "no exchange outstanding",
               sa->req.active ? ike_exchange_name(sa->req.exchange) : "", sa->queue.n);
    return IKE_OK;
}

void ike_sa_drain_cancel(struct ike_sa *sa)
{
    if (!sa || !sa->live.draining)
        return;
    sa->live.draining = false;
    for (size_t i = 0; i < sa->queue.n; i++)
        sa->queue.tasks[i].followup = false;
    if (sa->live.passive || sa->state != IKE_SA_STATE_ESTABLISHED)
        return;
    ike_sa_log(sa, IKE_LOG_INFO, "HA handover called off: timers re-armed, %zu task(s) resume",
               sa->queue.n);
    ike_life_rearm_all(sa);
    ike_sa_queue_kick(sa);
}

bool ike_sa_is_draining(const struct ike_sa *sa)
{
    return sa && sa->live.draining;
}

bool ike_sa_outstanding(const struct ike_sa *sa, uint32_t *message_id, uint8_t *exchange)
{
    if (!sa || !sa->req.active)
        return false;
    if (message_id)
        *message_id = sa->req.message_id;
    if (exchange)
        *exchange = sa->req.exchange;
    return true;
}
