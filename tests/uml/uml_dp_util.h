/*
 * Shared by the UML data-plane drivers (uml_dp_seq.c, uml_dp_vti.c): their
 * command-line parsing and the CHILD SA / owner they hand the kernel
 * backend. Each program includes it once.
 */
#ifndef UML_DP_UTIL_H
#define UML_DP_UTIL_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ike/const.h>
#include <ike/export.h>

#include "daemon.h"
#include "gateway.h"

/* "192.0.2.1" as an IPv4 ike_addr. */
static inline int uml_parse_addr(const char *s, struct ike_addr *out)
{
    memset(out, 0, sizeof(*out));
    out->family = IKE_AF_INET;
    return inet_pton(AF_INET, s, out->addr) == 1 ? 0 : -1;
}

/* "192.0.2.0/25" as an IPv4 address-range traffic selector (all ports). */
static inline int uml_parse_net(const char *s, struct ike_ts_export *ts)
{
    char buf[32];
    const char *slash = strchr(s, '/');
    if (!slash || (size_t)(slash - s) >= sizeof(buf))
        return -1;
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = '\0';
    char *end;
    long plen = strtol(slash + 1, &end, 10);
    struct in_addr a;
    if (end == slash + 1 || *end || plen < 0 || plen > 32 || inet_pton(AF_INET, buf, &a) != 1)
        return -1;
    uint32_t mask = plen ? 0xffffffffu << (32 - plen) : 0;
    uint32_t lo = ntohl(a.s_addr) & mask, hi = lo | ~mask;
    memset(ts, 0, sizeof(*ts));
    ts->type = IKE_TS_IPV4_ADDR_RANGE;
    ts->end_port = 65535;
    uint32_t nlo = htonl(lo), nhi = htonl(hi);
    memcpy(ts->start_addr, &nlo, 4);
    memcpy(ts->end_addr, &nhi, 4);
    return 0;
}

/* "vdom=NETNS": *vdom becomes the VDOM `name` whose namespace is
 * /run/netns/NETNS. false (and *vdom untouched) for any other argument. */
static inline bool uml_parse_vdom(const char *arg, const char *name, struct vdom_rt *vdom)
{
    if (strncmp(arg, "vdom=", 5) || !arg[5] || strlen(arg + 5) >= sizeof(vdom->netns))
        return false;
    snprintf(vdom->name, sizeof(vdom->name), "%s", name);
    snprintf(vdom->netns, sizeof(vdom->netns), "%s", arg + 5);
    return true;
}

/* An AES-GCM-16/256 ESP tunnel-mode CHILD SA of selector cfg_name with one
 * traffic selector each side; SPIs, keys and selectors are the caller's. */
static inline void uml_child_init(struct ike_child_export *ex, const char *cfg_name)
{
    memset(ex, 0, sizeof(*ex));
    ex->version = IKE_EXPORT_VERSION;
    snprintf(ex->cfg_name, sizeof(ex->cfg_name), "%s", cfg_name);
    ex->protocol = IKE_PROTO_ESP;
    ex->tunnel = true;
    ex->encr_id = IKE_ENCR_AES_GCM_16;
    ex->encr_key_bits = 256;
    ex->n_ts_local = ex->n_ts_remote = 1;
}

/* owner as the IKE SA of gateway gw named `name` (no config, no VDOM:
 * the caller adds what its case needs). */
static inline void uml_owner_init(struct gw_sa *owner, struct gateway *gw, const char *name)
{
    memset(gw, 0, sizeof(*gw));
    memset(owner, 0, sizeof(*owner));
    gw->name = name;
    owner->gw = gw;
    TAILQ_INIT(&owner->children);
}

#endif
