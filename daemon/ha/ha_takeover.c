/*
 * A role change of one virtual cluster applied to its SAs (ha.h).
 *
 * Takeover, in DESIGN.md §3's order, for every SA of the vcluster's VDOMs
 * in one go (nothing else runs on the loop meanwhile):
 *   1. the role is already MASTER (ha_role.c flipped it);
 *   2. the VIPs are added, with gratuitous ARP / unsolicited NA;
 *   3. every outbound ESP sequence number jumps by seq-jump from the last
 *      synced value: the old master may have sent up to that many packets
 *      since its last counter sync, and an (SPI, sequence) pair used twice
 *      breaks anti-replay and, with AES-GCM, reuses a nonce;
 *   4. IKE message IDs: with a peer that negotiated RFC 6311, an
 *      INFORMATIONAL with message ID 0 carrying MESSAGE_ID_SYNC (synced send
 *      ID + msgid-jump, synced receive ID) and REPLAY_COUNTER_SYNC (the same
 *      seq-jump); otherwise continue from the synced IDs;
 *   5. only then ike_sa_activate (lifetimes, rekeys, DPD) and vc->active,
 *      which opens ha_gateway_active() for initiations and peer input;
 *   6. auto gateways with no SA initiate.
 *
 * Release (graceful failover, or a higher-priority node preempting, after
 * ha_drain.c finished the exchanges in flight): vc->active off first (no
 * new exchange starts), every SA passive again (ike_sa_deactivate), then
 * the VIPs go.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <ike/mirror.h>

#include "daemon.h"
#include "gw_internal.h"
#include "gw_sa.h"
#include "ha_internal.h"
#include "ha_role.h"

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const char *vip_str(const struct cfg_vip *v, char *buf, size_t len)
{
    char a[IKE_ADDR_STR_MAX];
    struct ike_addr x = v->addr;
    x.port = 0;
    ike_addr_str(&x, a, sizeof(a));
    /* ike_addr_str may append a port (":0" / "[..]:0"): cut it. */
    char *colon = x.family == IKE_AF_INET ? strchr(a, ':') : NULL;
    if (colon)
        *colon = '\0';
    snprintf(buf, len, "%s/%u on %s (vdom %s)", a, v->prefix_len, v->ifname, v->vdom);
    return buf;
}

static bool in_vc(const struct ha *ha, const struct gateway *gw, const struct ha_vc *vc)
{
    return ha_vc_of_vdom(ha->d, gw->vdom) == vc;
}

static bool sa_usable(const struct gw_sa *gs)
{
    return !gs->dying && gs->sa && ike_sa_state(gs->sa) == IKE_SA_STATE_ESTABLISHED;
}

/* ---- takeover steps --------------------------------------------------------- */

void ha_dp_follow_role(struct ha *ha, struct gw_sa *gs)
{
    bool passive = ike_sa_is_passive(gs->sa);
    size_t refused = dp_children_passive(&ha->d->dp, gs, passive);
    if (refused)
        ha_log(ha, IKE_LOG_ERR, gs,
               "HA %zu CHILD SA(s): the data plane refused to %s their outbound traffic", refused,
               passive ? "stop" : "start");
}

static void add_vips(struct ha *ha, struct ha_vc *vc)
{
    const struct cfg_vcluster *c = vc->cfg;
    for (size_t i = 0; i < c->n_vips; i++) {
        char err[256], what[160];
        vip_str(&c->vips[i], what, sizeof(what));
        if (ha_vip_add(ha->d, &c->vips[i], err, sizeof(err)) < 0) {
            ha_log(ha, IKE_LOG_ERR, NULL, "HA takeover vcluster %" PRIu32 ": VIP %s: %s", vc->id,
                   what, err);
            continue;
        }
        int rc = ha_vip_announce(ha->d, &c->vips[i], err, sizeof(err));
        ha_log(ha, rc < 0 ? IKE_LOG_WARN : IKE_LOG_INFO, NULL,
               "HA takeover vcluster %" PRIu32 ": VIP %s added%s%s", vc->id, what,
               rc == 0 ? (c->vips[i].addr.family == IKE_AF_INET ? ", gratuitous ARP sent"
                                                                : ", unsolicited NA sent")
                       : ", ",
               rc == 0 ? "" : err);
    }
}

/* Step 3: every CHILD SA of the vcluster continues seq_jump above the last
 * synced outbound sequence number. Returns how many were moved. */
static size_t jump_seqs(struct ha *ha, struct ha_vc *vc, size_t *failed)
{
    struct daemon *d = ha->d;
    uint64_t jump = d->cfg->ha.seq_jump;
    size_t n = 0;
    *failed = 0;
    for (struct gateway *gw = gw_first(d); gw; gw = gw_next(gw)) {
        if (!in_vc(ha, gw, vc))
            continue;
        for (struct gw_sa *gs = gw_sa_first(gw); gs; gs = gw_sa_next(gs)) {
            if (gs->dying)
                continue;
            struct dp_child *c;
            TAILQ_FOREACH(c, &gs->children, sa_link)
            {
                uint64_t synced = c->ctr.seq_out, edge = c->ctr.replay_in_edge;
                if (dp_child_counters(&d->dp, c) == 0) { /* never below what we had */
                    if (c->ctr.seq_out > synced)
                        synced = c->ctr.seq_out;
                    if (c->ctr.replay_in_edge > edge)
                        edge = c->ctr.replay_in_edge;
                }
                /* Saturating: an SA at its counter's end must be rekeyed,
                 * never wrap (32-bit counters without ESN stop at 2^32 - 1). */
                uint64_t limit = c->esn ? UINT64_MAX : UINT32_MAX;
                uint64_t next = synced >= limit || jump > limit - synced ? limit : synced + jump;
                if (!d->dp.ops->set_seq || d->dp.ops->set_seq(&d->dp, c, next, edge) < 0) {
                    (*failed)++;
                    ha_log(ha, IKE_LOG_ERR, gs,
                           "HA takeover vcluster %" PRIu32 ": CHILD SA spi in=%08" PRIx32
                           ": data plane refused the sequence number jump",
                           vc->id, c->spi_in);
                    continue;
                }
                c->ctr.seq_out = next;
                c->ctr.replay_in_edge = edge;
                n++;
                ha_log(ha, IKE_LOG_DEBUG, gs,
                       "HA takeover vcluster %" PRIu32 ": CHILD SA spi in=%08" PRIx32
                       " out=%08" PRIx32 ": seq %" PRIu64 " -> %" PRIu64 ", replay edge %" PRIu64,
                       vc->id, c->spi_in, c->spi_out, synced, next, edge);
            }
        }
    }
    return n;
}

/* Steps 4 and 5 for one IKE SA. */
static void activate_sa(struct ha *ha, struct ha_vc *vc, struct gw_sa *gs, size_t *synced)
{
    const struct cfg_ha *hc = &ha->d->cfg->ha;
    const struct ike_sa_cfg *cfg = ike_sa_cfg(gs->sa);
    if (ike_sa_is_passive(gs->sa) && ike_sa_peer_msgid_sync(gs->sa) && cfg && cfg->msgid_sync) {
        ha_log(ha, IKE_LOG_INFO, gs, "have HA IKE SA, attempting message ID sync");
        struct ike_diag diag = {0};
        uint32_t send = gs->msgid_send_next + hc->msgid_jump;
        enum ike_status st =
            ike_sa_msgid_sync(gs->sa, send, gs->msgid_recv_next, hc->seq_jump, &diag);
        if (st == IKE_OK)
            (*synced)++;
        else
            ha_log(ha, IKE_LOG_WARN, gs,
                   "HA takeover vcluster %" PRIu32 ": message ID sync not sent (%s%s%s): "
                   "continuing from send/recv=%" PRIu32 "/%" PRIu32,
                   vc->id, ike_status_str(st), diag.reason[0] ? ": " : "", diag.reason,
                   gs->msgid_send_next, gs->msgid_recv_next);
    } else {
        ha_log(ha, IKE_LOG_INFO, gs,
               "HA takeover vcluster %" PRIu32 ": peer without RFC 6311, continuing from "
               "synced message IDs send/recv=%" PRIu32 "/%" PRIu32,
               vc->id, gs->msgid_send_next, gs->msgid_recv_next);
    }
    ike_sa_activate(gs->sa);
    ha_dp_follow_role(ha, gs); /* after jump_seqs: the first packet out is above the jump */
    gw_sa_after(gs);
}

void ha_takeover_start_gateways(struct ha *ha, struct ha_vc *vc)
{
    struct daemon *d = ha->d;
    for (struct gateway *gw = gw_first(d); gw; gw = gw_next(gw)) {
        if (!in_vc(ha, gw, vc))
            continue;
        bool live = false;
        for (struct gw_sa *gs = gw_sa_first(gw); gs && !live; gs = gw_sa_next(gs))
            live = !gs->dying && !gs->deleting && gs->sa;
        if (live) {
            gw_refresh_state(gw);
            continue;
        }
        gw->retry_backoff_s = 0;
        gw_start(gw); /* auto gateways only; gw_start knows */
    }
}

void ha_takeover(struct ha *ha, struct ha_vc *vc, const char *why)
{
    struct daemon *d = ha->d;
    uint64_t t0 = mono_us();
    ha_log(ha, IKE_LOG_INFO, NULL, "HA takeover vcluster %" PRIu32 ": %s (role %s)", vc->id, why,
           hasync_role_name(vc->role));
    add_vips(ha, vc);
    size_t failed, n_child = jump_seqs(ha, vc, &failed);
    ha_log(ha, failed ? IKE_LOG_WARN : IKE_LOG_INFO, NULL,
           "HA takeover vcluster %" PRIu32
           ": %zu CHILD SA(s): outbound ESP sequence numbers +%" PRIu64 "%s",
           vc->id, n_child, d->cfg->ha.seq_jump,
           failed ? " (some refused by the data plane, see above)" : "");
    size_t n_ike = 0, n_sync = 0;
    for (struct gateway *gw = gw_first(d); gw; gw = gw_next(gw)) {
        if (!in_vc(ha, gw, vc))
            continue;
        /* activate_sa -> gw_sa_after never frees (dead SAs are reaped from
         * the loop), so the walk stays valid. */
        for (struct gw_sa *gs = gw_sa_first(gw); gs; gs = gw_sa_next(gs)) {
            if (!sa_usable(gs))
                continue;
            activate_sa(ha, vc, gs, &n_sync);
            n_ike++;
        }
    }
    vc->active = true;
    ha_log(ha, IKE_LOG_INFO, NULL,
           "HA takeover vcluster %" PRIu32 ": %zu IKE SA(s) active (%zu message ID sync(s) sent)",
           vc->id, n_ike, n_sync);
    ha_takeover_start_gateways(ha, vc);
    uint64_t us = mono_us() - t0;
    vc->last_takeover_ms = (uint32_t)((us + 999) / 1000);
    vc->drained_once = false; /* the last change is this takeover, not a drain */
    vc->last_change_ms = wall_ms();
    snprintf(vc->last_reason, sizeof(vc->last_reason), "%s", why);
    ha->stats.takeovers++;
    ha_log(ha, IKE_LOG_INFO, NULL,
           "HA takeover vcluster %" PRIu32 " done in %" PRIu64 ".%03" PRIu64 " ms", vc->id,
           us / 1000, us % 1000);
}

void ha_release(struct ha *ha, struct ha_vc *vc, const char *why)
{
    struct daemon *d = ha->d;
    ha_drain_stop(ha, vc, false, "releasing now"); /* lost corosync, shutdown, quorum */
    vc->active = false; /* first: nothing new starts from here on */
    ha_log(ha, IKE_LOG_INFO, NULL, "HA release vcluster %" PRIu32 ": %s", vc->id, why);
    size_t n_ike = 0, n_failed = 0;
    for (struct gateway *gw = gw_first(d); gw; gw = gw_next(gw)) {
        if (!in_vc(ha, gw, vc))
            continue;
        if (gw->retry_timer)
            evtimer_del(gw->retry_timer);
        for (struct gw_sa *gs = gw_sa_first(gw); gs; gs = gw_sa_next(gs)) {
            if (gs->dying || !gs->sa)
                continue;
            if (ike_sa_state(gs->sa) != IKE_SA_STATE_ESTABLISHED) {
                /* Never synced (only established SAs are): the new master
                 * knows nothing of it, and the peer will retry there. */
                ike_sa_drop(gs->sa, "HA release: not established");
                gw_sa_after(gs);
                continue;
            }
            struct ike_diag diag = {0};
            enum ike_status st = ike_sa_deactivate(gs->sa, &diag);
            ha_dp_follow_role(ha, gs);
            if (st == IKE_OK) {
                n_ike++;
            } else {
                n_failed++;
                ha_log(ha, IKE_LOG_WARN, gs, "HA release vcluster %" PRIu32 ": not passive: %s%s%s",
                       vc->id, ike_status_str(st), diag.reason[0] ? ": " : "", diag.reason);
            }
            gw_sa_after(gs);
        }
    }
    const struct cfg_vcluster *c = vc->cfg;
    for (size_t i = 0; i < c->n_vips; i++) {
        char err[256], what[160];
        vip_str(&c->vips[i], what, sizeof(what));
        if (ha_vip_del(d, &c->vips[i], err, sizeof(err)) < 0)
            ha_log(ha, IKE_LOG_ERR, NULL, "HA release vcluster %" PRIu32 ": VIP %s: %s", vc->id,
                   what, err);
        else
            ha_log(ha, IKE_LOG_INFO, NULL, "HA release vcluster %" PRIu32 ": VIP %s removed",
                   vc->id, what);
    }
    /* We were master: we hold every SA of the vcluster, and the new
     * master's stream continues from here. No snapshot needed. */
    for (size_t i = 0; i < ha->n_peers; i++)
        if (ha->peers[i].member) {
            vc->sync = HA_SYNC_IN_SYNC;
            vc->behind = 0;
            break;
        }
    vc->last_change_ms = wall_ms();
    snprintf(vc->last_reason, sizeof(vc->last_reason), "%s", why);
    ha->stats.releases++;
    ha_log(ha, IKE_LOG_INFO, NULL, "HA release vcluster %" PRIu32 ": %zu IKE SA(s) passive%s",
           vc->id, n_ike, n_failed ? " (some refused, see above)" : "");
    daemon_schedule_reap(d); /* the dropped half-open ones */
}
