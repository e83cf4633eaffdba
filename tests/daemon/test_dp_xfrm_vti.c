/*
 * Route-based mode of the kernel data plane (esp/dp_xfrm_vti.c), the parts
 * that run on the development hosts (whose kernel has neither ESP nor
 * ip_vti; the device itself is tested in user-mode-linux,
 * tests/uml/test_uml_kernel_vti.py): the key (mark) allocation, which
 * pairs are route-based, policies carrying the mark next to unmarked ones
 * for the same selectors (the mark is part of a policy's identity in the
 * kernel, and in the backend's shared policy table), and a route-based
 * install on a kernel without VTI refused with the reason, leaving nothing.
 */
#include "dtest_util.h"
#include "xf_test_util.h"

#include <linux/xfrm.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <ike/const.h>

#include "config/config.h"
#include "esp/dp_xfrm.h"
#include "esp/dp_xfrm_vti.h"
#include "gateway.h"

static void test_key_pick(void **state)
{
    (void)state;
    assert_int_equal(xf_vti_key_pick(NULL), XF_VTI_KEY_BASE + 1);
    struct xf_vti a = {.key = XF_VTI_KEY_BASE + 1}, b = {.key = XF_VTI_KEY_BASE + 3};
    a.next = &b;
    assert_int_equal(xf_vti_key_pick(&a), XF_VTI_KEY_BASE + 2);
    b.key = XF_VTI_KEY_BASE + 2;
    assert_int_equal(xf_vti_key_pick(&a), XF_VTI_KEY_BASE + 3);
    /* every key taken: none (the caller refuses the device) */
    struct xf_vti *all = calloc(XF_VTI_KEY_MAX, sizeof(*all));
    assert_non_null(all);
    for (uint32_t i = 0; i < XF_VTI_KEY_MAX; i++) {
        all[i].key = XF_VTI_KEY_BASE + 1 + i;
        all[i].next = i + 1 < XF_VTI_KEY_MAX ? &all[i + 1] : NULL;
    }
    assert_int_equal(xf_vti_key_pick(all), 0);
    all[XF_VTI_KEY_MAX - 1].key = 7; /* the last one is free again */
    assert_int_equal(xf_vti_key_pick(all), XF_VTI_KEY_BASE + XF_VTI_KEY_MAX);
    free(all);
}

/* A CHILD SA whose IKE SA belongs to gateway "gw" with config g. */
struct owner {
    struct cfg_gateway g;
    struct gateway gw;
    struct gw_sa gs;
};

static void owner_init(struct owner *o, bool route_based)
{
    memset(o, 0, sizeof(*o));
    o->g.route_based = route_based;
    o->gw.cfg = &o->g;
    o->gw.name = "gw";
    o->gs.gw = &o->gw;
    TAILQ_INIT(&o->gs.children);
}

static void test_route_based_of(void **state)
{
    (void)state;
    struct dp_child c;
    memset(&c, 0, sizeof(c));
    assert_false(xf_route_based(&c)); /* no owner (tests, a standby's import) */
    struct owner o;
    owner_init(&o, false);
    c.owner = &o.gs;
    assert_false(xf_route_based(&c));
    o.g.route_based = true;
    assert_true(xf_route_based(&c));
}

struct pol_count {
    int unmarked, marked;
    uint32_t mark;
};

static int count_policy(struct nl_msg *msg, void *arg)
{
    struct pol_count *pc = arg;
    struct nlmsghdr *h = nlmsg_hdr(msg);
    const struct xfrm_userpolicy_info *pi = nlmsg_data(h);
    struct nlattr *tb[XFRMA_MAX + 1];
    /* socket policies (dir >= XFRM_POLICY_MAX) are listed too */
    if (h->nlmsg_type != XFRM_MSG_NEWPOLICY || pi->dir >= XFRM_POLICY_MAX ||
        nlmsg_parse(h, sizeof(*pi), tb, XFRMA_MAX, NULL) < 0)
        return NL_OK;
    if (!tb[XFRMA_MARK]) {
        pc->unmarked++;
        return NL_OK;
    }
    const struct xfrm_mark *m = nla_data(tb[XFRMA_MARK]);
    assert_int_equal(m->m, UINT32_MAX);
    pc->mark = m->v;
    pc->marked++;
    return NL_OK;
}

static struct pol_count kernel_policies(void)
{
    struct pol_count pc = {0};
    xft_policies(count_policy, &pc);
    return pc;
}

static void fake_child(struct dp_child *c, struct xf_child *x, uint32_t spi, uint32_t reqid,
                       uint32_t mark)
{
    fake_pair(c, x, spi);
    x->reqid = reqid;
    x->mark = mark;
}

/* A policy-based and a route-based gateway with the same subnets: both
 * sets of policies are in the kernel at once (the route-based one only
 * for its device's lookups), and each goes with its own pairs. */
static void test_marked_policies(void **state)
{
    (void)state;
    struct xft_kdp k;
    xft_kdp_open(&k);
    const uint32_t mark = XF_VTI_KEY_BASE + 1;
    struct dp_child c1, c2, c3;
    struct xf_child x1, x2, x3;
    fake_child(&c1, &x1, 0x201, 7, 0);
    fake_child(&c2, &x2, 0x202, 8, mark);
    fake_child(&c3, &x3, 0x203, 8, mark); /* a rekey of c2 */
    assert_int_equal(xf_policies_install(&k.dp, &x1, k.err, sizeof(k.err)), 0);
    assert_int_equal(xf_policies_install(&k.dp, &x2, k.err, sizeof(k.err)), 0);
    assert_int_equal(xf_policies_install(&k.dp, &x3, k.err, sizeof(k.err)), 0);
    struct pol_count pc = kernel_policies();
    assert_int_equal(pc.unmarked, 3); /* out, in, fwd */
    assert_int_equal(pc.marked, 3);   /* shared by the rekey */
    assert_int_equal(pc.mark, mark);
    xf_policies_remove(&k.dp, &x2);
    pc = kernel_policies();
    assert_int_equal(pc.marked, 3);
    xf_policies_remove(&k.dp, &x3); /* deleted by selector and mark */
    pc = kernel_policies();
    assert_int_equal(pc.marked, 0);
    assert_int_equal(pc.unmarked, 3);
    xf_policies_remove(&k.dp, &x1);
    pc = kernel_policies();
    assert_int_equal(pc.marked + pc.unmarked, 0);
    xft_kdp_close(&k);
}

/* Without ip_vti (the development hosts), a route-based CHILD SA is
 * refused before any state or policy is added, with the reason. */
static void test_install_without_vti(void **state)
{
    (void)state;
    struct xft_kdp k;
    xft_kdp_open(&k);
    if (!access("/proc/sys/net/ipv4/conf/ip_vti0", F_OK)) {
        xft_kdp_close(&k);
        skip(); /* ip_vti here: tests/uml covers this kernel */
    }
    struct owner o;
    owner_init(&o, true);
    struct ike_child_export ex;
    export_gcm(&ex, 0x301);
    struct ike_addr l = wan(1), r = wan(2);
    struct dp_child *c =
        dp_child_install(&k.dp, &o.gs, &ex, &l, &r, false, 0, k.err, sizeof(k.err));
    assert_null(c);
    assert_non_null(strstr(k.err, "creating VTI device hk-gw"));
    struct pol_count pc = kernel_policies();
    assert_int_equal(pc.marked + pc.unmarked, 0);
    assert_true(TAILQ_EMPTY(&o.gs.children));
    xft_kdp_close(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_pick),
        cmocka_unit_test(test_route_based_of),
        cmocka_unit_test(test_marked_policies),
        cmocka_unit_test(test_install_without_vti),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
