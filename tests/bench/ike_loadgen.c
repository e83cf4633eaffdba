/*
 * IKE load generator on libike: many concurrent IKEv2 initiators (PSK, one
 * CHILD SA each) in one process, against one responder (haiked, charon).
 *
 * Phase "establish": `count` tunnels, at most `concurrency` in flight;
 * phase "delete" (unless --keep): every established IKE SA is deleted, with
 * the same concurrency. With --churn there is one phase, "churn": each
 * tunnel is deleted as soon as it is up, so the responder never holds more
 * than `concurrency` SAs (its per-SA cost without the table size in it). Per phase: wall time,
 * rate, retransmissions, and with --peer-pid the responder's CPU time (utime+stime from /proc) and
 * RSS, so CPU per SA is measured on the peer, not guessed.
 *
 * Sockets: `ports` UDP sockets per source address; tunnel i uses socket
 * i mod n. Replies are matched to tunnels by the initiator SPI (ours). When
 * libike moves to port 4500 (NAT detected: charon's kernel-libipsec fakes
 * it) the same socket sends to the peer's port 4500 with the non-ESP
 * marker, as a NAT-ed client would.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h> /* timers embedded in each tunnel */

#include <ike/ctx.h>
#include <ike/error.h>
#include <ike/export.h>
#include <ike/sa.h>

#include "lg_opts.h"
#include "lg_proc.h"

struct lg;
struct lg_sa;

struct lg_timer {
    struct event ev;
    struct lg_sa *s;
    enum ike_timer which;
    bool assigned;
};

struct lg_sock {
    struct lg *lg;
    int fd;
    struct ike_addr local;
    struct event *ev;
};

struct lg_sa {
    struct lg *lg;
    struct ike_sa *sa;
    struct lg_sock *sock;
    uint64_t spi; /* initiator SPI as a number, the hash key */
    bool hashed, established, child_up, deleting;
    unsigned child_installs; /* > 1: the CHILD SA was rekeyed */
    struct lg_sa *hnext;       /* hash chain */
    struct lg_sa *next, *prev; /* live list */
    struct lg_timer t[IKE_TIMER_COUNT];
    struct ike_sa_cfg cfg;
    struct ike_cfg_child child;
};

struct lg_phase {
    const char *name;
    double t0, t1;
    struct lg_proc_sample peer0, peer1;
    struct rusage self0, self1;
};

struct lg {
    struct lg_opts o;
    struct event_base *base;
    struct lg_sock *socks;
    size_t n_socks;
    struct ike_ctx ctx;
    struct lg_sa **htab;
    size_t hmask;
    struct lg_sa live; /* list head */
    uint64_t started, in_flight;
    /* results */
    uint64_t ike_up, child_up, failed, deleted, retransmits, unmatched, send_errors;
    uint64_t dropped_input, child_install_fail;
    uint64_t child_installs; /* every CHILD SA installed, rekeys included */
    int phase; /* 0 establish, 1 delete, 2 done, 3 holding (--hold) */
    struct event *hold;
    struct lg_sa *del_cursor;
    struct lg_phase ph[2];
    bool timed_out;
    struct event *deadline;
};

static const struct ike_ctx_ops lg_ops;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- SPI hash ------------------------------------------------------------ */

static uint64_t spi_key(const uint8_t *spi)
{
    uint64_t k = 0;
    for (int i = 0; i < IKE_SPI_LEN; i++)
        k = k << 8 | spi[i];
    return k;
}

static size_t spi_slot(const struct lg *lg, uint64_t k)
{
    return (size_t)((k * 0x9e3779b97f4a7c15ull) >> 20) & lg->hmask;
}

static void hash_del(struct lg_sa *s)
{
    if (!s->hashed)
        return;
    struct lg_sa **pp = &s->lg->htab[spi_slot(s->lg, s->spi)];
    while (*pp && *pp != s)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = s->hnext;
    s->hashed = false;
}

/* (Re)files s under its SA's current initiator SPI. */
static void hash_put(struct lg_sa *s, struct ike_sa *sa)
{
    uint64_t k = spi_key(ike_sa_spi_i(sa));
    if (s->hashed && s->spi == k)
        return;
    hash_del(s);
    s->spi = k;
    size_t i = spi_slot(s->lg, k);
    s->hnext = s->lg->htab[i];
    s->lg->htab[i] = s;
    s->hashed = true;
}

static struct lg_sa *hash_get(struct lg *lg, const uint8_t *spi)
{
    uint64_t k = spi_key(spi);
    for (struct lg_sa *s = lg->htab[spi_slot(lg, k)]; s; s = s->hnext)
        if (s->spi == k)
            return s;
    return NULL;
}

/* ---- context callbacks ---------------------------------------------------- */

static void addr_to_sockaddr(const struct ike_addr *a, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    if (a->family == IKE_AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(a->port);
        memcpy(&in->sin_addr, a->addr, 4);
        *len = sizeof(*in);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(a->port);
        memcpy(&in6->sin6_addr, a->addr, 16);
        *len = sizeof(*in6);
    }
}

static void sockaddr_to_addr(const struct sockaddr_storage *ss, struct ike_addr *a)
{
    memset(a, 0, sizeof(*a));
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        a->family = IKE_AF_INET;
        a->port = ntohs(in->sin_port);
        memcpy(a->addr, &in->sin_addr, 4);
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        a->family = IKE_AF_INET6;
        a->port = ntohs(in6->sin6_port);
        memcpy(a->addr, &in6->sin6_addr, 16);
    }
}

static void cb_send(void *user, struct ike_sa *sa, const struct ike_addr *local,
                    const struct ike_addr *remote, const uint8_t *data, size_t len)
{
    (void)local; /* always the tunnel's own socket: see the file comment */
    struct lg_sa *s = user;
    if (sa)
        hash_put(s, sa);
    uint8_t buf[4 + 65536];
    size_t off = 0;
    if (remote->port == IKE_PORT_NATT) { /* RFC 3948 non-ESP marker */
        memset(buf, 0, 4);
        off = 4;
    }
    if (len > sizeof(buf) - off)
        return;
    memcpy(buf + off, data, len);
    struct sockaddr_storage ss;
    socklen_t sl;
    addr_to_sockaddr(remote, &ss, &sl);
    if (sendto(s->sock->fd, buf, off + len, 0, (struct sockaddr *)&ss, sl) < 0)
        s->lg->send_errors++;
}

static void on_timer(evutil_socket_t fd, short what, void *arg);
static void after(struct lg_sa *s);

static void cb_timer_arm(void *user, struct ike_sa *sa, enum ike_timer which, uint32_t ms)
{
    (void)sa;
    struct lg_sa *s = user;
    struct lg_timer *t = &s->t[which];
    if (!t->assigned) {
        t->s = s;
        t->which = which;
        event_assign(&t->ev, s->lg->base, -1, 0, on_timer, t);
        t->assigned = true;
    }
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(&t->ev, &tv);
}

static void cb_timer_cancel(void *user, struct ike_sa *sa, enum ike_timer which)
{
    (void)sa;
    struct lg_sa *s = user;
    if (s->t[which].assigned)
        evtimer_del(&s->t[which].ev);
}

static uint64_t cb_now_ms(void *user)
{
    (void)user;
    return (uint64_t)(now_s() * 1000.0);
}

static void cb_log(void *user, const struct ike_sa *sa, enum ike_log_level level, const char *text)
{
    (void)user;
    (void)sa;
    /* Failures only: per-tunnel chatter would cost more than the IKE work. */
    if (level == IKE_LOG_ERR && getenv("IKE_LOADGEN_VERBOSE"))
        fprintf(stderr, "ike_loadgen: %s\n", text);
}

static int cb_child_install(void *user, struct ike_sa *sa, const struct ike_child_export *c)
{
    (void)sa;
    (void)c;
    struct lg_sa *s = user;
    s->child_up = true;
    s->child_installs++;
    s->lg->child_installs++;
    return 0;
}

static void cb_child_delete(void *user, struct ike_sa *sa, uint32_t spi_in)
{
    (void)user;
    (void)sa;
    (void)spi_in;
}

static const struct ike_ctx_ops lg_ops = {
    .send = cb_send,
    .timer_arm = cb_timer_arm,
    .timer_cancel = cb_timer_cancel,
    .now_ms = cb_now_ms,
    .log = cb_log,
    .child_install = cb_child_install,
    .child_delete = cb_child_delete,
};

/* ---- tunnels ---------------------------------------------------------------- */

static void phase_begin(struct lg *lg, int i, const char *name)
{
    struct lg_phase *p = &lg->ph[i];
    p->name = name;
    lg_proc_sample(lg->o.peer_pid, &p->peer0);
    getrusage(RUSAGE_SELF, &p->self0);
    p->t0 = now_s();
}

static void phase_end(struct lg *lg, int i)
{
    struct lg_phase *p = &lg->ph[i];
    p->t1 = now_s();
    getrusage(RUSAGE_SELF, &p->self1);
    lg_proc_sample(lg->o.peer_pid, &p->peer1);
}

static void sa_destroy(struct lg_sa *s)
{
    struct lg *lg = s->lg;
    if (s->sa) {
        lg->retransmits += ike_sa_stats(s->sa)->retransmits_sent;
        ike_sa_free(s->sa);
    }
    hash_del(s);
    for (int i = 0; i < IKE_TIMER_COUNT; i++)
        if (s->t[i].assigned)
            evtimer_del(&s->t[i].ev);
    if (lg->del_cursor == s)
        lg->del_cursor = s->next;
    s->prev->next = s->next;
    s->next->prev = s->prev;
    free(s);
}

static void pump(struct lg *lg);

static void start_one(struct lg *lg)
{
    struct lg_sa *s = calloc(1, sizeof(*s));
    uint64_t index = lg->started++;
    if (!s) {
        lg->failed++;
        return;
    }
    s->lg = lg;
    s->sock = &lg->socks[index % lg->n_socks];
    lg_cfg_for(&lg->o, index, &s->cfg, &s->child);
    s->cfg.local = s->sock->local;
    s->next = &lg->live;
    s->prev = lg->live.prev;
    lg->live.prev->next = s;
    lg->live.prev = s;
    struct ike_ctx ctx = lg->ctx;
    ctx.user = s;
    struct ike_diag diag = {0};
    lg->in_flight++;
    if (ike_sa_initiate(&ctx, &s->cfg, &s->sa, &diag) != IKE_OK) {
        fprintf(stderr, "ike_loadgen: initiate: %s\n", diag.reason);
        lg->failed++;
        lg->in_flight--;
        s->sa = NULL;
        sa_destroy(s);
        return;
    }
    hash_put(s, s->sa);
}

/* --churn: the tunnel is deleted as soon as it is up, so it stays in
 * flight until the Delete is answered; false if the Delete could not be
 * queued (the tunnel then just stays up). */
static bool churn_delete(struct lg_sa *s)
{
    struct ike_diag diag = {0};
    if (ike_sa_delete(s->sa, &diag) != IKE_OK) {
        fprintf(stderr, "ike_loadgen: delete: %s\n", diag.reason);
        return false;
    }
    s->deleting = true;
    return true;
}

/* Called after every call into an SA: count state changes, free the dead. */
static void after(struct lg_sa *s)
{
    struct lg *lg = s->lg;
    enum ike_sa_state st = ike_sa_state(s->sa);
    if (st == IKE_SA_STATE_ESTABLISHED && !s->established) {
        s->established = true;
        lg->ike_up++;
        lg->child_up += s->child_up;
        if (!lg->o.churn || !churn_delete(s))
            lg->in_flight--;
    }
    if (ike_sa_state(s->sa) == IKE_SA_STATE_DEAD) {
        if (s->deleting) {
            lg->deleted++;
            lg->in_flight--;
        } else if (!s->established) {
            lg->failed++;
            lg->in_flight--;
        }
        sa_destroy(s);
    }
    pump(lg);
}

static void start_delete(struct lg *lg)
{
    while (lg->in_flight < lg->o.concurrency && lg->del_cursor != &lg->live) {
        struct lg_sa *s = lg->del_cursor;
        lg->del_cursor = s->next;
        if (s->deleting || !s->established)
            continue;
        struct ike_diag diag = {0};
        s->deleting = true;
        lg->in_flight++;
        if (ike_sa_delete(s->sa, &diag) != IKE_OK) {
            fprintf(stderr, "ike_loadgen: delete: %s\n", diag.reason);
            s->deleting = false;
            lg->in_flight--;
            continue;
        }
        if (ike_sa_state(s->sa) == IKE_SA_STATE_DEAD) {
            lg->deleted++;
            lg->in_flight--;
            sa_destroy(s);
        }
    }
}

/* Keeps `concurrency` exchanges in flight and moves between phases. */
static void pump(struct lg *lg)
{
    if (lg->phase == 0) {
        while (lg->in_flight < lg->o.concurrency && lg->started < lg->o.count)
            start_one(lg);
        if (lg->started < lg->o.count || lg->in_flight > 0)
            return;
        phase_end(lg, 0);
        if (lg->o.hold_s && lg->ike_up > 0) {
            /* --hold: keep answering the responder (its rekeys after a
             * failover, DPD) until the hold timer ends the run. */
            struct timeval tv = {.tv_sec = lg->o.hold_s};
            lg->phase = 3;
            if (lg->hold && evtimer_add(lg->hold, &tv) == 0)
                return;
            lg->phase = 2;
            event_base_loopbreak(lg->base);
            return;
        }
        if (lg->o.keep || lg->o.churn || lg->ike_up == 0) {
            lg->phase = 2;
            event_base_loopbreak(lg->base);
            return;
        }
        lg->phase = 1;
        lg->del_cursor = lg->live.next;
        phase_begin(lg, 1, "delete");
    }
    if (lg->phase == 1) {
        start_delete(lg);
        if (lg->in_flight == 0 && lg->del_cursor == &lg->live) {
            phase_end(lg, 1);
            lg->phase = 2;
            event_base_loopbreak(lg->base);
        }
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct lg_timer *t = arg;
    ike_sa_timer(t->s->sa, t->which);
    after(t->s);
}

static void on_datagram(struct lg_sock *k, uint8_t *data, size_t len,
                        const struct sockaddr_storage *from)
{
    struct lg *lg = k->lg;
    static const uint8_t marker[4];
    if (len >= 4 && memcmp(data, marker, 4) == 0) {
        data += 4;
        len -= 4;
    }
    if (len < 28) {
        lg->dropped_input++;
        return;
    }
    struct lg_sa *s = hash_get(lg, data);
    if (!s || !s->sa) {
        lg->unmatched++;
        return;
    }
    struct ike_addr remote, local = *ike_sa_local_addr(s->sa);
    sockaddr_to_addr(from, &remote);
    struct ike_diag diag = {0};
    if (ike_sa_process(s->sa, data, len, &local, &remote, &diag) != IKE_OK)
        lg->dropped_input++;
    after(s);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct lg_sock *k = arg;
    static uint8_t buf[65536];
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
        if (n < 0)
            return;
        on_datagram(k, buf, (size_t)n, &from);
        if (k->lg->phase == 2)
            return;
    }
}

static void on_hold_end(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct lg *lg = arg;
    lg->phase = 2;
    event_base_loopbreak(lg->base);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct lg *lg = arg;
    lg->timed_out = true;
    if (lg->phase < 2)
        phase_end(lg, lg->phase);
    event_base_loopbreak(lg->base);
}

/* ---- setup and report ------------------------------------------------------ */

static int open_socket(struct lg *lg, const struct ike_addr *addr, struct lg_sock *k)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    addr_to_sockaddr(addr, &ss, &sl);
    k->lg = lg;
    k->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int big = 4 << 20;
    if (k->fd < 0 || setsockopt(k->fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0 ||
        bind(k->fd, (struct sockaddr *)&ss, sl) < 0 ||
        getsockname(k->fd, (struct sockaddr *)&ss, &sl) < 0) {
        perror("ike_loadgen: socket");
        return -1;
    }
    sockaddr_to_addr(&ss, &k->local);
    k->ev = event_new(lg->base, k->fd, EV_READ | EV_PERSIST, on_readable, k);
    return k->ev && event_add(k->ev, NULL) == 0 ? 0 : -1;
}

static int setup(struct lg *lg)
{
    lg->base = event_base_new();
    lg->n_socks = lg->o.n_local * lg->o.ports_per_addr;
    lg->socks = calloc(lg->n_socks, sizeof(*lg->socks));
    size_t buckets = 1024;
    while (buckets < lg->o.count * 2 && buckets < (1u << 22))
        buckets <<= 1;
    lg->htab = calloc(buckets, sizeof(*lg->htab));
    lg->hmask = buckets - 1;
    if (!lg->base || !lg->socks || !lg->htab)
        return -1;
    for (size_t i = 0; i < lg->n_socks; i++)
        if (open_socket(lg, &lg->o.local[i % lg->o.n_local], &lg->socks[i]) < 0)
            return -1;
    lg->live.next = lg->live.prev = &lg->live;
    lg->ctx.ops = &lg_ops;
    lg->ctx.retransmit_base_ms = lg->o.retransmit_ms;
    lg->deadline = evtimer_new(lg->base, on_deadline, lg);
    lg->hold = evtimer_new(lg->base, on_hold_end, lg);
    struct timeval tv = {.tv_sec = lg->o.timeout_s};
    return lg->deadline && evtimer_add(lg->deadline, &tv) == 0 ? 0 : -1;
}

static double tv_s(const struct timeval *tv)
{
    return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static void report_phase(const struct lg *lg, const struct lg_phase *p, uint64_t n, bool json)
{
    double wall = p->t1 - p->t0;
    double self = tv_s(&p->self1.ru_utime) + tv_s(&p->self1.ru_stime) - tv_s(&p->self0.ru_utime) -
                  tv_s(&p->self0.ru_stime);
    double peer_ms = lg_proc_cpu_ms(&p->peer0, &p->peer1);
    double rate = wall > 0 ? (double)n / wall : 0;
    const char *k = p->name;
    if (json) {
        printf(",\"%s\":{\"n\":%" PRIu64 ",\"wall_s\":%.3f,\"per_s\":%.1f,"
               "\"loadgen_cpu_ms_per_sa\":%.3f",
               k, n, wall, rate, n ? self * 1000 / (double)n : 0);
        if (lg->o.peer_pid)
            printf(",\"peer_cpu_ms\":%.1f,\"peer_cpu_ms_per_sa\":%.4f,\"peer_rss_kb_before\":%ld,"
                   "\"peer_rss_kb_after\":%ld",
                   peer_ms, n ? peer_ms / (double)n : 0, p->peer0.rss_kb, p->peer1.rss_kb);
        printf("}");
        return;
    }
    printf("%s_n=%" PRIu64 "\n%s_wall_s=%.3f\n%s_per_s=%.1f\n%s_loadgen_cpu_ms_per_sa=%.3f\n", k, n,
           k, wall, k, rate, k, n ? self * 1000 / (double)n : 0);
    if (lg->o.peer_pid)
        printf("%s_peer_cpu_ms=%.1f\n%s_peer_cpu_ms_per_sa=%.4f\n%s_peer_rss_kb_before=%ld\n"
               "%s_peer_rss_kb_after=%ld\n",
               k, peer_ms, k, n ? peer_ms / (double)n : 0, k, p->peer0.rss_kb, k, p->peer1.rss_kb);
}

/* Retransmissions of the tunnels still up (--keep): the freed ones were
 * added in sa_destroy. */
static uint64_t live_retransmits(const struct lg *lg)
{
    uint64_t n = 0;
    for (const struct lg_sa *s = lg->live.next; s != &lg->live; s = s->next)
        if (s->sa)
            n += ike_sa_stats(s->sa)->retransmits_sent;
    return n;
}

/* --hold: tunnels still established, and those whose CHILD SA was
 * installed more than once (rekeyed by the responder). */
static void hold_counts(const struct lg *lg, uint64_t *alive, uint64_t *rekeyed)
{
    for (const struct lg_sa *s = lg->live.next; s != &lg->live; s = s->next) {
        if (s->sa && ike_sa_state(s->sa) == IKE_SA_STATE_ESTABLISHED)
            (*alive)++;
        if (s->child_installs > 1)
            (*rekeyed)++;
    }
}

static void report(struct lg *lg)
{
    const struct lg_opts *o = &lg->o;
    lg->retransmits += live_retransmits(lg);
    bool j = o->json;
    if (j)
        printf("{\"proposal\":\"%s\",\"esp\":\"%s\",\"count\":%" PRIu64 ",\"concurrency\":%u,"
               "\"sockets\":%zu,\"ike_established\":%" PRIu64 ",\"child_established\":%" PRIu64
               ",\"failed\":%" PRIu64 ",\"deleted\":%" PRIu64 ",\"retransmits\":%" PRIu64
               ",\"unmatched\":%" PRIu64 ",\"dropped_input\":%" PRIu64 ",\"send_errors\":%" PRIu64
               ",\"timed_out\":%s",
               o->ike_proposal_text, o->esp_proposal_text, o->count, o->concurrency, lg->n_socks,
               lg->ike_up, lg->child_up, lg->failed, lg->deleted, lg->retransmits, lg->unmatched,
               lg->dropped_input, lg->send_errors, lg->timed_out ? "true" : "false");
    else
        printf("proposal=%s\nesp=%s\ncount=%" PRIu64 "\nconcurrency=%u\nsockets=%zu\n"
               "ike_established=%" PRIu64 "\nchild_established=%" PRIu64 "\nfailed=%" PRIu64
               "\ndeleted=%" PRIu64 "\nretransmits=%" PRIu64 "\nunmatched=%" PRIu64
               "\ndropped_input=%" PRIu64 "\nsend_errors=%" PRIu64 "\ntimed_out=%d\n",
               o->ike_proposal_text, o->esp_proposal_text, o->count, o->concurrency, lg->n_socks,
               lg->ike_up, lg->child_up, lg->failed, lg->deleted, lg->retransmits, lg->unmatched,
               lg->dropped_input, lg->send_errors, lg->timed_out);
    if (lg->ph[0].name)
        report_phase(lg, &lg->ph[0], lg->ike_up, j);
    if (lg->ph[1].name)
        report_phase(lg, &lg->ph[1], lg->deleted, j);
    if (o->hold_s) {
        uint64_t alive = 0, rekeyed = 0;
        hold_counts(lg, &alive, &rekeyed);
        printf(j ? ",\"hold_s\":%u,\"alive\":%" PRIu64 ",\"child_installs\":%" PRIu64
                   ",\"tunnels_rekeyed\":%" PRIu64
                 : "hold_s=%u\nalive=%" PRIu64 "\nchild_installs=%" PRIu64
                   "\ntunnels_rekeyed=%" PRIu64 "\n",
               o->hold_s, alive, lg->child_installs, rekeyed);
    }
    if (j)
        printf("}\n");
}

int main(int argc, char **argv)
{
    static struct lg lg;
    if (lg_opts_parse(argc, argv, &lg.o) < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl = {.rlim_cur = 65536, .rlim_max = 65536};
    setrlimit(RLIMIT_NOFILE, &rl); /* best effort: many sockets */
    if (setup(&lg) < 0) {
        fprintf(stderr, "ike_loadgen: setup failed\n");
        return 2;
    }
    phase_begin(&lg, 0, lg.o.churn ? "churn" : "establish");
    pump(&lg);
    if (lg.phase < 2)
        event_base_dispatch(lg.base);
    report(&lg);
    fflush(stdout);
    /* With --keep the peer holds the tunnels: exit without Deletes (and
     * without freeing 10^4 SAs we no longer need). */
    int rc = lg.ike_up == lg.o.count && lg.child_up == lg.o.count && !lg.timed_out ? 0 : 1;
    if (lg.o.hold_s) {
        uint64_t alive = 0, rekeyed = 0;
        hold_counts(&lg, &alive, &rekeyed);
        if (alive != lg.o.count)
            rc = 1;
    }
    lg_opts_free(&lg.o);
    return rc;
}
