/*
 * haiked --cleanup's kernel side (esp/dp_xfrm_cleanup.c) against the
 * running kernel, in a private network namespace: what a dead haiked's
 * backend left (its pairs stay installed, as after kill -9) goes; the
 * policies, states, routes and devices of anybody else stay; a second run
 * finds nothing. Policies and routes run on every host; states need ESP
 * in the kernel and VTI devices the vti module (user-mode-linux,
 * tests/uml/test_uml_cleanup.py): skipped elsewhere. Skipped without root.
 */
#include "dtest_util.h"
#include "xf_test_util.h"

#include <arpa/inet.h>
#include <linux/xfrm.h>
#include <net/if.h>
#include <stdlib.h>

#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/xfrm/sa.h>

#include "esp/dp_xfrm.h"
#include "esp/dp_xfrm_cleanup.h"

static void assert_kernel(int states, int policies)
{
    int st, pol;
    xft_count_here(&st, &pol);
    assert_int_equal(st, states);
    assert_int_equal(pol, policies);
}

/* Runs the cleanup in this namespace: what it removed. */
static struct xf_cleanup_counts cleanup(void)
{
    struct xf_cleanup_counts n = {0};
    char err[256] = "";
    int r = xf_cleanup_ns("", &n, err, sizeof(err));
    if (r != 0)
        print_message("cleanup: %d %s\n", r, err);
    assert_int_equal(r, 0);
    return n;
}

static void sh(const char *cmd)
{
    int r = system(cmd);
    if (r != 0)
        print_message("failed (%d): %s\n", r, cmd);
    assert_int_equal(r, 0);
}

/* The reqids the backend gives out are in haiked's range, and only they. */
static void test_reqid_range(void **state)
{
    (void)state;
    assert_false(xf_reqid_ours(0));
    assert_false(xf_reqid_ours(1));     /* strongSwan's first */
    assert_false(xf_reqid_ours(16384)); /* Libreswan's first */
    assert_false(xf_reqid_ours(XF_REQID_BASE));
    assert_true(xf_reqid_ours(XF_REQID_BASE + 1));
    assert_true(xf_reqid_ours(XF_REQID_BASE + XF_REQID_SPAN));
    assert_false(xf_reqid_ours(XF_REQID_BASE + XF_REQID_SPAN + 1));
    assert_false(xf_reqid_ours(UINT32_MAX));
}

static void fake_child(struct dp_child *c, struct xf_child *x, uint32_t spi, uint32_t reqid,
                       uint8_t remote_third)
{
    fake_pair(c, x, spi);
    c->ts_remote[0].start_addr[2] = c->ts_remote[0].end_addr[2] = remote_third;
    x->reqid = reqid;
}

/* haiked's policies (an HA standby's blocked copy among them) go; an IKE
 * daemon's with another reqid, an administrator's without a template and
 * routes of other protocols stay. */
static void test_policies_and_routes(void **state)
{
    (void)state;
    struct xft_kdp k;
    xft_kdp_open(&k);
    struct dp_child c1, c2;
    struct xf_child x1, x2;
    fake_child(&c1, &x1, 0x201, XF_REQID_BASE + 1, 2);
    fake_child(&c2, &x2, 0x202, XF_REQID_BASE + 2, 3);
    c2.passive = true; /* out policy blocked */
    assert_int_equal(xf_policies_install(&k.dp, &x1, k.err, sizeof(k.err)), 0);
    assert_int_equal(xf_policies_install(&k.dp, &x2, k.err, sizeof(k.err)), 0);
    /* strongSwan's (reqid 1) and the administrator's bypass */
    sh("ip xfrm policy add src 10.1.0.0/24 dst 10.2.0.0/24 dir out "
       "tmpl src 203.0.113.1 dst 203.0.113.9 proto esp reqid 1 mode tunnel");
    sh("ip xfrm policy add src 10.1.0.0/24 dst 10.3.0.0/24 dir out action allow");
    sh("ip route add 10.99.0.0/24 dev lo proto 104");
    sh("ip route add 10.98.0.0/24 dev lo proto static");
    sh("ip -6 route add 2001:db8:99::/64 dev lo proto 104");
    assert_kernel(0, 8);

    struct xf_cleanup_counts n = cleanup();
    assert_int_equal(n.policies, 6);
    assert_int_equal(n.states, 0);
    assert_int_equal(n.routes, 2);
    assert_int_equal(n.devices, 0);
    assert_kernel(0, 2);
    sh("ip route show 10.98.0.0/24 | grep -q 10.98.0.0");
    sh("test -z \"$(ip route show proto 104)\" && test -z \"$(ip -6 route show proto 104)\"");

    n = cleanup(); /* idempotent */
    assert_int_equal(n.policies + n.states + n.routes + n.devices, 0);
    assert_kernel(0, 2);
    xf_policies_remove(&k.dp, &x1); /* its deletes find nothing: fine */
    xf_policies_remove(&k.dp, &x2);
    xft_kdp_close(&k);
    assert_kernel(0, 2);
    sh("ip xfrm policy flush; ip route del 10.98.0.0/24");
}

static int state_reqids(struct nl_sock *sk, uint32_t *out, int max)
{
    struct nl_cache *c = NULL;
    assert_int_equal(xfrmnl_sa_alloc_cache(sk, &c), 0);
    int n = 0;
    for (struct nl_object *o = nl_cache_get_first(c); o && n < max; o = nl_cache_get_next(o))
        out[n++] = (uint32_t)xfrmnl_sa_get_reqid((struct xfrmnl_sa *)o);
    nl_cache_free(c);
    nl_socket_free(sk);
    return n;
}

static int kernel_reqids(uint32_t *out, int max)
{
    struct nl_sock *sk = nl_socket_alloc();
    assert_non_null(sk);
    assert_int_equal(nl_connect(sk, NETLINK_XFRM), 0);
    return state_reqids(sk, out, max);
}

/* A CHILD SA installed by the backend (its reqid in haiked's range) goes
 * with its policies; a state added with `ip xfrm state add` and another
 * reqid stays. Needs ESP in the kernel. */
static void test_states(void **state)
{
    (void)state;
    struct xft_kdp k;
    xft_kdp_open(&k);
    struct ike_child_export ex;
    export_gcm(&ex, 0xc1ea0001);
    struct ike_addr l = wan(1), r = wan(2);
    struct dp_child *c = dp_child_install(&k.dp, NULL, &ex, &l, &r, false, 0, k.err, sizeof(k.err));
    if (!c) {
        xft_kdp_close(&k);
        print_message("kernel without ESP: %s\n", k.err);
        skip();
    }
    assert_true(xf_reqid_ours(xf_of(c)->reqid));
    sh("ip xfrm state add src 203.0.113.1 dst 203.0.113.9 proto esp spi 0xc1ea0009 reqid 5 "
       "mode tunnel aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f1011121314 128");
    assert_kernel(3, 3);

    struct xf_cleanup_counts n = cleanup();
    assert_int_equal(n.states, 2);
    assert_int_equal(n.policies, 3);
    assert_kernel(1, 0);
    uint32_t reqids[4];
    assert_int_equal(kernel_reqids(reqids, 4), 1);
    assert_int_equal(reqids[0], 5); /* the foreign state */

    n = cleanup();
    assert_int_equal(n.policies + n.states + n.routes + n.devices, 0);
    xft_kdp_close(&k); /* its deletes find nothing: fine */
    assert_kernel(1, 0);
    sh("ip xfrm state flush");
}

/* VTI devices named hk-* with a key of haiked's range go (their routes
 * with them); an administrator's hk-* with another key, or a device with
 * our key but another name, stays. Needs the vti module. */
static void test_vti_devices(void **state)
{
    (void)state;
    if (dtest_private_netns() < 0)
        skip();
    if (system("ip link add hk-gw type vti local 203.0.113.1 remote 203.0.113.2 "
               "ikey 0x484b0001 okey 0x484b0001 2>/dev/null") != 0) {
        print_message("kernel without vti\n");
        skip();
    }
    sh("ip link set hk-gw up && ip route add 10.77.0.0/24 dev hk-gw");
    sh("ip link add hk-adm type vti local 203.0.113.1 remote 203.0.113.3 ikey 5 okey 5");
    sh("ip link add adm0 type vti local 203.0.113.1 remote 203.0.113.4 "
       "ikey 0x484b0002 okey 0x484b0002");
    struct xf_cleanup_counts n = cleanup();
    assert_int_equal(n.devices, 1);
    assert_true(if_nametoindex("hk-gw") == 0);
    assert_true(if_nametoindex("hk-adm") != 0);
    assert_true(if_nametoindex("adm0") != 0);
    n = cleanup();
    assert_int_equal(n.devices, 0);
    sh("ip link del hk-adm && ip link del adm0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reqid_range),
        cmocka_unit_test(test_policies_and_routes),
        cmocka_unit_test(test_states),
        cmocka_unit_test(test_vti_devices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
