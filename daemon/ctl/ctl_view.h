/*
 * Runtime -> control protocol: turns the daemon's gateways, IKE SAs
 * (libike getters and export) and data-plane CHILD SAs into ctl.* messages
 * allocated from the request's arena. Keys are copied only when the
 * request set show_keys; every export struct holding keys is wiped here.
 */
#ifndef HAIKED_CTL_VIEW_H
#define HAIKED_CTL_VIEW_H

#include <stdbool.h>

#include <ike/ctx.h>
#include <ike/export.h>
#include <ike/message.h>

#include "control.pb-c.h"
#include "ctl/ctl_dispatch.h"

struct gateway;
struct gw_sa;
struct dp_child;

struct daemon;

/* Asks the data plane for fresh CHILD SA counters, of gw's CHILD SAs (NULL:
 * all), before a listing shows them. */
void ctl_v_refresh_counters(struct daemon *d, const struct gateway *gw);

/* "192.0.2.1" (no port). */
char *ctl_v_addr(struct ctl_arena *a, const struct ike_addr *addr);
Ctl__Endpoint *ctl_v_endpoint(struct ctl_arena *a, const struct ike_addr *addr);
Ctl__Selector *ctl_v_ts_export(struct ctl_arena *a, const struct ike_ts_export *ts);
Ctl__Selector *ctl_v_ts(struct ctl_arena *a, const struct ike_ts *ts);

/* One gateway; with_sas adds IKE SAs, CHILD SAs and phase 2 details (the
 * listings), without it only the configuration and counters. NULL when
 * the arena ran out. */
Ctl__Gateway *ctl_v_gateway(struct ctl_req *r, struct gateway *gw, bool with_sas);
Ctl__IkeSa *ctl_v_ike_sa(struct ctl_req *r, struct gw_sa *gs);
Ctl__ChildSa *ctl_v_child(struct ctl_req *r, const struct gw_sa *gs, const struct dp_child *c);
Ctl__TunnelSummary *ctl_v_summary(struct ctl_req *r, struct gateway *gw);
/* `tunnel summary` entries of one gateway: one for a static gateway (and
 * for a dial-up one without peers), else one per dial-up peer address
 * (IKE SAs with the same remote address:port, e.g. during a rekey, are one
 * peer), named GATEWAY_0, GATEWAY_1, ... in the order the peers' oldest IKE
 * SAs were created. ctl_v_summary_count() is an upper bound for out[]. */
size_t ctl_v_summary_count(struct gateway *gw);
int ctl_v_summaries(struct ctl_req *r, struct gateway *gw, Ctl__TunnelSummary **out, size_t cap,
                    size_t *n);
struct net_counters;
Ctl__NetStats *ctl_v_net_stats(struct ctl_arena *a, const struct net_counters *c);
/* The VDOM name of a gateway ("root" without VDOMs). */
const char *ctl_v_vdom(const struct gateway *gw);

#endif
