/*
 * What the kernel data-plane tests (test_dp_xfrm_*.c) build their pairs
 * from: 192.0.2.0/25-style selectors, 203.0.113.x outer addresses, an
 * AES-256-GCM CHILD SA export with ESN; counting the kernel's states and
 * policies. Include after cmocka (dtest_util.h).
 */
#ifndef XF_TEST_UTIL_H
#define XF_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/xfrm.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/xfrm/sa.h>

#include <ike/const.h>
#include <ike/ctx.h>
#include <ike/export.h>

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
    struct xfrm_userpolicy_id none;
    memset(&none, 0, sizeof(none));
    assert_true(nl_send_simple(sk, XFRM_MSG_GETPOLICY, NLM_F_DUMP, &none, sizeof(none)) >= 0);
    nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, xft_count_policy, policies);
    assert_true(nl_recvmsgs_default(sk) >= 0);
    nl_socket_free(sk);
}

#endif
