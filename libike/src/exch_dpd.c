/* Dead peer detection (RFC 7296 §2.4): an empty INFORMATIONAL request as a
 * queued task. It is only sent when nothing authentic came from the peer
 * for the interval (any message or ESP traffic reported by the caller
 * proves liveness), and not while another request is outstanding, whose
 * retransmissions are a liveness check already. The peer is declared dead
 * when the probe's retransmissions (dpd_retries) give up: ike_sa_fail()
 * then removes every SA with its events.
 *   on-idle:   a timer fires every interval after the last message;
 *   on-demand: only when the caller reports outbound traffic
 *              (ike_sa_note_activity) and nothing came back for interval.
 */
#include "sa_internal.h"

static uint64_t interval_ms(const struct ike_sa *sa)
{
    uint32_t s = sa->cfg->dpd_interval_s ? sa->cfg->dpd_interval_s : IKE_DPD_INTERVAL_S;
    return (uint64_t)s * 1000u;
}

static uint64_t now_ms(const struct ike_sa *sa)
{
    return sa->ctx.ops->now_ms(sa->ctx.user);
}

void ike_dpd_arm(struct ike_sa *sa)
{
    if (sa->live.passive || sa->live.draining || sa->state != IKE_SA_STATE_ESTABLISHED ||
        sa->cfg->dpd != IKE_DPD_ON_IDLE)
        return;
    uint64_t due = sa->live.last_rx_ms + interval_ms(sa), now = now_ms(sa);
    uint64_t ms = due > now ? due - now : interval_ms(sa);
    sa->ctx.ops->timer_arm(sa->ctx.user, sa, IKE_TIMER_DPD,
                           ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms);
}

/* Queues a probe when the peer has been silent for the interval. */
static void probe_if_silent(struct ike_sa *sa)
{
    if (sa->state != IKE_SA_STATE_ESTABLISHED || sa->live.deleting || sa->req.active)
        return;
    if (now_ms(sa) - sa->live.last_rx_ms < interval_ms(sa))
        return;
    if (ike_sa_queue_find(sa, IKE_TASK_DPD, false, 0))
        return;
    (void)ike_sa_queue_add(sa, IKE_TASK_DPD, 0, 0);
}

void ike_dpd_timer(struct ike_sa *sa)
{
    probe_if_silent(sa);
    ike_dpd_arm(sa);
}

static enum ike_status dpd_start(struct ike_sa *sa, struct ike_task *t)
{
    (void)t;
    struct ike_msg msg;
    ike_msg_init(&msg, sa->spi_i, sa->spi_r, IKE_EXCH_INFORMATIONAL,
                 sa->initiator ? IKE_FLAG_INITIATOR : 0, sa->send_next);
    enum ike_status st = ike_sa_send_request(sa, &msg);
    ike_msg_clear(&msg);
    if (st != IKE_OK)
        return st;
    sa->req.max_tries = sa->cfg->dpd_retries;
    sa->stats.dpd_sent++;
    ike_sa_log(sa, IKE_LOG_DEBUG, "liveness check %u sent, peer silent for %llu ms",
               sa->req.message_id, (unsigned long long)(now_ms(sa) - sa->live.last_rx_ms));
    return IKE_OK;
}

static enum ike_task_result dpd_reply(struct ike_sa *sa, struct ike_task *t,
                                      const struct ike_msg *resp)
{
    (void)t;
    ike_info_log_errors(sa, resp, "answer to our liveness check");
    ike_sa_log(sa, IKE_LOG_DEBUG, "liveness check %u answered", resp->hdr.message_id);
    ike_dpd_arm(sa);
    return IKE_TASK_DONE;
}

const struct ike_task_ops ike_task_dpd = {
    .name = "DPD",
    .exchange = IKE_EXCH_INFORMATIONAL,
    .start = dpd_start,
    .reply = dpd_reply,
};

enum ike_status ike_sa_dpd(struct ike_sa *sa, struct ike_diag *diag)
{
    if (!sa)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "ike_sa_dpd: NULL SA");
    if (sa->state != IKE_SA_STATE_ESTABLISHED)
        return ike_diag_fail(diag, IKE_E_STATE, "liveness check in state %s",
                             ike_sa_state_name(sa->state));
    enum ike_status st = ike_sa_queue_add(sa, IKE_TASK_DPD, 0, 0);
    if (st != IKE_OK)
        return ike_diag_fail(diag, st, "liveness check not queued");
    return IKE_OK;
}

void ike_sa_note_activity(struct ike_sa *sa, unsigned what)
{
    if (!sa || sa->state != IKE_SA_STATE_ESTABLISHED)
        return;
    if (what & IKE_ACTIVITY_INBOUND)
        ike_life_note_rx(sa);
    else if ((what & IKE_ACTIVITY_OUTBOUND) && sa->cfg->dpd == IKE_DPD_ON_DEMAND &&
             !sa->live.passive)
        probe_if_silent(sa);
}

uint64_t ike_sa_last_rx_ms(const struct ike_sa *sa)
{
    return sa->live.last_rx_ms;
}
