/*
 * The userspace data plane's network plumbing: one TUN device per gateway
 * (IFF_TUN | IFF_NO_PI | IFF_VNET_HDR with TSO and checksum offload, see
 * esp_gso.h; named "hk-<gateway>", cut to IFNAMSIZ), brought up
 * with an MTU that leaves room for ESP-in-UDP, and routes to a CHILD SA's
 * remote selectors through it (rtnetlink, with a preferred source address
 * inside the local selectors when the host has one, so that the gateway's
 * own traffic is inside the SA too).
 */
#ifndef HAIKED_ESP_TUN_H
#define HAIKED_ESP_TUN_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/export.h>

/* 1500 - outer IPv4 (20) - UDP (8) - worst ESP overhead (ESP_OVERHEAD_MAX
 * rounded up): inner packets never need fragmenting on a 1500 path. */
#define ESP_TUN_MTU 1400
#define ESP_TUN_TXQLEN 2000

/* "hk-" + gw, cut to IFNAMSIZ - 1. */
void esp_tun_name(const char *gw, char name[IFNAMSIZ]);
/* Opens (creates) the non-blocking TUN name and brings it up; fd or
 * -errno with err. *ifindex set. */
int esp_tun_open(const char *name, int *ifindex, char *err, size_t errlen);

/* Adds (add true) or deletes routes for every remote TS through ifindex,
 * ranges split into prefixes. Returns how many routes were changed, or
 * -errno of the first failure with err (EEXIST on add is not a failure). */
int esp_tun_routes(int ifindex, bool add, const struct ike_ts_export *remote, size_t n_remote,
                   const struct ike_ts_export *local, size_t n_local, char *err, size_t errlen);

/* Splits [start, end] (IPv4, host order) into prefixes: calls fn for each. */
void esp_range_prefixes(uint32_t start, uint32_t end, void (*fn)(void *arg, uint32_t net,
                        unsigned plen), void *arg);

#endif
