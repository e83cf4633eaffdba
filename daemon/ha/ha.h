/*
 * haiked's cluster side (DESIGN.md §3, §4): hasync/ wired into the daemon.
 * Present only when the config has an "ha" section (d->ha != NULL); a
 * single node never touches any of this.
 *
 * Files (one purpose each):
 *   ha_node.c      lifecycle: ring-crypto check, the CPG channel on the
 *                  daemon's event_base, delivery dispatch by body type
 *   ha_stream.c    master: libike events and data-plane counter events ->
 *                  sync messages, in order; the write-ahead gate on IKE sends
 *   ha_apply.c     standby: sync messages -> passive SAs (libike import,
 *                  mirror updates, data-plane install, ESP seq/replay)
 *   ha_bulk.c      bulk sync: request on join, snapshot per vcluster, done
 *   ha_role.c      election per virtual cluster (membership, announcements,
 *                  quorum) and THE invariant ha_gateway_active()
 *   ha_takeover.c  standby -> master (VIPs + gratuitous ARP, ESP seq jump,
 *                  RFC 6311 sync, activate) and master -> standby (release)
 *   ha_drain.c     graceful handover: our outstanding exchanges finish first
 *   ha_quorum.c    votequorum on the event loop (quorate, two_node, wait_for_all)
 *   ha_shutdown.c  a clean stop hands the tunnels to the peer (no Deletes)
 *   ha_vip.c       VIP add/remove and gratuitous ARP through libnl-route-3
 *   ha_name.c      this node's name from corosync's nodelist (cmap)
 *   ha_stats.c     counters and the view for hactl status / ha stats
 */
#ifndef HAIKED_HA_H
#define HAIKED_HA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/ctx.h>
#include <ike/events.h>

#include "hasync_cpg.h"
#include "hasync_elect.h"

struct daemon;
struct gateway;
struct gw_sa;
struct dp_child;
struct cfg_vcluster;

/* Sync health of this node for one virtual cluster. */
enum ha_sync_state {
    HA_SYNC_ALONE = 0,   /* no peer in the group: nothing to sync with */
    HA_SYNC_IN_SYNC,     /* standby: snapshot complete, live stream in order */
    HA_SYNC_SYNCING,     /* standby: bulk sync requested, snapshot incomplete */
    HA_SYNC_BEHIND,      /* a gap in the peer's stream: a bulk sync is due */
};

/* One virtual cluster at run time. */
struct ha_vc {
    const struct cfg_vcluster *cfg;
    uint32_t id;
    enum hasync_role role;      /* from hasync_elect */
    bool active;                /* its SAs are active here (takeover step 5 done) */
    enum ha_sync_state sync;
    uint64_t behind;            /* sync messages missed (gap size) */
    uint64_t snapshot_sas;      /* SAs received in the running bulk sync */
    /* Last role change, for hactl status. */
    uint64_t last_change_ms;    /* wall clock, ms since the epoch; 0 = never */
    uint32_t last_takeover_ms;  /* how long the last takeover took */
    char last_reason[96];
    /* Graceful handover (ha_drain.c): no new exchange starts while the
     * outstanding ones finish; the last drain's length and what it left. */
    bool draining;
    bool drained_once;          /* last_drain_* are valid */
    uint32_t last_drain_ms;
    uint32_t last_drain_left;   /* exchanges abandoned at the timeout */
    void *drain;                /* ha_drain.c private state */
};

#define HA_STATS_BODIES 32
struct ha_stats {
    /* By Hasync__Envelope__BodyCase (10..21 today: room for new bodies). */
    uint64_t sent[HA_STATS_BODIES], received[HA_STATS_BODIES], dropped[HA_STATS_BODIES];
    uint64_t bulk_syncs_requested, bulk_syncs_served;
    uint64_t held_datagrams;        /* IKE datagrams held for an ack (write-ahead) */
    uint64_t held_max_us;           /* longest hold */
    uint64_t takeovers, releases;
    uint64_t import_errors;         /* sync messages libike refused */
    /* Master: hasync_send refused a sync message (queue full): the standby
     * missed it. Each such vcluster gets a resync snapshot once the queue
     * has drained (ha_bulk.c); resyncs_sent counts the complete ones. */
    uint64_t sync_refused, resyncs_sent;
};

/* Another node of the group, as ha_role.c sees it (hactl status). */
#define HA_MAX_PEERS 16
struct ha_peer {
    uint32_t node;              /* corosync node id */
    char name[64];              /* from its RoleAnnounce (or cmap); "" unknown */
    bool member;                /* in the CPG group now */
    uint64_t since_ms;          /* wall clock of the last join / leave */
    uint64_t started_ms;        /* its haiked start (wall clock), 0 unknown */
    struct hasync_elect_announce ann[HASYNC_ELECT_MAX_VC]; /* latest per vcluster */
    size_t n_ann;
};

struct ha {
    struct daemon *d;
    struct ha_peer peers[HA_MAX_PEERS]; /* maintained by ha_role.c */
    size_t n_peers;
    struct hasync_cpg *cpg;
    struct hasync_elect elect;
    struct ha_vc *vcs;              /* one per cfg->ha.vclusters, same order */
    size_t n_vcs;
    struct ha_stats stats;
    bool quorate;                   /* votequorum */
    bool ever_saw_peer;             /* a peer was a member since start (ha_role.c) */
    /* This node's name, the one it announces and hactl shows: corosync's
     * nodelist name (else ring0_addr, else the hostname; ha_role.c). */
    char self_name[64];
    struct event *seq_timer;        /* ESP counter sync every seq_sync_ms */
    void *stream;                   /* ha_stream.c private state */
    void *role;                     /* ha_role.c private state */
};

/* ---- ha_node.c ---------------------------------------------------------- */
/* After daemon_start(): checks ring crypto (refuses a plaintext ring unless
 * allow_plaintext_sync), joins the group, subscribes to the daemon's event
 * observer. Sets d->ha. -1 with err. */
int ha_start(struct daemon *d, char *err, size_t errlen);
void ha_stop(struct daemon *d);

/* ---- ha_role.c ---------------------------------------------------------- */
/* THE invariant (DESIGN.md §3, issue 6): whether an SA of gw is active on
 * this node depends only on the role of the virtual cluster that owns gw's
 * VDOM. True without HA. Every "may I send / rekey / initiate / answer"
 * decision in the daemon calls this and nothing else. */
bool ha_gateway_active(const struct daemon *d, const struct gateway *gw);
/* Active and not draining for a handover (ha_drain.c): whether gw may start
 * something new (initiate, accept an IKE_SA_INIT). True without HA. */
bool ha_gateway_may_start(const struct daemon *d, const struct gateway *gw);
/* Called by ha_node.c: */
int ha_role_init(struct ha *ha, char *err, size_t errlen);  /* in ha_start */
void ha_role_free(struct ha *ha);
void ha_role_membership(struct ha *ha, const struct hasync_member *members, size_t n,
                        const struct hasync_member *left, size_t n_left);
void ha_role_connection(struct ha *ha, bool up);
void ha_role_announce_rx(struct ha *ha, const Hasync__Envelope *env); /* a RoleAnnounce */
/* Called by ha_apply.c / ha_bulk.c when a vcluster's sync state changes
 * (a syncing node is not promoted while its peer lives): re-run election. */
void ha_role_sync_changed(struct ha *ha, struct ha_vc *vc);
/* daemon_shutdown(): true when gw's SAs are to be freed here without a
 * Delete to the IKE peer because another node continues them: the
 * vcluster is mastered here and a peer is in sync (then it is released
 * now: VIPs removed, SAs passive; the peer takes over as we leave the
 * group), or it is mastered elsewhere (our copies are passive). False
 * without HA or with nobody to take over: delete as a single node does. */
bool ha_shutdown_keep(struct daemon *d, const struct gateway *gw);
/* The virtual cluster that owns VDOM index vdom; NULL without HA. */
struct ha_vc *ha_vc_of_vdom(const struct daemon *d, unsigned vdom);
struct ha_vc *ha_vc_find(struct ha *ha, uint32_t id);
/* hactl failover [--vcluster N]: sync barrier, then hand over. 0 = started. */
int ha_failover(struct ha *ha, uint32_t vcluster, char *err, size_t errlen);

/* ---- ha_stream.c -------------------------------------------------------- */
/* ike_glue.c's send path: true when the datagram was held because a sync
 * message describing it is not yet acknowledged; it is sent (by ha_stream)
 * when the ack arrives. False: send it now. */
bool ha_hold_datagram(struct daemon *d, struct gw_sa *gs, const struct ike_addr *local,
                      const struct ike_addr *remote, const uint8_t *data, size_t len);
/* The data plane's counter event (every seq_sync_packets / seq_sync_ms). */
void ha_child_counters(struct daemon *d, struct dp_child *c);

/* ---- ha_bulk.c ---------------------------------------------------------- */
/* Standby of vc (ha_role.c calls this when a peer master appears or after a
 * gap): ask for a snapshot; vc->sync = SYNCING until SnapshotDone. */
void ha_bulk_request(struct ha *ha, struct ha_vc *vc);

/* ---- ha_takeover.c ------------------------------------------------------ */
/* Called by ha_role.c on a role change. ha_release() makes every SA of the
 * vcluster passive again (libike: ike_sa_deactivate), removes the VIPs. */
void ha_takeover(struct ha *ha, struct ha_vc *vc, const char *why);
void ha_release(struct ha *ha, struct ha_vc *vc, const char *why);

/* ---- ha_drain.c --------------------------------------------------------- */
/* Graceful handover of vc (ha_role.c): every SA of it stops starting
 * exchanges (ike_sa_drain); once each outstanding request is answered and
 * its sync messages are acknowledged, or after drain-timeout-ms, done(ha,
 * vc) runs from the loop (it releases and announces). False when nothing
 * was outstanding: the caller releases now, done is not called. */
typedef void (*ha_drain_done_fn)(struct ha *ha, struct ha_vc *vc);
bool ha_drain_start(struct ha *ha, struct ha_vc *vc, ha_drain_done_fn done);
/* The handover is off (resume: we stay master, the SAs' timers re-arm and
 * held tasks start; else the caller releases at once). */
void ha_drain_stop(struct ha *ha, struct ha_vc *vc, bool resume, const char *why);
void ha_drain_free(struct ha *ha);
/* Requests of ours in flight on vc's SAs now (hactl failover; NULL: 0). */
size_t ha_drain_outstanding(struct ha *ha, struct ha_vc *vc);

#endif
