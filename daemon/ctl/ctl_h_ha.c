/*
 * The cluster on the control socket: the HA part of `status`, `failover
 * [--vcluster N]` and `ha stats`. Reads struct ha (ha/ha.h) as the HA
 * modules keep it, plus corosync's own view asked per request
 * (ctl_corosync.h). Nothing here changes the cluster except failover,
 * which goes through ha_failover().
 */
#include <string.h>
#include <time.h>

#include "ctl/ctl_corosync.h"
#include "ctl/ctl_dispatch.h"
#include "ctl/ctl_handlers.h"
#include "ctl/ctl_view.h"
#include "daemon.h"
#include "gateway.h"
#include "ha/ha.h"

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t secs_since(uint64_t now_ms, uint64_t then_ms)
{
    return now_ms > then_ms ? (now_ms - then_ms) / 1000 : 0;
}

static const char *sync_name(enum ha_sync_state s)
{
    switch (s) {
    case HA_SYNC_ALONE: return "alone";
    case HA_SYNC_IN_SYNC: return "in-sync";
    case HA_SYNC_SYNCING: return "syncing";
    case HA_SYNC_BEHIND: return "behind";
    }
    return "unknown";
}

static uint32_t self_id(const struct ha *ha)
{
    if (ha->elect.cfg.self)
        return ha->elect.cfg.self;
    return ha->cpg ? hasync_cpg_local_node(ha->cpg) : 0;
}

static const struct hasync_elect_announce *peer_ann(const struct ha_peer *p, uint32_t vcluster)
{
    for (size_t k = 0; k < p->n_ann && k < HASYNC_ELECT_MAX_VC; k++)
        if (p->ann[k].vcluster == vcluster)
            return &p->ann[k];
    return NULL;
}

/* One source for every node's name, ours and the peers': corosync's
 * nodelist as cmap has it now, else what the node announced, which is its
 * own nodelist entry too (ha_name.c) or, without one, its hostname. The
 * announced one came over the wire: printable ASCII only, as ctl_safe()
 * makes it (it also stops at the end of the array). */
static const char *peer_name(const struct ha_peer *p, const struct ctl_corosync *cs, char *buf,
                             size_t size)
{
    const char *n = ctl_corosync_node_name(cs, p->node);
    if (n)
        return n;
    if (p->name[0])
        return ctl_safe(p->name, buf, size < sizeof(p->name) ? size : sizeof(p->name));
    return "";
}

static const char *self_name(const struct ha *ha, const struct ctl_corosync *cs, char *buf,
                             size_t size)
{
    const char *n = ctl_corosync_node_name(cs, self_id(ha));
    if (n)
        return n;
    return ctl_safe(ha->self_name, buf,
                    size < sizeof(ha->self_name) ? size : sizeof(ha->self_name));
}

/* The sync health shown for vc. A standby's is its own (ha_apply.c,
 * ha_bulk.c). The master is the reference and has nothing to catch up
 * with: what it shows is its peers' state as they announce it (a standby
 * announces SYNCING until its snapshot is complete and STANDBY once in
 * sync), and "alone" only when no peer is a member. */
static enum ha_sync_state vc_sync(const struct ha *ha, const struct ha_vc *vc)
{
    if (vc->role != HASYNC_ROLE_MASTER)
        return vc->sync;
    bool any = false, all_in_sync = true;
    for (size_t i = 0; i < ha->n_peers && i < HA_MAX_PEERS; i++) {
        const struct ha_peer *p = &ha->peers[i];
        if (!p->member)
            continue;
        any = true;
        const struct hasync_elect_announce *an = peer_ann(p, vc->id);
        if (!an || an->role != HASYNC_ROLE_STANDBY)
            all_in_sync = false; /* not announced yet, syncing, or waiting */
    }
    if (!any)
        return HA_SYNC_ALONE;
    return all_in_sync ? HA_SYNC_IN_SYNC : HA_SYNC_SYNCING;
}

static bool vc_has_vdom(const struct ha_vc *vc, const char *vdom)
{
    for (size_t i = 0; vc->cfg && i < vc->cfg->n_vdoms; i++)
        if (strcmp(vc->cfg->vdoms[i], vdom) == 0)
            return true;
    return false;
}

/* IKE and CHILD SAs of the vcluster's VDOMs here (mirrored ones on a
 * standby); a dying SA is gone at the next loop turn and not counted. */
static void vc_sa_counts(struct daemon *d, const struct ha_vc *vc, uint32_t *ike, uint32_t *child)
{
    *ike = *child = 0;
    for (struct gateway *gw = gw_first(d); gw; gw = gw_next(gw)) {
        if (!vc_has_vdom(vc, ctl_v_vdom(gw)))
            continue;
        for (struct gw_sa *gs = gw_sa_first(gw); gs; gs = gw_sa_next(gs)) {
            if (gs->dying)
                continue;
            (*ike)++;
            for (const struct dp_child *c = gw_child_first(gs); c; c = gw_child_next(c))
                (*child)++;
        }
    }
}

/* ---- nodes --------------------------------------------------------------- */

static Ctl__NodeVcluster *node_vc(struct ctl_arena *a, uint32_t vcluster, uint32_t prio, bool ovr,
                                  enum hasync_role role)
{
    Ctl__NodeVcluster *nv = CTL_NEW(a, Ctl__NodeVcluster, node_vcluster);
    if (!nv)
        return NULL;
    nv->has_vcluster = nv->has_priority = nv->has_override = true;
    nv->vcluster = vcluster;
    nv->priority = prio;
    nv->override = ovr;
    nv->role = ctl_arena_strdup(a, hasync_role_name(role));
    return nv->role ? nv : NULL;
}

static Ctl__ClusterNode *self_node(struct ctl_req *r, const struct ha *ha,
                                   const struct ctl_corosync *cs, uint64_t now)
{
    struct ctl_arena *a = r->arena;
    Ctl__ClusterNode *n = CTL_NEW(a, Ctl__ClusterNode, cluster_node);
    char host[64];
    if (!n || !(n->vclusters = ctl_arena_calloc(a, ha->n_vcs + 1, sizeof(*n->vclusters))))
        return NULL;
    n->has_id = n->has_up = n->has_self = n->has_started_at = n->has_uptime = true;
    n->id = self_id(ha);
    n->name = ctl_arena_strdup(a, self_name(ha, cs, host, sizeof(host)));
    n->up = ha->cpg && hasync_cpg_connected(ha->cpg);
    n->self = true;
    n->uptime = r->now_ms > r->ctx->started_ms ? (r->now_ms - r->ctx->started_ms) / 1000 : 0;
    n->started_at = now / 1000 - n->uptime;
    for (size_t i = 0; i < ha->n_vcs; i++) {
        const struct ha_vc *vc = &ha->vcs[i];
        /* What we announce (priority 0 after a failover), else the config. */
        struct hasync_elect_announce ann;
        if (hasync_elect_announcement(&ha->elect, vc->id, &ann) != 0) {
            ann.priority = vc->cfg ? vc->cfg->priority : 0;
            ann.override = vc->cfg && vc->cfg->override;
        }
        Ctl__NodeVcluster *nv = node_vc(a, vc->id, ann.priority, ann.override, vc->role);
        if (!nv)
            return NULL;
        n->vclusters[n->n_vclusters++] = nv;
    }
    return n->name ? n : NULL;
}

static Ctl__ClusterNode *peer_node(struct ctl_arena *a, const struct ha_peer *p,
                                   const struct ctl_corosync *cs, uint64_t now)
{
    Ctl__ClusterNode *n = CTL_NEW(a, Ctl__ClusterNode, cluster_node);
    char name[sizeof(p->name)];
    if (!n || !(n->vclusters = ctl_arena_calloc(a, p->n_ann + 1, sizeof(*n->vclusters))))
        return NULL;
    n->has_id = n->has_up = n->has_self = true;
    n->id = p->node;
    n->name = ctl_arena_strdup(a, peer_name(p, cs, name, sizeof(name)));
    n->up = p->member;
    if (p->started_ms) {
        n->has_started_at = n->has_uptime = true;
        n->started_at = p->started_ms / 1000;
        n->uptime = secs_since(now, p->started_ms);
    }
    if (p->since_ms) {
        n->has_since = true;
        n->since = secs_since(now, p->since_ms);
    }
    for (size_t k = 0; k < p->n_ann && k < HASYNC_ELECT_MAX_VC; k++) {
        const struct hasync_elect_announce *an = &p->ann[k];
        Ctl__NodeVcluster *nv = node_vc(a, an->vcluster, an->priority, an->override, an->role);
        if (!nv)
            return NULL;
        n->vclusters[n->n_vclusters++] = nv;
    }
    return n->name ? n : NULL;
}

/* ---- virtual clusters ---------------------------------------------------- */

/* Who is master of vc: this node, or the member peer announcing it; its
 * name (in buf when it is a peer's), "" and *id 0 when nobody is. */
static const char *vc_master(const struct ha *ha, const struct ha_vc *vc,
                             const struct ctl_corosync *cs, const char *self, uint32_t *id,
                             char *buf, size_t size)
{
    *id = 0;
    if (vc->role == HASYNC_ROLE_MASTER) {
        *id = self_id(ha);
        return self;
    }
    for (size_t i = 0; i < ha->n_peers && i < HA_MAX_PEERS; i++) {
        const struct ha_peer *p = &ha->peers[i];
        const struct hasync_elect_announce *an = peer_ann(p, vc->id);
        if (p->member && an && an->role == HASYNC_ROLE_MASTER) {
            *id = p->node;
            return peer_name(p, cs, buf, size);
        }
    }
    return "";
}

static Ctl__FailoverEvent *last_failover(struct ctl_arena *a, const struct ha_vc *vc, uint64_t now)
{
    if (!vc->last_change_ms)
        return NULL;
    Ctl__FailoverEvent *f = CTL_NEW(a, Ctl__FailoverEvent, failover_event);
    if (!f)
        return NULL;
    f->has_at = f->has_ago = f->has_duration_ms = true;
    f->at = vc->last_change_ms / 1000;
    f->ago = secs_since(now, vc->last_change_ms);
    f->duration_ms = vc->last_takeover_ms;
    if (vc->drained_once && !vc->active) {
        f->has_drain_ms = f->has_drain_abandoned = true;
        f->drain_ms = vc->last_drain_ms;
        f->drain_abandoned = vc->last_drain_left;
    }
    char reason[sizeof(vc->last_reason) + 1];
    memcpy(reason, vc->last_reason, sizeof(vc->last_reason));
    reason[sizeof(vc->last_reason)] = '\0';
    f->reason = ctl_arena_strdup(a, reason);
    return f->reason ? f : NULL;
}

static Ctl__VclusterStatus *vc_status(struct ctl_req *r, const struct ha *ha,
                                      const struct ha_vc *vc, const struct ctl_corosync *cs,
                                      const char *self, uint64_t now)
{
    struct ctl_arena *a = r->arena;
    Ctl__VclusterStatus *v = CTL_NEW(a, Ctl__VclusterStatus, vcluster_status);
    size_t n_vdoms = vc->cfg ? vc->cfg->n_vdoms : 0;
    if (!v || !(v->vdoms = ctl_arena_calloc(a, n_vdoms + 1, sizeof(*v->vdoms))))
        return NULL;
    v->has_id = v->has_master_id = v->has_active = v->has_ike_sas = v->has_child_sas = true;
    v->has_priority = v->has_override = true;
    v->id = vc->id;
    for (size_t i = 0; i < n_vdoms; i++)
        if (!(v->vdoms[v->n_vdoms++] = ctl_arena_strdup(a, vc->cfg->vdoms[i])))
            return NULL;
    char mname[80];
    v->master_name =
        ctl_arena_strdup(a, vc_master(ha, vc, cs, self, &v->master_id, mname, sizeof(mname)));
    v->role = ctl_arena_strdup(a, hasync_role_name(vc->role));
    v->active = vc->active;
    v->reason = ctl_arena_strdup(a, hasync_elect_reason(&ha->elect, vc->id));
    enum ha_sync_state sync = vc_sync(ha, vc);
    v->sync = ctl_arena_strdup(a, sync_name(sync));
    if (sync == HA_SYNC_BEHIND) {
        v->has_behind = true;
        v->behind = vc->behind;
    }
    if (sync == HA_SYNC_SYNCING && vc->role != HASYNC_ROLE_MASTER) {
        v->has_snapshot_sas = true;
        v->snapshot_sas = vc->snapshot_sas;
    }
    vc_sa_counts(r->ctx->d, vc, &v->ike_sas, &v->child_sas);
    v->priority = vc->cfg ? vc->cfg->priority : 0;
    v->override = vc->cfg && vc->cfg->override;
    v->last_failover = last_failover(a, vc, now);
    if (!v->master_name || !v->role || !v->reason || !v->sync ||
        (vc->last_change_ms && !v->last_failover))
        return NULL;
    return v;
}

/* ---- corosync ------------------------------------------------------------ */

static Ctl__CorosyncQuorum *cs_quorum(struct ctl_arena *a, const struct ctl_corosync *cs)
{
    Ctl__CorosyncQuorum *q = CTL_NEW(a, Ctl__CorosyncQuorum, corosync_quorum);
    if (!q)
        return NULL;
    q->has_quorate = q->has_expected_votes = q->has_total_votes = q->has_quorum = true;
    q->has_two_node = q->has_wait_for_all = true;
    q->quorate = cs->quorate;
    q->expected_votes = cs->expected_votes;
    q->total_votes = cs->total_votes;
    q->quorum = cs->quorum;
    q->two_node = cs->two_node;
    q->wait_for_all = cs->wait_for_all;
    return q;
}

static int cs_rings(struct ctl_arena *a, const struct ctl_corosync *cs, Ctl__CorosyncStatus *s)
{
    s->rings = ctl_arena_calloc(a, cs->n_rings + 1, sizeof(*s->rings));
    s->links = ctl_arena_calloc(a, cs->n_links + 1, sizeof(*s->links));
    if (!s->rings || !s->links)
        return -1;
    for (size_t i = 0; i < cs->n_rings; i++) {
        Ctl__CorosyncRing *g = CTL_NEW(a, Ctl__CorosyncRing, corosync_ring);
        if (!g || !(g->name = ctl_arena_strdup(a, cs->rings[i].name)) ||
            !(g->status = ctl_arena_strdup(a, cs->rings[i].status)))
            return -1;
        s->rings[s->n_rings++] = g;
    }
    for (size_t i = 0; i < cs->n_links; i++) {
        const struct ctl_cs_link *l = &cs->links[i];
        Ctl__CorosyncLink *k = CTL_NEW(a, Ctl__CorosyncLink, corosync_link);
        if (!k || !(k->src = ctl_arena_strdup(a, l->src)) ||
            !(k->dst = ctl_arena_strdup(a, l->dst)))
            return -1;
        k->has_node = k->has_link = k->has_enabled = k->has_connected = k->has_mtu = true;
        k->node = l->node;
        k->link = l->link;
        k->enabled = l->enabled;
        k->connected = l->connected;
        k->mtu = l->mtu;
        s->links[s->n_links++] = k;
    }
    return 0;
}

static Ctl__CorosyncStatus *cs_status(struct ctl_arena *a, const struct ctl_corosync *cs)
{
    Ctl__CorosyncStatus *s = CTL_NEW(a, Ctl__CorosyncStatus, corosync_status);
    if (!s)
        return NULL;
    if (cs->local_node) {
        s->has_local_node = true;
        s->local_node = cs->local_node;
    }
    if (cs->rings_error[0]) {
        if (!(s->rings_error = ctl_arena_strdup(a, cs->rings_error)))
            return NULL;
    } else if (cs_rings(a, cs, s) != 0)
        return NULL;
    if (cs->quorum_error[0])
        s->quorum_error = ctl_arena_strdup(a, cs->quorum_error);
    else
        s->quorum = cs_quorum(a, cs);
    return s->quorum_error || s->quorum ? s : NULL;
}

/* ---- status -------------------------------------------------------------- */

static int cluster_nodes(struct ctl_req *r, const struct ha *ha, const struct ctl_corosync *cs,
                         uint64_t now, Ctl__ClusterStatus *c)
{
    struct ctl_arena *a = r->arena;
    c->nodes = ctl_arena_calloc(a, ha->n_peers + 1, sizeof(*c->nodes));
    if (!c->nodes || !(c->self = self_node(r, ha, cs, now)))
        return -1;
    c->nodes[c->n_nodes++] = c->self;
    for (size_t i = 0; i < ha->n_peers && i < HA_MAX_PEERS; i++) {
        if (ha->peers[i].node == c->self->id)
            continue;
        if (!(c->nodes[c->n_nodes] = peer_node(a, &ha->peers[i], cs, now)))
            return -1;
        c->n_nodes++;
    }
    return 0;
}

static Ctl__ClusterStatus *cluster_status(struct ctl_req *r, const struct ha *ha)
{
    struct ctl_arena *a = r->arena;
    const struct cfg *cfg = r->ctx->d->cfg;
    uint64_t now = wall_ms();
    Ctl__ClusterStatus *c = CTL_NEW(a, Ctl__ClusterStatus, cluster_status);
    if (!c)
        return NULL;
    uint32_t peers[HA_MAX_PEERS];
    size_t n = 0;
    for (size_t i = 0; i < ha->n_peers && i < HA_MAX_PEERS; i++)
        peers[n++] = ha->peers[i].node;
    struct ctl_corosync *cs = ctl_arena_alloc(a, sizeof(*cs)); /* ~25 KiB */
    if (!cs)
        return NULL;
    ctl_corosync_query(peers, n, CTL_CS_TIMEOUT_MS, cs);

    c->group = ctl_arena_strdup(a, cfg && cfg->ha.group ? cfg->ha.group : "haiked");
    c->has_connected = c->has_quorate = c->has_ever_saw_peer = c->has_pending_acks = true;
    c->connected = ha->cpg && hasync_cpg_connected(ha->cpg);
    c->quorate = ha->quorate;
    c->ever_saw_peer = ha->ever_saw_peer;
    c->pending_acks = ha->cpg ? hasync_cpg_pending_acks(ha->cpg) : 0;
    if (!c->group || cluster_nodes(r, ha, cs, now, c) != 0)
        return NULL;
    c->vclusters = ctl_arena_calloc(a, ha->n_vcs + 1, sizeof(*c->vclusters));
    if (!c->vclusters)
        return NULL;
    for (size_t i = 0; i < ha->n_vcs; i++) {
        Ctl__VclusterStatus *v = vc_status(r, ha, &ha->vcs[i], cs, c->self->name, now);
        if (!v)
            return NULL;
        c->vclusters[c->n_vclusters++] = v;
    }
    c->corosync = cs_status(a, cs);
    return c->corosync ? c : NULL;
}

int ctl_ha_status(struct ctl_req *r, Ctl__StatusResult *st)
{
    const struct ha *ha = r->ctx->d->ha;
    st->mode = ctl_arena_strdup(r->arena, ha ? "cluster" : "standalone");
    if (!st->mode)
        return -1;
    if (!ha)
        return 0;
    st->cluster = cluster_status(r, ha);
    return st->cluster ? 0 : -1;
}

/* ---- failover ------------------------------------------------------------ */

static struct ha_vc *vc_by_id(struct ha *ha, uint32_t id)
{
    for (size_t i = 0; i < ha->n_vcs; i++)
        if (ha->vcs[i].id == id)
            return &ha->vcs[i];
    return NULL;
}

/* ha_failover's reason, prefixed with the vcluster unless it names it. */
static int failover_refused(struct ctl_req *r, uint32_t id, const char *err)
{
    if (strstr(err, "vcluster"))
        return ctl_fail(r, CTL__ERROR_CODE__ERR_FAILED, "failover: %s", err);
    return ctl_fail(r, CTL__ERROR_CODE__ERR_FAILED, "failover: vcluster %u: %s", id,
                    err[0] ? err : "refused");
}

static int failover_one(struct ctl_req *r, struct ha *ha, Ctl__FailoverResult *res, uint32_t id)
{
    char err[256] = "";
    if (ha_failover(ha, id, err, sizeof(err)) != 0)
        return failover_refused(r, id, err);
    res->vclusters[res->n_vclusters++] = id;
    res->has_outstanding = true;
    res->outstanding += (uint32_t)ha_drain_outstanding(ha, vc_by_id(ha, id));
    return 0;
}

/* Without --vcluster: every vcluster this node masters. A refusal after
 * some were handed over is reported with them, not as an error: those
 * handovers are running and the operator must see them. */
static int failover_all(struct ctl_req *r, struct ha *ha, Ctl__FailoverResult *res)
{
    char err[256] = "";
    uint32_t failed = 0;
    for (size_t i = 0; i < ha->n_vcs; i++) {
        if (ha->vcs[i].role != HASYNC_ROLE_MASTER)
            continue;
        if (ha_failover(ha, ha->vcs[i].id, err, sizeof(err)) != 0) {
            failed = ha->vcs[i].id;
            break;
        }
        res->vclusters[res->n_vclusters++] = ha->vcs[i].id;
        res->has_outstanding = true;
        res->outstanding += (uint32_t)ha_drain_outstanding(ha, &ha->vcs[i]);
    }
    if (!failed && res->n_vclusters == 0)
        return ctl_fail(r, CTL__ERROR_CODE__ERR_FAILED,
                        "failover: this node is master of no virtual cluster");
    if (failed && res->n_vclusters == 0)
        return failover_refused(r, failed, err);
    if (failed)
        res->message = ctl_arena_printf(r->arena, "vcluster %u not handed over: %s", failed,
                                        err[0] ? err : "refused");
    return 0;
}

int ctl_h_failover(struct ctl_req *r)
{
    struct ha *ha = r->ctx->d->ha;
    const Ctl__FailoverRequest *q = r->req->failover;
    if (!ha)
        return ctl_fail(r, CTL__ERROR_CODE__ERR_FAILED,
                        "failover: this node runs standalone (no ha section in its "
                        "configuration)");
    Ctl__FailoverResult *res = CTL_NEW(r->arena, Ctl__FailoverResult, failover_result);
    if (!res || !(res->vclusters = ctl_arena_calloc(r->arena, ha->n_vcs + 1, sizeof(uint32_t))))
        return -1;
    int rc;
    if (q && q->has_vcluster) {
        if (q->vcluster == 0)
            return ctl_fail(r, CTL__ERROR_CODE__ERR_BAD_REQUEST,
                            "failover: vcluster 0 does not exist (ids start at 1)");
        if (!vc_by_id(ha, q->vcluster))
            return ctl_fail(r, CTL__ERROR_CODE__ERR_NOT_FOUND,
                            "failover: no virtual cluster %u on this node", q->vcluster);
        rc = failover_one(r, ha, res, q->vcluster);
    } else
        rc = failover_all(r, ha, res);
    if (rc != 0)
        return rc;
    res->has_drain_timeout_ms = true;
    res->drain_timeout_ms = r->ctx->d->cfg->ha.drain_timeout_ms;
    r->resp->result_case = CTL__RESPONSE__RESULT_FAILOVER;
    r->resp->failover = res;
    return 0;
}

/* ---- ha stats ------------------------------------------------------------ */

static int stats_messages(struct ctl_arena *a, const struct ha_stats *s, Ctl__HaStatsResult *res)
{
    res->messages = ctl_arena_calloc(a, HA_STATS_BODIES, sizeof(*res->messages));
    if (!res->messages)
        return -1;
    /* Indexed by Hasync__Envelope__BodyCase (ha.h); every known type is
     * listed, also at zero, so the table keeps its shape. */
    for (size_t i = 0; i < HA_STATS_BODIES; i++) {
        const char *name = hasync_body_name((Hasync__Envelope__BodyCase)i);
        if (strcmp(name, "none") == 0 || strcmp(name, "unknown") == 0)
            continue;
        Ctl__HaMessageCount *m = CTL_NEW(a, Ctl__HaMessageCount, ha_message_count);
        if (!m || !(m->type = ctl_arena_strdup(a, name)))
            return -1;
        m->has_sent = m->has_received = m->has_dropped = true;
        m->sent = s->sent[i];
        m->received = s->received[i];
        m->dropped = s->dropped[i];
        res->messages[res->n_messages++] = m;
    }
    return 0;
}

static Ctl__HaChannelStats *channel_stats(struct ctl_arena *a, const struct hasync_cpg *hc)
{
    const struct hasync_cpg_stats *s = hasync_cpg_get_stats(hc);
    Ctl__HaChannelStats *c = CTL_NEW(a, Ctl__HaChannelStats, ha_channel_stats);
    if (!c || !(c->dropped = ctl_arena_calloc(a, HASYNC_DROP__COUNT, sizeof(*c->dropped))))
        return NULL;
    c->has_connected = c->has_sent = c->has_received = c->has_acks_sent = true;
    c->has_acks_received = c->has_gaps = c->has_try_again = c->has_send_errors = true;
    c->has_disconnects = c->has_joins = c->has_unconnected = c->has_queue_len = true;
    c->has_queue_peak = c->has_pending_acks = true;
    c->connected = hasync_cpg_connected(hc);
    c->sent = s->sent;
    c->received = s->received;
    c->acks_sent = s->acks_sent;
    c->acks_received = s->acks_received;
    c->gaps = s->gaps;
    c->try_again = s->try_again;
    c->send_errors = s->send_errors;
    c->disconnects = s->disconnects;
    c->joins = s->joins;
    c->unconnected = s->unconnected;
    c->queue_len = s->queue_len;
    c->queue_peak = s->queue_peak;
    c->pending_acks = hasync_cpg_pending_acks(hc);
    for (int i = HASYNC_OK + 1; i < HASYNC_DROP__COUNT; i++) {
        Ctl__DropCount *dc = CTL_NEW(a, Ctl__DropCount, drop_count);
        if (!dc || !(dc->reason = ctl_arena_strdup(a, hasync_drop_name((enum hasync_drop)i))))
            return NULL;
        dc->has_count = true;
        dc->count = s->drops[i];
        c->dropped[c->n_dropped++] = dc;
    }
    return c;
}

int ctl_h_ha_stats(struct ctl_req *r)
{
    const struct ha *ha = r->ctx->d->ha;
    if (!ha)
        return ctl_fail(r, CTL__ERROR_CODE__ERR_FAILED,
                        "ha stats: this node runs standalone (no ha section in its "
                        "configuration)");
    const struct ha_stats *s = &ha->stats;
    Ctl__HaStatsResult *res = CTL_NEW(r->arena, Ctl__HaStatsResult, ha_stats_result);
    if (!res || stats_messages(r->arena, s, res) != 0)
        return -1;
    res->has_bulk_syncs_requested = res->has_bulk_syncs_served = res->has_held_datagrams = true;
    res->has_held_max_us = res->has_takeovers = res->has_releases = true;
    res->has_import_errors = res->has_sync_refused = res->has_resyncs_sent = true;
    res->bulk_syncs_requested = s->bulk_syncs_requested;
    res->bulk_syncs_served = s->bulk_syncs_served;
    res->held_datagrams = s->held_datagrams;
    res->held_max_us = s->held_max_us;
    res->takeovers = s->takeovers;
    res->releases = s->releases;
    res->import_errors = s->import_errors;
    res->sync_refused = s->sync_refused;
    res->resyncs_sent = s->resyncs_sent;
    if (ha->cpg && !(res->channel = channel_stats(r->arena, ha->cpg)))
        return -1;
    r->resp->result_case = CTL__RESPONSE__RESULT_HA_STATS;
    r->resp->ha_stats = res;
    return 0;
}
