/* Sequence numbers per sender and acks per sent message; see hasync_seq.h. */
#include "hasync_seq.h"

#include <stdlib.h>
#include <string.h>

bool hasync_member_eq(struct hasync_member a, struct hasync_member b)
{
    return a.node == b.node && a.pid == b.pid;
}

enum hasync_seq_verdict hasync_rxseq_check(struct hasync_rxseq *rx, struct hasync_member who,
                                           uint64_t seq, uint64_t *expected)
{
    size_t free_slot = HASYNC_MAX_PEERS;
    enum hasync_seq_verdict v;

    if (expected)
        *expected = 0;
    for (size_t i = 0; i < HASYNC_MAX_PEERS; i++) {
        if (!rx->s[i].used) {
            if (free_slot == HASYNC_MAX_PEERS)
                free_slot = i;
            continue;
        }
        if (!hasync_member_eq(rx->s[i].who, who))
            continue;
        if (expected)
            *expected = rx->s[i].last + 1;
        if (seq <= rx->s[i].last)
            return HASYNC_SEQ_STALE;
        v = seq == rx->s[i].last + 1 ? HASYNC_SEQ_NEXT : HASYNC_SEQ_GAP;
        rx->s[i].last = seq;
        return v;
    }
    if (free_slot == HASYNC_MAX_PEERS)
        return HASYNC_SEQ_FULL;
    rx->s[free_slot].used = true;
    rx->s[free_slot].who = who;
    rx->s[free_slot].last = seq;
    return HASYNC_SEQ_FIRST;
}

void hasync_rxseq_forget(struct hasync_rxseq *rx, struct hasync_member who)
{
    for (size_t i = 0; i < HASYNC_MAX_PEERS; i++)
        if (rx->s[i].used && hasync_member_eq(rx->s[i].who, who))
            rx->s[i].used = false;
}

void hasync_rxseq_clear(struct hasync_rxseq *rx)
{
    memset(rx, 0, sizeof(*rx));
}

void hasync_acks_init(struct hasync_acks *a)
{
    memset(a, 0, sizeof(*a));
}

void hasync_acks_free(struct hasync_acks *a)
{
    free(a->v);
    memset(a, 0, sizeof(*a));
}

size_t hasync_acks_count(const struct hasync_acks *a)
{
    return a->count;
}

static struct hasync_pending *at(struct hasync_acks *a, size_t i)
{
    return &a->v[(a->head + i) % a->cap];
}

static int grow(struct hasync_acks *a)
{
    size_t cap = a->cap ? a->cap * 2 : 64;
    struct hasync_pending *v = calloc(cap, sizeof(*v));

    if (!v)
        return -1;
    for (size_t i = 0; i < a->count; i++)
        v[i] = *at(a, i);
    free(a->v);
    a->v = v;
    a->cap = cap;
    a->head = 0;
    return 0;
}

int hasync_acks_add(struct hasync_acks *a, uint64_t seq, const struct hasync_member *peers,
                    size_t n, hasync_acked_fn cb, void *arg)
{
    struct hasync_pending *p;

    if (n == 0 || n > HASYNC_MAX_PEERS)
        return -1;
    if (a->count == a->cap && grow(a) != 0)
        return -1;
    p = &a->v[(a->head + a->count) % a->cap];
    p->seq = seq;
    p->cb = cb;
    p->arg = arg;
    p->n_wait = n;
    memcpy(p->wait, peers, n * sizeof(*peers));
    a->count++;
    return 0;
}

static void drop_waiter(struct hasync_pending *p, struct hasync_member who)
{
    for (size_t i = 0; i < p->n_wait; i++) {
        if (hasync_member_eq(p->wait[i], who)) {
            p->wait[i] = p->wait[--p->n_wait];
            return;
        }
    }
}

/* Pops finished entries from the head before calling back: a callback may
 * add (hasync_send) and so move the ring. */
static void fire_done(struct hasync_acks *a)
{
    while (a->count && at(a, 0)->n_wait == 0) {
        struct hasync_pending p = *at(a, 0);

        a->head = (a->head + 1) % a->cap;
        a->count--;
        if (p.cb)
            p.cb(p.arg, p.seq);
    }
}

void hasync_acks_on_ack(struct hasync_acks *a, struct hasync_member from, uint64_t seq)
{
    for (size_t i = 0; i < a->count && at(a, i)->seq <= seq; i++)
        drop_waiter(at(a, i), from);
    fire_done(a);
}

void hasync_acks_on_leave(struct hasync_acks *a, struct hasync_member who)
{
    for (size_t i = 0; i < a->count; i++)
        drop_waiter(at(a, i), who);
    fire_done(a);
}

void hasync_acks_release_all(struct hasync_acks *a)
{
    for (size_t i = 0; i < a->count; i++)
        at(a, i)->n_wait = 0;
    fire_done(a);
}
