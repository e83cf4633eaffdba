/*
 * The kernel data plane against the running kernel's XFRM, inside a
 * private network namespace (XFRM state is per namespace): policies
 * shared by reference count across a rekey, a CHILD SA install that the
 * kernel refuses (the development hosts have no ESP) reported with the
 * SPI and the kernel's reason and leaving nothing behind, or, where the
 * kernel has ESP (user-mode-linux), installed, rekeyed (the new outbound
 * state deferred until the old pair goes) and removed completely; and
 * the IKE sockets of the kernel data plane with UDP_ENCAP on 4500.
 * Skipped (not failed) without root.
 */
#include "dtest_util.h"
#include "xf_test_util.h"

#include <arpa/inet.h>
#include <linux/udp.h>
#include <linux/xfrm.h>
#include <netinet/in.h>

#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/xfrm/sa.h>

#include <ike/const.h>

#include "esp/dp_xfrm.h"
#include "net.h"

/* The kernel holds exactly this many states and policies. */
static void assert_kernel(int states, int policies)
{
    int st, pol;
    xft_count_here(&st, &pol);
    assert_int_equal(st, states);
    assert_int_equal(pol, policies);
}

/* The kernel holds exactly this many policies (states not checked). */
static void assert_policies(int policies)
{
    int st, pol;
    xft_count_here(&st, &pol);
    assert_int_equal(pol, policies);
}

/* A kernel data plane in a private network namespace of this test (skips
 * the test without root), and a CHILD SA to install (export_gcm()'s, which
 * a test may change first). */
struct kdp {
    struct event_base *base;
    struct dp dp;
    char err[256];
    struct ike_child_export ex;
};

static void kdp_open(struct kdp *k)
{
    k->base = dtest_dp_open(&k->dp, "kernel", k->err, sizeof(k->err));
    export_gcm(&k->ex, 0xc1a0b0c1);
}

static void kdp_close(struct kdp *k)
{
    dp_close(&k->dp);
    event_base_free(k->base);
}

static void fake_child(struct dp_child *c, struct xf_child *x, uint32_t spi, size_t n_remote)
{
    memset(c, 0, sizeof(*c));
    memset(x, 0, sizeof(*x));
    c->local = wan(1);
    c->remote = wan(2);
    c->n_ts_local = 1;
    c->ts_local[0] = net25(0);
    c->n_ts_remote = n_remote;
    c->ts_remote[0] = net25(128);
    if (n_remote > 1) {
        c->ts_remote[1] = net25(128);
        c->ts_remote[1].start_addr[2] = c->ts_remote[1].end_addr[2] = 3;
    }
    c->spi_in = spi;
    c->backend = x;
    x->c = c;
    x->reqid = 5;
    x->in.spi = spi;
}

static void test_policies_shared(void **state)
{
    (void)state;
    struct kdp k;
    kdp_open(&k);
    struct dp *dp = &k.dp;
    struct dp_child c1, c2, c3;
    struct xf_child x1, x2, x3;
    fake_child(&c1, &x1, 0x101, 1);
    fake_child(&c2, &x2, 0x102, 1); /* a rekey: same tunnel and selectors */
    assert_int_equal(xf_policies_install(dp, &x1, k.err, sizeof(k.err)), 0);
    assert_policies(3); /* out, in, fwd */
    assert_int_equal(xf_policies_install(dp, &x2, k.err, sizeof(k.err)), 0);
    assert_policies(3);
    xf_policies_remove(dp, &x1); /* the old pair goes: the policies stay */
    assert_policies(3);
    xf_policies_remove(dp, &x2);
    assert_policies(0);

    fake_child(&c3, &x3, 0x103, 2); /* two remote subnets */
    assert_int_equal(xf_policies_install(dp, &x3, k.err, sizeof(k.err)), 0);
    assert_policies(6);
    assert_int_equal(x3.n_pols, 6);
    xf_policies_remove(dp, &x3);
    assert_policies(0);
    kdp_close(&k);
}

struct out_actions {
    int blocked, allowed;
};

static int count_out_action(struct nl_msg *msg, void *arg)
{
    struct out_actions *o = arg;
    struct nlmsghdr *h = nlmsg_hdr(msg);
    const struct xfrm_userpolicy_info *pi = nlmsg_data(h);
    if (h->nlmsg_type == XFRM_MSG_NEWPOLICY && pi->dir == XFRM_POLICY_OUT) {
        if (pi->action == XFRM_POLICY_BLOCK)
            o->blocked++;
        else
            o->allowed++;
    }
    return NL_OK;
}

/* The actions of the out policies in this namespace's kernel. */
static struct out_actions out_actions(void)
{
    struct out_actions o = {0};
    xft_policies(count_out_action, &o);
    return o;
}

#define ASSERT_OUT(b, a)                                                                           \
    do {                                                                                           \
        struct out_actions o_ = out_actions();                                                     \
        assert_int_equal(o_.blocked, (b));                                                         \
        assert_int_equal(o_.allowed, (a));                                                         \
    } while (0)

/* An HA standby's copy (dp_child.passive): its out policies block, so the
 * kernel never encrypts on it (its sequence numbers trail the master's);
 * the takeover opens them (set_passive), a release blocks them again; in
 * and fwd never change. Shared with a rekey's pair: one switch for both. */
static void test_policies_blocked_while_passive(void **state)
{
    (void)state;
    struct kdp k;
    kdp_open(&k);
    struct dp *dp = &k.dp;
    struct dp_child c1, c2;
    struct xf_child x1, x2;
    fake_child(&c1, &x1, 0x121, 2); /* two remote subnets: two out policies */
    c1.passive = true;
    assert_int_equal(xf_policies_install(dp, &x1, k.err, sizeof(k.err)), 0);
    assert_policies(6);
    ASSERT_OUT(2, 0);
    fake_child(&c2, &x2, 0x122, 2); /* the standby mirrors a rekey */
    c2.passive = true;
    assert_int_equal(xf_policies_install(dp, &x2, k.err, sizeof(k.err)), 0);
    assert_policies(6);
    ASSERT_OUT(2, 0);
    assert_int_equal(dp->ops->set_passive(dp, &c1, false), 0); /* takeover */
    ASSERT_OUT(0, 2);
    assert_int_equal(dp->ops->set_passive(dp, &c2, false), 0); /* shared: no change */
    ASSERT_OUT(0, 2);
    assert_int_equal(dp->ops->set_passive(dp, &c1, true), 0); /* release */
    ASSERT_OUT(2, 0);
    assert_policies(6);
    xf_policies_remove(dp, &x1);
    xf_policies_remove(dp, &x2);
    assert_policies(0);
    /* a master's own pair: open from the start */
    fake_child(&c1, &x1, 0x123, 1);
    assert_int_equal(xf_policies_install(dp, &x1, k.err, sizeof(k.err)), 0);
    ASSERT_OUT(0, 1);
    xf_policies_remove(dp, &x1);
    kdp_close(&k);
}

static void test_install(void **state)
{
    (void)state;
    struct kdp k;
    kdp_open(&k);
    struct ike_addr l = wan(1), r = wan(2);
    l.port = r.port = 4500;
    struct dp_child *c =
        dp_child_install(&k.dp, NULL, &k.ex, &l, &r, true, 0, k.err, sizeof(k.err));
    int st, pol;
    xft_count_here(&st, &pol);
    if (!c) {
        /* no ESP in this kernel: refused, said so with the SPI, nothing left */
        assert_non_null(strstr(k.err, "c1a0b0c1"));
        assert_non_null(strstr(k.err, "kernel refused"));
        assert_int_equal(k.dp.install_failures, 1);
        assert_int_equal(st, 0);
        assert_int_equal(pol, 0);
        print_message("kernel without ESP: %s\n", k.err);
    } else {
        assert_int_equal(st, 2);
        assert_int_equal(pol, 3);
        assert_int_equal(dp_child_counters(&k.dp, c), 0);
        assert_int_equal(c->ctr.packets_in, 0);
        assert_int_equal(k.dp.ops->set_seq(&k.dp, c, 1000, 0), 0);
        assert_int_equal(dp_child_counters(&k.dp, c), 0);
        assert_int_equal(c->ctr.seq_out, 1000); /* read back from the kernel */
        /* a rekey: the new pair's outbound state waits for the old to go */
        struct ike_child_export ex2 = k.ex;
        ex2.spi_in = 0xc1a0b0c3;
        ex2.spi_out = 0xc1a0b0c4;
        ex2.replaces_spi_in = k.ex.spi_in;
        struct dp_child *c2 =
            dp_child_install(&k.dp, NULL, &ex2, &l, &r, true, 0, k.err, sizeof(k.err));
        assert_non_null(c2);
        assert_kernel(3, 3); /* shared */
        dp_child_delete(&k.dp, c);
        assert_kernel(2, 3); /* the new outbound state came in before the old went */
        assert_int_equal(dp_child_counters(&k.dp, c2), 0);
        dp_child_delete(&k.dp, c2);
        assert_kernel(0, 0);
    }
    kdp_close(&k);
}

/* A killed haiked's states stay in the kernel; its restarted successor
 * installs the same pair again (an HA standby mirrors it from the master,
 * same SPIs and keys): the leftovers are replaced, not refused with
 * EEXIST. A state of another SA under those SPIs stays, and so does the
 * refusal. Needs ESP in the kernel (UML): skipped without. */
static void test_leftover_replaced(void **state)
{
    (void)state;
    struct kdp k, k2;
    kdp_open(&k);
    struct ike_addr l = wan(1), r = wan(2);
    struct dp_child *c =
        dp_child_install(&k.dp, NULL, &k.ex, &l, &r, false, 0, k.err, sizeof(k.err));
    if (!c) {
        kdp_close(&k);
        assert_kernel(0, 0);
        skip(); /* no ESP here */
    }
    assert_int_equal(k.dp.ops->set_seq(&k.dp, c, 77, 0), 0);
    /* the successor: a second backend in this namespace; k's pair stays
     * behind as a killed process leaves it */
    kdp_open(&k2);
    const struct xf_priv *p2 = k2.dp.priv;
    struct ike_child_export other = k2.ex;
    other.encr_in.data[0] ^= 1;
    other.encr_out.data[0] ^= 1;
    assert_null(dp_child_install(&k2.dp, NULL, &other, &l, &r, false, 0, k2.err, sizeof(k2.err)));
    assert_non_null(strstr(k2.err, "File exists"));
    assert_int_equal(p2->leftovers_replaced, 0);
    assert_kernel(2, 3);
    assert_int_equal(dp_child_counters(&k.dp, c), 0);
    assert_int_equal(c->ctr.seq_out, 77); /* untouched */

    struct dp_child *c2 =
        dp_child_install(&k2.dp, NULL, &k2.ex, &l, &r, false, 0, k2.err, sizeof(k2.err));
    assert_non_null(c2);
    assert_int_equal(p2->leftovers_replaced, 2); /* in and out */
    assert_kernel(2, 3);
    assert_int_equal(dp_child_counters(&k2.dp, c2), 0);
    assert_int_equal(c2->ctr.seq_out, 0); /* the new state, not the leftover */
    kdp_close(&k2);
    assert_kernel(0, 0);
    kdp_close(&k); /* its states and policies are gone already: nothing refused */
    assert_kernel(0, 0);
}

/* IPv6 outside and inside, CBC + HMAC-SHA-512, no NAT-T. */
static void test_install_v6(void **state)
{
    (void)state;
    struct kdp k;
    kdp_open(&k);
    k.ex.encr_id = IKE_ENCR_AES_CBC;
    k.ex.integ_id = IKE_INTEG_HMAC_SHA2_512_256;
    k.ex.esn = false;
    k.ex.encr_in.len = k.ex.encr_out.len = 32;
    k.ex.integ_in.len = k.ex.integ_out.len = 64;
    struct ike_ts_export v6 = {.type = IKE_TS_IPV6_ADDR_RANGE, .end_port = 0xffff};
    inet_pton(AF_INET6, "2001:db8:1::", v6.start_addr);
    inet_pton(AF_INET6, "2001:db8:1::ffff:ffff:ffff:ffff", v6.end_addr);
    k.ex.ts_local[0] = v6;
    inet_pton(AF_INET6, "2001:db8:2::", v6.start_addr);
    inet_pton(AF_INET6, "2001:db8:2::ffff:ffff:ffff:ffff", v6.end_addr);
    k.ex.ts_remote[0] = v6;
    struct ike_addr l = {.family = IKE_AF_INET6, .port = 500}, r = l;
    inet_pton(AF_INET6, "2001:db8::1", l.addr);
    inet_pton(AF_INET6, "2001:db8::2", r.addr);
    struct dp_child *c =
        dp_child_install(&k.dp, NULL, &k.ex, &l, &r, false, 0, k.err, sizeof(k.err));
    int st, pol;
    xft_count_here(&st, &pol);
    if (!c) {
        assert_non_null(strstr(k.err, "c1a0b0c1"));
        assert_int_equal(st + pol, 0);
    } else {
        assert_int_equal(st, 2);
        assert_int_equal(pol, 3);
        dp_child_delete(&k.dp, c);
        assert_kernel(0, 0);
    }
    kdp_close(&k);
}

static void test_udp_encap_socket(void **state)
{
    (void)state;
    if (dtest_private_netns() < 0)
        skip();
    struct event_base *base = event_base_new();
    struct net net;
    struct net_handlers h = {0};
    net_init(&net, base, &h, NULL);
    net.esp_in_kernel = true;
    struct ike_addr lo = {.family = IKE_AF_INET, .addr = {127, 0, 0, 1}};
    char err[256] = "";
    assert_int_equal(net_listen(&net, &lo, err, sizeof(err)), 0);
    assert_int_equal(net.n_socks, 2);
    for (size_t i = 0; i < net.n_socks; i++) {
        int type = -1;
        socklen_t len = sizeof(type);
        assert_int_equal(getsockopt(net.socks[i].fd, IPPROTO_UDP, UDP_ENCAP, &type, &len), 0);
        assert_int_equal(type, net.socks[i].bound.port == IKE_PORT_NATT ? UDP_ENCAP_ESPINUDP : 0);
    }
    net_close(&net);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policies_shared),
        cmocka_unit_test(test_policies_blocked_while_passive),
        cmocka_unit_test(test_install),
        cmocka_unit_test(test_install_v6),
        cmocka_unit_test(test_leftover_replaced),
        cmocka_unit_test(test_udp_encap_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
