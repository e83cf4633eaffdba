/*
 * hasync_cpg over an in-process CPG bus (fake_cpg.h): two channels on one
 * event_base. A message keeps the virtual cluster its sender set (one
 * group carries every vcluster), an untagged one gets the channel's; the
 * write-ahead callback fires only once the other member delivered it; a
 * CS_ERR_TRY_AGAIN is retried from the loop without losing order; what is
 * queued in one loop turn goes out as batches (one CPG message each, more
 * than libcpg's 64 iovecs, at most 64 KiB), and a malformed batch is
 * dropped and counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "fake_cpg.h"
#include "hasync_cpg.h"

#define MAX_RX 2100

struct node {
    struct hasync_cpg *hc;
    size_t n_members;
    struct {
        Hasync__Envelope__BodyCase body;
        uint32_t vcluster, send_next;
        uint64_t seq;
    } rx[MAX_RX];
    size_t n_rx;
    uint64_t acked[MAX_RX];
    size_t n_acked;
};

static void on_deliver(void *arg, const Hasync__Envelope *env)
{
    struct node *n = arg;
    assert_true(n->n_rx < MAX_RX);
    n->rx[n->n_rx].body = env->body_case;
    n->rx[n->n_rx].vcluster = env->has_vcluster ? env->vcluster : 0;
    n->rx[n->n_rx].seq = env->seq;
    n->rx[n->n_rx].send_next =
        env->body_case == HASYNC__ENVELOPE__BODY_MSGID_UPDATE ? env->msgid_update->send_next : 0;
    n->n_rx++;
}

static void on_membership(void *arg, const struct hasync_member *members, size_t n,
                          const struct hasync_member *left, size_t n_left,
                          const struct hasync_member *joined, size_t n_joined)
{
    (void)members, (void)left, (void)n_left, (void)joined, (void)n_joined;
    ((struct node *)arg)->n_members = n;
}

static void on_acked(void *arg, uint64_t seq)
{
    struct node *n = arg;
    assert_true(n->n_acked < MAX_RX);
    n->acked[n->n_acked++] = seq;
}

static const struct hasync_cpg_ops ops = {.deliver = on_deliver, .membership = on_membership};

static void run_ms(struct event_base *base, unsigned ms)
{
    struct timeval tv = {0, (suseconds_t)ms * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

static void run_until(struct event_base *base, bool (*pred)(struct node *, struct node *),
                      struct node *a, struct node *b)
{
    for (int i = 0; i < 200 && !pred(a, b); i++)
        run_ms(base, 5);
    assert_true(pred(a, b));
}

static bool both_joined(struct node *a, struct node *b)
{
    return hasync_cpg_peer_count(a->hc) == 1 && hasync_cpg_peer_count(b->hc) == 1;
}

static bool b_has_2(struct node *a, struct node *b)
{
    (void)a;
    return b->n_rx >= 2;
}

static bool a_acked_2(struct node *a, struct node *b)
{
    (void)b;
    return a->n_acked >= 2;
}

static bool b_has_5(struct node *a, struct node *b)
{
    (void)a;
    return b->n_rx >= 5;
}

static int send_msgid(struct node *from, uint32_t send_next, bool tag, uint32_t vcluster,
                      hasync_acked_fn cb)
{
    static const uint8_t spi[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    Hasync__MsgidUpdate mu = HASYNC__MSGID_UPDATE__INIT;
    mu.has_spi_i = mu.has_spi_r = mu.has_send_next = mu.has_recv_next = true;
    mu.spi_i = (ProtobufCBinaryData){8, (uint8_t *)(uintptr_t)spi};
    mu.spi_r = mu.spi_i;
    mu.send_next = send_next;
    Hasync__Envelope env = HASYNC__ENVELOPE__INIT;
    env.body_case = HASYNC__ENVELOPE__BODY_MSGID_UPDATE;
    env.msgid_update = &mu;
    env.has_vcluster = tag;
    env.vcluster = vcluster;
    return hasync_send(from->hc, &env, cb, from, NULL);
}

static void test_vcluster_ack_order(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    struct node a = {0}, b = {0};
    struct hasync_cpg_cfg ca = {.group = "t", .vcluster = 1, .ops = &ops, .arg = &a};
    struct hasync_cpg_cfg cb = {.group = "t", .vcluster = 2, .ops = &ops, .arg = &b};
    a.hc = hasync_cpg_new(base, &ca);
    assert_non_null(a.hc);
    for (int i = 0; i < 100 && !a.n_members; i++)
        run_ms(base, 2);
    assert_true(hasync_cpg_connected(a.hc));
    assert_int_equal(hasync_cpg_peer_count(a.hc), 0);
    /* alone: acknowledged before hasync_send returns */
    assert_int_equal(send_msgid(&a, 1, false, 0, on_acked), 0);
    assert_int_equal(a.n_acked, 1);
    assert_int_equal(hasync_cpg_pending_acks(a.hc), 0);
    a.n_acked = 0;
    b.hc = hasync_cpg_new(base, &cb);
    assert_non_null(b.hc);
    run_until(base, both_joined, &a, &b);
    b.n_rx = 0;

    /* B's deliveries held: no ack yet; tagged message keeps vcluster 7 */
    uint32_t node_b = hasync_cpg_local_node(b.hc);
    fcpg_pause(node_b, true);
    assert_int_equal(send_msgid(&a, 10, true, 7, on_acked), 0);
    assert_int_equal(send_msgid(&a, 11, false, 0, on_acked), 0);
    run_ms(base, 20);
    assert_int_equal(b.n_rx, 0);
    assert_int_equal(a.n_acked, 0);
    assert_int_equal(hasync_cpg_pending_acks(a.hc), 2);
    fcpg_pause(node_b, false);
    run_until(base, b_has_2, &a, &b);
    assert_int_equal(b.rx[0].vcluster, 7);
    assert_int_equal(b.rx[0].send_next, 10);
    assert_int_equal(b.rx[1].vcluster, 1); /* untagged: A's channel vcluster */
    assert_int_equal(b.rx[1].send_next, 11);
    assert_int_equal(b.rx[1].seq, b.rx[0].seq + 1);
    run_until(base, a_acked_2, &a, &b);
    assert_int_equal(a.acked[0] + 1, a.acked[1]); /* in sequence order */
    assert_int_equal(a.acked[0], b.rx[0].seq);

    /* CS_ERR_TRY_AGAIN twice: retried from the timer, order kept */
    fcpg.try_again = 2;
    assert_int_equal(send_msgid(&a, 12, true, 3, NULL), 0);
    assert_int_equal(send_msgid(&a, 13, true, 4, NULL), 0);
    assert_int_equal(send_msgid(&a, 14, false, 0, NULL), 0);
    run_until(base, b_has_5, &a, &b);
    assert_int_equal(b.rx[2].send_next, 12);
    assert_int_equal(b.rx[2].vcluster, 3);
    assert_int_equal(b.rx[3].vcluster, 4);
    assert_int_equal(b.rx[4].vcluster, 1);
    assert_true(hasync_cpg_get_stats(a.hc)->try_again >= 2);

    hasync_cpg_free(a.hc);
    hasync_cpg_free(b.hc);
    fcpg_wire_clear();
    event_base_free(base);
}

static bool b_has_70(struct node *a, struct node *b)
{
    return b->n_rx >= 70 && a->n_acked >= 70;
}

static bool b_has_71(struct node *a, struct node *b)
{
    (void)a;
    return b->n_rx >= 71;
}

/* The index fake_cpg gave node's handle (to multicast crafted bytes as it). */
static cpg_handle_t handle_of(uint32_t node)
{
    struct fcpg_handle *f = fcpg_by_node(node);
    assert_non_null(f);
    return (cpg_handle_t)(f - fcpg.h) + 1;
}

/* ~40 octets each: over 64 KiB in one loop turn */
#define N_BIG 2000

static bool b_has_big(struct node *a, struct node *b)
{
    (void)a;
    return b->n_rx >= N_BIG;
}

static bool a_acked_big(struct node *a, struct node *b)
{
    (void)b;
    return a->n_acked >= N_BIG;
}

static void test_batching(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    struct node a = {0}, b = {0};
    struct hasync_cpg_cfg ca = {.group = "t", .vcluster = 1, .ops = &ops, .arg = &a};
    struct hasync_cpg_cfg cb = {.group = "t", .vcluster = 1, .ops = &ops, .arg = &b};
    a.hc = hasync_cpg_new(base, &ca);
    b.hc = hasync_cpg_new(base, &cb);
    assert_non_null(a.hc);
    assert_non_null(b.hc);
    run_until(base, both_joined, &a, &b);
    run_ms(base, 5);
    b.n_rx = 0;
    fcpg_wire_clear();

    /* 70 sends in one loop turn: nothing reaches corosync before the loop
     * runs, then 1 CPG message (a batch used to stop at 62: one iovec per
     * envelope, and libcpg takes 64 iovecs at most) */
    for (uint32_t i = 0; i < 70; i++)
        assert_int_equal(send_msgid(&a, 100 + i, false, 0, on_acked), 0);
    assert_int_equal(fcpg.n_wire, 0);
    assert_int_equal(a.n_acked, 0);
    run_until(base, b_has_70, &a, &b);
    uint32_t node_a = hasync_cpg_local_node(a.hc);
    size_t from_a = 0;
    for (size_t i = 0; i < fcpg.n_wire; i++)
        if (fcpg.wire[i].from == node_a) {
            assert_int_equal(fcpg.wire[i].data[0], 0); /* the batch magic */
            from_a++;
        }
    assert_int_equal(from_a, 1);
    assert_int_equal(hasync_cpg_get_stats(a.hc)->mcasts, 1);
    for (size_t i = 0; i < 70; i++) {
        assert_int_equal(b.rx[i].send_next, 100 + i);
        assert_int_equal(b.rx[i].seq, b.rx[0].seq + i);
        assert_int_equal(a.acked[i], b.rx[i].seq); /* each acked, in order */
    }
    /* B acked once per delivery batch, not per message */
    assert_true(hasync_cpg_get_stats(b.hc)->acks_sent <= 4);

    /* malformed frames from A's node: a length beyond the end, a truncated
     * length; dropped as malformed, nothing delivered, the stream goes on */
    static const uint8_t bad1[] = {0x00, 'H', 'S', 'B', 0x00, 0x01, 0x00, 0x00, 0x08, 0x01};
    static const uint8_t bad2[] = {0x00, 'H', 'S', 'B', 0x00, 0x00};
    uint64_t malformed = hasync_cpg_get_stats(b.hc)->drops[HASYNC_DROP_MALFORMED];
    struct iovec iov = {.iov_base = (void *)(uintptr_t)bad1, .iov_len = sizeof(bad1)};
    assert_int_equal(cpg_mcast_joined(handle_of(node_a), CPG_TYPE_AGREED, &iov, 1), CS_OK);
    iov = (struct iovec){.iov_base = (void *)(uintptr_t)bad2, .iov_len = sizeof(bad2)};
    assert_int_equal(cpg_mcast_joined(handle_of(node_a), CPG_TYPE_AGREED, &iov, 1), CS_OK);
    assert_int_equal(send_msgid(&a, 170, false, 0, NULL), 0);
    run_until(base, b_has_71, &a, &b);
    assert_int_equal(b.n_rx, 71);
    assert_int_equal(b.rx[70].send_next, 170);
    assert_int_equal(hasync_cpg_get_stats(b.hc)->drops[HASYNC_DROP_MALFORMED], malformed + 2);

    /* more than 64 KiB in one loop turn: several frames, none over 64 KiB,
     * everything delivered in order */
    fcpg_wire_clear();
    b.n_rx = 0;
    a.n_acked = 0;
    for (uint32_t i = 0; i < N_BIG; i++)
        assert_int_equal(send_msgid(&a, 1000 + i, false, 0, on_acked), 0);
    run_until(base, b_has_big, &a, &b);
    from_a = 0;
    for (size_t i = 0; i < fcpg.n_wire; i++)
        if (fcpg.wire[i].from == node_a) {
            assert_true(fcpg.wire[i].len <= 64 * 1024);
            from_a++;
        }
    assert_true(from_a >= 2);
    assert_true(from_a <= 4);
    for (size_t i = 0; i < N_BIG; i++)
        assert_int_equal(b.rx[i].send_next, 1000 + i);
    run_until(base, a_acked_big, &a, &b);

    hasync_cpg_free(a.hc);
    hasync_cpg_free(b.hc);
    fcpg_wire_clear();
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vcluster_ack_order),
        cmocka_unit_test(test_batching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
