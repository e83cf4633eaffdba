/* The cluster side's lifecycle (ha.h): ring-crypto check, the CPG channel on
 * the daemon's loop, and delivery dispatch by body type. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "ha_internal.h"
#include "ha_role.h"
#include "hasync_crypto.h"

#define HA_GROUP_DEFAULT "haiked"

uint64_t ha_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int ha_body_index(Hasync__Envelope__BodyCase body)
{
    return (int)body > 0 && (int)body < HA_STATS_BODIES ? (int)body : -1;
}

const char *ha_spis(const uint8_t *spi_i, const uint8_t *spi_r, char *buf)
{
    static const char hex[] = "0123456789abcdef";
    char *p = buf;
    for (int k = 0; k < 2; k++) {
        const uint8_t *s = k ? spi_r : spi_i;
        for (size_t i = 0; i < IKE_SPI_LEN; i++) {
            *p++ = hex[s[i] >> 4];
            *p++ = hex[s[i] & 15];
        }
        *p++ = k ? '\0' : '/';
    }
    return buf;
}

void ha_log(struct ha *ha, int level, const struct gw_sa *gs, const char *fmt, ...)
{
    struct daemon *d = ha->d;
    struct hlog_who who = daemon_who(gs ? gs->gw : NULL, gs);
    if (!hlog_enabled(&d->log, HLOG_SYNC, level, &who))
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    hlog_write(&d->log, HLOG_SYNC, level, &who, "%s", line);
}

void ha_drop(struct ha *ha, const Hasync__Envelope *env, const char *fmt, ...)
{
    int i = ha_body_index(env->body_case);
    if (i >= 0)
        ha->stats.dropped[i]++;
    char line[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    ha_log(ha, IKE_LOG_WARN, NULL, "HA drop %s from node %" PRIu32 " seq %" PRIu64 ": %s",
           hasync_body_name(env->body_case), env->sender, env->seq, line);
}

/* A jump in a sender's sequence numbers: hasync accepted the message but some
 * before it were lost (a ring split). The standby of that vcluster no longer
 * mirrors the master: BEHIND, and a new snapshot. */
static void check_gap(struct ha *ha, const Hasync__Envelope *env)
{
    struct ha_mirror *m = ha_mirror(ha);
    size_t slot = HA_RX_SENDERS;
    for (size_t i = 0; i < HA_RX_SENDERS; i++) {
        if (m->rx[i].node == env->sender) {
            slot = i;
            break;
        }
        if (!m->rx[i].node && slot == HA_RX_SENDERS)
            slot = i;
    }
    if (slot == HA_RX_SENDERS)
        return; /* hasync tracks at most as many senders */
    uint64_t last = m->rx[slot].node == env->sender ? m->rx[slot].last : 0;
    m->rx[slot].node = env->sender;
    m->rx[slot].last = env->seq;
    if (!last || env->seq <= last + 1)
        return;
    uint64_t missed = env->seq - last - 1;
    m->gaps++;
    struct ha_vc *vc = ha_vc_find(ha, env->has_vcluster ? env->vcluster : 0);
    ha_log(ha, IKE_LOG_WARN, NULL,
           "HA gap in node %" PRIu32 "'s stream: %" PRIu64 " message(s) missed before seq %" PRIu64
           "%s",
           env->sender, missed, env->seq, vc ? ": bulk sync" : "");
    /* Messages of every vcluster share the stream: each standby vcluster may
     * have missed something. */
    for (size_t i = 0; i < ha->n_vcs; i++) {
        struct ha_vc *v = &ha->vcs[i];
        if (v->active)
            continue;
        v->behind += missed;
        v->sync = HA_SYNC_BEHIND;
        ha_bulk_request(ha, v);
        ha_role_sync_changed(ha, v);
    }
}

/* A node stands by for a vcluster we master. After a healed split it was
 * master too and drew the LANs' and the peer's traffic with its own
 * gratuitous ARP; it has released the VIPs now, but the neighbours' caches
 * still point at it until we announce them again. */
static void reannounce_vips(struct ha *ha, struct ha_vc *vc, uint32_t node)
{
    if (!vc || !vc->active)
        return;
    const struct cfg_vcluster *c = vc->cfg;
    for (size_t i = 0; i < c->n_vips; i++) {
        char err[256];
        if (ha_vip_announce(ha->d, &c->vips[i], err, sizeof(err)) < 0)
            ha_log(ha, IKE_LOG_WARN, NULL,
                   "HA vcluster %" PRIu32 ": gratuitous ARP/NA for a VIP failed: %s", vc->id, err);
    }
    if (c->n_vips)
        ha_log(ha, IKE_LOG_INFO, NULL,
               "HA vcluster %" PRIu32 ": node %" PRIu32 " stands by, %zu VIP(s) announced again",
               vc->id, node, c->n_vips);
}

/* A RoleAnnounce: the election's (ha_role.c), plus what a healed split needs
 * from the mirror around it. */
static void on_role(struct ha *ha, const Hasync__Envelope *env)
{
    struct ha_vc *vc = env->has_vcluster ? ha_vc_find(ha, env->vcluster) : NULL;
    bool was_active = vc && vc->active;
    /* two masters: offer ours before the election makes one of us release
     * (once per membership change) */
    if (was_active && env->role->role == HASYNC__ROLE_ANNOUNCE__ROLE__ROLE_MASTER)
        ha_bulk_offer(ha, vc, env->sender);
    if (env->role->role == HASYNC__ROLE_ANNOUNCE__ROLE__ROLE_STANDBY)
        reannounce_vips(ha, vc, env->sender);
    ha_role_announce_rx(ha, env);
    if (was_active && !vc->active)
        ha_bulk_released(ha, vc);
}

void ha_node_deliver(void *arg, const Hasync__Envelope *env)
{
    struct ha *ha = arg;
    int i = ha_body_index(env->body_case);
    if (i >= 0)
        ha->stats.received[i]++;
    if (env->seq)
        check_gap(ha, env);
    switch (env->body_case) {
    case HASYNC__ENVELOPE__BODY_ROLE: on_role(ha, env); break;
    case HASYNC__ENVELOPE__BODY_IKE_SA_ADD:
    case HASYNC__ENVELOPE__BODY_IKE_SA_UPDATE:
    case HASYNC__ENVELOPE__BODY_IKE_SA_DEL:
    case HASYNC__ENVELOPE__BODY_CHILD_SA_ADD:
    case HASYNC__ENVELOPE__BODY_CHILD_SA_DEL:
    case HASYNC__ENVELOPE__BODY_MSGID_UPDATE:
    case HASYNC__ENVELOPE__BODY_IKE_RESPONSE:
    case HASYNC__ENVELOPE__BODY_ESP_SEQ_UPDATE: ha_apply(ha, env); break;
    case HASYNC__ENVELOPE__BODY_BULK_REQUEST:
    case HASYNC__ENVELOPE__BODY_SNAPSHOT_CHUNK:
    case HASYNC__ENVELOPE__BODY_SNAPSHOT_DONE: ha_bulk_rx(ha, env); break;
    default: ha_drop(ha, env, "not a body this node handles"); break;
    }
}

static void on_membership(void *arg, const struct hasync_member *members, size_t n,
                          const struct hasync_member *left, size_t n_left,
                          const struct hasync_member *joined, size_t n_joined)
{
    struct ha *ha = arg;
    struct ha_mirror *m = ha_mirror(ha);
    /* A sender that left starts afresh (hasync forgets it too). */
    for (size_t k = 0; k < n_left; k++)
        for (size_t i = 0; i < HA_RX_SENDERS; i++)
            if (m->rx[i].node == left[k].node)
                m->rx[i].node = 0, m->rx[i].last = 0;
    ha_bulk_membership(ha, left, n_left);
    /* Another node joined while we master a vcluster: after a split it may
     * be master of it too and hold newer state (exchanges the peer had with
     * it). Offer ours before the election settles who releases; each side
     * merges the other's, newest wins (ha_bulk.c). A fresh standby takes the
     * offer as a first copy. */
    uint32_t self = hasync_cpg_local_node(ha->cpg);
    for (size_t k = 0; k < n_joined; k++) {
        if (joined[k].node == self)
            continue;
        for (size_t i = 0; i < ha->n_vcs; i++)
            if (ha->vcs[i].active)
                ha_bulk_offer(ha, &ha->vcs[i], joined[k].node);
    }
    ha_role_membership(ha, members, n, left, n_left);
}

static void on_connection(void *arg, bool up)
{
    struct ha *ha = arg;
    if (!up) {
        /* What the master streams until we are back is lost, and our
         * sequence bookkeeping starts afresh, so no gap will show it: every
         * vcluster we stand by for needs a snapshot after the rejoin. */
        struct ha_mirror *m = ha_mirror(ha);
        memset(m->rx, 0, sizeof(m->rx));
        for (size_t i = 0; i < ha->n_vcs; i++)
            if (!ha->vcs[i].active && ha->vcs[i].sync == HA_SYNC_IN_SYNC)
                ha->vcs[i].sync = HA_SYNC_BEHIND;
    }
    ha_role_connection(ha, up);
}

static void on_cpg_log(void *arg, int level, const char *line)
{
    struct ha *ha = arg;
    hlog_sys(&ha->d->log, HLOG_SYNC, level, "%s", line);
}

static const struct hasync_cpg_ops ha_cpg_ops = {
    .deliver = ha_node_deliver,
    .membership = on_membership,
    .connection = on_connection,
    .log = on_cpg_log,
};

/* The data plane's counter event (dp->counter_event). */
static void on_counters(void *arg, struct dp_child *c)
{
    ha_child_counters(arg, c);
}

/* Refuses a plaintext ring (the stream carries keys) unless allowed; a
 * corosync that cannot be asked is refused too, unless plaintext is allowed
 * anyway (then there is nothing to check). */
static int check_ring(struct daemon *d, char *err, size_t errlen)
{
    const struct cfg_ha *hc = &d->cfg->ha;
    char why[256] = "";
    enum hasync_crypto_verdict v = hasync_crypto_check(hc->allow_plaintext_sync, why, sizeof(why));
    switch (v) {
    case HASYNC_CRYPTO_OK:
        hlog_sys(&d->log, HLOG_SYNC, IKE_LOG_INFO, "HA ring crypto: %s", why);
        return 0;
    case HASYNC_CRYPTO_PLAINTEXT_ALLOWED:
        hlog_sys(&d->log, HLOG_SYNC, IKE_LOG_WARN,
                 "HA ring is not encrypted, allowed by allow-plaintext-sync: SA keys cross it "
                 "in clear (%s)",
                 why);
        return 0;
    case HASYNC_CRYPTO_UNKNOWN:
        if (hc->allow_plaintext_sync) {
            hlog_sys(&d->log, HLOG_SYNC, IKE_LOG_WARN,
                     "HA cannot check the ring's crypto (%s); allow-plaintext-sync is set", why);
            return 0;
        }
        snprintf(err, errlen,
                 "HA: cannot check corosync's ring crypto (%s): start corosync "
                 "first",
                 why);
        return -1;
    case HASYNC_CRYPTO_REFUSED:
    default:
        snprintf(err, errlen,
                 "HA refused: %s (the sync stream carries SA keys; set "
                 "allow-plaintext-sync to override)",
                 why);
        return -1;
    }
}

static void ha_free(struct ha *ha)
{
    if (!ha)
        return;
    hasync_cpg_free(ha->cpg);
    ha->cpg = NULL;
    ha_bulk_free(ha);
    ha_drain_free(ha);
    ha_stream_free(ha);
    free(ha->vcs);
    free(ha);
}

int ha_start(struct daemon *d, char *err, size_t errlen)
{
    const struct cfg_ha *hc = &d->cfg->ha;
    if (!hc->enabled || d->ha)
        return 0;
    if (!hc->n_vclusters) {
        snprintf(err, errlen, "HA: no virtual cluster configured");
        return -1;
    }
    if (check_ring(d, err, errlen) < 0)
        return -1;
    struct ha *ha = calloc(1, sizeof(*ha));
    if (!ha || !(ha->vcs = calloc(hc->n_vclusters, sizeof(*ha->vcs)))) {
        free(ha);
        snprintf(err, errlen, "HA: out of memory");
        return -1;
    }
    ha->d = d;
    ha->n_vcs = hc->n_vclusters;
    for (size_t i = 0; i < ha->n_vcs; i++) {
        ha->vcs[i].cfg = &hc->vclusters[i];
        ha->vcs[i].id = hc->vclusters[i].id;
        ha->vcs[i].role = HASYNC_ROLE_WAITING;
        ha->vcs[i].sync = HA_SYNC_ALONE;
    }
    if (ha_stream_init(ha) < 0 || ha_bulk_init(ha) < 0) {
        snprintf(err, errlen, "HA: out of memory");
        ha_free(ha);
        return -1;
    }
    d->ha = ha; /* the role code may ask ha_gateway_active() already */
    if (ha_role_init(ha, err, errlen) < 0) {
        d->ha = NULL;
        ha_free(ha);
        return -1;
    }
    struct hasync_cpg_cfg cc = {
        .group = hc->group && hc->group[0] ? hc->group : HA_GROUP_DEFAULT,
        .vcluster = ha->vcs[0].id, /* acks; every sync message names its own */
        .ops = &ha_cpg_ops,
        .arg = ha,
    };
    ha->cpg = hasync_cpg_new(d->base, &cc);
    if (!ha->cpg) {
        snprintf(err, errlen, "HA: cannot set up the CPG channel for group \"%s\"", cc.group);
        ha_role_free(ha);
        d->ha = NULL;
        ha_free(ha);
        return -1;
    }
    daemon_set_observer(d, ha_stream_event, ha);
    d->ike_ctx.response_events = true; /* the responder cache is mirrored too */
    d->dp.counter_event = on_counters;
    d->dp.counter_event_arg = d;
    d->dp.counter_event_packets = hc->seq_sync_packets;
    d->dp.counter_event_ms = hc->seq_sync_ms;
    hlog_sys(&d->log, HLOG_SYNC, IKE_LOG_INFO,
             "HA started: CPG group %s, %zu virtual cluster(s), ESP counters every %" PRIu32
             " packets / %" PRIu32 " ms",
             cc.group, ha->n_vcs, hc->seq_sync_packets, hc->seq_sync_ms);
    return 0;
}

void ha_stop(struct daemon *d)
{
    struct ha *ha = d->ha;
    if (!ha)
        return;
    if (d->observer == ha_stream_event)
        daemon_set_observer(d, NULL, NULL);
    d->ike_ctx.response_events = false;
    if (d->dp.counter_event == on_counters) {
        d->dp.counter_event = NULL;
        d->dp.counter_event_arg = NULL;
    }
    /* Nobody will acknowledge anything any more. */
    ha_stream_release_all(ha);
    hasync_cpg_free(ha->cpg);
    ha->cpg = NULL;
    ha_role_free(ha);
    d->ha = NULL;
    hlog_sys(&d->log, HLOG_SYNC, IKE_LOG_INFO, "HA stopped");
    ha_free(ha);
}
