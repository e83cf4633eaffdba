/*
 * The data plane's own state for hactl: the backend (dp_info(): UDP GSO
 * of the userspace backend, the kernel backend's XFRM event counters per
 * network namespace) for `status`, a gateway's device (dp_gateway_device():
 * a route-based VTI's name, ifindex and key, the userspace TUN) for the
 * gateway listings. From the request's arena; NULL when it ran out.
 */
#ifndef HAIKED_CTL_DATAPLANE_H
#define HAIKED_CTL_DATAPLANE_H

#include "control.pb-c.h"
#include "ctl/ctl_dispatch.h"

struct gateway;

Ctl__DataplaneStatus *ctl_v_dataplane(struct ctl_req *r);
/* NULL also when gw has no device (then nothing is shown). */
Ctl__DataplaneDevice *ctl_v_device(struct ctl_req *r, const struct gateway *gw);

#endif
