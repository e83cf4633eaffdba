/*
 * What the kernel data-plane tests (test_dp_xfrm_*.c) build their pairs
 * from: 192.0.2.0/25-style selectors, 203.0.113.x outer addresses, an
 * AES-256-GCM CHILD SA export with ESN; counting the kernel's states and
 * policies; a state built, encoded and parsed back as the kernel reports
 * it (also for test_dp_xfrm_msg.c / _leftover.c, without a kernel); a
 * kernel data plane in the test's own namespace. Include after cmocka.
 */
#ifndef XF_TEST_UTIL_H
#define XF_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/xfrm.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/xfrm/sa.h>

#include <ike/const.h>
#include <ike/ctx.h>
#include <ike/export.h>

#include "dtest_util.h"
#include "esp/dp_xfrm.h"

/* 192.0.2.last .. 192.0.2.(last + 127), any protocol and port. */
static inline struct ike_ts_export net25(uint8_t last)
{
    struct ike_ts_export t = {.type = IKE_TS_IPV4_ADDR_RANGE, .end_port = 0xffff};
    uint8_t a[4] = {192, 0, 2, last};
    memcpy(t.start_addr, a, 4);
    a[3] = (uint8_t)(last + 127);
    memcpy(t.end_addr, a, 4);
    return t;
}

/* 203.0.113.last:500 */
static inline struct ike_addr wan(uint8_t last)
{
    struct ike_addr a = {.family = IKE_AF_INET, .port = 500};
    uint8_t v[4] = {203, 0, 113, last};
    memcpy(a.addr, v, 4);
    return a;
}

/* The IPv4 address s, port port. */
static inline struct ike_addr xft_addr4(const char *s, uint16_t port)
{
    struct ike_addr a = {.family = IKE_AF_INET, .port = port};
    assert_int_equal(inet_pton(AF_INET, s, a.addr), 1);
    return a;
}

/* The state p as the kernel reports it: built, encoded into its netlink
 * message and parsed back. *keep: the message, for its attributes (the
 * caller frees it); keep NULL: freed here. */
static inline struct xfrmnl_sa *xft_sa_round_trip(const struct xf_sa_params *p,
                                                  struct nl_msg **keep)
{
    struct xfrmnl_sa *sa = NULL;
    char err[160] = "";
    assert_int_equal(xf_sa_build(p, &sa, err, sizeof(err)), 0);
    struct nl_msg *msg = NULL;
    assert_int_equal(xfrmnl_sa_build_add_request(sa, NLM_F_CREATE | NLM_F_EXCL, &msg), 0);
    xfrmnl_sa_put(sa);
    struct xfrmnl_sa *back = NULL;
    assert_int_equal(xfrmnl_sa_parse(nlmsg_hdr(msg), &back), 0);
    if (keep)
        *keep = msg;
    else
        nlmsg_free(msg);
    return back;
}

/* Selector "lan" 192.0.2.0/25 <-> 192.0.2.128/25, AES-256-GCM with ESN,
 * SPIs spi_in / spi_in + 1, keys of 0x42 (in) and 0x24 (out). */
static inline void export_gcm(struct ike_child_export *ex, uint32_t spi_in)
{
    memset(ex, 0, sizeof(*ex));
    ex->version = IKE_EXPORT_VERSION;
    snprintf(ex->cfg_name, sizeof(ex->cfg_name), "lan");
    ex->protocol = IKE_PROTO_ESP;
    ex->tunnel = true;
    ex->encr_id = IKE_ENCR_AES_GCM_16;
    ex->encr_key_bits = 256;
    ex->esn = true;
    ex->spi_in = spi_in;
    ex->spi_out = spi_in + 1;
    ex->encr_in.len = ex->encr_out.len = 36;
    memset(ex->encr_in.data, 0x42, 36);
    memset(ex->encr_out.data, 0x24, 36);
    ex->n_ts_local = ex->n_ts_remote = 1;
    ex->ts_local[0] = net25(0);
    ex->ts_remote[0] = net25(128);
}

/* The parts of a bare pair (no owner) the policy code reads: outer
 * addresses .1 -> .2, selectors net25(0) -> net25(128), SPI spi in. */
static inline void fake_pair(struct dp_child *c, struct xf_child *x, uint32_t spi)
{
    memset(c, 0, sizeof(*c));
    memset(x, 0, sizeof(*x));
    c->local = wan(1);
    c->remote = wan(2);
    c->n_ts_local = c->n_ts_remote = 1;
    c->ts_local[0] = net25(0);
    c->ts_remote[0] = net25(128);
    c->spi_in = spi;
    c->backend = x;
    x->c = c;
    x->in.spi = spi;
}

static inline int xft_count_policy(struct nl_msg *msg, void *arg)
{
    struct nlmsghdr *h = nlmsg_hdr(msg);
    const struct xfrm_userpolicy_info *pi = nlmsg_data(h);
    /* socket policies (the IKE sockets' bypass) are listed too, dir >= MAX */
    if (h->nlmsg_type == XFRM_MSG_NEWPOLICY && pi->dir < XFRM_POLICY_MAX)
        (*(int *)arg)++;
    return NL_OK;
}

/* cb(msg, arg) for every policy in the kernel of sk's namespace (a
 * connected NETLINK_XFRM socket). */
static inline void xft_policy_dump(struct nl_sock *sk, nl_recvmsg_msg_cb_t cb, void *arg)
{
    struct xfrm_userpolicy_id none;
    memset(&none, 0, sizeof(none));
    assert_true(nl_send_simple(sk, XFRM_MSG_GETPOLICY, NLM_F_DUMP, &none, sizeof(none)) >= 0);
    nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, cb, arg);
    assert_true(nl_recvmsgs_default(sk) >= 0);
}

/* States and policies in the kernel of sk's namespace (a connected
 * NETLINK_XFRM socket, freed here); policies counted from the raw dump:
 * libnl's policy parser leaks addresses. */
static inline void count_xfrm(struct nl_sock *sk, int *states, int *policies)
{
    struct nl_cache *c = NULL;
    assert_int_equal(xfrmnl_sa_alloc_cache(sk, &c), 0);
    *states = nl_cache_nitems(c);
    nl_cache_free(c);
    *policies = 0;
    xft_policy_dump(sk, xft_count_policy, policies);
    nl_socket_free(sk);
}

/* States and policies in this namespace's kernel. */
static inline void xft_count_here(int *states, int *policies)
{
    struct nl_sock *sk = nl_socket_alloc();
    assert_non_null(sk);
    assert_int_equal(nl_connect(sk, NETLINK_XFRM), 0);
    count_xfrm(sk, states, policies);
}

/* A kernel data plane in a private network namespace of this test (skips
 * the test without root). */
struct xft_kdp {
    struct event_base *base;
    struct dp dp;
    char err[256];
};

static inline void xft_kdp_open(struct xft_kdp *k)
{
    k->base = dtest_dp_open(&k->dp, "kernel", k->err, sizeof(k->err));
}

static inline void xft_kdp_close(struct xft_kdp *k)
{
    dp_close(&k->dp);
    event_base_free(k->base);
}

/* cb(msg, arg) for every policy of this namespace's kernel (the raw dump,
 * socket policies included). */
static inline void xft_policies(nl_recvmsg_msg_cb_t cb, void *arg)
{
    struct nl_sock *sk = nl_socket_alloc();
    assert_non_null(sk);
    assert_int_equal(nl_connect(sk, NETLINK_XFRM), 0);
    xft_policy_dump(sk, cb, arg);
    nl_socket_free(sk);
}

#endif
