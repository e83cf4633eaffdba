/*
 * Private to the SA mirror (ha_node.c, ha_stream.c, ha_apply.c, ha_bulk.c):
 * the state behind ha->stream and the calls between those files. ha_role.c,
 * ha_takeover.c and the control socket see only ha.h.
 */
#ifndef HAIKED_HA_INTERNAL_H
#define HAIKED_HA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <ike/ctx.h>

#include "ha.h"

struct vdom_rt;
struct ike_sa;

/* An IKE datagram waiting for the ack of the sync message describing it. */
struct ha_held {
    TAILQ_ENTRY(ha_held) link;
    uint64_t wait_seq; /* sent once this sync message is acknowledged */
    uint64_t since_us; /* CLOCK_MONOTONIC */
    struct vdom_rt *v; /* lives as long as the daemon */
    bool resync;       /* its sync message was refused: waits for a snapshot */
    uint32_t vc;       /* of resync */
    struct ike_addr local, remote;
    size_t len;
    uint8_t data[];
};

/* The latest unacknowledged sync message of one IKE SA (write-ahead). */
struct ha_pend {
    struct ha_pend *hnext;     /* hash chain */
    TAILQ_ENTRY(ha_pend) fifo; /* by seq: acks retire from the head */
    const struct ike_sa *sa;   /* key only, never dereferenced */
    uint64_t seq;              /* HA_SEQ_RESYNC: no snapshot served yet */
    bool resync;               /* a sync message of sa was refused: the
                                  standby learns it from the next snapshot */
    uint32_t vc;               /* the vcluster of that snapshot */
};

#define HA_SEQ_RESYNC UINT64_MAX

#define HA_PEND_BUCKETS  1024
#define HA_REPLACED_RING 64 /* IKE SAs recently replaced by a rekey */
#define HA_RX_SENDERS    8

struct ha_spi_pair {
    uint8_t spi_i[IKE_SPI_LEN], spi_r[IKE_SPI_LEN];
};

/* A bulk sync we receive (standby side of one vcluster). */
struct ha_snap_rx {
    uint32_t vcluster;
    bool open; /* requested, SnapshotDone not yet seen */
    bool have_id;
    uint32_t id;             /* of the first chunk */
    uint32_t n_ike, n_child; /* received so far */
    unsigned retries;        /* incomplete snapshots in a row */
    uint64_t requested_ms;   /* CLOCK_MONOTONIC of the open request */
    /* split-brain heal: a peer's offer being merged (newest wins) */
    bool offered; /* we offered ours since the last membership change */
    bool merging;
    uint32_t merge_id, merge_from;
    uint32_t merge_new, merge_kept;
    /* imported by the merge: activated at its end. By SPIs, not pointers:
     * a later entry of the offer (or the stream) may replace or delete one
     * before the end. */
    struct ha_spi_pair *fresh;
    size_t n_fresh, cap_fresh;
    const struct ike_sa **seen; /* imported since the request: survive the done */
    bool seen_lost;             /* out of memory recording one: drop nothing */
    size_t n_seen, cap_seen;
    /* master side: a sync message of this vcluster was refused (queue
     * full); the peer gets an unasked snapshot once the queue drains */
    bool resync_due;
};

struct ha_mirror {
    /* write-ahead */
    struct ha_pend *pend_hash[HA_PEND_BUCKETS];
    TAILQ_HEAD(, ha_pend) pend_fifo;   /* seq != HA_SEQ_RESYNC, by seq */
    TAILQ_HEAD(, ha_pend) pend_resync; /* seq == HA_SEQ_RESYNC */
    uint64_t acked_upto;               /* every gated message up to here is acknowledged */
    TAILQ_HEAD(, ha_held) held;
    size_t n_held;
    uint64_t send_failures; /* hasync_send refused: the standby misses state */
    /* receive side: gap detection per sender node (hasync drops stale ones) */
    struct {
        uint32_t node;
        uint64_t last;
    } rx[HA_RX_SENDERS];
    uint64_t gaps;
    /* IKE rekeys applied here: later messages for the old SA are expected */
    struct {
        uint8_t spi_i[IKE_SPI_LEN], spi_r[IKE_SPI_LEN];
    } replaced[HA_REPLACED_RING];
    size_t replaced_next;
    /* bulk sync */
    struct ha_snap_rx *snap;    /* one per vcluster, same order as ha->vcs */
    uint32_t next_snapshot_id;  /* served */
    struct event *resync_timer; /* polls the queue while a resync is due */
    uint64_t applied;           /* sync messages applied (all kinds) */
};

static inline struct ha_mirror *ha_mirror(const struct ha *ha)
{
    return ha->stream;
}

/* ha_stream.c */
int ha_stream_init(struct ha *ha);
void ha_stream_free(struct ha *ha);
/* daemon_set_observer() callback (arg: the struct ha). */
void ha_stream_event(void *arg, const struct ike_event *ev);
/* hasync_send with the vcluster set, counted and logged on failure; gated:
 * datagrams of sa wait for its ack (sa NULL: not gated). */
int ha_stream_send(struct ha *ha, uint32_t vcluster, Hasync__Envelope *env,
                   const struct ike_sa *gate_sa, const struct ike_sa *gate_sa2);
/* The latest sync message of sa awaits the standby's ack (or a snapshot). */
bool ha_stream_unacked(struct ha *ha, const struct ike_sa *sa);
/* Sends every held datagram now (HA stopping). */
void ha_stream_release_all(struct ha *ha);
/* No snapshot will follow for vcluster: send (no peer to be ahead of) or
 * drop (no longer master: the new one answers the peer's retransmission)
 * what a refused message held. */
void ha_stream_resync_cancel(struct ha *ha, uint32_t vcluster, bool send);
/* ha_stream_send for the SnapshotDone ending a snapshot of vcluster (every
 * SA of it): gated, and the datagrams held since a refused sync message of
 * the vcluster now wait for its ack. */
int ha_stream_send_done(struct ha *ha, uint32_t vcluster, Hasync__Envelope *env);

/* ha_apply.c: a live sync body from the master (IKE/CHILD/msgid/esp). */
void ha_apply(struct ha *ha, const Hasync__Envelope *env);
/* The same for one IKE SA / CHILD SA / ESP counter of a snapshot chunk:
 * 0 applied, -1 refused (logged, counted), 1 ignored (a CHILD SA of an IKE
 * SA we do not have while the snapshot is not complete). */
int ha_apply_ike_add(struct ha *ha, struct ha_vc *vc, const Hasync__IkeSaAdd *m, const char *how);
int ha_apply_child_add(struct ha *ha, struct ha_vc *vc, const Hasync__ChildSaAdd *m,
                       const char *how);
int ha_apply_esp(struct ha *ha, struct ha_vc *vc, const Hasync__EspSeqUpdate *m);
/* Split-brain heal (ha_bulk.c): one IKE SA of a peer's offer, newest wins
 * by message IDs. 0: imported (passive, *out; ours replaced if there was
 * one), 1: ours kept, -1: refused (logged, counted). Works on an active
 * vcluster: ha_bulk.c activates what it imported once the offer is in. */
int ha_merge_ike(struct ha *ha, struct ha_vc *vc, const Hasync__IkeSaAdd *m, struct ike_sa **out);
/* A CHILD SA of an IKE SA ha_merge_ike() imported. */
int ha_merge_child(struct ha *ha, struct ha_vc *vc, const Hasync__ChildSaAdd *m);
/* The passive gw_sa with these SPIs in vc's VDOMs; NULL if none. */
struct gw_sa *ha_find_sa(struct ha *ha, const uint8_t spi_i[IKE_SPI_LEN],
                         const uint8_t spi_r[IKE_SPI_LEN]);
/* Whether gw's VDOM belongs to vc. */
bool ha_gw_in_vc(struct ha *ha, const struct gateway *gw, const struct ha_vc *vc);

/* ha_bulk.c */
int ha_bulk_init(struct ha *ha);
void ha_bulk_free(struct ha *ha);
/* BulkRequest / SnapshotChunk / SnapshotDone. */
void ha_bulk_rx(struct ha *ha, const Hasync__Envelope *env);
/* Two masters of vc (a RoleAnnounce MASTER from another node while we are
 * active: the split healed): offer our SAs of vc, as snapshot chunks, once
 * per membership change. The receiver merges them (newest wins). */
void ha_bulk_offer(struct ha *ha, struct ha_vc *vc, uint32_t to_node);
/* The election made us release vc to another master. After a healed split
 * (we offered ours since the last membership change) our copies may hold
 * what the master deleted meanwhile: ask for its snapshot. */
void ha_bulk_released(struct ha *ha, struct ha_vc *vc);
/* A membership change: offers may be due again; a merge from a node that
 * left is finished with what arrived. */
void ha_bulk_membership(struct ha *ha, const struct hasync_member *left, size_t n_left);
/* An IKE SA imported while a snapshot of vc is being received. */
void ha_bulk_note_import(struct ha *ha, struct ha_vc *vc, const struct ike_sa *sa);
/* hasync_send refused a sync message of vcluster (ha_stream_send): the
 * standby missed it and CPG's sequence shows no gap (a refused message has
 * no number). On a vcluster we master, the peer gets an unasked snapshot
 * (the merge path: it then asks for an exact one) once the queue drains. */
void ha_bulk_resync_due(struct ha *ha, uint32_t vcluster);

/* ha_node.c */
/* Index into ha_stats arrays, or -1 when out of range. */
int ha_body_index(Hasync__Envelope__BodyCase body);
/* Log on HLOG_SYNC. */
void ha_log(struct ha *ha, int level, const struct gw_sa *gs, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Counts and logs a refused sync body. */
void ha_drop(struct ha *ha, const Hasync__Envelope *env, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "0123456789abcdef/..." of an SPI pair (buf >= 34). */
const char *ha_spis(const uint8_t *spi_i, const uint8_t *spi_r, char *buf);
uint64_t ha_now_us(void);
/* The delivery dispatch (hasync_cpg_ops.deliver); also what tests inject into. */
void ha_node_deliver(void *arg, const Hasync__Envelope *env);
/* ha_takeover.c: gs's CHILD SAs in the data plane follow its IKE SA's role
 * (passive: nothing leaves on them); after every activate / deactivate. */
void ha_dp_follow_role(struct ha *ha, struct gw_sa *gs);

#endif
