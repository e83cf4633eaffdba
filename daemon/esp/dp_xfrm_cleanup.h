/*
 * What a dead haiked's kernel data plane left in one network namespace,
 * found by the markers only haiked sets (dp_xfrm.h, dp_xfrm_vti.h) and
 * removed: for `haiked --cleanup` (cleanup.c), which systemd runs after
 * every exit of the daemon. Nothing of another IKE daemon's or the
 * administrator's matches, so it is safe on a shared host and a second
 * run finds nothing.
 *
 *   XFRM states      reqid in haiked's range (XF_REQID_BASE ..)
 *   XFRM policies    every template's reqid in that range (the HA
 *                    standby's blocked out policies keep their template)
 *   routes           rtm_protocol XF_RTPROT_HAIKED (add-route, VTI pins)
 *   VTI devices      named hk-*, kind vti/vti6, ikey and okey in
 *                    XF_VTI_KEY_BASE + 1 .. XF_VTI_KEY_MAX (their routes
 *                    go with them)
 */
#ifndef HAIKED_DP_XFRM_CLEANUP_H
#define HAIKED_DP_XFRM_CLEANUP_H

#include <stddef.h>

struct xf_cleanup_counts {
    size_t states, policies, routes, devices;
};

/* Removes what is haiked's in namespace ns ("" = the caller's own), adding
 * what went to *n. 0; 1 when the kernel has no XFRM netlink (nothing of
 * the kernel data plane can be there; routes and devices still done);
 * -1 with err (no such namespace, a refused delete: the rest is still
 * tried). */
int xf_cleanup_ns(const char *ns, struct xf_cleanup_counts *n, char *err, size_t errlen);

#endif
