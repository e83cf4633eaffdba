/*
 * Master election per virtual cluster: pure logic (no CPG, no I/O, no
 * globals). The caller feeds the CPG membership, the peers' latest
 * RoleAnnounce per vcluster, the votequorum state and our own bulk-sync
 * state; hasync_elect_run() gives this node's role per vcluster with a
 * reason, and the vclusters whose role changed (takeover or release).
 *
 * Rules (every node evaluates the same inputs, so both sides agree):
 * - A candidate is this node or a member peer that has announced a role for
 *   the vcluster. Rank: not syncing first, then priority > 0, then higher
 *   priority, then LOWER node id. Lowest id wins a tie because corosync
 *   nodelists number nodes from 1: with equal priorities "node 1" is the
 *   primary, which is what an operator reading the config expects.
 * - Priority 0 means "not a candidate while any other is": a node that
 *   handed over with hasync_elect_failover() announces priority 0.
 * - A running master (incumbent) is preempted only by a better node whose
 *   own override is on and whose priority is strictly higher (override is
 *   the challenger's setting, carried in its announcement, so both sides
 *   use the same value), or when it yielded (priority 0). Two masters
 *   (a healed split): the better one keeps it, the other releases.
 * - The new master takes over only after the old one announced that it
 *   released: never two masters on purpose.
 * - A member peer that has not announced yet holds the election: we keep
 *   master if we are, but never become it.
 * - Alone in the membership: master only with quorum and, with wait_for_all,
 *   after having seen a peer since start (the peer died). Then our own
 *   incomplete snapshot does not matter: there is nobody to get it from.
 */
#ifndef HASYNC_ELECT_H
#define HASYNC_ELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hasync_seq.h"

#define HASYNC_ELECT_MAX_VC     16
#define HASYNC_ELECT_REASON_LEN 96

enum hasync_role {
    HASYNC_ROLE_WAITING = 0, /* no quorum, or never saw a peer (wait_for_all) */
    HASYNC_ROLE_SYNCING,     /* standby whose snapshot is incomplete */
    HASYNC_ROLE_STANDBY,
    HASYNC_ROLE_MASTER,
};

const char *hasync_role_name(enum hasync_role r);

struct hasync_elect_vc_cfg {
    uint32_t vcluster;
    uint32_t priority; /* this node's; 0 = master only when alone */
    bool override;     /* preempt a running master with a lower priority */
};

struct hasync_elect_cfg {
    uint32_t self;     /* our corosync node id, not 0 */
    bool wait_for_all; /* votequorum's: no master before a peer was seen */
    size_t n_vc;       /* 1..HASYNC_ELECT_MAX_VC, distinct vcluster ids */
    struct hasync_elect_vc_cfg vc[HASYNC_ELECT_MAX_VC];
};

/* A peer's latest RoleAnnounce for one vcluster (Envelope.vcluster). */
struct hasync_elect_announce {
    uint32_t node, vcluster;
    enum hasync_role role; /* MASTER, STANDBY or SYNCING; WAITING = unknown */
    uint32_t priority;
    bool override;
};

struct hasync_elect_input {
    const uint32_t *members; /* CPG membership node ids; self may be listed */
    size_t n_members;
    const struct hasync_elect_announce *ann; /* from peers; others ignored */
    size_t n_ann;
    bool quorate;        /* votequorum */
    const bool *syncing; /* [cfg.n_vc], as cfg.vc: our snapshot incomplete; NULL = none */
};

struct hasync_elect_change {
    uint32_t vcluster;
    enum hasync_role from, to;
    const char *reason; /* valid until the next run */
};

struct hasync_elect {
    struct hasync_elect_cfg cfg;
    bool seen_peer; /* some other node was a member since start */
    struct {
        enum hasync_role role;
        bool yielded; /* failover requested: priority 0 until the peer leaves */
        char reason[HASYNC_ELECT_REASON_LEN];
    } vc[HASYNC_ELECT_MAX_VC];
};

/* Starts WAITING everywhere. -1 on a bad config (self 0, n_vc out of
 * range, duplicate vcluster). */
int hasync_elect_init(struct hasync_elect *e, const struct hasync_elect_cfg *cfg);

/* Re-evaluates every vcluster. Fills out[] (room for HASYNC_ELECT_MAX_VC)
 * with the vclusters whose role changed; returns their count. */
size_t hasync_elect_run(struct hasync_elect *e, const struct hasync_elect_input *in,
                        struct hasync_elect_change *out);

/* Graceful failover of a vcluster we are master of: we announce priority 0
 * (run again and announce) until the best other node took over; the yield
 * lasts until the peers leave or hasync_elect_failover_clear(). 0, or -1
 * with *err set: unknown vcluster, not master, no eligible peer (present,
 * announced, not syncing, priority > 0). */
int hasync_elect_failover(struct hasync_elect *e, const struct hasync_elect_input *in,
                          uint32_t vcluster, const char **err);
void hasync_elect_failover_clear(struct hasync_elect *e, uint32_t vcluster);

/* What to put in our RoleAnnounce for a vcluster. -1 if unknown. */
int hasync_elect_announcement(const struct hasync_elect *e, uint32_t vcluster,
                              struct hasync_elect_announce *out);
/* HASYNC_ROLE_WAITING and "" for an unknown vcluster. */
enum hasync_role hasync_elect_role(const struct hasync_elect *e, uint32_t vcluster);
const char *hasync_elect_reason(const struct hasync_elect *e, uint32_t vcluster);

#endif
