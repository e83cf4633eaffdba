/*
 * Graceful handover of a virtual cluster (ha.h): before the old master
 * releases, the exchanges it started finish here.
 *
 * Abandoning an outstanding request (ike_sa_deactivate) leaves its answer
 * to a node that has no state for it: a CHILD rekey the peer completed is
 * one the new master never installs. So the release waits: every SA of the
 * vcluster drains (libike: no new exchange of ours starts; lifetimes and
 * DPD are the next master's; the outstanding request is retransmitted and
 * its answer handled, with the Delete of what a rekey replaced), no new
 * initiation or IKE_SA_INIT is accepted (ha_gateway_may_start), and once
 * no request is outstanding and the standby acknowledged every sync
 * message of those SAs, or after drain-timeout-ms, the caller's done()
 * releases and announces. A 5 ms poll checks; it runs at most the timeout.
 *
 * At the timeout, what is still outstanding is abandoned as before (logged
 * per SA with its message ID): the new master continues from the synced
 * IDs, which already count it, and drops its late answer (README).
 */
#include <inttypes.h>
#include <stdlib.h>

#include <event2/event.h>
#include <ike/message.h>
#include <ike/mirror.h>

#include "daemon.h"
#include "gw_internal.h"
#include "gw_sa.h"
#include "ha_internal.h"

#define DRAIN_POLL_MS 5

struct ha_drain {
    struct ha *ha;
    struct ha_vc *vc;
    struct event *poll;
    uint64_t started_ms, deadline_ms;
    ha_drain_done_fn done;
};

bool ha_gateway_may_start(const struct daemon *d, const struct gateway *gw)
{
    if (!ha_gateway_active(d, gw))
        return false;
    const struct ha_vc *vc = d->ha ? ha_vc_of_vdom(d, gw->vdom) : NULL;
    return !vc || !vc->draining;
}

struct drain_count {
    size_t outstanding, unacked;
};

/* Drains SAs that appeared meanwhile (an IKE rekey's new SA), counts what
 * the release still waits for; log_each: one line per outstanding request. */
static struct drain_count count(struct ha *ha, struct ha_vc *vc, bool log_each)
{
    struct drain_count n = {0, 0};
    for (struct gateway *gw = gw_first(ha->d); gw; gw = gw_next(gw)) {
        if (!ha_gw_in_vc(ha, gw, vc))
            continue;
        for (struct gw_sa *gs = gw_sa_first(gw); gs; gs = gw_sa_next(gs)) {
            if (gs->dying || !gs->sa || ike_sa_state(gs->sa) == IKE_SA_STATE_DEAD)
                continue;
            if (ike_sa_state(gs->sa) == IKE_SA_STATE_ESTABLISHED && !ike_sa_is_passive(gs->sa))
                (void)ike_sa_drain(gs->sa, NULL);
            uint32_t id;
            uint8_t exch;
            if (ike_sa_outstanding(gs->sa, &id, &exch)) {
                n.outstanding++;
                if (log_each)
                    ha_log(ha, IKE_LOG_INFO, gs,
                           "HA failover of virtual cluster %" PRIu32
                           ": waiting for the answer to our %s request %" PRIu32,
                           vc->id, ike_exchange_name(exch), id);
            }
            if (ha_stream_unacked(ha, gs->sa))
                n.unacked++;
        }
    }
    return n;
}

size_t ha_drain_outstanding(struct ha *ha, struct ha_vc *vc)
{
    size_t n = 0;
    for (struct gateway *gw = gw_first(ha->d); vc && gw; gw = gw_next(gw)) {
        if (!ha_gw_in_vc(ha, gw, vc))
            continue;
        for (struct gw_sa *gs = gw_sa_first(gw); gs; gs = gw_sa_next(gs))
            if (!gs->dying && gs->sa && ike_sa_outstanding(gs->sa, NULL, NULL))
                n++;
    }
    return n;
}

static void stop_poll(struct ha_vc *vc)
{
    struct ha_drain *dr = vc->drain;
    if (dr && dr->poll)
        evtimer_del(dr->poll);
}

static void finish(struct ha_drain *dr, struct drain_count left)
{
    struct ha *ha = dr->ha;
    struct ha_vc *vc = dr->vc;
    uint64_t ms = daemon_now_ms() - dr->started_ms;
    stop_poll(vc);
    vc->draining = false;
    vc->drained_once = true;
    vc->last_drain_ms = (uint32_t)ms;
    vc->last_drain_left = (uint32_t)left.outstanding;
    if (left.outstanding || left.unacked)
        ha_log(ha, IKE_LOG_WARN, NULL,
               "HA failover of virtual cluster %" PRIu32 ": drain timed out after %" PRIu64
               " ms, %zu exchange(s) abandoned, %zu sync message(s) unacknowledged (the new "
               "master continues from the synced message IDs)",
               vc->id, ms, left.outstanding, left.unacked);
    else
        ha_log(ha, IKE_LOG_INFO, NULL,
               "HA failover of virtual cluster %" PRIu32 ": exchanges drained in %" PRIu64
               " ms, handing over",
               vc->id, ms);
    dr->done(ha, vc);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct ha_drain *dr = arg;
    struct drain_count n = count(dr->ha, dr->vc, false);
    if ((n.outstanding == 0 && n.unacked == 0) || daemon_now_ms() >= dr->deadline_ms) {
        finish(dr, n);
        return;
    }
    struct timeval tv = {0, DRAIN_POLL_MS * 1000};
    evtimer_add(dr->poll, &tv);
}

/* Stops new work: retries of auto gateways wait for the next master. */
static void hold_gateways(struct ha *ha, struct ha_vc *vc)
{
    for (struct gateway *gw = gw_first(ha->d); gw; gw = gw_next(gw))
        if (ha_gw_in_vc(ha, gw, vc) && gw->retry_timer)
            evtimer_del(gw->retry_timer);
}

bool ha_drain_start(struct ha *ha, struct ha_vc *vc, ha_drain_done_fn done)
{
    uint32_t timeout = ha->d->cfg->ha.drain_timeout_ms;
    vc->drained_once = true;
    vc->last_drain_ms = 0;
    vc->last_drain_left = 0;
    if (!timeout)
        return false;
    struct ha_drain *dr = vc->drain;
    if (!dr) {
        dr = calloc(1, sizeof(*dr));
        if (!dr)
            return false;
        dr->poll = evtimer_new(ha->d->base, on_poll, dr);
        if (!dr->poll) {
            free(dr);
            return false;
        }
        vc->drain = dr;
    }
    vc->draining = true;
    hold_gateways(ha, vc);
    struct drain_count n = count(ha, vc, false);
    if (n.outstanding == 0) {
        /* Nothing in flight: CPG's order already puts every sync message
         * before our release announcement. */
        ha_drain_stop(ha, vc, false, NULL);
        return false;
    }
    dr->ha = ha;
    dr->vc = vc;
    dr->done = done;
    dr->started_ms = daemon_now_ms();
    dr->deadline_ms = dr->started_ms + timeout;
    ha_log(ha, IKE_LOG_INFO, NULL,
           "HA failover of virtual cluster %" PRIu32
           ": waiting for %zu outstanding exchange(s) (at most %" PRIu32 " ms)",
           vc->id, n.outstanding, timeout);
    (void)count(ha, vc, true);
    struct timeval tv = {0, DRAIN_POLL_MS * 1000};
    evtimer_add(dr->poll, &tv);
    return true;
}

void ha_drain_stop(struct ha *ha, struct ha_vc *vc, bool resume, const char *why)
{
    if (!vc->draining)
        return;
    stop_poll(vc);
    vc->draining = false;
    if (why)
        ha_log(ha, IKE_LOG_INFO, NULL,
               "HA failover of virtual cluster %" PRIu32 ": drain ended, %s", vc->id, why);
    if (!resume)
        return; /* the caller releases: ike_sa_deactivate ends each SA's drain */
    for (struct gateway *gw = gw_first(ha->d); gw; gw = gw_next(gw)) {
        if (!ha_gw_in_vc(ha, gw, vc))
            continue;
        for (struct gw_sa *gs = gw_sa_first(gw); gs; gs = gw_sa_next(gs))
            if (!gs->dying && gs->sa) {
                ike_sa_drain_cancel(gs->sa);
                gw_sa_after(gs);
            }
    }
}

void ha_drain_free(struct ha *ha)
{
    for (size_t i = 0; ha && i < ha->n_vcs; i++) {
        struct ha_drain *dr = ha->vcs[i].drain;
        if (!dr)
            continue;
        if (dr->poll)
            event_free(dr->poll);
        free(dr);
        ha->vcs[i].drain = NULL;
        ha->vcs[i].draining = false;
    }
}
