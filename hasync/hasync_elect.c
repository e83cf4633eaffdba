/* Master election per virtual cluster (see hasync_elect.h for the rules). */
#include "hasync_elect.h"

#include <stdio.h>
#include <string.h>

/* One node as the election sees it for one vcluster. */
struct cand {
    uint32_t node;
    uint32_t prio; /* effective: 0 when yielded */
    bool override, syncing, master, self;
};

const char *hasync_role_name(enum hasync_role r)
{
    switch (r) {
    case HASYNC_ROLE_WAITING: return "waiting-for-peer";
    case HASYNC_ROLE_SYNCING: return "syncing";
    case HASYNC_ROLE_STANDBY: return "standby";
    case HASYNC_ROLE_MASTER: return "master";
    }
    return "unknown";
}

static int vc_index(const struct hasync_elect *e, uint32_t vcluster)
{
    for (size_t i = 0; i < e->cfg.n_vc; i++)
        if (e->cfg.vc[i].vcluster == vcluster)
            return (int)i;
    return -1;
}

int hasync_elect_init(struct hasync_elect *e, const struct hasync_elect_cfg *cfg)
{
    if (cfg->self == 0 || cfg->n_vc == 0 || cfg->n_vc > HASYNC_ELECT_MAX_VC)
        return -1;
    for (size_t i = 0; i < cfg->n_vc; i++)
        for (size_t j = i + 1; j < cfg->n_vc; j++)
            if (cfg->vc[i].vcluster == cfg->vc[j].vcluster)
                return -1;
    memset(e, 0, sizeof(*e));
    e->cfg = *cfg;
    for (size_t i = 0; i < cfg->n_vc; i++)
        snprintf(e->vc[i].reason, sizeof(e->vc[i].reason), "starting");
    return 0;
}

/* true when a ranks above b: not syncing, priority > 0, priority, lower id. */
static bool cand_better(const struct cand *a, const struct cand *b)
{
    if (a->syncing != b->syncing)
        return !a->syncing;
    if ((a->prio > 0) != (b->prio > 0))
        return a->prio > 0;
    if (a->prio != b->prio)
        return a->prio > b->prio;
    return a->node < b->node;
}

/* The latest announcement of node for vcluster (the last one in the list). */
static const struct hasync_elect_announce *find_ann(const struct hasync_elect_input *in,
                                                    uint32_t node, uint32_t vcluster)
{
    const struct hasync_elect_announce *found = NULL;

    for (size_t i = 0; i < in->n_ann; i++)
        if (in->ann[i].node == node && in->ann[i].vcluster == vcluster)
            found = &in->ann[i];
    return found;
}

static bool is_peer_member(const struct hasync_elect *e, const struct hasync_elect_input *in,
                           size_t idx)
{
    uint32_t n = in->members[idx];

    if (n == e->cfg.self || n == 0)
        return false;
    for (size_t j = 0; j < idx; j++) /* count a listed node once */
        if (in->members[j] == n)
            return false;
    return true;
}

/* Candidates for vcluster i: [0] is us. *held gets the first member peer
 * without an announcement (0 if none). */
static size_t collect(const struct hasync_elect *e, const struct hasync_elect_input *in, size_t i,
                      struct cand *c, uint32_t *held)
{
    const struct hasync_elect_vc_cfg *vc = &e->cfg.vc[i];
    size_t n = 1;

    c[0] = (struct cand){.node = e->cfg.self,
                         .prio = e->vc[i].yielded ? 0 : vc->priority,
                         .override = vc->override,
                         /* a master has nobody to get a snapshot from */
                         .syncing =
                             in->syncing && in->syncing[i] && e->vc[i].role != HASYNC_ROLE_MASTER,
                         .master = e->vc[i].role == HASYNC_ROLE_MASTER,
                         .self = true};
    *held = 0;
    for (size_t m = 0; m < in->n_members && n < HASYNC_MAX_PEERS + 1; m++) {
        if (!is_peer_member(e, in, m))
            continue;
        const struct hasync_elect_announce *a = find_ann(in, in->members[m], vc->vcluster);
        if (!a) {
            if (!*held)
                *held = in->members[m];
            continue;
        }
        c[n++] = (struct cand){.node = a->node,
                               .prio = a->priority,
                               .override = a->override,
                               /* WAITING (RoleAnnounce's ROLE_UNKNOWN) counts as a
                                * non-master candidate: both nodes start so */
                               .syncing = a->role == HASYNC_ROLE_SYNCING,
                               .master = a->role == HASYNC_ROLE_MASTER};
    }
    return n;
}

/* Why w ranks above l, for logs and hactl status. */
static void explain(char *buf, size_t len, const struct cand *w, const struct cand *l)
{
    if (l->syncing && !w->syncing)
        snprintf(buf, len, "node %u syncing", l->node);
    else if (l->prio == 0 && w->prio > 0)
        snprintf(buf, len, "node %u priority 0 (handed over)", l->node);
    else if (w->prio != l->prio)
        snprintf(buf, len, "priority %u > %u", w->prio, l->prio);
    else
        snprintf(buf, len, "priority %u = %u, node id %u < %u", w->prio, l->prio, w->node, l->node);
}

static enum hasync_role decide_alone(struct hasync_elect *e, size_t i, bool syncing)
{
    char *r = e->vc[i].reason;

    e->vc[i].yielded = false;
    if (!e->seen_peer && e->cfg.wait_for_all) {
        snprintf(r, HASYNC_ELECT_REASON_LEN, "never saw peer (wait_for_all)");
        return HASYNC_ROLE_WAITING;
    }
    if (!e->seen_peer)
        snprintf(r, HASYNC_ELECT_REASON_LEN, "alone (wait_for_all off)");
    else
        snprintf(r, HASYNC_ELECT_REASON_LEN,
                 syncing ? "peer left (snapshot incomplete)" : "peer left");
    return HASYNC_ROLE_MASTER;
}

/* The node that should be master: the incumbent unless preempted. */
static const struct cand *pick_target(const struct cand *c, size_t n, const struct cand **inc_out,
                                      bool *preempt)
{
    const struct cand *best = &c[0], *inc = NULL;

    for (size_t k = 0; k < n; k++) {
        if (cand_better(&c[k], best))
            best = &c[k];
        if (c[k].master && (!inc || cand_better(&c[k], inc)))
            inc = &c[k];
    }
    *inc_out = inc;
    *preempt = false;
    if (!inc || inc == best)
        return best;
    *preempt = (inc->prio == 0 && best->prio > 0) ||
               (best->override && best->prio > inc->prio && !best->syncing);
    return *preempt ? best : inc;
}

static enum hasync_role decide(struct hasync_elect *e, const struct hasync_elect_input *in,
                               size_t i)
{
    struct cand c[HASYNC_MAX_PEERS + 1];
    const struct cand *inc, *t, *other = NULL;
    char *r = e->vc[i].reason;
    size_t len = HASYNC_ELECT_REASON_LEN;
    uint32_t held;
    bool preempt;
    size_t n = collect(e, in, i, c, &held);

    if (n == 1 && !held)
        return decide_alone(e, i, in->syncing && in->syncing[i]);
    t = pick_target(c, n, &inc, &preempt);
    for (size_t k = 1; k < n; k++) /* best other node: what we are compared with */
        if (!other || cand_better(&c[k], other))
            other = &c[k];
    if (t->self) {
        if (!c[0].master && inc && inc != t) {
            snprintf(r, len, "waiting for node %u to release", inc->node);
        } else if (!c[0].master && held) {
            snprintf(r, len, "waiting for node %u's announcement", held);
        } else if (!other) {
            snprintf(r, len, "keeping master, node %u not announced", held);
            return HASYNC_ROLE_MASTER;
        } else {
            if (cand_better(other, &c[0]))
                snprintf(r, len, "override off: keeping master");
            else
                explain(r, len, &c[0], other);
            return HASYNC_ROLE_MASTER;
        }
        return c[0].syncing ? HASYNC_ROLE_SYNCING : HASYNC_ROLE_STANDBY;
    }
    if (e->vc[i].yielded)
        snprintf(r, len, "failover to node %u", t->node);
    else if (c[0].syncing && !t->syncing)
        snprintf(r, len, "syncing: snapshot incomplete, node %u alive", t->node);
    else if (t == inc && !preempt && cand_better(&c[0], t))
        snprintf(r, len, "override off: keeping master node %u", t->node);
    else {
        char why[HASYNC_ELECT_REASON_LEN - 16];
        explain(why, sizeof(why), t, &c[0]);
        snprintf(r, len, "node %u: %s", t->node, why);
    }
    return c[0].syncing ? HASYNC_ROLE_SYNCING : HASYNC_ROLE_STANDBY;
}

size_t hasync_elect_run(struct hasync_elect *e, const struct hasync_elect_input *in,
                        struct hasync_elect_change *out)
{
    size_t n_out = 0;

    for (size_t m = 0; m < in->n_members; m++)
        if (is_peer_member(e, in, m))
            e->seen_peer = true;
    for (size_t i = 0; i < e->cfg.n_vc; i++) {
        enum hasync_role old = e->vc[i].role, now;

        if (!in->quorate) {
            snprintf(e->vc[i].reason, HASYNC_ELECT_REASON_LEN, "no quorum");
            now = HASYNC_ROLE_WAITING;
        } else {
            now = decide(e, in, i);
        }
        e->vc[i].role = now;
        if (now != old)
            out[n_out++] = (struct hasync_elect_change){.vcluster = e->cfg.vc[i].vcluster,
                                                        .from = old,
                                                        .to = now,
                                                        .reason = e->vc[i].reason};
    }
    return n_out;
}

int hasync_elect_failover(struct hasync_elect *e, const struct hasync_elect_input *in,
                          uint32_t vcluster, const char **err)
{
    int i = vc_index(e, vcluster);
    struct cand c[HASYNC_MAX_PEERS + 1];
    uint32_t held;

    if (i < 0) {
        *err = "unknown vcluster";
        return -1;
    }
    if (e->vc[i].role != HASYNC_ROLE_MASTER) {
        *err = "not master";
        return -1;
    }
    size_t n = collect(e, in, (size_t)i, c, &held);
    for (size_t k = 1; k < n; k++) {
        if (!c[k].syncing && c[k].prio > 0) {
            e->vc[i].yielded = true;
            return 0;
        }
    }
    *err = "no eligible peer";
    return -1;
}

void hasync_elect_failover_clear(struct hasync_elect *e, uint32_t vcluster)
{
    int i = vc_index(e, vcluster);

    if (i >= 0)
        e->vc[i].yielded = false;
}

int hasync_elect_announcement(const struct hasync_elect *e, uint32_t vcluster,
                              struct hasync_elect_announce *out)
{
    int i = vc_index(e, vcluster);

    if (i < 0)
        return -1;
    *out = (struct hasync_elect_announce){.node = e->cfg.self,
                                          .vcluster = vcluster,
                                          .role = e->vc[i].role,
                                          .priority = e->vc[i].yielded ? 0 : e->cfg.vc[i].priority,
                                          .override = e->cfg.vc[i].override};
    return 0;
}

enum hasync_role hasync_elect_role(const struct hasync_elect *e, uint32_t vcluster)
{
    int i = vc_index(e, vcluster);

    return i < 0 ? HASYNC_ROLE_WAITING : e->vc[i].role;
}

const char *hasync_elect_reason(const struct hasync_elect *e, uint32_t vcluster)
{
    int i = vc_index(e, vcluster);

    return i < 0 ? "" : e->vc[i].reason;
}
