/*
 * Per-sender bookkeeping of the sync stream: which sequence number each
 * sender (a CPG member: node id + pid) is at, and which of our own sent
 * messages still wait for acknowledgements (the write-ahead of DESIGN.md §3).
 */
#ifndef HASYNC_SEQ_H
#define HASYNC_SEQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CPG members tracked at once (a cluster is two nodes; room for a rolling
 * restart's extra process). */
#define HASYNC_MAX_PEERS 8

struct hasync_member {
    uint32_t node; /* corosync node id */
    uint32_t pid;
};

bool hasync_member_eq(struct hasync_member a, struct hasync_member b);

/* ---- receive side: order per sender ---- */

enum hasync_seq_verdict {
    HASYNC_SEQ_FIRST, /* first message seen from this sender: accepted, sets the base */
    HASYNC_SEQ_NEXT,  /* last + 1: accepted */
    HASYNC_SEQ_GAP,   /* beyond last + 1: accepted, but messages were lost (resync) */
    HASYNC_SEQ_STALE, /* not after last (duplicate or reordered): drop */
    HASYNC_SEQ_FULL,  /* no room for another sender: drop */
};

struct hasync_rxseq {
    struct {
        struct hasync_member who;
        uint64_t last;
        bool used;
    } s[HASYNC_MAX_PEERS];
};

/* Checks seq from who and, when accepted, makes it the last one. *expected
 * (may be NULL) gets the sequence number that was expected (0 if none). */
enum hasync_seq_verdict hasync_rxseq_check(struct hasync_rxseq *rx, struct hasync_member who,
                                           uint64_t seq, uint64_t *expected);
/* The sender left the group: its next message starts afresh. */
void hasync_rxseq_forget(struct hasync_rxseq *rx, struct hasync_member who);
void hasync_rxseq_clear(struct hasync_rxseq *rx);

/* ---- send side: messages waiting for acks ---- */

typedef void (*hasync_acked_fn)(void *arg, uint64_t seq);

struct hasync_pending {
    uint64_t seq;
    hasync_acked_fn cb;
    void *arg;
    size_t n_wait;
    struct hasync_member wait[HASYNC_MAX_PEERS];
};

/* A ring of hasync_pending in increasing seq; callbacks fire in that order. */
struct hasync_acks {
    struct hasync_pending *v;
    size_t head, count, cap;
};

void hasync_acks_init(struct hasync_acks *a);
void hasync_acks_free(struct hasync_acks *a);
/* seq must be above every seq added before; n in 1..HASYNC_MAX_PEERS.
 * -1 on allocation failure. */
int hasync_acks_add(struct hasync_acks *a, uint64_t seq, const struct hasync_member *peers,
                    size_t n, hasync_acked_fn cb, void *arg);
/* from acknowledged every message up to seq (acks are cumulative). Fires
 * the callbacks that no longer wait for anyone. */
void hasync_acks_on_ack(struct hasync_acks *a, struct hasync_member from, uint64_t seq);
/* who left: nothing waits for it any more. */
void hasync_acks_on_leave(struct hasync_acks *a, struct hasync_member who);
/* No peer at all any more (our corosync is gone): fires everything. */
void hasync_acks_release_all(struct hasync_acks *a);
size_t hasync_acks_count(const struct hasync_acks *a);

#endif
