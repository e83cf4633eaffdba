/*
 * The cluster part of `hactl status`, laid out like FortiOS's `get system
 * ha status`: the group and this node, one line per node, then one block
 * per virtual cluster (its master, our role and why, sync health,
 * mirrored SAs, the last failover), then corosync's links and quorum.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hactl.h"

/* Node names travel from a peer through the daemon: never let one put a
 * control sequence on the operator's terminal. */
static const char *safe(const char *s, char *buf, size_t size)
{
    size_t n = 0;
    for (; s && s[n] && n + 1 < size; n++)
        buf[n] = s[n] >= 0x20 && s[n] < 0x7f ? s[n] : '?';
    buf[n] = '\0';
    return n ? buf : "-";
}

static const char *utc(uint64_t secs, char *buf, size_t size)
{
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(buf, size, "%llu", (unsigned long long)secs);
    return buf;
}

static void print_priorities(FILE *f, const Ctl__ClusterNode *n)
{
    if (!n->n_vclusters)
        return;
    fprintf(f, ", priority");
    for (size_t i = 0; i < n->n_vclusters; i++)
        fprintf(f, " vc%u=%u%s", n->vclusters[i]->vcluster, n->vclusters[i]->priority,
                n->vclusters[i]->override ? "(override)" : "");
}

static void print_node(FILE *f, const Ctl__ClusterNode *n)
{
    char name[80], dur[32];
    fprintf(f, "    %s (id %u%s): %s", safe(n->name, name, sizeof(name)), n->id,
            n->self ? ", this node" : "", n->up ? "up" : "down");
    if (n->has_since)
        fprintf(f, " for %s", hactl_duration(n->since, dur, sizeof(dur)));
    if (n->has_uptime)
        fprintf(f, ", uptime %s", hactl_duration(n->uptime, dur, sizeof(dur)));
    print_priorities(f, n);
    fputc('\n', f);
}

static void print_sync(FILE *f, const Ctl__VclusterStatus *v)
{
    const char *s = v->sync ? v->sync : "-";
    /* On the master the state is its standby's (as the standby announces
     * it): say whose it is. */
    bool master = v->role && strcmp(v->role, "master") == 0;
    if (master && strcmp(s, "in-sync") == 0)
        fprintf(f, "    sync: standby in sync");
    else if (master && strcmp(s, "syncing") == 0)
        fprintf(f, "    sync: standby syncing (snapshot not complete)");
    else if (strcmp(s, "behind") == 0)
        fprintf(f, "    sync: behind by %llu messages", (unsigned long long)v->behind);
    else if (strcmp(s, "syncing") == 0)
        fprintf(f, "    sync: syncing (%llu SAs received)", (unsigned long long)v->snapshot_sas);
    else if (strcmp(s, "in-sync") == 0)
        fprintf(f, "    sync: in sync");
    else if (strcmp(s, "alone") == 0)
        fprintf(f, "    sync: alone (no peer)");
    else
        fprintf(f, "    sync: %s", s);
    fprintf(f, ", mirrored IKE SAs: %u  CHILD SAs: %u\n", v->ike_sas, v->child_sas);
}

static void print_vcluster(FILE *f, const Ctl__VclusterStatus *v)
{
    char name[80], why[128], when[40], dur[32];
    fprintf(f, "vcluster %u: vdoms", v->id);
    for (size_t i = 0; i < v->n_vdoms; i++)
        fprintf(f, "%s%s", i ? ", " : " ", safe(v->vdoms[i], name, sizeof(name)));
    if (!v->n_vdoms)
        fprintf(f, " -");
    fputc('\n', f);
    if (v->master_id)
        fprintf(f, "    master: %s (id %u)\n", safe(v->master_name, name, sizeof(name)),
                v->master_id);
    else
        fprintf(f, "    master: none\n");
    fprintf(f, "    this node: %s%s, priority %u%s, reason: %s\n", hactl_str(v->role),
            v->active ? " (active)" : "", v->priority, v->override ? " override" : "",
            safe(v->reason, why, sizeof(why)));
    print_sync(f, v);
    const Ctl__FailoverEvent *lf = v->last_failover;
    if (!lf) {
        fprintf(f, "    last failover: never\n");
        return;
    }
    fprintf(f, "    last failover: %s (%s ago), %s", utc(lf->at, when, sizeof(when)),
            hactl_duration(lf->ago, dur, sizeof(dur)), safe(lf->reason, why, sizeof(why)));
    if (lf->duration_ms)
        fprintf(f, ", took %u ms", lf->duration_ms);
    if (lf->has_drain_ms)
        fprintf(f, ", drain took %u ms", lf->drain_ms);
    if (lf->has_drain_abandoned && lf->drain_abandoned)
        fprintf(f, " (%u exchange(s) abandoned at the timeout)", lf->drain_abandoned);
    fputc('\n', f);
}

static const char *node_name(const Ctl__ClusterStatus *c, uint32_t id, char *buf, size_t size)
{
    for (size_t i = 0; i < c->n_nodes; i++)
        if (c->nodes[i]->id == id)
            return safe(c->nodes[i]->name, buf, size);
    return "-";
}

static void print_corosync(FILE *f, const Ctl__ClusterStatus *c)
{
    const Ctl__CorosyncStatus *cs = c->corosync;
    char name[80];
    if (!cs)
        return;
    if (cs->rings_error)
        fprintf(f, "corosync links: %s\n", cs->rings_error);
    else if (!cs->n_links && !cs->n_rings)
        fprintf(f, "corosync links: none\n");
    for (size_t i = 0; i < cs->n_links; i++) {
        const Ctl__CorosyncLink *l = cs->links[i];
        fprintf(f, "corosync link %u to %s (id %u): %s, %s -> %s, mtu %u\n", l->link,
                node_name(c, l->node, name, sizeof(name)), l->node,
                l->connected ? "connected" : "DOWN", hactl_str(l->src), hactl_str(l->dst), l->mtu);
    }
    /* The ring summary only when no link could be listed: it is the same
     * information in corosync's own words. */
    for (size_t i = 0; !cs->n_links && i < cs->n_rings; i++)
        fprintf(f, "corosync %s: %s\n", hactl_str(cs->rings[i]->name),
                hactl_str(cs->rings[i]->status));
    if (cs->quorum_error) {
        fprintf(f, "quorum: %s\n", cs->quorum_error);
        return;
    }
    const Ctl__CorosyncQuorum *q = cs->quorum;
    if (q)
        fprintf(f, "quorum: %s, votes %u of %u expected, %u needed%s%s\n",
                q->quorate ? "quorate" : "NOT quorate", q->total_votes, q->expected_votes,
                q->quorum, q->two_node ? ", two_node" : "",
                q->wait_for_all ? ", wait_for_all" : "");
}

void hactl_print_cluster(FILE *f, const Ctl__StatusResult *s)
{
    const Ctl__ClusterStatus *c = s->cluster;
    char name[80];
    if (!c) {
        fprintf(f, "HA: %s\n", s->mode ? s->mode : "standalone");
        return;
    }
    fprintf(f, "HA: cluster, group %s, this node %s (id %u), %s, %s\n", hactl_str(c->group),
            c->self ? safe(c->self->name, name, sizeof(name)) : "-", c->self ? c->self->id : 0,
            c->connected ? "in the group" : "NOT in the group",
            c->quorate ? "quorate" : "NOT quorate");
    if (!c->ever_saw_peer) {
        const Ctl__CorosyncQuorum *q = c->corosync ? c->corosync->quorum : NULL;
        fprintf(f, "    never saw a peer since start%s\n",
                q && q->wait_for_all ? " (wait_for_all: no takeover alone)" : "");
    }
    if (c->pending_acks)
        fprintf(f, "    sync messages awaiting the peer's ack: %llu\n",
                (unsigned long long)c->pending_acks);
    fprintf(f, "nodes:\n");
    for (size_t i = 0; i < c->n_nodes; i++)
        print_node(f, c->nodes[i]);
    fprintf(f, "number of vcluster: %zu\n", c->n_vclusters);
    for (size_t i = 0; i < c->n_vclusters; i++)
        print_vcluster(f, c->vclusters[i]);
    print_corosync(f, c);
}
