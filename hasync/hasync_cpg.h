/*
 * The sync channel: one corosync CPG group on the daemon's libevent loop.
 *
 * - The CPG fd is an event on the caller's event_base; readable ->
 *   cpg_dispatch(CS_DISPATCH_ALL). Nothing here blocks or sleeps.
 * - Sends are queued and multicast in agreed order; CS_ERR_TRY_AGAIN leaves
 *   the queue as it is and retries from a timer.
 * - CS_ERR_LIBRARY (our corosync died or restarted): finalize, then
 *   re-initialise and re-join from a timer with exponential backoff. While
 *   disconnected there is no peer: nothing waits for acks, and what is
 *   sent (or still queued) then is not delivered to anyone; the peer that
 *   sees us come back must resync us (bulk sync), as after any split.
 * - Every received message is unpacked and validated (hasync_codec.h) and
 *   checked for order per sender; a refused one is logged and counted.
 * - Write-ahead: hasync_send()'s callback fires once every other member of
 *   the group at send time has acknowledged the message (or left), or at
 *   once when there is no other member. Receivers acknowledge after the
 *   deliver callback returned, once per dispatch batch (acks are
 *   cumulative).
 */
#ifndef HASYNC_CPG_H
#define HASYNC_CPG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hasync_codec.h"
#include "hasync_seq.h"

struct event_base;
struct hasync_cpg;

struct hasync_cpg_stats {
    uint64_t sent, received;           /* sequenced messages */
    uint64_t acks_sent, acks_received; /* Ack bodies */
    uint64_t drops[HASYNC_DROP__COUNT];
    uint64_t gaps;        /* accepted after a gap in a sender's sequence */
    uint64_t mcasts;      /* CPG messages multicast (a batch frame counts once) */
    uint64_t try_again;   /* CS_ERR_TRY_AGAIN from cpg_mcast_joined */
    uint64_t send_errors; /* other send failures (message dropped) */
    uint64_t disconnects; /* CS_ERR_LIBRARY seen */
    uint64_t joins;       /* successful (re)joins */
    uint64_t unconnected; /* sent while not in the group: nobody to receive them */
    size_t queue_len, queue_peak;
};

struct hasync_cpg_ops {
    /* A validated, in-order sequenced message from another member (never an
     * Ack, never our own). env is only valid during the call. */
    void (*deliver)(void *arg, const Hasync__Envelope *env);
    /* Membership after a change (members includes us); left/joined as CPG
     * reports them. After a disconnect: n = 0, left = everyone we knew. */
    void (*membership)(void *arg, const struct hasync_member *members, size_t n,
                       const struct hasync_member *left, size_t n_left,
                       const struct hasync_member *joined, size_t n_joined);
    /* Joined the group (up) or lost corosync (down). */
    void (*connection)(void *arg, bool up);
    /* One line, no newline; level as IKE_LOG_* (<ike/ctx.h>). Optional. */
    void (*log)(void *arg, int level, const char *line);
};

struct hasync_cpg_cfg {
    const char *group;                       /* CPG group name (< 128 octets) */
    uint32_t vcluster;                       /* Envelope.vcluster of what we send */
    size_t queue_max;                        /* hasync_send refuses beyond this many queued or
                                              * unacknowledged messages; 0 = 65536 */
    unsigned backoff_min_ms, backoff_max_ms; /* reconnect; 0 = 100 / 5000 */
    const struct hasync_cpg_ops *ops;
    void *arg;
};

/* NULL on a bad config or allocation failure. Connects from the event loop
 * (first callback after this returns) and, when corosync is not there, keeps
 * retrying with backoff. */
struct hasync_cpg *hasync_cpg_new(struct event_base *base, const struct hasync_cpg_cfg *cfg);
/* Not from inside one of its own callbacks. */
void hasync_cpg_free(struct hasync_cpg *hc);

/* Sends env's body (set by the caller; version, sender and seq are filled
 * in here, and vcluster too unless the caller set it: has_vcluster true
 * keeps env->vcluster, else cfg->vcluster). on_acked (may be NULL) is
 * called with the message's sequence number as described above, possibly
 * before hasync_send returns.
 * 0, or -1 (queue full, body invalid, or too big): then on_acked is never
 * called. */
int hasync_send(struct hasync_cpg *hc, Hasync__Envelope *env, hasync_acked_fn on_acked, void *arg,
                uint64_t *seq_out);

bool hasync_cpg_connected(const struct hasync_cpg *hc);
uint32_t hasync_cpg_local_node(const struct hasync_cpg *hc);
/* Other members of the group right now. */
size_t hasync_cpg_peer_count(const struct hasync_cpg *hc);
size_t hasync_cpg_pending_acks(const struct hasync_cpg *hc);
const struct hasync_cpg_stats *hasync_cpg_get_stats(const struct hasync_cpg *hc);

#endif
