/*
 * The kernel data plane per network namespace: XFRM states, policies,
 * routes and the AE/EXPIRE events are all per namespace in the kernel, so
 * a gateway in a VDOM with a namespace of its own (config `vdoms`,
 * /run/netns/NAME) gets its CHILD SAs installed there, through netlink
 * sockets opened inside that namespace (a netlink socket talks to the
 * namespace it was created in, whichever namespace the daemon is in
 * later). One struct xf_ns per namespace in use:
 *
 *   cmd  XFRM requests (acked), its refusals recorded in xf_priv
 *   ev   XFRMNLGRP_AEVENTS + XFRMNLGRP_EXPIRE on the daemon's loop; its
 *        events look up only the pairs of this namespace (two VDOMs may
 *        use the same addresses, and peers pick outbound SPIs freely)
 *   rt   rtnetlink for add-route, opened on first use
 *
 * The daemon's own namespace ("") is opened with the backend and lives
 * until it closes; a VDOM's on the first pair placed there (or its
 * route-based device, which holds a reference too and uses rt), and closed
 * with the last pair or device that leaves (a reload that removes a VDOM's
 * gateways, or a namespace deleted under us, leaves no socket pinning it).
 */
#ifndef HAIKED_DP_XFRM_NETNS_H
#define HAIKED_DP_XFRM_NETNS_H

#include "dp_xfrm.h"
#include "net.h" /* NET_NETNS_MAX */

struct xf_ns {
    struct xf_ns *next; /* xf_priv.nss */
    struct dp *dp;
    char name[NET_NETNS_MAX]; /* "" = the daemon's own */
    unsigned refs;            /* pairs placed here (the daemon's own: +1 for the backend) */
    struct nl_sock *cmd;      /* requests, answered at once */
    struct nl_sock *ev;       /* AE + EXPIRE events, non-blocking */
    struct nl_sock *rt;       /* rtnetlink (add-route); NULL until needed */
    struct event *ev_read;
    struct xf_route *routes; /* add-route's routes in this namespace */
    /* What arrived on ev (hactl status, per namespace; the totals are in
     * xf_priv): messages, NEWAE and EXPIRE about our pairs, about pairs
     * not ours, unreadable ones, ENOBUFS overruns (events lost). */
    struct {
        uint64_t msgs, ae_events, expires, unknown, errors, overruns;
    } ev_ctr;
};

/* The namespace a pair belongs in: its gateway's VDOM's ("" without an
 * owner, a VDOM, or with a VDOM that shares the daemon's namespace). */
const char *xf_netns_of(const struct dp_child *c);

/* Opens the daemon's own namespace (xf_priv.root); -1 with err. */
int xf_ns_open_root(struct dp *dp, char *err, size_t errlen);
/* The namespace name, opened on first use; holds a reference (drop it
 * with xf_ns_put). NULL with err (no such namespace, no xfrm_user). */
struct xf_ns *xf_ns_get(struct dp *dp, const char *name, char *err, size_t errlen);
/* Drops a reference: the last closes a VDOM's namespace. */
void xf_ns_put(struct dp *dp, struct xf_ns *ns);
/* Closes every namespace (the backend's close). */
void xf_ns_close_all(struct dp *dp);
/* Where x lives: x->ns, or the daemon's own for a pair built without one
 * (tests call the policy code with bare pairs). */
struct xf_ns *xf_ns_of(const struct dp *dp, const struct xf_child *x);
/* Opens ns->rt inside the namespace on first use; -1 with err. */
int xf_ns_open_rt(struct xf_ns *ns, char *err, size_t errlen);
/* How many namespaces are open (the daemon's own included). */
size_t xf_ns_count(const struct dp *dp);
/* The backend's info op: every open namespace's event counters. */
void xf_ns_info(struct dp *dp, struct dp_info *out);

#endif
