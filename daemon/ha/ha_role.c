/*
 * Election per virtual cluster, wired to the daemon (ha.h): the CPG
 * membership, the peers' RoleAnnounce per vcluster, votequorum's flags and
 * our own sync state feed hasync_elect; its changes run takeover/release;
 * our RoleAnnounce goes out whenever what we announce changed or the
 * membership did. And THE invariant, ha_gateway_active().
 *
 * Nothing runs before the first CPG connection: the election needs our
 * corosync node id (hasync_cpg_local_node), so hasync_elect_init waits for
 * ha_role_connection(up). Until votequorum has answered, every vcluster
 * stays WAITING (a node that cannot tell whether it has quorum must not
 * grab VIPs).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "ha_internal.h"
#include "ha_role.h"

_Static_assert(HASYNC_ELECT_MAX_VC == 16, "load_ha.c's CFG_VCLUSTERS_MAX");

#define BARRIER_STALE_MS 5000

struct role_state {
    bool elect_ready;
    uint32_t self;
    uint32_t members[HASYNC_MAX_PEERS + 1];
    size_t n_members;
    bool connected;
    bool have_membership;     /* a confchg since the last connect: members[] is real */
    struct ha_quorum *quorum; /* ha_quorum.c: votequorum on the loop */
    bool quorum_known, wait_for_all, two_node;
    /* what we announced last, per vcluster (same order as ha->vcs) */
    struct hasync_elect_announce sent[HASYNC_ELECT_MAX_VC];
    bool sent_valid[HASYNC_ELECT_MAX_VC];
    /* hactl failover: the barrier's sequence number per vcluster (0: none) */
    uint64_t barrier[HASYNC_ELECT_MAX_VC];
    uint64_t barrier_ms[HASYNC_ELECT_MAX_VC]; /* when it was sent (monotonic) */
    size_t barrier_sending;                   /* index + 1 of the vcluster inside hasync_send */
    bool barrier_fired;                       /* its callback ran before hasync_send returned */
    /* VDOM index -> its vcluster */
    struct ha_vc **by_vdom;
    size_t n_by_vdom;
    bool running, rerun; /* takeover may re-enter through callbacks */
    uint64_t started_wall_ms;
};

static struct role_state *rs(const struct ha *ha)
{
    return ha->role;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static size_t vc_index(const struct ha *ha, const struct ha_vc *vc)
{
    return (size_t)(vc - ha->vcs);
}

/* ---- THE invariant ---------------------------------------------------------- */

struct ha_vc *ha_vc_find(struct ha *ha, uint32_t id)
{
    if (!ha)
        return NULL;
    for (size_t i = 0; i < ha->n_vcs; i++)
        if (ha->vcs[i].id == id)
            return &ha->vcs[i];
    return NULL;
}

static struct ha_vc *vc_by_vdom_name(struct ha *ha, const char *name)
{
    for (size_t i = 0; i < ha->n_vcs; i++) {
        const struct cfg_vcluster *c = ha->vcs[i].cfg;
        for (size_t k = 0; c && k < c->n_vdoms; k++)
            if (strcmp(c->vdoms[k], name) == 0)
                return &ha->vcs[i];
    }
    return NULL;
}

struct ha_vc *ha_vc_of_vdom(const struct daemon *d, unsigned vdom)
{
    struct ha *ha = d->ha;
    if (!ha)
        return NULL;
    struct role_state *r = rs(ha);
    if (r && r->by_vdom && vdom < r->n_by_vdom)
        return r->by_vdom[vdom];
    /* Before ha_role_init built the map: by name. */
    return vdom < d->n_vdoms ? vc_by_vdom_name(ha, d->vdoms[vdom].name) : NULL;
}

bool ha_gateway_active(const struct daemon *d, const struct gateway *gw)
{
    if (!d->cfg || !d->cfg->ha.enabled)
        return true; /* a single node: everything is ours */
    if (!d->ha || !gw)
        return false; /* HA configured but not (yet) running: nothing is ours */
    const struct ha_vc *vc = ha_vc_of_vdom(d, gw->vdom);
    return vc && vc->active;
}

/* ---- peers ---------------------------------------------------------------- */

static struct ha_peer *peer_get(struct ha *ha, uint32_t node, bool add)
{
    for (size_t i = 0; i < ha->n_peers; i++)
        if (ha->peers[i].node == node)
            return &ha->peers[i];
    if (!add)
        return NULL;
    if (ha->n_peers == HA_MAX_PEERS) {
        /* Reuse the longest-gone non-member: a cluster has two nodes. */
        for (size_t i = 0; i < ha->n_peers; i++)
            if (!ha->peers[i].member) {
                memset(&ha->peers[i], 0, sizeof(ha->peers[i]));
                ha->peers[i].node = node;
                return &ha->peers[i];
            }
        return NULL;
    }
    struct ha_peer *p = &ha->peers[ha->n_peers++];
    memset(p, 0, sizeof(*p));
    p->node = node;
    return p;
}

static bool peer_member(const struct ha *ha)
{
    for (size_t i = 0; i < ha->n_peers; i++)
        if (ha->peers[i].member)
            return true;
    return false;
}

/* A member peer that announced itself master of vcluster id. */
static const struct ha_peer *master_peer(const struct ha *ha, uint32_t id)
{
    for (size_t i = 0; i < ha->n_peers; i++) {
        const struct ha_peer *p = &ha->peers[i];
        for (size_t k = 0; p->member && k < p->n_ann; k++)
            if (p->ann[k].vcluster == id && p->ann[k].role == HASYNC_ROLE_MASTER)
                return p;
    }
    return NULL;
}

/* ---- the election ----------------------------------------------------------- */

struct elect_in {
    struct hasync_elect_input in;
    struct hasync_elect_announce ann[HA_MAX_PEERS * HASYNC_ELECT_MAX_VC];
    bool syncing[HASYNC_ELECT_MAX_VC];
};

static void build_input(struct ha *ha, struct elect_in *e)
{
    struct role_state *r = rs(ha);
    size_t n = 0;
    memset(e, 0, sizeof(*e));
    for (size_t i = 0; i < ha->n_peers; i++)
        for (size_t k = 0; ha->peers[i].member && k < ha->peers[i].n_ann; k++)
            e->ann[n++] = ha->peers[i].ann[k];
    bool peer = peer_member(ha);
    for (size_t i = 0; i < ha->n_vcs && i < HASYNC_ELECT_MAX_VC; i++) {
        const struct ha_vc *vc = &ha->vcs[i];
        /* Not master and not in sync with a live peer: we lack SAs the
         * peer has, so we must not win (hasync_elect ignores this alone). */
        e->syncing[i] = peer && vc->role != HASYNC_ROLE_MASTER && vc->sync != HA_SYNC_IN_SYNC;
    }
    e->in = (struct hasync_elect_input){.members = r->members,
                                        .n_members = r->n_members,
                                        .ann = e->ann,
                                        .n_ann = n,
                                        .quorate = ha->quorate && r->quorum_known,
                                        .syncing = e->syncing};
}

static Hasync__RoleAnnounce__Role role_to_msg(enum hasync_role r)
{
    switch (r) {
    case HASYNC_ROLE_MASTER: return HASYNC__ROLE_ANNOUNCE__ROLE__ROLE_MASTER;
    case HASYNC_ROLE_STANDBY: return HASYNC__ROLE_ANNOUNCE__ROLE__ROLE_STANDBY;
    case HASYNC_ROLE_SYNCING: return HASYNC__ROLE_ANNOUNCE__ROLE__ROLE_SYNCING;
    case HASYNC_ROLE_WAITING:
    default: return HASYNC__ROLE_ANNOUNCE__ROLE__ROLE_UNKNOWN;
    }
}

static enum hasync_role role_from_msg(Hasync__RoleAnnounce__Role r)
{
    switch (r) {
    case HASYNC__ROLE_ANNOUNCE__ROLE__ROLE_MASTER: return HASYNC_ROLE_MASTER;
    case HASYNC__ROLE_ANNOUNCE__ROLE__ROLE_STANDBY: return HASYNC_ROLE_STANDBY;
    case HASYNC__ROLE_ANNOUNCE__ROLE__ROLE_SYNCING: return HASYNC_ROLE_SYNCING;
    default: return HASYNC_ROLE_WAITING;
    }
}

static void on_barrier(void *arg, uint64_t seq);
static void barrier_done(struct ha *ha, size_t i);

/* A member peer has not announced every vcluster of ours yet. */
static bool missing_announcements(const struct ha *ha)
{
    for (size_t i = 0; i < ha->n_peers; i++) {
        const struct ha_peer *p = &ha->peers[i];
        if (!p->member)
            continue;
        for (size_t v = 0; v < ha->n_vcs; v++) {
            bool have = false;
            for (size_t k = 0; k < p->n_ann && !have; k++)
                have = p->ann[k].vcluster == ha->vcs[v].id;
            if (!have)
                return true;
        }
    }
    return false;
}

/* Our RoleAnnounce for vc; on_acked (the failover barrier) may be NULL. */
static int announce(struct ha *ha, struct ha_vc *vc, bool barrier)
{
    struct role_state *r = rs(ha);
    size_t i = vc_index(ha, vc);
    struct hasync_elect_announce a;
    if (!r->elect_ready || !ha->cpg || !r->connected ||
        hasync_elect_announcement(&ha->elect, vc->id, &a) < 0)
        return -1;
    if (vc->draining && r->sent_valid[i])
        a = r->sent[i]; /* still master until the drain ends: the peer waits */
    Hasync__Envelope env = HASYNC__ENVELOPE__INIT;
    Hasync__RoleAnnounce m = HASYNC__ROLE_ANNOUNCE__INIT;
    m.has_role = m.has_priority = m.has_override = m.has_uptime_ms = m.has_started_ms = true;
    m.role = role_to_msg(a.role);
    m.priority = a.priority;
    m.override = a.override;
    m.uptime_ms = daemon_now_ms() - ha->d->started_ms;
    m.started_ms = r->started_wall_ms;
    m.node_name = ha->self_name;
    m.has_want_replies = m.want_replies = missing_announcements(ha);
    env.body_case = HASYNC__ENVELOPE__BODY_ROLE;
    env.role = &m;
    env.has_vcluster = true;
    env.vcluster = vc->id;
    uint64_t seq = 0;
    r->barrier_sending = barrier ? i + 1 : 0;
    r->barrier_fired = false;
    int rc = hasync_send(ha->cpg, &env, barrier ? on_barrier : NULL, barrier ? ha : NULL, &seq);
    r->barrier_sending = 0;
    if (rc < 0) {
        ha_log(ha, IKE_LOG_ERR, NULL, "HA could not send RoleAnnounce for vcluster %" PRIu32,
               vc->id);
        return -1;
    }
    int bi = ha_body_index(HASYNC__ENVELOPE__BODY_ROLE);
    if (bi >= 0)
        ha->stats.sent[bi]++;
    r->sent[i] = a;
    r->sent_valid[i] = true;
    if (barrier && r->barrier_fired) /* acked at once: nobody else was there */
        barrier_done(ha, i);
    else if (barrier) {
        r->barrier[i] = seq;
        r->barrier_ms[i] = daemon_now_ms();
    }
    ha_log(ha, IKE_LOG_DEBUG, NULL,
           "HA send RoleAnnounce vcluster %" PRIu32 ": %s, priority %" PRIu32 "%s%s", vc->id,
           hasync_role_name(a.role), a.priority, a.override ? ", override" : "",
           barrier ? " (failover barrier)" : "");
    return 0;
}

static void announce_changed(struct ha *ha, bool force)
{
    struct role_state *r = rs(ha);
    for (size_t i = 0; i < ha->n_vcs; i++) {
        struct hasync_elect_announce a;
        if (hasync_elect_announcement(&ha->elect, ha->vcs[i].id, &a) < 0)
            continue;
        if (ha->vcs[i].draining && r->sent_valid[i])
            a = r->sent[i];
        if (force || !r->sent_valid[i] || r->sent[i].role != a.role ||
            r->sent[i].priority != a.priority || r->sent[i].override != a.override)
            announce(ha, &ha->vcs[i], false);
    }
}

/* A handover the next master waits for (hactl failover, a preempting node
 * with override): a member peer that is not master yet. Not a healed split
 * (the other is master already) nor a lost quorum: those release at once. */
static bool graceful(const struct ha *ha, const struct ha_vc *vc,
                     const struct hasync_elect_change *ch)
{
    if (ch->from != HASYNC_ROLE_MASTER || ch->to == HASYNC_ROLE_WAITING || !vc->active ||
        ha->d->stopping || master_peer(ha, vc->id))
        return false;
    for (size_t i = 0; i < ha->n_peers; i++)
        if (ha->peers[i].member)
            return true;
    return false;
}

static void run(struct ha *ha, bool force_announce);

/* ha_drain.c finished (or gave up): release, then announce it. */
static void drained(struct ha *ha, struct ha_vc *vc)
{
    vc->role = hasync_elect_role(&ha->elect, vc->id);
    if (vc->role == HASYNC_ROLE_MASTER)
        return;
    ha_release(ha, vc, hasync_elect_reason(&ha->elect, vc->id));
    run(ha, false);
}

static void apply_change(struct ha *ha, const struct hasync_elect_change *ch)
{
    struct ha_vc *vc = ha_vc_find(ha, ch->vcluster);
    if (!vc)
        return;
    vc->role = ch->to;
    vc->last_change_ms = wall_ms();
    snprintf(vc->last_reason, sizeof(vc->last_reason), "%s", ch->reason);
    ha_log(ha, IKE_LOG_INFO, NULL, "HA vcluster %" PRIu32 ": %s -> %s (%s)", vc->id,
           hasync_role_name(ch->from), hasync_role_name(ch->to), ch->reason);
    if (ch->to == HASYNC_ROLE_MASTER && vc->draining) {
        /* e.g. the peer left mid-drain: we never stopped being master */
        ha_drain_stop(ha, vc, true, "the handover is off, staying master");
    } else if (ch->to == HASYNC_ROLE_MASTER) {
        ha_takeover(ha, vc, ch->reason);
    } else if (vc->draining && ch->to != HASYNC_ROLE_WAITING) {
        vc->role = HASYNC_ROLE_MASTER; /* still handing over: the drain releases */
    } else if (graceful(ha, vc, ch) && ha_drain_start(ha, vc, drained)) {
        vc->role = HASYNC_ROLE_MASTER; /* until drained(): we still drive the SAs */
    } else if (ch->from == HASYNC_ROLE_MASTER || vc->active) {
        ha_release(ha, vc, ch->reason);
    }
}

/* After the peer took over from a graceful failover, the yield ends unless
 * it would hand the vcluster straight back (our override on and a higher
 * priority): then it lasts until the peer leaves. */
static void clear_yields(struct ha *ha)
{
    for (size_t i = 0; i < ha->n_vcs; i++) {
        const struct ha_vc *vc = &ha->vcs[i];
        struct hasync_elect_announce a;
        if (vc->role == HASYNC_ROLE_MASTER ||
            hasync_elect_announcement(&ha->elect, vc->id, &a) < 0 || a.priority != 0 ||
            vc->cfg->priority == 0)
            continue;
        const struct ha_peer *p = master_peer(ha, vc->id);
        if (!p)
            continue;
        uint32_t their = 0;
        for (size_t k = 0; k < p->n_ann; k++)
            if (p->ann[k].vcluster == vc->id)
                their = p->ann[k].priority;
        if (!vc->cfg->override || vc->cfg->priority <= their) {
            hasync_elect_failover_clear(&ha->elect, vc->id);
            ha_log(ha, IKE_LOG_INFO, NULL,
                   "HA vcluster %" PRIu32 ": node %" PRIu32 " took over, priority %" PRIu32
                   " announced again",
                   vc->id, p->node, vc->cfg->priority);
        }
    }
}

/* A standby whose peer masters the vcluster and that is not in sync asks
 * for a snapshot (ha_bulk.c sets SYNCING until it is complete). */
static void request_snapshots(struct ha *ha)
{
    for (size_t i = 0; i < ha->n_vcs; i++) {
        struct ha_vc *vc = &ha->vcs[i];
        if (vc->role == HASYNC_ROLE_MASTER || vc->role == HASYNC_ROLE_WAITING)
            continue;
        if (vc->sync == HA_SYNC_IN_SYNC || vc->sync == HA_SYNC_SYNCING)
            continue;
        if (master_peer(ha, vc->id))
            ha_bulk_request(ha, vc);
    }
}

static void run(struct ha *ha, bool force_announce)
{
    struct role_state *r = rs(ha);
    /* Before the first confchg we do not know whether a peer is there: an
     * election now could take a vcluster the peer masters. */
    if (!r || !r->elect_ready || !r->have_membership || ha->d->stopping)
        return;       /* stopping: ha_shutdown_keep released what goes to the peer */
    if (r->running) { /* from inside a takeover's callbacks: once more after */
        r->rerun = true;
        return;
    }
    r->running = true;
    for (int round = 0; round < 4; round++) {
        struct elect_in *e = calloc(1, sizeof(*e));
        if (!e) {
            ha_log(ha, IKE_LOG_ERR, NULL, "HA election: out of memory");
            break;
        }
        struct hasync_elect_change ch[HASYNC_ELECT_MAX_VC];
        r->rerun = false;
        build_input(ha, e);
        size_t n = hasync_elect_run(&ha->elect, &e->in, ch);
        free(e);
        for (size_t i = 0; i < n; i++)
            apply_change(ha, &ch[i]);
        clear_yields(ha);
        announce_changed(ha, force_announce);
        force_announce = false;
        request_snapshots(ha);
        if (!r->rerun)
            break;
    }
    r->running = false;
}

void ha_role_sync_changed(struct ha *ha, struct ha_vc *vc)
{
    (void)vc;
    run(ha, false);
}

/* ---- votequorum --------------------------------------------------------- */

void ha_role_quorum(struct ha *ha, bool known, bool quorate, bool wait_for_all, bool two_node)
{
    struct role_state *r = rs(ha);
    if (!r)
        return;
    bool changed = r->quorum_known != known || ha->quorate != quorate ||
                   r->wait_for_all != wait_for_all || r->two_node != two_node;
    r->quorum_known = known;
    ha->quorate = known && quorate;
    r->wait_for_all = wait_for_all;
    r->two_node = two_node;
    if (changed)
        ha_log(ha, known ? IKE_LOG_INFO : IKE_LOG_WARN, NULL, "HA quorum: %s%s%s",
               !known    ? "unknown (votequorum unavailable)"
               : quorate ? "quorate"
                         : "NOT quorate",
               wait_for_all ? ", wait_for_all" : "", two_node ? ", two_node" : "");
    if (r->elect_ready) {
        /* wait_for_all is part of the election's config. */
        ha->elect.cfg.wait_for_all = wait_for_all;
        run(ha, false);
    }
}

bool ha_role_quorum_known(const struct ha *ha, bool *wait_for_all, bool *two_node)
{
    const struct role_state *r = rs(ha);
    if (wait_for_all)
        *wait_for_all = r && r->wait_for_all;
    if (two_node)
        *two_node = r && r->two_node;
    return r && r->quorum_known;
}

/* ---- hooks from ha_node.c ------------------------------------------------- */

/* Every VIP of vc out of its namespace (idempotent). */
static void drop_vips(struct ha *ha, const struct ha_vc *vc, const char *why)
{
    for (size_t k = 0; vc->cfg && k < vc->cfg->n_vips; k++) {
        char err[256];
        if (ha_vip_del(ha->d, &vc->cfg->vips[k], err, sizeof(err)) < 0)
            ha_log(ha, IKE_LOG_WARN, NULL, "HA vcluster %" PRIu32 ": VIP on %s (%s): %s", vc->id,
                   vc->cfg->vips[k].ifname, why, err);
    }
}

int ha_role_init(struct ha *ha, char *err, size_t errlen)
{
    struct daemon *d = ha->d;
    struct role_state *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "HA: out of memory");
        return -1;
    }
    if (ha->n_vcs == 0 || ha->n_vcs > HASYNC_ELECT_MAX_VC) {
        snprintf(err, errlen, "HA: %zu virtual clusters (1..%d)", ha->n_vcs, HASYNC_ELECT_MAX_VC);
        free(r);
        return -1;
    }
    r->n_by_vdom = d->n_vdoms;
    r->by_vdom = calloc(d->n_vdoms ? d->n_vdoms : 1, sizeof(*r->by_vdom));
    r->quorum = ha_quorum_new(ha);
    if (!r->by_vdom || !r->quorum) {
        free(r->by_vdom);
        ha_quorum_free(r->quorum);
        free(r);
        snprintf(err, errlen, "HA: out of memory");
        return -1;
    }
    ha->role = r;
    for (size_t i = 0; i < d->n_vdoms; i++)
        r->by_vdom[i] = vc_by_vdom_name(ha, d->vdoms[i].name);
    for (size_t i = 0; i < d->n_vdoms; i++)
        if (!r->by_vdom[i]) { /* the config loader makes this impossible */
            snprintf(err, errlen, "HA: VDOM %s is in no virtual cluster", d->vdoms[i].name);
            ha_role_free(ha);
            return -1;
        }
    /* A haiked killed while master left its VIPs: nobody masters anything
     * here yet, so none may be present. */
    for (size_t i = 0; i < ha->n_vcs; i++)
        drop_vips(ha, &ha->vcs[i], "left by an earlier run");
    /* Until corosync tells us our node id (ha_role_connection). */
    if (gethostname(ha->self_name, sizeof(ha->self_name) - 1) < 0)
        snprintf(ha->self_name, sizeof(ha->self_name), "?");
    uint64_t up = daemon_now_ms() - d->started_ms;
    r->started_wall_ms = wall_ms() - up;
    for (size_t i = 0; i < ha->n_vcs; i++) {
        ha->vcs[i].role = HASYNC_ROLE_WAITING;
        ha->vcs[i].active = false;
        snprintf(ha->vcs[i].last_reason, sizeof(ha->vcs[i].last_reason), "starting");
    }
    ha_log(ha, IKE_LOG_INFO, NULL,
           "HA role: %zu virtual cluster(s), waiting for the CPG connection and quorum", ha->n_vcs);
    return 0;
}

void ha_role_free(struct ha *ha)
{
    struct role_state *r = rs(ha);
    if (!r)
        return;
    /* Stopping: what we mastered is the peer's now; a VIP left behind
     * would answer ARP next to the new master's. */
    for (size_t i = 0; i < ha->n_vcs; i++)
        if (ha->vcs[i].active) {
            ha->vcs[i].active = false;
            drop_vips(ha, &ha->vcs[i], "HA stopping");
        }
    ha_quorum_free(r->quorum);
    free(r->by_vdom);
    free(r);
    ha->role = NULL;
}

uint32_t ha_role_self(const struct ha *ha)
{
    return rs(ha) ? rs(ha)->self : 0;
}

const char *ha_role_name(const struct ha *ha)
{
    return ha->self_name;
}

static int elect_init(struct ha *ha, uint32_t self)
{
    struct role_state *r = rs(ha);
    struct hasync_elect_cfg cfg = {
        .self = self, .wait_for_all = r->wait_for_all, .n_vc = ha->n_vcs};
    for (size_t i = 0; i < ha->n_vcs; i++)
        cfg.vc[i] = (struct hasync_elect_vc_cfg){.vcluster = ha->vcs[i].id,
                                                 .priority = ha->vcs[i].cfg->priority,
                                                 .override = ha->vcs[i].cfg->override};
    if (hasync_elect_init(&ha->elect, &cfg) < 0)
        return -1;
    r->self = self;
    r->elect_ready = true;
    return 0;
}

void ha_role_connection(struct ha *ha, bool up)
{
    struct role_state *r = rs(ha);
    if (!r)
        return;
    r->connected = up;
    if (!up) {
        /* Our corosync is gone (killed, restarted): the peer saw us leave
         * the group and takes over what we master, so we must stop: release
         * everything and wait. After the rejoin the election runs afresh
         * (seen_peer kept: a peer that dies meanwhile is still known). */
        for (size_t i = 0; i < ha->n_peers; i++)
            if (ha->peers[i].member) {
                ha->peers[i].member = false;
                ha->peers[i].since_ms = wall_ms();
                ha->peers[i].n_ann = 0;
            }
        for (size_t i = 0; i < ha->n_vcs; i++) {
            struct ha_vc *vc = &ha->vcs[i];
            bool was_active = vc->active;
            if (vc->role == HASYNC_ROLE_WAITING && !was_active)
                continue;
            ha_log(ha, IKE_LOG_WARN, NULL, "HA vcluster %" PRIu32 ": %s -> %s (lost corosync)",
                   vc->id, hasync_role_name(vc->role), hasync_role_name(HASYNC_ROLE_WAITING));
            vc->role = HASYNC_ROLE_WAITING;
            if (was_active) {
                ha_release(ha, vc, "lost corosync");
                /* the peer masters it until we are back: resync then */
                vc->sync = HA_SYNC_BEHIND;
            }
        }
        if (r->elect_ready) {
            bool seen = ha->elect.seen_peer;
            struct hasync_elect_cfg cfg = ha->elect.cfg;
            hasync_elect_init(&ha->elect, &cfg); /* every vcluster WAITING, yields gone */
            ha->elect.seen_peer = seen;
        }
        r->n_members = 0;
        r->have_membership = false;
        memset(r->sent_valid, 0, sizeof(r->sent_valid));
        memset(r->barrier, 0, sizeof(r->barrier));
        ha_log(ha, IKE_LOG_WARN, NULL,
               "HA lost corosync: every vcluster released until it is back");
        return;
    }
    uint32_t self = hasync_cpg_local_node(ha->cpg);
    if (!r->elect_ready) {
        if (!self || elect_init(ha, self) < 0) {
            ha_log(ha, IKE_LOG_ERR, NULL, "HA: bad local node id %" PRIu32, self);
            return;
        }
    }
    /* The name the peer shows for us: corosync's, as ours is on this side
     * (hactl status); re-read on every connection (corosync may have been
     * restarted with another nodelist). */
    char name[sizeof(ha->self_name)];
    ha_name_resolve(r->self, name, sizeof(name));
    if (strcmp(name, ha->self_name) != 0) {
        ha_log(ha, IKE_LOG_INFO, NULL, "HA node %" PRIu32 " is \"%s\"", r->self, name);
        memcpy(ha->self_name, name, sizeof(name));
    }
    ha_quorum_refresh(r->quorum, r->self);
    run(ha, true);
}

void ha_role_membership(struct ha *ha, const struct hasync_member *members, size_t n,
                        const struct hasync_member *left, size_t n_left)
{
    struct role_state *r = rs(ha);
    if (!r)
        return;
    uint64_t now = wall_ms();
    bool joined = !r->have_membership;
    r->have_membership = n > 0;
    r->n_members = 0;
    for (size_t i = 0; i < n && r->n_members < HASYNC_MAX_PEERS + 1; i++)
        r->members[r->n_members++] = members[i].node;
    for (size_t k = 0; k < n_left; k++) {
        struct ha_peer *p = peer_get(ha, left[k].node, false);
        bool still = false;
        for (size_t i = 0; i < n; i++)
            still |= members[i].node == left[k].node;
        if (p && !still && p->member) {
            p->member = false;
            p->since_ms = now;
            p->n_ann = 0; /* it starts afresh when it comes back */
            ha_log(ha, IKE_LOG_INFO, NULL, "HA node %" PRIu32 " (%s) left", p->node,
                   p->name[0] ? p->name : "?");
            /* A barrier waiting for it is moot (its ack fires as it left). */
            memset(r->barrier, 0, sizeof(r->barrier));
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (members[i].node == r->self || !members[i].node)
            continue;
        struct ha_peer *p = peer_get(ha, members[i].node, true);
        if (p && !p->member) {
            p->member = true;
            p->since_ms = now;
            p->n_ann = 0;
            joined = true;
            ha_log(ha, IKE_LOG_INFO, NULL, "HA node %" PRIu32 " joined", p->node);
        }
    }
    if (peer_member(ha))
        ha->ever_saw_peer = true; /* wait_for_all is satisfied for good */
    else
        for (size_t i = 0; i < ha->n_vcs; i++) { /* nobody to be in sync with */
            ha->vcs[i].sync = HA_SYNC_ALONE;
            ha->vcs[i].behind = 0;
        }
    ha_quorum_refresh(r->quorum, r->self);
    run(ha, joined);
}

static void copy_name(char *dst, size_t len, const char *src)
{
    size_t o = 0;
    for (; src && *src && o + 1 < len; src++)
        dst[o++] = (*src > ' ' && *src <= '~') ? *src : '?';
    dst[o] = '\0';
}

void ha_role_announce_rx(struct ha *ha, const Hasync__Envelope *env)
{
    struct role_state *r = rs(ha);
    const Hasync__RoleAnnounce *m = env->role;
    if (!r || !m)
        return;
    if (env->sender == r->self) {
        ha_drop(ha, env, "a RoleAnnounce claiming our own node id");
        return;
    }
    uint32_t id = env->has_vcluster ? env->vcluster : 0;
    if (!ha_vc_find(ha, id)) {
        ha_drop(ha, env,
                "vcluster %" PRIu32 " is not configured here (check both nodes' ha "
                "sections)",
                id);
        return;
    }
    struct ha_peer *p = peer_get(ha, env->sender, true);
    if (!p) {
        ha_drop(ha, env, "more than %d peers", HA_MAX_PEERS);
        return;
    }
    bool first = true;
    struct hasync_elect_announce a = {.node = env->sender,
                                      .vcluster = id,
                                      .role = role_from_msg(m->role),
                                      .priority = m->has_priority ? m->priority : 0,
                                      .override = m->has_override && m->override};
    size_t k;
    for (k = 0; k < p->n_ann; k++)
        if (p->ann[k].vcluster == id)
            break;
    /* A peer that (re)starts its election announces WAITING: it needs
     * ours, as when it is new. */
    if (k < p->n_ann)
        first = a.role == HASYNC_ROLE_WAITING && p->ann[k].role != HASYNC_ROLE_WAITING;
    else if (p->n_ann < HASYNC_ELECT_MAX_VC)
        p->n_ann++;
    else
        return; /* cannot happen: vcluster ids are checked against ours */
    p->ann[k] = a;
    if (m->node_name)
        copy_name(p->name, sizeof(p->name), m->node_name);
    if (m->has_started_ms)
        p->started_ms = m->started_ms;
    else if (m->has_uptime_ms) /* an older node */
        p->started_ms = wall_ms() - m->uptime_ms;
    ha_log(ha, IKE_LOG_DEBUG, NULL,
           "HA recv RoleAnnounce vcluster %" PRIu32 " from node %" PRIu32
           " (%s): %s, priority %" PRIu32 "%s",
           id, p->node, p->name, hasync_role_name(a.role), a.priority,
           a.override ? ", override" : "");
    /* A peer we had not heard from (or that starts over, or asks) may
     * have missed ours (it restarted between two confchgs): announce
     * again once. */
    run(ha, first || (m->has_want_replies && m->want_replies));
}

/* ---- hactl failover ---------------------------------------------------- */

/* The barrier's RoleAnnounce is acknowledged: the peer applied everything
 * we sent before it (CPG's agreed order), so it can take over losslessly. */
static void on_barrier(void *arg, uint64_t seq)
{
    struct ha *ha = arg;
    struct role_state *r = rs(ha);
    if (!r)
        return;
    if (r->barrier_sending) {
        r->barrier_fired = true;
        return;
    }
    for (size_t i = 0; i < ha->n_vcs; i++)
        if (r->barrier[i] == seq) {
            r->barrier[i] = 0;
            barrier_done(ha, i);
        }
}

static void barrier_done(struct ha *ha, size_t i)
{
    struct ha_vc *vc = &ha->vcs[i];
    struct elect_in *e = calloc(1, sizeof(*e));
    const char *why = "out of memory";
    if (e) {
        build_input(ha, e);
        if (hasync_elect_failover(&ha->elect, &e->in, vc->id, &why) == 0)
            why = NULL;
        free(e);
    }
    if (why) {
        ha_log(ha, IKE_LOG_WARN, NULL,
               "HA failover vcluster %" PRIu32 ": sync barrier passed but %s", vc->id, why);
        return;
    }
    ha_log(ha, IKE_LOG_INFO, NULL,
           "HA failover vcluster %" PRIu32 ": sync barrier passed, handing over", vc->id);
    run(ha, false);
}

/* Whether vc can be handed over now; -1 with err when not. */
static int failover_check(struct ha *ha, size_t i, char *err, size_t errlen)
{
    struct role_state *r = rs(ha);
    const struct ha_vc *vc = &ha->vcs[i];
    if (vc->role != HASYNC_ROLE_MASTER) {
        snprintf(err, errlen, "vcluster %" PRIu32 ": this node is %s, not master", vc->id,
                 hasync_role_name(vc->role));
        return -1;
    }
    if (!ha_eligible_peer(ha, vc->id)) {
        snprintf(err, errlen,
                 "vcluster %" PRIu32 ": no eligible peer (none in sync with a priority > 0)",
                 vc->id);
        return -1;
    }
    if (vc->draining) {
        snprintf(err, errlen,
                 "vcluster %" PRIu32 ": a failover is already in progress (draining exchanges)",
                 vc->id);
        return -1;
    }
    /* A live peer acknowledges within milliseconds; one that has not for
     * BARRIER_STALE_MS is stuck: a new request starts over (the old ack,
     * if it ever comes, matches nothing). */
    if (r->barrier[i] && daemon_now_ms() - r->barrier_ms[i] < BARRIER_STALE_MS) {
        snprintf(err, errlen, "vcluster %" PRIu32 ": a failover is already in progress", vc->id);
        return -1;
    }
    return 0;
}

int ha_failover(struct ha *ha, uint32_t vcluster, char *err, size_t errlen)
{
    struct role_state *r = rs(ha);
    bool pick[HASYNC_ELECT_MAX_VC] = {false};
    size_t n = 0;
    if (!r || !r->elect_ready || !r->connected) {
        snprintf(err, errlen, "not connected to corosync");
        return -1;
    }
    if (vcluster && !ha_vc_find(ha, vcluster)) {
        snprintf(err, errlen, "no vcluster %" PRIu32, vcluster);
        return -1;
    }
    /* Every vcluster asked for (all we master, for 0) must be able to go,
     * or none goes: no half-done request. */
    for (size_t i = 0; i < ha->n_vcs; i++) {
        if (vcluster ? ha->vcs[i].id != vcluster : ha->vcs[i].role != HASYNC_ROLE_MASTER)
            continue;
        if (failover_check(ha, i, err, errlen) < 0)
            return -1;
        pick[i] = true;
        n++;
    }
    if (!n) {
        snprintf(err, errlen, "this node is master of no vcluster");
        return -1;
    }
    for (size_t i = 0; i < ha->n_vcs; i++) {
        if (!pick[i])
            continue;
        const struct ha_peer *p = ha_eligible_peer(ha, ha->vcs[i].id);
        ha_log(ha, IKE_LOG_INFO, NULL,
               "HA failover vcluster %" PRIu32 " to node %" PRIu32 " (%s) requested: sync barrier",
               ha->vcs[i].id, p->node, p->name);
        if (announce(ha, &ha->vcs[i], true) < 0) {
            snprintf(err, errlen, "vcluster %" PRIu32 ": cannot send the sync barrier",
                     ha->vcs[i].id);
            return -1;
        }
    }
    return 0;
}
