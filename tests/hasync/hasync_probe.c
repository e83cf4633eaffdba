/*
 * hasync_probe: drives the hasync library against a real corosync, for
 * tests/lab/test_hasync_cpg.py. One line per event on stdout:
 *
 *   hasync_probe recv  GROUP
 *       acks everything; "RECV total=N order_errors=E last=I received=R
 *       malformed=M version=V sender=S invalid=I order=O gaps=G" when it changed
 *   hasync_probe send  GROUP COUNT LATENCY_COUNT [WINDOW [inline]]
 *       waits for a peer, sends COUNT messages (WINDOW unacked, 256; with
 *       "inline" the next ones are sent from inside the acked callback), then
 *       LATENCY_COUNT one at a time; "THROUGHPUT ...", "LATENCY ...",
 *       "DONE ..."; then stays, and sends a batch of 100 each time a peer
 *       comes back ("BATCH ...")
 *   hasync_probe raw GROUP COUNT SIZE / inject GROUP   (hasync_probe_raw.c)
 *   hasync_probe crypto-check [allow]
 *       exit 0 (encrypted or allowed), 3 (refused), 4 (no corosync)
 *
 * Every line carries t=<wall clock ms> so the test can time membership
 * changes against its own kill. Bodies are IkeSaAdd of ~200 octets whose
 * msgid_send_next is a running index, so the receiver checks order itself.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <ike/const.h>
#include <ike/ctx.h>

#include "hasync_cpg.h"
#include "hasync_crypto.h"
#include "hasync_export.h"
#include "hasync_probe.h"

#define BATCH 100

struct probe {
    struct event_base *base;
    struct hasync_cpg *hc;
    struct event *ev_pump; /* refills the window after acks, from the loop */
    bool sender;
    bool inline_send; /* send from inside the acked callback (as haiked will) */
    /* send side */
    uint32_t count, lat_count, next_idx, window;
    uint32_t phase_total, phase_sent, phase_acked, inflight;
    int phase; /* 0 waiting, 1 throughput, 2 latency, 3 done/linger, 4 batch */
    double t_phase;
    double *rtt_us;
    double *sent_at; /* by seq */
    size_t sent_at_cap;
    size_t peers;
    size_t last_packed;
    /* receive side */
    uint64_t rx_total, rx_order_errors, rx_last, rx_reported, rx_drops_reported;
    bool rx_have_last;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf(" t=%lld\n", wall_ms());
    fflush(stdout);
}

static void on_log(void *arg, int level, const char *line)
{
    (void)arg;
    printf("LOG %d %s t=%lld\n", level, line, wall_ms());
    fflush(stdout);
}

static void on_acked(void *arg, uint64_t seq);

static int send_one(struct probe *p)
{
    struct ike_sa_export ex;
    struct hasync_ike_msg m;
    Hasync__Envelope env = HASYNC__ENVELOPE__INIT;
    uint64_t seq;

    memset(&ex, 0, sizeof(ex));
    ex.version = IKE_EXPORT_VERSION;
    snprintf(ex.cfg_name, sizeof(ex.cfg_name), "probe");
    memset(ex.spi_i, 0x11, IKE_SPI_LEN);
    memset(ex.spi_r, 0x22, IKE_SPI_LEN);
    ex.local.family = ex.remote.family = IKE_AF_INET;
    ex.local.port = ex.remote.port = 4500;
    ex.encr_id = 20;
    ex.encr_key_bits = 256;
    ex.prf_id = 5;
    ex.dh_group = 19;
    ex.sk_d.len = 32;
    ex.sk_ei.len = ex.sk_er.len = 20; /* AES-128-GCM key + salt; no SK_p: ~200 octets */
    ex.msgid_send_next = p->next_idx;
    hasync_ike_to_msg(&ex, &m);
    env.body_case = HASYNC__ENVELOPE__BODY_IKE_SA_ADD;
    env.ike_sa_add = &m.m;
    p->inflight++;
    p->phase_sent++;
    p->next_idx++;
    /* the time must be recorded before: the callback may run inside */
    if (p->sent_at_cap <= p->next_idx) {
        size_t cap = p->sent_at_cap ? p->sent_at_cap * 2 : 4096;
        while (cap <= p->next_idx)
            cap *= 2;
        p->sent_at = realloc(p->sent_at, cap * sizeof(double));
        p->sent_at_cap = cap;
    }
    p->sent_at[p->next_idx] = now_s(); /* indexed by seq = next_idx (seq starts at 1) */
    if (hasync_send(p->hc, &env, on_acked, p, &seq) != 0) {
        p->inflight--;
        p->phase_sent--;
        p->next_idx--;
        return -1;
    }
    p->last_packed = hasync__envelope__get_packed_size(&env);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void pump(struct probe *p);
static void on_pump(evutil_socket_t fd, short what, void *arg);

static void start_phase(struct probe *p, int phase, uint32_t total)
{
    p->phase = phase;
    p->phase_total = total;
    p->phase_sent = p->phase_acked = 0;
    p->t_phase = now_s();
    pump(p);
}

static void end_phase(struct probe *p)
{
    double secs = now_s() - p->t_phase;

    if (p->phase == 1) {
        say("THROUGHPUT msgs=%u secs=%.3f rate=%.0f size=%zu", p->phase_acked, secs,
            p->phase_acked / secs, p->last_packed);
        start_phase(p, 2, p->lat_count);
    } else if (p->phase == 2) {
        qsort(p->rtt_us, p->phase_acked, sizeof(double), cmp_double);
        say("LATENCY n=%u p50_us=%.0f p99_us=%.0f max_us=%.0f", p->phase_acked,
            p->rtt_us[p->phase_acked / 2], p->rtt_us[(p->phase_acked * 99) / 100],
            p->rtt_us[p->phase_acked - 1]);
        const struct hasync_cpg_stats *st = hasync_cpg_get_stats(p->hc);

        say("DONE sent=%llu next_idx=%u acks_received=%llu try_again=%llu queue_peak=%zu",
            (unsigned long long)st->sent, p->next_idx, (unsigned long long)st->acks_received,
            (unsigned long long)st->try_again, st->queue_peak);
        p->phase = 3;
    } else if (p->phase == 4) {
        say("BATCH n=%u acked=%u peers=%zu", p->phase_total, p->phase_acked,
            hasync_cpg_peer_count(p->hc));
        p->phase = 3;
    }
}

static void on_acked(void *arg, uint64_t seq)
{
    struct probe *p = arg;

    p->inflight--;
    p->phase_acked++;
    if (p->phase == 2 && seq < p->sent_at_cap)
        p->rtt_us[p->phase_acked - 1] = (now_s() - p->sent_at[seq]) * 1e6;
    if (p->inline_send)
        pump(p); /* inside cpg_dispatch: hasync queues, flushes after it */
    else
        event_active(p->ev_pump, EV_TIMEOUT, 0);
}

static void on_pump(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pump(arg);
}

/* Run from the loop after acks (ev_pump), so the acked callback itself
 * never recurses into sending. */
static void pump(struct probe *p)
{
    uint32_t window = p->phase == 2 ? 1 : p->window;

    if (p->phase != 1 && p->phase != 2 && p->phase != 4)
        return;
    while (p->phase_sent < p->phase_total && p->inflight < window)
        if (send_one(p) != 0)
            break;
    if (p->phase_acked == p->phase_total)
        end_phase(p);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct probe *p = arg;

    (void)fd;
    (void)what;
    if (p->sender) {
        if (p->phase == 0 && p->peers > 0)
            start_phase(p, 1, p->count);
        else
            pump(p);
    } else {
        const struct hasync_cpg_stats *st = hasync_cpg_get_stats(p->hc);
        uint64_t drops = st->received + st->gaps;

        for (int i = 0; i < HASYNC_DROP__COUNT; i++)
            drops += st->drops[i];
        if (p->rx_total == p->rx_reported && drops == p->rx_drops_reported)
            return;
        p->rx_reported = p->rx_total;
        p->rx_drops_reported = drops;
        say("RECV total=%llu order_errors=%llu last=%llu received=%llu malformed=%llu "
            "version=%llu sender=%llu invalid=%llu order=%llu gaps=%llu",
            (unsigned long long)p->rx_total, (unsigned long long)p->rx_order_errors,
            (unsigned long long)p->rx_last, (unsigned long long)st->received,
            (unsigned long long)st->drops[HASYNC_DROP_MALFORMED],
            (unsigned long long)st->drops[HASYNC_DROP_VERSION],
            (unsigned long long)st->drops[HASYNC_DROP_SENDER],
            (unsigned long long)st->drops[HASYNC_DROP_INVALID],
            (unsigned long long)st->drops[HASYNC_DROP_ORDER], (unsigned long long)st->gaps);
    }
}

static void on_deliver(void *arg, const Hasync__Envelope *env)
{
    struct probe *p = arg;
    uint32_t idx;

    if (env->body_case != HASYNC__ENVELOPE__BODY_IKE_SA_ADD)
        return;
    idx = env->ike_sa_add->msgid_send_next;
    if (p->rx_have_last && idx != p->rx_last + 1)
        p->rx_order_errors++;
    p->rx_last = idx;
    p->rx_have_last = true;
    p->rx_total++;
}

static void on_membership(void *arg, const struct hasync_member *members, size_t n,
                          const struct hasync_member *left, size_t n_left,
                          const struct hasync_member *joined, size_t n_joined)
{
    struct probe *p = arg;
    size_t before = p->peers;

    (void)members;
    (void)left;
    (void)joined;
    p->peers = hasync_cpg_peer_count(p->hc);
    say("MEMBERS n=%zu peers=%zu left=%zu joined=%zu", n, p->peers, n_left, n_joined);
    if (p->sender && p->phase == 3 && before == 0 && p->peers > 0)
        start_phase(p, 4, BATCH);
}

static void on_connection(void *arg, bool up)
{
    struct probe *p = arg;

    say("CONNECTED up=%d node=%u", up, hasync_cpg_local_node(p->hc));
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopexit(arg, NULL);
}

static int crypto_check(bool allow)
{
    char why[256];
    enum hasync_crypto_verdict v = hasync_crypto_check(allow, why, sizeof(why));

    say("CRYPTO verdict=%d %s", (int)v, why);
    switch (v) {
    case HASYNC_CRYPTO_OK:
    case HASYNC_CRYPTO_PLAINTEXT_ALLOWED: return 0;
    case HASYNC_CRYPTO_REFUSED: return 3;
    default: return 4;
    }
}

int main(int argc, char **argv)
{
    static const struct hasync_cpg_ops ops = {
        .deliver = on_deliver,
        .membership = on_membership,
        .connection = on_connection,
        .log = on_log,
    };
    struct probe p = {0};
    struct hasync_cpg_cfg cfg = {
        .ops = &ops, .arg = &p, .vcluster = 1, .backoff_min_ms = 100, .backoff_max_ms = 1000};
    struct event *tick, *sig_term, *sig_int;
    struct timeval tv = {.tv_sec = 0, .tv_usec = 20000};

    if (argc >= 2 && strcmp(argv[1], "raw") == 0)
        return probe_raw(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "inject") == 0)
        return probe_inject(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "crypto-check") == 0)
        return crypto_check(argc >= 3 && strcmp(argv[2], "allow") == 0);
    if (argc < 3 || (strcmp(argv[1], "send") != 0 && strcmp(argv[1], "recv") != 0) ||
        (strcmp(argv[1], "send") == 0 && argc < 5)) {
        fprintf(stderr, "usage: hasync_probe recv GROUP | send GROUP COUNT LATENCY_COUNT "
                        "[WINDOW [inline]] | raw GROUP COUNT SIZE | inject GROUP | "
                        "crypto-check [allow]\n");
        return 2;
    }
    p.sender = strcmp(argv[1], "send") == 0;
    if (p.sender) {
        p.count = (uint32_t)strtoul(argv[3], NULL, 10);
        p.lat_count = (uint32_t)strtoul(argv[4], NULL, 10);
        p.window = argc >= 6 ? (uint32_t)strtoul(argv[5], NULL, 10) : 256;
        p.inline_send = argc >= 7 && strcmp(argv[6], "inline") == 0;
        if (p.count == 0 || p.lat_count == 0 || p.window == 0) {
            fprintf(stderr, "COUNT, LATENCY_COUNT and WINDOW must be > 0\n");
            return 2;
        }
        p.rtt_us = calloc(p.lat_count, sizeof(double));
    }
    p.next_idx = 1;
    cfg.group = argv[2];
    p.base = event_base_new();
    p.hc = hasync_cpg_new(p.base, &cfg);
    if (!p.base || !p.hc || (p.sender && !p.rtt_us)) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    /* 20 ms tick: starts sending once a peer is there and reports receive
     * progress. */
    p.ev_pump = event_new(p.base, -1, 0, on_pump, &p);
    tick = event_new(p.base, -1, EV_PERSIST, on_tick, &p);
    event_add(tick, &tv);
    sig_term = evsignal_new(p.base, SIGTERM, on_signal, p.base);
    sig_int = evsignal_new(p.base, SIGINT, on_signal, p.base);
    event_add(sig_term, NULL);
    event_add(sig_int, NULL);
    event_base_dispatch(p.base);
    say("EXIT");
    event_free(tick);
    event_free(p.ev_pump);
    event_free(sig_term);
    event_free(sig_int);
    hasync_cpg_free(p.hc);
    event_base_free(p.base);
    free(p.rtt_us);
    free(p.sent_at);
    return 0;
}
