/*
 * The kernel data plane in VDOM network namespaces (esp/dp_xfrm_netns.c):
 * the test runs in a private namespace of its own (the "daemon's") and
 * creates a VDOM namespace with `ip netns add` (removed in teardown).
 *
 * - a pair's namespace is its gateway's VDOM's ("" without an owner or
 *   a VDOM namespace);
 * - policies of a pair in the VDOM land in the VDOM's kernel only, the
 *   same selectors in both namespaces are two kernel policies, each
 *   removed with its last holder;
 * - events name a pair only with their namespace (same SPI and address
 *   in two VDOMs);
 * - a CHILD SA of a gateway in the VDOM: refused by a kernel without ESP
 *   (the development hosts) with the namespace in the error and nothing
 *   left in either namespace, or (a kernel with ESP) installed there and
 *   nowhere else and removed completely; either way the VDOM's sockets
 *   close with its last pair;
 * - a VDOM whose namespace does not exist: a clear error, no crash.
 *
 * Skipped (not failed) without root.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "dtest_util.h"
#include "xf_test_util.h"

#include <linux/xfrm.h>
#include <netinet/in.h>
#include <stdarg.h>

#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/xfrm/sa.h>

#include <ike/const.h>

#include "esp/dp_xfrm.h"
#include "esp/dp_xfrm_netns.h"
#include "esp/esp_netns.h"
#include "gateway.h"

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* The lab: the daemon's namespace (private), one VDOM namespace, a
 * gateway of that VDOM with an IKE SA (the pairs' owner) and the backend. */
struct nt {
    char ns[32];
    struct event_base *base;
    struct dp dp;
    struct vdom_rt vdom;
    struct gateway gw;
    struct gw_sa gs;
    char err[256];
};

static int setup(void **state)
{
    *state = NULL;
    if (dtest_private_netns() < 0)
        return 0;
    struct nt *t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    snprintf(t->ns, sizeof(t->ns), "hkxfns%d", (int)getpid());
    if (sh("ip netns add %s && ip -n %s link set lo up", t->ns, t->ns) != 0) {
        sh("ip netns del %s 2>/dev/null", t->ns);
        free(t);
        return 0;
    }
    t->base = event_base_new();
    assert_int_equal(dp_open(&t->dp, "kernel", t->base, t->err, sizeof(t->err)), 0);
    snprintf(t->vdom.name, sizeof(t->vdom.name), "cust");
    snprintf(t->vdom.netns, sizeof(t->vdom.netns), "%s", t->ns);
    t->gw.name = "gw";
    t->gs.gw = &t->gw;
    t->gs.vdom = &t->vdom;
    TAILQ_INIT(&t->gs.children);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct nt *t = *state;
    if (t) {
        dp_close(&t->dp);
        event_base_free(t->base);
        sh("ip netns del %s", t->ns);
        free(t);
    }
    return 0;
}

static struct nt *lab(void **state)
{
    if (!*state)
        skip();
    return *state;
}

/* States and policies in namespace ns ("" = ours). */
static void count_in(const char *ns, int *states, int *policies)
{
    char err[128];
    int back;
    assert_int_equal(esp_netns_enter(ns, &back, err, sizeof(err)), 0);
    struct nl_sock *sk = nl_socket_alloc();
    assert_non_null(sk);
    int r = nl_connect(sk, NETLINK_XFRM);
    esp_netns_leave(back);
    assert_int_equal(r, 0);
    count_xfrm(sk, states, policies);
}

static void assert_ns(const char *ns, int states, int policies)
{
    int st, pol;
    count_in(ns, &st, &pol);
    assert_int_equal(st, states);
    assert_int_equal(pol, policies);
}

static void fake_child(struct dp_child *c, struct xf_child *x, uint32_t spi, struct xf_ns *ns)
{
    fake_pair(c, x, spi);
    x->ns = ns;
    x->reqid = 7;
    x->in = (struct xf_dir){.spi = spi, .src = c->remote, .dst = c->local};
    x->out = (struct xf_dir){.spi = spi + 0x1000, .src = c->local, .dst = c->remote};
}

static void test_netns_of(void **state)
{
    struct nt *t = lab(state);
    struct dp_child c = {0};
    assert_string_equal(xf_netns_of(&c), ""); /* no owner (tests, HA imports) */
    c.owner = &t->gs;
    assert_string_equal(xf_netns_of(&c), t->ns);
    struct vdom_rt root = {0}; /* the root VDOM: the daemon's namespace */
    t->gs.vdom = &root;
    assert_string_equal(xf_netns_of(&c), "");
    t->gs.vdom = NULL;
    assert_string_equal(xf_netns_of(&c), "");
    t->gs.vdom = &t->vdom;
}

/* Same selectors, outer addresses and reqid in both namespaces: two sets
 * of kernel policies, one per namespace, each with its own holders. */
static void test_policies_per_namespace(void **state)
{
    struct nt *t = lab(state);
    struct dp *dp = &t->dp;
    assert_int_equal(xf_ns_count(dp), 1); /* the daemon's own */
    struct xf_ns *v = xf_ns_get(dp, t->ns, t->err, sizeof(t->err));
    assert_non_null(v);
    assert_int_equal(xf_ns_count(dp), 2);
    assert_ptr_equal(xf_ns_get(dp, t->ns, t->err, sizeof(t->err)), v); /* shared */
    struct dp_child c1, c2, c3;
    struct xf_child x1, x2, x3;
    fake_child(&c1, &x1, 0x201, NULL); /* the daemon's namespace */
    fake_child(&c2, &x2, 0x202, v);
    fake_child(&c3, &x3, 0x203, v); /* a rekey of c2 */
    assert_int_equal(xf_policies_install(dp, &x1, t->err, sizeof(t->err)), 0);
    assert_ns("", 0, 3);
    assert_ns(t->ns, 0, 0);
    assert_int_equal(xf_policies_install(dp, &x2, t->err, sizeof(t->err)), 0);
    assert_int_equal(xf_policies_install(dp, &x3, t->err, sizeof(t->err)), 0);
    assert_ns("", 0, 3);
    assert_ns(t->ns, 0, 3);
    for (size_t i = 0; i < x2.n_pols; i++) /* not the daemon's policy objects */
        assert_ptr_equal(x2.pols[i]->ns, v);
    xf_policies_remove(dp, &x2);
    assert_ns(t->ns, 0, 3); /* c3 still holds them */
    xf_policies_remove(dp, &x1);
    assert_ns("", 0, 0);
    assert_ns(t->ns, 0, 3);
    xf_policies_remove(dp, &x3);
    assert_ns(t->ns, 0, 0);
    xf_ns_put(dp, v);
    assert_int_equal(xf_ns_count(dp), 2);
    xf_ns_put(dp, v); /* the last reference closes the VDOM's sockets */
    assert_int_equal(xf_ns_count(dp), 1);
}

/* hactl status's per-namespace event counters (the backend's info op):
 * every open namespace by name, the daemon's own first, each with its own
 * counts; a namespace that closed is gone from the list. */
static void test_info_per_namespace(void **state)
{
    struct nt *t = lab(state);
    struct dp *dp = &t->dp;
    struct xf_ns *v = xf_ns_get(dp, t->ns, t->err, sizeof(t->err));
    assert_non_null(v);
    struct xf_priv *p = dp->priv;
    p->root->ev_ctr.msgs = 5;
    p->root->ev_ctr.ae_events = 4;
    p->root->ev_ctr.expires = 1;
    v->ev_ctr.msgs = 3;
    v->ev_ctr.ae_events = 2;
    v->ev_ctr.unknown = 1;
    v->ev_ctr.overruns = 9;
    struct dp_info *info = calloc(1, sizeof(*info));
    assert_non_null(info);
    dp_info(dp, info);
    assert_false(info->has_gso);
    assert_int_equal(info->n_netns, 2);
    assert_int_equal(info->netns_omitted, 0);
    assert_string_equal(info->netns[0].name, "");
    assert_int_equal(info->netns[0].events, 5);
    assert_int_equal(info->netns[0].ae_events, 4);
    assert_int_equal(info->netns[0].expires, 1);
    assert_int_equal(info->netns[0].overruns, 0);
    assert_string_equal(info->netns[1].name, t->ns);
    assert_int_equal(info->netns[1].events, 3);
    assert_int_equal(info->netns[1].ae_events, 2);
    assert_int_equal(info->netns[1].unknown, 1);
    assert_int_equal(info->netns[1].overruns, 9);
    xf_ns_put(dp, v);
    dp_info(dp, info);
    assert_int_equal(info->n_netns, 1);
    assert_string_equal(info->netns[0].name, "");
    free(info);
}

/* An event about SPI S to address A names the pair of its namespace. */
static void test_find_by_namespace(void **state)
{
    struct nt *t = lab(state);
    struct dp *dp = &t->dp;
    struct xf_priv *p = dp->priv;
    struct xf_ns *v = xf_ns_get(dp, t->ns, t->err, sizeof(t->err));
    assert_non_null(v);
    struct dp_child c1, c2;
    struct xf_child x1, x2;
    fake_child(&c1, &x1, 0x301, p->root);
    fake_child(&c2, &x2, 0x302, v);
    x2.out.spi = x1.out.spi; /* two peers chose the same outbound SPI */
    TAILQ_INSERT_TAIL(&dp->children, &c1, all_link);
    TAILQ_INSERT_TAIL(&dp->children, &c2, all_link);
    bool in = true;
    assert_ptr_equal(xf_find(dp, p->root, x1.out.spi, &x1.out.dst, &in), &x1);
    assert_false(in);
    assert_ptr_equal(xf_find(dp, v, x1.out.spi, &x1.out.dst, &in), &x2);
    assert_false(in);
    assert_ptr_equal(xf_find(dp, v, 0x302, &x2.in.dst, &in), &x2);
    assert_true(in);
    assert_null(xf_find(dp, p->root, 0x302, &x2.in.dst, &in)); /* not in that namespace */
    assert_null(xf_find(dp, v, 0x301, &x1.in.dst, &in));
    TAILQ_REMOVE(&dp->children, &c1, all_link);
    TAILQ_REMOVE(&dp->children, &c2, all_link);
    xf_ns_put(dp, v);
    assert_int_equal(xf_ns_count(dp), 1);
}

static void test_install_in_vdom(void **state)
{
    struct nt *t = lab(state);
    struct ike_child_export ex;
    export_gcm(&ex, 0xc1a0b0d1);
    struct ike_addr l = wan(1), r = wan(2);
    struct dp_child *c =
        dp_child_install(&t->dp, &t->gs, &ex, &l, &r, false, 0, t->err, sizeof(t->err));
    assert_ns("", 0, 0); /* nothing of the VDOM's pair in the daemon's namespace */
    if (!c) {
        /* no ESP in this kernel: refused in the VDOM's namespace, said so */
        assert_non_null(strstr(t->err, "c1a0b0d1"));
        assert_non_null(strstr(t->err, t->ns));
        assert_ns(t->ns, 0, 0);
        print_message("kernel without ESP: %s\n", t->err);
    } else {
        assert_ns(t->ns, 2, 3);
        assert_string_equal(xf_of(c)->ns->name, t->ns);
        assert_int_equal(dp_child_counters(&t->dp, c), 0); /* read in the VDOM */
        assert_int_equal(t->dp.ops->set_seq(&t->dp, c, 77, 0), 0);
        assert_int_equal(dp_child_counters(&t->dp, c), 0);
        assert_int_equal(c->ctr.seq_out, 77);
        assert_int_equal(xf_ns_count(&t->dp), 2);
        dp_child_delete(&t->dp, c);
        assert_ns(t->ns, 0, 0);
    }
    assert_int_equal(xf_ns_count(&t->dp), 1); /* closed with its last pair */
}

static void test_missing_namespace(void **state)
{
    struct nt *t = lab(state);
    struct vdom_rt gone = {0};
    snprintf(gone.netns, sizeof(gone.netns), "%s-missing", t->ns);
    t->gs.vdom = &gone;
    struct ike_child_export ex;
    export_gcm(&ex, 0xc1a0b0d1);
    struct ike_addr l = wan(1), r = wan(2);
    uint64_t failures = t->dp.install_failures;
    assert_null(dp_child_install(&t->dp, &t->gs, &ex, &l, &r, false, 0, t->err, sizeof(t->err)));
    t->gs.vdom = &t->vdom;
    assert_int_equal(t->dp.install_failures, failures + 1);
    assert_non_null(strstr(t->err, gone.netns));
    assert_non_null(strstr(t->err, "No such file"));
    assert_int_equal(xf_ns_count(&t->dp), 1);
    assert_ns("", 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_netns_of, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policies_per_namespace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_by_namespace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_info_per_namespace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_install_in_vdom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_namespace, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
