/*
 * The ESP-in-UDP fast path (NAT-T, RFC 3948) of the userspace data plane:
 *
 * - esp_batch_flush() over real loopback UDP sockets: packets to two
 *   destinations leave in one sendmmsg per socket, in order per
 *   destination, with the right lengths; UDP GSO runs (equal sizes, a
 *   shorter last one, the 64 KiB limit) arrive as the same datagrams; a
 *   kernel refusing GSO (no UDP checksum, a path MTU below the segment
 *   size) turns it off for that path only (bounded table, retried after
 *   a while) and nothing is lost; a dead socket drops only its
 *   own packets;
 * - net.c's recvmmsg on port 4500 (private network namespace; skipped
 *   without root): ESP, IKE behind the non-ESP marker and keepalives of
 *   one batch reach their handlers in order, the ESP run ended before the
 *   IKE message and at the batch's end, counters by kind;
 * - the backend with the daemon's batched hooks: packets read from the
 *   TUN leave as ESP-in-UDP through the 4500 socket udp_path names, and
 *   the owner's counters hear of every datagram.
 */
#include "dtest_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

#include <ike/const.h>

#include "esp/esp_batch.h"
#include "esp/esp_sa.h"
#include "esp/esp_tun.h"
#include "net.h"

/* ---- esp_batch over loopback ---------------------------------------------- */

static int udp_sock_at(const char *addr, struct ike_addr *bound)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    int sz = 1 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    struct sockaddr_in sin = {.sin_family = AF_INET};
    inet_pton(AF_INET, addr, &sin.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    socklen_t sl = sizeof(sin);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
    if (bound) {
        *bound = (struct ike_addr){.family = IKE_AF_INET, .port = ntohs(sin.sin_port)};
        memcpy(bound->addr, &sin.sin_addr, 4);
    }
    return fd;
}

static int udp_sock(struct ike_addr *bound)
{
    return udp_sock_at("127.0.0.1", bound);
}

/* A sending socket the kernel will not segment for: GSO needs the UDP
 * checksum, SO_NO_CHECK turns it off (EINVAL on a GSO send). */
static int udp_sock_nocheck(void)
{
    int fd = udp_sock(NULL), one = 1;
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one)), 0);
    return fd;
}

struct verdicts {
    size_t n, sent, failed;
    uintptr_t tag[ESP_BATCH];
    size_t octets[ESP_BATCH];
    int err[ESP_BATCH];
};

static void on_done(void *arg, void *tag, void *aux, size_t octets, int err)
{
    struct verdicts *v = arg;
    assert_ptr_equal(aux, (void *)v);
    assert_true(v->n < ESP_BATCH);
    v->tag[v->n] = (uintptr_t)tag;
    v->octets[v->n] = octets;
    v->err[v->n++] = err;
    if (err)
        v->failed++;
    else
        v->sent++;
}

/* Packet number id of len octets in slot b->n: its first octets say who it is. */
static void queue(struct esp_batch *b, int fd, const struct ike_addr *to, unsigned id, size_t len,
                  struct verdicts *v)
{
    uint8_t *p = b->buf[b->n];
    memset(p, 0xab, len);
    p[0] = (uint8_t)id;
    p[1] = (uint8_t)(len >> 8);
    p[2] = (uint8_t)len;
    esp_batch_queue(b, fd, true, p, len, NULL, to, (void *)(uintptr_t)id, v);
}

/* The next datagram on fd (waits up to 1 s): its length, its id in *id. */
static ssize_t next_dgram(int fd, unsigned *id)
{
    static uint8_t buf[70000];
    for (int i = 0; i < 1000; i++) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n >= 0) {
            *id = buf[0];
            assert_true(n >= 3);
            assert_int_equal((size_t)n, (size_t)buf[1] << 8 | buf[2]); /* whole, as queued */
            return n;
        }
        assert_int_equal(errno, EAGAIN);
        usleep(1000);
    }
    return -1;
}

static void expect(int fd, const unsigned *ids, const size_t *lens, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned id = 0;
        assert_int_equal(next_dgram(fd, &id), (ssize_t)lens[i]);
        assert_int_equal(id, ids[i]);
    }
    uint8_t extra[16];
    assert_int_equal(recv(fd, extra, sizeof(extra), 0), -1); /* nothing more */
}

static struct esp_batch *new_batch(bool gso)
{
    struct esp_batch *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    esp_batch_init(b, gso);
    return b;
}

/* Interleaved packets to A and B, without GSO: one sendmmsg, one datagram
 * each, in order per destination. */
static void test_two_destinations(void **state)
{
    (void)state;
    struct ike_addr a, b_addr;
    int s = udp_sock(NULL), ra = udp_sock(&a), rb = udp_sock(&b_addr);
    struct esp_batch *b = new_batch(false);
    struct verdicts v = {0};
    for (unsigned i = 0; i < 6; i++)
        queue(b, s, i % 2 ? &b_addr : &a, i, 100 + i, &v);
    esp_batch_flush(b, on_done, &v);
    assert_int_equal(b->n, 0);
    assert_int_equal(b->sendmmsg_calls, 1);
    assert_int_equal(b->gso_msgs, 0);
    assert_int_equal(v.sent, 6);
    for (unsigned i = 0; i < 6; i++) { /* the verdicts in queue order */
        assert_int_equal(v.tag[i], i);
        assert_int_equal(v.octets[i], 100 + i);
    }
    expect(ra, (unsigned[]){0, 2, 4}, (size_t[]){100, 102, 104}, 3);
    expect(rb, (unsigned[]){1, 3, 5}, (size_t[]){101, 103, 105}, 3);
    free(b);
    close(s), close(ra), close(rb);
}

/* With GSO: A's run of five 300s ends with a 120 (a shorter segment is
 * the last), two more 300s make a second run; B's three 300s one run,
 * though interleaved with A's: three messages, one sendmmsg, and the
 * receivers see every datagram as queued, in order. */
static void test_gso_runs(void **state)
{
    (void)state;
    struct ike_addr a, b_addr;
    int s = udp_sock(NULL), ra = udp_sock(&a), rb = udp_sock(&b_addr);
    struct esp_batch *b = new_batch(true);
    struct verdicts v = {0};
    const struct {
        bool to_b;
        size_t len;
    } q[] = {{0, 300}, {1, 300}, {0, 300}, {1, 300}, {0, 300}, {1, 300},
             {0, 300}, {0, 300}, {0, 120}, {0, 300}, {0, 300}};
    for (unsigned i = 0; i < sizeof(q) / sizeof(q[0]); i++)
        queue(b, s, q[i].to_b ? &b_addr : &a, i, q[i].len, &v);
    esp_batch_flush(b, on_done, &v);
    assert_true(b->gso); /* loopback takes it */
    assert_int_equal(b->gso_refused, 0);
    assert_int_equal(b->sendmmsg_calls, 1);
    assert_int_equal(b->gso_msgs, 3);
    assert_int_equal(v.sent, 11);
    assert_int_equal(v.failed, 0);
    expect(ra, (unsigned[]){0, 2, 4, 6, 7, 8, 9, 10},
           (size_t[]){300, 300, 300, 300, 300, 120, 300, 300}, 8);
    expect(rb, (unsigned[]){1, 3, 5}, (size_t[]){300, 300, 300}, 3);
    free(b);
    close(s), close(ra), close(rb);
}

/* A full batch of 1400-octet packets to one peer: more than a UDP
 * datagram can carry, so two GSO messages (46 + 18), still one call. */
static void test_gso_size_limit(void **state)
{
    (void)state;
    struct ike_addr a;
    int s = udp_sock(NULL), ra = udp_sock(&a);
    struct esp_batch *b = new_batch(true);
    struct verdicts v = {0};
    unsigned ids[ESP_BATCH];
    size_t lens[ESP_BATCH];
    for (unsigned i = 0; i < ESP_BATCH; i++) {
        queue(b, s, &a, i, 1400, &v);
        ids[i] = i;
        lens[i] = 1400;
    }
    esp_batch_flush(b, on_done, &v);
    assert_int_equal(b->sendmmsg_calls, 1);
    assert_int_equal(b->gso_msgs, 2);
    assert_true(ESP_BATCH_GSO_MAX / 1400 == 46);
    assert_int_equal(v.sent, ESP_BATCH);
    expect(ra, ids, lens, ESP_BATCH);
    free(b);
    close(s), close(ra);
}

/* A socket the kernel will not segment for (SO_NO_CHECK: GSO needs the
 * UDP checksum, EINVAL): GSO goes off for that path, counted once, and
 * the run leaves as single datagrams; the next flush does not try it
 * again there, while the batch as a whole keeps GSO. */
static void test_gso_refused(void **state)
{
    (void)state;
    struct ike_addr a;
    int s = udp_sock_nocheck(), ra = udp_sock(&a);
    struct esp_batch *b = new_batch(true);
    struct verdicts v = {0};
    for (unsigned i = 0; i < 4; i++)
        queue(b, s, &a, i, 200, &v);
    esp_batch_flush(b, on_done, &v);
    assert_true(b->gso);
    assert_true(esp_batch_gso_path_off(b, s, NULL, &a));
    assert_int_equal(esp_batch_gso_paths_off(b), 1);
    assert_int_equal(b->gso_refused, 1);
    assert_int_equal(b->gso_msgs, 0);
    assert_int_equal(v.sent, 4);
    assert_int_equal(v.failed, 0);
    expect(ra, (unsigned[]){0, 1, 2, 3}, (size_t[]){200, 200, 200, 200}, 4);
    uint64_t calls = b->sendmmsg_calls;
    for (unsigned i = 0; i < 3; i++)
        queue(b, s, &a, 10 + i, 200, &v);
    esp_batch_flush(b, on_done, &v);
    assert_int_equal(b->gso_refused, 1);
    assert_int_equal(b->sendmmsg_calls, calls + 1);
    expect(ra, (unsigned[]){10, 11, 12}, (size_t[]){200, 200, 200}, 3);
    free(b);
    close(s), close(ra);
}

/* Two sending sockets in one batch: one sendmmsg each; a socket that is
 * gone drops only its own packets, with the error. */
static void test_two_sockets_one_dead(void **state)
{
    (void)state;
    struct ike_addr a;
    int s1 = udp_sock(NULL), s2 = udp_sock(NULL), ra = udp_sock(&a);
    int dead = udp_sock(NULL);
    close(dead);
    struct esp_batch *b = new_batch(true);
    struct verdicts v = {0};
    queue(b, s1, &a, 0, 500, &v);
    queue(b, s2, &a, 1, 400, &v);
    queue(b, dead, &a, 2, 500, &v);
    queue(b, s1, &a, 3, 500, &v);
    queue(b, s2, &a, 4, 400, &v);
    esp_batch_flush(b, on_done, &v);
    assert_int_equal(b->sendmmsg_calls, 3);
    assert_int_equal(b->gso_msgs, 2); /* s1's pair and s2's pair */
    assert_int_equal(v.sent, 4);
    assert_int_equal(v.failed, 1);
    /* verdicts: s1's packets, then s2's, then the dead socket's */
    assert_int_equal(v.tag[0], 0);
    assert_int_equal(v.tag[1], 3);
    assert_int_equal(v.tag[2], 1);
    assert_int_equal(v.tag[3], 4);
    assert_int_equal(v.tag[4], 2);
    assert_int_equal(v.err[4], -EBADF);
    expect(ra, (unsigned[]){0, 3, 1, 4}, (size_t[]){500, 500, 400, 400}, 4);
    free(b);
    close(s1), close(s2), close(ra);
}

/* ---- net.c: one recvmmsg batch on 4500 with ESP, IKE and keepalives ----- */

struct rx_log {
    char ev[32]; /* 'E' ESP, 'I' IKE, 'F' ESP run ended */
    size_t n;
    size_t len[32];
    uint8_t first[32];
};

static void log_ev(struct rx_log *l, char what, const uint8_t *data, size_t len)
{
    assert_true(l->n < sizeof(l->ev) - 1);
    l->len[l->n] = len;
    l->first[l->n] = data ? data[len - 1] : 0;
    l->ev[l->n++] = what;
}

static void rx_ike(void *arg, const uint8_t *data, size_t len, const struct ike_addr *local,
                   const struct ike_addr *remote)
{
    (void)local, (void)remote;
    log_ev(arg, 'I', data, len);
}

static void rx_esp(void *arg, const uint8_t *data, size_t len, const struct ike_addr *local,
                   const struct ike_addr *remote)
{
    (void)remote;
    assert_int_equal(local->port, IKE_PORT_NATT);
    log_ev(arg, 'E', data, len);
}

static void rx_done(void *arg)
{
    log_ev(arg, 'F', NULL, 0);
}

static bool got_all(void *arg)
{
    const struct rx_log *l = arg;
    return l->n > 0 && l->ev[l->n - 1] == 'F' && strchr(l->ev, 'I') && strrchr(l->ev, 'E') >
           strchr(l->ev, 'I');
}

static void test_net_mixed_batch(void **state)
{
    (void)state;
    if (dtest_private_netns() < 0)
        skip();
    struct event_base *base = event_base_new();
    struct rx_log log = {0};
    struct net_handlers h = {rx_ike, rx_esp, NULL, &log, rx_done};
    struct net net;
    net_init(&net, base, &h, NULL);
    struct ike_addr lo = {.family = IKE_AF_INET, .addr = {127, 0, 0, 1}};
    char err[200];
    assert_int_equal(net_listen(&net, &lo, err, sizeof(err)), 0);
    /* all five wait in the socket before the loop runs: one batch */
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(IKE_PORT_NATT)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    uint8_t esp1[60] = {0, 0, 0x10, 1}, esp2[80] = {0, 0, 0x10, 2}, esp3[70] = {0, 0, 0x10, 3};
    uint8_t ike[4 + 28] = {0};  /* marker, then an IKE header's worth */
    uint8_t ka = 0xff;
    esp1[59] = 1, esp2[79] = 2, esp3[69] = 3, ike[31] = 9;
    const struct {
        const void *p;
        size_t len;
    } seq[] = {{esp1, sizeof(esp1)}, {esp2, sizeof(esp2)}, {ike, sizeof(ike)},
               {&ka, 1}, {esp3, sizeof(esp3)}};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(sendto(c, seq[i].p, seq[i].len, 0, (struct sockaddr *)&to, sizeof(to)),
                         (ssize_t)seq[i].len);
    assert_true(dtest_run_until(base, got_all, &log, 2000));
    /* ESP, ESP, run ended, IKE (marker stripped), ESP, run ended */
    log.ev[log.n] = 0;
    assert_string_equal(log.ev, "EEFIEF");
    assert_int_equal(log.len[0], 60);
    assert_int_equal(log.first[0], 1);
    assert_int_equal(log.len[1], 80);
    assert_int_equal(log.first[1], 2);
    assert_int_equal(log.len[3], 28);
    assert_int_equal(log.first[3], 9);
    assert_int_equal(log.len[4], 70);
    assert_int_equal(log.first[4], 3);
    assert_int_equal(net.ctr.dgrams_in, 5);
    assert_int_equal(net.ctr.esp_in, 3);
    assert_int_equal(net.ctr.ike_in, 1);
    assert_int_equal(net.ctr.keepalives_in, 1);
    assert_int_equal(net.ctr.bytes_in, 60 + 80 + 32 + 1 + 70);

    /* the data plane's side of the send path: the socket net_send_esp
     * would use, and the counters of batched sends */
    bool pktinfo = true;
    struct ike_addr natt = lo;
    natt.port = IKE_PORT_NATT;
    int fd = net_esp_sock(&net, &natt, &pktinfo);
    assert_true(fd >= 0);
    assert_false(pktinfo); /* bound to that very address */
    net_esp_sent(&net, 1400, 0);
    net_esp_sent(&net, 1400, -EAGAIN);
    assert_int_equal(net.ctr.esp_out, 1);
    assert_int_equal(net.ctr.dgrams_out, 1);
    assert_int_equal(net.ctr.bytes_out, 1400);
    assert_int_equal(net.ctr.send_errors, 1);
    struct ike_addr other = natt;
    other.addr[3] = 7;
    assert_int_equal(net_esp_sock(&net, &other, &pktinfo), -EADDRNOTAVAIL);
    assert_int_equal(net.ctr.send_errors, 2);
    close(c);
    net_close(&net);
    event_base_free(base);
}

/* A path whose MTU is smaller than the segments (a route with mtu 1000
 * in a private namespace): the kernel refuses the GSO send (EMSGSIZE, or
 * EINVAL on older kernels); GSO goes off for that destination only and
 * its packets still arrive, as single datagrams the kernel fragments,
 * while a peer on a normal path in the same batch (and in the next one)
 * keeps getting GSO runs. */
static void test_gso_refused_path_mtu(void **state)
{
    (void)state;
    if (dtest_private_netns() < 0)
        skip();
    assert_int_equal(system("ip route add local 127.0.0.99 dev lo mtu 1000 table local"), 0);
    struct ike_addr a, big;
    int s = udp_sock(NULL), ra = udp_sock_at("127.0.0.99", &a), rb = udp_sock(&big);
    struct esp_batch *b = new_batch(true);
    struct verdicts v = {0};
    /* the small path first: its refusal comes before the other's run */
    for (unsigned i = 0; i < 3; i++)
        queue(b, s, &a, i, 1400, &v);
    for (unsigned i = 0; i < 3; i++)
        queue(b, s, &big, 20 + i, 1400, &v);
    esp_batch_flush(b, on_done, &v);
    assert_true(b->gso);
    assert_int_equal(b->gso_refused, 1);
    assert_true(esp_batch_gso_path_off(b, s, NULL, &a));
    assert_false(esp_batch_gso_path_off(b, s, NULL, &big));
    assert_int_equal(b->gso_msgs, 1); /* the other peer's run */
    assert_int_equal(v.sent, 6);
    assert_int_equal(v.failed, 0);
    expect(ra, (unsigned[]){0, 1, 2}, (size_t[]){1400, 1400, 1400}, 3);
    expect(rb, (unsigned[]){20, 21, 22}, (size_t[]){1400, 1400, 1400}, 3);
    /* the next batch: no new refusal, the normal path still in one run */
    for (unsigned i = 0; i < 2; i++) {
        queue(b, s, &big, 30 + i, 1400, &v);
        queue(b, s, &a, 40 + i, 1400, &v);
    }
    esp_batch_flush(b, on_done, &v);
    assert_int_equal(b->gso_refused, 1);
    assert_int_equal(b->gso_msgs, 2);
    assert_int_equal(v.sent, 10);
    expect(ra, (unsigned[]){40, 41}, (size_t[]){1400, 1400}, 2);
    expect(rb, (unsigned[]){30, 31}, (size_t[]){1400, 1400}, 2);
    /* past the retry time the small path is tried again (and refused) */
    b->gso_retry_ms = 1;
    usleep(5000);
    assert_false(esp_batch_gso_path_off(b, s, NULL, &a));
    assert_int_equal(esp_batch_gso_paths_off(b), 0);
    for (unsigned i = 0; i < 2; i++)
        queue(b, s, &a, 50 + i, 1400, &v);
    esp_batch_flush(b, on_done, &v);
    assert_int_equal(b->gso_refused, 2);
    assert_int_equal(v.sent, 12);
    expect(ra, (unsigned[]){50, 51}, (size_t[]){1400, 1400}, 2);
    free(b);
    close(s), close(ra), close(rb);
}

/* More refused paths than the table holds (a socket that refuses GSO
 * everywhere, SO_NO_CHECK, to 320 destinations): the table stays bounded
 * (oldest entries of a full set evicted and counted), every flush ends,
 * nothing is lost. */
static void test_gso_refused_table_bounded(void **state)
{
    (void)state;
    struct ike_addr a;
    int s = udp_sock_nocheck(), ra = udp_sock(&a);
    struct esp_batch *b = new_batch(true);
    struct verdicts v = {0};
    const unsigned paths = 320, cap = ESP_BATCH_GSO_SETS * ESP_BATCH_GSO_WAYS;
    size_t sent = 0;
    for (unsigned p = 0; p < paths; p += ESP_BATCH / 2) {
        for (unsigned q = p; q < p + ESP_BATCH / 2; q++) {
            struct ike_addr to = a;
            to.port = (uint16_t)(40000 + q); /* nobody listens: sent all the same */
            queue(b, s, &to, q & 0xff, 100, &v);
            queue(b, s, &to, q & 0xff, 100, &v);
        }
        esp_batch_flush(b, on_done, &v);
        sent += ESP_BATCH;
        v.n = 0; /* verdicts: counted, the per-packet slots reused */
    }
    assert_int_equal(v.sent, sent);
    assert_int_equal(v.failed, 0);
    assert_int_equal(b->gso_msgs, 0);
    assert_true(b->gso_refused >= paths);
    assert_true(esp_batch_gso_paths_off(b) <= cap);
    assert_true(b->gso_evictions >= paths - cap);
    assert_int_equal(esp_batch_gso_paths_off(b) + b->gso_evictions, b->gso_refused);
    free(b);
    close(s), close(ra);
}

/* ---- the backend with the batched hooks ----------------------------------- */

struct path_ctx {
    int fd;
    unsigned paths;
    size_t sent, failed, octets;
};

static int path_of(void *arg, const struct dp_child *c, struct dp_udp_path *out)
{
    struct path_ctx *k = arg;
    assert_int_equal(c->remote.port, 4599);
    k->paths++;
    out->fd = k->fd;
    out->pktinfo = false;
    out->owner = k;
    return 0;
}

static void path_sent(void *arg, void *owner, size_t octets, int err)
{
    struct path_ctx *k = arg;
    assert_ptr_equal(owner, k);
    if (err) {
        k->failed++;
        return;
    }
    k->sent++;
    k->octets += octets;
}

static int no_send(void *arg, const struct dp_child *c, const uint8_t *data, size_t len)
{
    (void)arg, (void)c, (void)data, (void)len;
    fail_msg("udp_send used although udp_path is set");
    return -1;
}

static void export_child(struct ike_child_export *a)
{
    dtest_export_gcm(a, 128, 0xc1, 0xd1, 0x33, 0x44, dtest_net24(78, 0), dtest_net24(78, 1));
}

static bool all_arrived(void *arg)
{
    const struct path_ctx *k = arg;
    return k->sent + k->failed >= 5;
}

static void test_backend_udp_path(void **state)
{
    (void)state;
    struct dp dp;
    char err[256] = "";
    struct event_base *base = dtest_dp_open(&dp, "userspace", err, sizeof(err));
    /* the peer's 4500 socket: 127.0.0.1:4599 */
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(4599)};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    int rx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_int_equal(bind(rx, (struct sockaddr *)&sin, sizeof(sin)), 0);
    struct path_ctx k = {.fd = udp_sock(NULL)};
    dp.udp_send = no_send;
    dp.udp_send_arg = &k;
    dp.udp_path = path_of;
    dp.udp_sent = path_sent;
    struct ike_child_export ex;
    export_child(&ex);
    struct ike_addr l = {.family = IKE_AF_INET, .addr = {127, 0, 0, 1}, .port = 4500};
    struct ike_addr r = l;
    r.port = 4599;
    struct dp_child *a = dp_child_install(&dp, NULL, &ex, &l, &r, true, 0, err, sizeof(err));
    assert_non_null(a);
    char ifname[IFNAMSIZ];
    esp_tun_name("tunnel", ifname);
    /* address and route: 10.78.0.1 on the TUN, 10.78.1.0/24 through it */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    struct sockaddr_in *ia = (struct sockaddr_in *)(void *)&ifr.ifr_addr;
    ia->sin_family = AF_INET;
    inet_pton(AF_INET, "10.78.0.1", &ia->sin_addr);
    assert_int_equal(ioctl(s, SIOCSIFADDR, &ifr), 0);
    assert_int_equal(ioctl(s, SIOCGIFINDEX, &ifr), 0);
    struct ike_ts_export rem = dtest_net24(78, 1), loc = dtest_net24(78, 0);
    assert_true(esp_tun_routes(ifr.ifr_ifindex, true, &rem, 1, &loc, 1, err, sizeof(err)) >= 1);
    /* five datagrams into the TUN, sent before the loop reads it */
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(9)};
    inet_pton(AF_INET, "10.78.1.5", &dst.sin_addr);
    char msg[100];
    memset(msg, 'x', sizeof(msg));
    for (int i = 0; i < 5; i++)
        assert_int_equal(sendto(s, msg, sizeof(msg), 0, (struct sockaddr *)&dst, sizeof(dst)),
                         (ssize_t)sizeof(msg));
    close(s);
    assert_true(dtest_run_until(base, all_arrived, &k, 2000));
    assert_int_equal(k.paths, 5);
    assert_int_equal(k.sent, 5);
    assert_int_equal(k.failed, 0);
    /* each one ESP-in-UDP: SPI d1, sequence 1..5, in order */
    size_t total = 0;
    for (uint8_t seq = 1; seq <= 5; seq++) {
        uint8_t buf[2048];
        ssize_t n = -1;
        for (int t = 0; t < 1000 && n < 0; t++) {
            n = recv(rx, buf, sizeof(buf), 0);
            if (n < 0)
                usleep(1000);
        }
        assert_true(n > 8);
        assert_int_equal(esp_packet_spi(buf, (size_t)n), 0xd1);
        assert_int_equal(buf[7], seq);
        total += (size_t)n;
    }
    assert_int_equal(k.octets, total);
    assert_int_equal(dp_child_counters(&dp, a), 0);
    assert_int_equal(a->ctr.packets_out, 5);
    assert_int_equal(a->ctr.dropped_other, 0);
    /* what hactl shows of it: GSO on, no refusal; the gateway's TUN */
    struct dp_info info;
    dp_info(&dp, &info);
    assert_true(info.has_gso && info.gso);
    assert_int_equal(info.gso_refused, 0);
    assert_int_equal(info.gso_paths_off, 0);
    assert_int_equal(info.n_netns, 0);
    struct dp_gw_device dev;
    assert_true(dp_gateway_device(&dp, "tunnel", &dev)); /* an ownerless pair's gateway */
    assert_string_equal(dev.kind, "tun");
    assert_string_equal(dev.ifname, ifname);
    assert_int_equal(dev.ifindex, ifr.ifr_ifindex);
    assert_int_equal(dev.key, 0);
    assert_false(dp_gateway_device(&dp, "no-such-gateway", &dev));
    close(rx);
    close(k.fd);
    dp_close(&dp);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_destinations),
        cmocka_unit_test(test_gso_runs),
        cmocka_unit_test(test_gso_size_limit),
        cmocka_unit_test(test_gso_refused),
        cmocka_unit_test(test_two_sockets_one_dead),
        cmocka_unit_test(test_net_mixed_batch),
        cmocka_unit_test(test_gso_refused_path_mtu),
        cmocka_unit_test(test_gso_refused_table_bounded),
        cmocka_unit_test(test_backend_udp_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
