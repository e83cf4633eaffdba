/* CPG group membership, queued sending and validated delivery on a libevent
 * loop; see hasync_cpg.h for the contract. */
#include "hasync_cpg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <corosync/cpg.h>
#include <event2/event.h>
#include <ike/ctx.h>

#define RETRY_SEND_MS     2
#define QUEUE_MAX_DEFAULT 65536

/* Batching: what is queued when the queue is flushed goes out as one CPG
 * message (one IPC round trip to corosync, one totem message) instead of one
 * each. cpg_mcast_joined() waits for corosync's reply, so per-message calls
 * made the master block once per sync message, with acks unread meanwhile.
 * Frame: BATCH_MAGIC, then per envelope a 4-octet big-endian length and the
 * packed envelope. The magic's first octet is 0, never the first octet of a
 * packed Envelope (protobuf field number 0 does not exist), so a single
 * envelope is still sent bare and both forms are told apart.
 * The frame is copied into one buffer (one iovec): libcpg copies the
 * caller's iovecs into a 64-entry array, which capped a batch at 62
 * envelopes (31 IKE SAs) when each had its own. Bounded by size only, one
 * totem message at most (knet carries 64 KiB). */
static const uint8_t BATCH_MAGIC[4] = {0x00, 'H', 'S', 'B'};
#define BATCH_MAX_BYTES (64u * 1024u)

struct txmsg {
    struct txmsg *next;
    size_t len;
    uint8_t lenhdr[4]; /* big-endian len: the frame header when batched */
    uint8_t data[];
};

struct owed_ack {
    struct hasync_member to;
    uint64_t seq;
    bool dirty;
};

struct hasync_cpg {
    struct event_base *base;
    struct hasync_cpg_cfg cfg;
    struct cpg_name group;
    cpg_handle_t handle;
    bool connected;
    bool in_dispatch; /* inside cpg_dispatch: callbacks may send, flush waits */
    struct hasync_member self;
    struct event *ev_fd, *ev_retry, *ev_reconnect;
    struct event *ev_flush; /* flushes the queue once the current callback returns */
    unsigned backoff_ms;
    struct hasync_member members[HASYNC_MAX_PEERS];
    size_t n_members;
    uint64_t next_seq;
    struct txmsg *q_head, *q_tail;
    uint8_t *batch; /* BATCH_MAX_BYTES: the frame being sent (wiped after) */
    struct hasync_rxseq rx;
    struct hasync_acks acks;
    struct owed_ack owed[HASYNC_MAX_PEERS];
    struct hasync_cpg_stats st;
};

static void hlog(struct hasync_cpg *hc, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void hlog(struct hasync_cpg *hc, int level, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    if (!hc->cfg.ops->log)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    hc->cfg.ops->log(hc->cfg.arg, level, line);
}

static void schedule(struct event *ev, unsigned ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(ev, &tv);
}

/* The channel's fd and its flush run at the loop's highest priority when
 * the caller gave the base more than one (haiked does: main.c): an ack then
 * releases the IKE datagrams it holds before the next batch of new IKE work
 * is read, and what one callback queued goes to corosync right after it.
 * (Flushing only once the loop is otherwise idle, for bigger batches, was
 * measured too: no fewer CPG messages per IKE SA in tests/bench/ha.sh, whose
 * IKE_AUTHs arrive a few per millisecond, so it is not done.) */
static void prio_high(struct hasync_cpg *hc, struct event *ev)
{
    if (event_base_get_npriorities(hc->base) > 1)
        event_priority_set(ev, 0);
}

/* ---- queue ---- */

/* Packs env straight into a new queue entry (no intermediate buffer). */
static int enqueue_envelope(struct hasync_cpg *hc, const Hasync__Envelope *env)
{
    size_t len = hasync__envelope__get_packed_size(env);
    struct txmsg *m;

    if (len == 0 || len > HASYNC_MSG_MAX)
        return -1;
    m = malloc(sizeof(*m) + len);
    if (!m)
        return -1;
    m->next = NULL;
    m->len = hasync__envelope__pack(env, m->data);
    m->lenhdr[0] = (uint8_t)(m->len >> 24);
    m->lenhdr[1] = (uint8_t)(m->len >> 16);
    m->lenhdr[2] = (uint8_t)(m->len >> 8);
    m->lenhdr[3] = (uint8_t)m->len;
    if (hc->q_tail)
        hc->q_tail->next = m;
    else
        hc->q_head = m;
    hc->q_tail = m;
    if (++hc->st.queue_len > hc->st.queue_peak)
        hc->st.queue_peak = hc->st.queue_len;
    return 0;
}

static void dequeue(struct hasync_cpg *hc)
{
    struct txmsg *m = hc->q_head;

    hc->q_head = m->next;
    if (!hc->q_head)
        hc->q_tail = NULL;
    hc->st.queue_len--;
    explicit_bzero(m->data, m->len);
    free(m);
}

static void connection_lost(struct hasync_cpg *hc, const char *where, cs_error_t rc);

/* The queued messages from the head that fit BATCH_MAX_BYTES as one frame
 * (the first always goes; alone it is sent bare), in *iov. Returns the
 * count. */
static size_t gather(struct hasync_cpg *hc, struct iovec *iov)
{
    size_t n = 0, bytes = sizeof(BATCH_MAGIC);
    struct txmsg *m = hc->q_head;

    for (; m; m = m->next, n++) {
        if (n && bytes + sizeof(m->lenhdr) + m->len > BATCH_MAX_BYTES)
            break;
        bytes += sizeof(m->lenhdr) + m->len;
    }
    if (n == 1) {
        *iov = (struct iovec){.iov_base = hc->q_head->data, .iov_len = hc->q_head->len};
        return 1;
    }
    uint8_t *p = hc->batch;
    memcpy(p, BATCH_MAGIC, sizeof(BATCH_MAGIC));
    p += sizeof(BATCH_MAGIC);
    m = hc->q_head;
    for (size_t i = 0; i < n; i++, m = m->next) {
        memcpy(p, m->lenhdr, sizeof(m->lenhdr));
        memcpy(p + sizeof(m->lenhdr), m->data, m->len);
        p += sizeof(m->lenhdr) + m->len;
    }
    *iov = (struct iovec){.iov_base = hc->batch, .iov_len = (size_t)(p - hc->batch)};
    return n;
}

static void flush(struct hasync_cpg *hc)
{
    /* Never multicast (or finalize on an error) from inside cpg_dispatch:
     * on_readable flushes once it has returned. */
    if (hc->in_dispatch)
        return;
    while (hc->connected && hc->q_head) {
        struct iovec iov;
        size_t n = gather(hc, &iov);
        cs_error_t rc = cpg_mcast_joined(hc->handle, CPG_TYPE_AGREED, &iov, 1);

        if (iov.iov_base == hc->batch)
            explicit_bzero(hc->batch, iov.iov_len); /* SA keys */
        if (rc == CS_OK) {
            hc->st.mcasts++;
            while (n--)
                dequeue(hc);
        } else if (rc == CS_ERR_TRY_AGAIN) {
            hc->st.try_again++;
            if (!evtimer_pending(hc->ev_retry, NULL))
                schedule(hc->ev_retry, RETRY_SEND_MS);
            return;
        } else if (rc == CS_ERR_LIBRARY || rc == CS_ERR_BAD_HANDLE) {
            connection_lost(hc, "cpg_mcast_joined", rc);
            return;
        } else {
            hc->st.send_errors += n;
            hlog(hc, IKE_LOG_WARN, "HA cpg_mcast_joined: error %d, %zu message(s) dropped", rc, n);
            while (n--)
                dequeue(hc);
        }
    }
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush(arg);
}

/* What hasync_send queues goes out once the caller's callback (an IKE
 * datagram batch, a timer) returns: everything queued meanwhile is one CPG
 * message. Held datagrams wait for the ack anyway; this only removes the
 * per-message round trips to corosync. */
static void request_flush(struct hasync_cpg *hc)
{
    if (hc->connected && hc->q_head && !hc->in_dispatch)
        event_active(hc->ev_flush, EV_TIMEOUT, 0);
}

/* ---- envelopes we make ---- */

static int send_envelope(struct hasync_cpg *hc, Hasync__Envelope *env)
{
    env->has_version = env->has_sender = env->has_seq = true;
    env->version = HASYNC_PROTO_VERSION;
    env->sender = hc->self.node;
    /* One group carries every virtual cluster (issue 6): a message the
     * caller tagged keeps its vcluster; acks and untagged ones get ours. */
    if (!env->has_vcluster) {
        env->has_vcluster = true;
        env->vcluster = hc->cfg.vcluster;
    }
    return enqueue_envelope(hc, env);
}

static void send_owed_acks(struct hasync_cpg *hc)
{
    for (size_t i = 0; i < HASYNC_MAX_PEERS; i++) {
        struct owed_ack *o = &hc->owed[i];
        Hasync__Envelope env = HASYNC__ENVELOPE__INIT;
        Hasync__Ack ack = HASYNC__ACK__INIT;

        if (!o->dirty)
            continue;
        ack.has_to_node = ack.has_to_pid = ack.has_seq = true;
        ack.to_node = o->to.node;
        ack.to_pid = o->to.pid;
        ack.seq = o->seq;
        env.body_case = HASYNC__ENVELOPE__BODY_ACK;
        env.ack = &ack;
        env.seq = 0;
        if (send_envelope(hc, &env) == 0) {
            o->dirty = false;
            hc->st.acks_sent++;
        }
    }
}

static void owe_ack(struct hasync_cpg *hc, struct hasync_member to, uint64_t seq)
{
    size_t free_slot = HASYNC_MAX_PEERS;

    for (size_t i = 0; i < HASYNC_MAX_PEERS; i++) {
        if (hc->owed[i].seq && hasync_member_eq(hc->owed[i].to, to)) {
            hc->owed[i].seq = seq;
            hc->owed[i].dirty = true;
            return;
        }
        if (!hc->owed[i].seq && free_slot == HASYNC_MAX_PEERS)
            free_slot = i;
    }
    if (free_slot < HASYNC_MAX_PEERS)
        hc->owed[free_slot] = (struct owed_ack){.to = to, .seq = seq, .dirty = true};
}

static void forget_owed(struct hasync_cpg *hc, struct hasync_member who)
{
    for (size_t i = 0; i < HASYNC_MAX_PEERS; i++)
        if (hc->owed[i].seq && hasync_member_eq(hc->owed[i].to, who))
            memset(&hc->owed[i], 0, sizeof(hc->owed[i]));
}

int hasync_send(struct hasync_cpg *hc, Hasync__Envelope *env, hasync_acked_fn on_acked, void *arg,
                uint64_t *seq_out)
{
    struct hasync_member peers[HASYNC_MAX_PEERS];
    size_t n_peers = 0;
    char err[160];
    uint64_t seq = hc->next_seq;

    if (env->body_case == HASYNC__ENVELOPE__BODY_ACK) /* acks are ours to make */
        return -1;
    /* Bounded both ways: a peer that stays in the group but stops acking
     * must not make us grow without limit. */
    if (hc->st.queue_len >= hc->cfg.queue_max || hasync_acks_count(&hc->acks) >= hc->cfg.queue_max)
        return -1;
    env->seq = seq;
    env->sender = hc->self.node ? hc->self.node : 1; /* validated below, set again on send */
    env->has_sender = env->has_version = env->has_seq = true;
    env->version = HASYNC_PROTO_VERSION;
    if (hasync_codec_validate(env, err, sizeof(err)) != HASYNC_OK) {
        hlog(hc, IKE_LOG_ERR, "HA refusing to send %s: %s", hasync_body_name(env->body_case), err);
        return -1;
    }
    if (hc->connected)
        for (size_t i = 0; i < hc->n_members; i++)
            if (!hasync_member_eq(hc->members[i], hc->self))
                peers[n_peers++] = hc->members[i];
    if (n_peers && hasync_acks_add(&hc->acks, seq, peers, n_peers, on_acked, arg) != 0)
        return -1;
    if (!hc->connected) {
        /* Nobody can receive it; whoever joins later gets a bulk sync. */
        hc->st.unconnected++;
    } else if (send_envelope(hc, env) != 0) {
        /* Only reachable on allocation failure: the pending entry is the
         * last one added; release it without calling back. */
        if (n_peers)
            hc->acks.count--;
        return -1;
    }
    hc->next_seq++;
    hc->st.sent++;
    if (seq_out)
        *seq_out = seq;
    request_flush(hc);
    if (!n_peers && on_acked)
        on_acked(arg, seq);
    return 0;
}

/* ---- delivery ---- */

static struct hasync_cpg *from_handle(cpg_handle_t h)
{
    void *ctx = NULL;

    cpg_context_get(h, &ctx);
    return ctx;
}

static void deliver_sequenced(struct hasync_cpg *hc, struct hasync_member from,
                              const Hasync__Envelope *env)
{
    uint64_t expected;
    enum hasync_seq_verdict v = hasync_rxseq_check(&hc->rx, from, env->seq, &expected);

    if (v == HASYNC_SEQ_STALE || v == HASYNC_SEQ_FULL) {
        hc->st.drops[HASYNC_DROP_ORDER]++;
        hlog(hc, IKE_LOG_WARN, "HA drop %s from node %u pid %u: seq %llu, expected %llu%s",
             hasync_body_name(env->body_case), from.node, from.pid, (unsigned long long)env->seq,
             (unsigned long long)expected, v == HASYNC_SEQ_FULL ? " (too many senders)" : "");
        return;
    }
    if (v == HASYNC_SEQ_GAP) {
        hc->st.gaps++;
        hlog(hc, IKE_LOG_WARN, "HA gap from node %u pid %u: seq %llu, expected %llu", from.node,
             from.pid, (unsigned long long)env->seq, (unsigned long long)expected);
    }
    hc->st.received++;
    if (hc->cfg.ops->deliver)
        hc->cfg.ops->deliver(hc->cfg.arg, env);
    owe_ack(hc, from, env->seq);
}

static void deliver_one(struct hasync_cpg *hc, struct hasync_member from, const uint8_t *msg,
                        size_t len)
{
    uint32_t nodeid = from.node, pid = from.pid;
    enum hasync_drop why;
    char err[160];
    Hasync__Envelope *env;

    env = hasync_codec_unpack(msg, len, nodeid, &why, err, sizeof(err));
    if (!env) {
        hc->st.drops[why]++;
        hlog(hc, IKE_LOG_WARN, "HA drop message from node %u pid %u (%s): %s", nodeid, pid,
             hasync_drop_name(why), err);
        return;
    }
    if (env->body_case == HASYNC__ENVELOPE__BODY_ACK) {
        if (env->ack->to_node == hc->self.node && env->ack->to_pid == hc->self.pid) {
            hc->st.acks_received++;
            hasync_acks_on_ack(&hc->acks, from, env->ack->seq);
        }
    } else {
        deliver_sequenced(hc, from, env);
    }
    hasync_codec_free(env);
}

/* A batch frame (see BATCH_MAGIC): each envelope in turn; a frame that does
 * not add up is dropped from the bad length on (what came before it is
 * delivered: each envelope is checked on its own). */
static void deliver_batch(struct hasync_cpg *hc, struct hasync_member from, const uint8_t *p,
                          size_t len)
{
    size_t off = sizeof(BATCH_MAGIC);

    while (off < len) {
        size_t n;

        if (len - off < 4) {
            n = 0;
        } else {
            n = (size_t)p[off] << 24 | (size_t)p[off + 1] << 16 | (size_t)p[off + 2] << 8 |
                p[off + 3];
            off += 4;
        }
        if (n == 0 || n > len - off) {
            hc->st.drops[HASYNC_DROP_MALFORMED]++;
            hlog(hc, IKE_LOG_WARN,
                 "HA drop the rest of a batch from node %u pid %u (malformed): length %zu at "
                 "offset %zu of %zu",
                 from.node, from.pid, n, off, len);
            return;
        }
        deliver_one(hc, from, p + off, n);
        off += n;
    }
}

static void on_deliver(cpg_handle_t h, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
                       void *msg, size_t len)
{
    struct hasync_cpg *hc = from_handle(h);
    struct hasync_member from = {.node = nodeid, .pid = pid};

    (void)group;
    if (!hc || hasync_member_eq(from, hc->self))
        return; /* CPG hands us our own messages too */
    if (len > sizeof(BATCH_MAGIC) && !memcmp(msg, BATCH_MAGIC, sizeof(BATCH_MAGIC)))
        deliver_batch(hc, from, msg, len);
    else
        deliver_one(hc, from, msg, len);
}

static void copy_members(struct hasync_member *out, size_t *n, const struct cpg_address *in,
                         size_t n_in)
{
    *n = 0;
    for (size_t i = 0; i < n_in && *n < HASYNC_MAX_PEERS; i++)
        out[(*n)++] = (struct hasync_member){.node = in[i].nodeid, .pid = in[i].pid};
}

static void on_confchg(cpg_handle_t h, const struct cpg_name *group,
                       const struct cpg_address *member, size_t n_member,
                       const struct cpg_address *left, size_t n_left,
                       const struct cpg_address *joined, size_t n_joined)
{
    struct hasync_cpg *hc = from_handle(h);
    struct hasync_member l[HASYNC_MAX_PEERS], j[HASYNC_MAX_PEERS];
    size_t nl, nj;

    (void)group;
    if (!hc)
        return;
    if (n_member > HASYNC_MAX_PEERS)
        hlog(hc, IKE_LOG_WARN, "HA %zu members in the group, tracking the first %d", n_member,
             HASYNC_MAX_PEERS);
    copy_members(hc->members, &hc->n_members, member, n_member);
    copy_members(l, &nl, left, n_left);
    copy_members(j, &nj, joined, n_joined);
    hlog(hc, IKE_LOG_INFO, "HA membership: %zu members, %zu left, %zu joined", hc->n_members, nl,
         nj);
    for (size_t i = 0; i < nl; i++) {
        hasync_rxseq_forget(&hc->rx, l[i]);
        forget_owed(hc, l[i]);
        hasync_acks_on_leave(&hc->acks, l[i]);
    }
    if (hc->cfg.ops->membership)
        hc->cfg.ops->membership(hc->cfg.arg, hc->members, hc->n_members, l, nl, j, nj);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush(arg);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct hasync_cpg *hc = arg;
    cs_error_t rc;

    (void)fd;
    (void)what;
    hc->in_dispatch = true;
    rc = cpg_dispatch(hc->handle, CS_DISPATCH_ALL);
    hc->in_dispatch = false;
    if (rc == CS_ERR_LIBRARY || rc == CS_ERR_BAD_HANDLE) {
        connection_lost(hc, "cpg_dispatch", rc);
        return;
    }
    if (rc != CS_OK && rc != CS_ERR_TRY_AGAIN)
        hlog(hc, IKE_LOG_WARN, "HA cpg_dispatch: error %d", rc);
    send_owed_acks(hc);
    flush(hc);
}

/* ---- connect / reconnect ---- */

static cpg_model_v1_data_t model = {
    .model = CPG_MODEL_V1,
    .cpg_deliver_fn = on_deliver,
    .cpg_confchg_fn = on_confchg,
};

static void retry_connect(struct hasync_cpg *hc)
{
    schedule(hc->ev_reconnect, hc->backoff_ms);
    hc->backoff_ms *= 2;
    if (hc->backoff_ms > hc->cfg.backoff_max_ms)
        hc->backoff_ms = hc->cfg.backoff_max_ms;
}

static int try_connect(struct hasync_cpg *hc)
{
    unsigned int nodeid = 0;
    int fd = -1;
    cs_error_t rc;

    rc = cpg_model_initialize(&hc->handle, CPG_MODEL_V1, (cpg_model_data_t *)&model, hc);
    if (rc != CS_OK) {
        hlog(hc, IKE_LOG_WARN, "HA cpg_initialize: error %d, retrying in %u ms", rc,
             hc->backoff_ms);
        return -1;
    }
    if ((rc = cpg_local_get(hc->handle, &nodeid)) != CS_OK ||
        (rc = cpg_fd_get(hc->handle, &fd)) != CS_OK ||
        (rc = cpg_join(hc->handle, &hc->group)) != CS_OK) {
        hlog(hc, IKE_LOG_WARN, "HA cpg join %s: error %d, retrying in %u ms", hc->cfg.group, rc,
             hc->backoff_ms);
        cpg_finalize(hc->handle);
        return -1;
    }
    hc->ev_fd = event_new(hc->base, fd, EV_READ | EV_PERSIST, on_readable, hc);
    if (hc->ev_fd)
        prio_high(hc, hc->ev_fd);
    if (!hc->ev_fd || event_add(hc->ev_fd, NULL) != 0) {
        event_free(hc->ev_fd);
        hc->ev_fd = NULL;
        cpg_finalize(hc->handle);
        return -1;
    }
    hc->self = (struct hasync_member){.node = nodeid, .pid = (uint32_t)getpid()};
    hc->connected = true;
    hc->backoff_ms = hc->cfg.backoff_min_ms;
    hc->st.joins++;
    hlog(hc, IKE_LOG_INFO, "HA joined CPG group %s as node %u", hc->cfg.group, nodeid);
    if (hc->cfg.ops->connection)
        hc->cfg.ops->connection(hc->cfg.arg, true);
    flush(hc);
    return 0;
}

static void on_reconnect(evutil_socket_t fd, short what, void *arg)
{
    struct hasync_cpg *hc = arg;

    (void)fd;
    (void)what;
    if (!hc->connected && try_connect(hc) != 0)
        retry_connect(hc);
}

static void connection_lost(struct hasync_cpg *hc, const char *where, cs_error_t rc)
{
    struct hasync_member gone[HASYNC_MAX_PEERS];
    size_t n_gone = 0;

    if (!hc->connected)
        return;
    hc->st.disconnects++;
    hlog(hc, IKE_LOG_ERR, "HA %s: error %d (corosync gone), reconnecting", where, rc);
    event_free(hc->ev_fd);
    hc->ev_fd = NULL;
    cpg_finalize(hc->handle);
    hc->connected = false;
    for (size_t i = 0; i < hc->n_members; i++)
        if (!hasync_member_eq(hc->members[i], hc->self))
            gone[n_gone++] = hc->members[i];
    hc->n_members = 0;
    hasync_rxseq_clear(&hc->rx);
    memset(hc->owed, 0, sizeof(hc->owed));
    /* What is still queued belongs to the lost connection (see hasync_send). */
    while (hc->q_head)
        dequeue(hc);
    if (hc->cfg.ops->connection)
        hc->cfg.ops->connection(hc->cfg.arg, false);
    if (hc->cfg.ops->membership)
        hc->cfg.ops->membership(hc->cfg.arg, NULL, 0, gone, n_gone, NULL, 0);
    hasync_acks_release_all(&hc->acks);
    if (!evtimer_pending(hc->ev_reconnect, NULL))
        retry_connect(hc);
}

struct hasync_cpg *hasync_cpg_new(struct event_base *base, const struct hasync_cpg_cfg *cfg)
{
    struct hasync_cpg *hc;
    size_t glen;

    if (!base || !cfg || !cfg->ops || !cfg->group)
        return NULL;
    glen = strlen(cfg->group);
    if (glen == 0 || glen >= CPG_MAX_NAME_LENGTH)
        return NULL;
    hc = calloc(1, sizeof(*hc));
    if (!hc)
        return NULL;
    hc->base = base;
    hc->cfg = *cfg;
    if (!hc->cfg.queue_max)
        hc->cfg.queue_max = QUEUE_MAX_DEFAULT;
    if (!hc->cfg.backoff_min_ms)
        hc->cfg.backoff_min_ms = 100;
    if (hc->cfg.backoff_max_ms < hc->cfg.backoff_min_ms)
        hc->cfg.backoff_max_ms = hc->cfg.backoff_min_ms > 5000 ? hc->cfg.backoff_min_ms : 5000;
    hc->backoff_ms = hc->cfg.backoff_min_ms;
    hc->group.length = (uint32_t)glen;
    memcpy(hc->group.value, cfg->group, glen);
    hc->next_seq = 1;
    hasync_acks_init(&hc->acks);
    hc->ev_retry = evtimer_new(base, on_retry, hc);
    hc->ev_reconnect = evtimer_new(base, on_reconnect, hc);
    hc->ev_flush = event_new(base, -1, 0, on_flush, hc);
    hc->batch = malloc(BATCH_MAX_BYTES);
    if (!hc->ev_retry || !hc->ev_reconnect || !hc->ev_flush || !hc->batch) {
        hasync_cpg_free(hc);
        return NULL;
    }
    prio_high(hc, hc->ev_flush);
    /* Connect from the loop, not here: no callback may run before the
     * caller has the handle. */
    schedule(hc->ev_reconnect, 0);
    return hc;
}

void hasync_cpg_free(struct hasync_cpg *hc)
{
    if (!hc)
        return;
    if (hc->connected) {
        event_free(hc->ev_fd);
        cpg_leave(hc->handle, &hc->group);
        cpg_finalize(hc->handle);
    }
    if (hc->ev_retry)
        event_free(hc->ev_retry);
    if (hc->ev_reconnect)
        event_free(hc->ev_reconnect);
    if (hc->ev_flush)
        event_free(hc->ev_flush);
    while (hc->q_head)
        dequeue(hc);
    free(hc->batch);
    hasync_acks_free(&hc->acks);
    free(hc);
}

bool hasync_cpg_connected(const struct hasync_cpg *hc)
{
    return hc->connected;
}

uint32_t hasync_cpg_local_node(const struct hasync_cpg *hc)
{
    return hc->self.node;
}

size_t hasync_cpg_peer_count(const struct hasync_cpg *hc)
{
    size_t n = 0;

    for (size_t i = 0; hc->connected && i < hc->n_members; i++)
        if (!hasync_member_eq(hc->members[i], hc->self))
            n++;
    return n;
}

size_t hasync_cpg_pending_acks(const struct hasync_cpg *hc)
{
    return hasync_acks_count(&hc->acks);
}

const struct hasync_cpg_stats *hasync_cpg_get_stats(const struct hasync_cpg *hc)
{
    return &hc->st;
}
