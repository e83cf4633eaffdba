/*
 * Route-based tunnels of the kernel data plane (gateway `route-based =
 * true`): one VTI device per gateway, "hk-<gateway>" like the userspace
 * backend's TUN, in the gateway's VDOM namespace. Routes lead traffic into
 * the device; the device looks the XFRM policy up with its okey as the
 * mark, so only the policies of its gateway's CHILD SAs (which carry that
 * mark) can take the traffic; what none of them selects is dropped and
 * counted on the device (tx_errors), never sent in the clear. Inbound,
 * the device is found by the outer addresses and the decrypted packet is
 * checked against the in policies with its ikey as the mark.
 *
 *   ikey = okey = the mark of the gateway's policies (one per gateway)
 *   local/remote = the IKE SA's addresses (remote 0: a dial-up gateway)
 *   disable_policy = 1 on the device: its packets have passed the marked
 *   in policy already; the kernel's forward/local-in check would look
 *   for an unmarked one
 *
 * The states carry no mark: the kernel matches them by SPI (in) and by
 * the policy template's reqid (out), and an unmarked state matches any
 * mark. The device is created with the gateway's first CHILD SA (its
 * addresses are known then), follows a changed peer or local address,
 * survives rekeys and the time between SAs (routes into it keep
 * dropping traffic instead of leaking it), and goes when the gateway is
 * removed (reload) or the backend closes. Only VTI: the kernels this runs
 * on here have no xfrm interfaces (CONFIG_XFRM_INTERFACE); see README.md.
 */
#ifndef HAIKED_DP_XFRM_VTI_H
#define HAIKED_DP_XFRM_VTI_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_xfrm.h"
#include "net.h" /* NET_NETNS_MAX */

/* Marks (ikey/okey) are XF_VTI_KEY_BASE + 1.. : "HK" in the high half
 * keeps them apart from small fwmarks an administrator may use. */
#define XF_VTI_KEY_BASE 0x484b0000u
#define XF_VTI_KEY_MAX  0xffffu

/* A host route to the peer, added when a remote selector routed into the
 * device holds the peer's own address (0.0.0.0/0): without it the ESP
 * packets would be routed into the device too. */
struct xf_vti_pin {
    struct xf_vti_pin *next;
    struct ike_addr peer;
};

struct xf_vti {
    struct xf_vti *next; /* xf_priv.vtis */
    char gw[DP_NAME_MAX];
    /* The gateway's namespace (a reference, dp_xfrm_netns.h): the device
     * is made, changed and routed through its rtnetlink socket ns->rt. */
    struct xf_ns *ns;
    char ifname[IFNAMSIZ];
    int ifindex;
    uint32_t key;
    bool dialup;                   /* remote stays 0: any peer */
    struct ike_addr local, remote; /* as the device has them now */
    struct xf_vti_pin *pins;
    uint64_t address_changes;
};

/* Whether c's gateway is route-based (false without an owner). */
bool xf_route_based(const struct dp_child *c);
/* The smallest key no device of list uses; 0 when all are taken. */
uint32_t xf_vti_key_pick(const struct xf_vti *list);
/* For a route-based pair: its gateway's device (created, or its
 * addresses brought in line with the pair's), x->vti and x->mark set.
 * Nothing for a policy-based one. -1 with err. */
int xf_vti_attach(struct dp *dp, struct xf_child *x, char *err, size_t errlen);
/* The gateway is gone: its device goes (pairs still pointing at it are
 * detached; their policies keep the mark until they go). */
void xf_vti_gateway_removed(struct dp *dp, const char *gw);
/* Every device goes (the backend's close). */
void xf_vti_close(struct dp *dp);
/* Gateway gw's device (NULL: none, or not route-based). */
const struct xf_vti *xf_vti_find(const struct dp *dp, const char *gw);
/* The backend's gateway_device op (hactl): gw's VTI, its index and key. */
bool xf_vti_device(struct dp *dp, const char *gw, struct dp_gw_device *out);

/* add-route for a route-based pair (from xf_routes_install): routes to
 * its remote selectors through its device, with a preferred source inside
 * the local ones; they stay with the device (and go with it). -1 with err. */
int xf_vti_routes(struct dp *dp, struct xf_child *x, char *err, size_t errlen);

#endif
