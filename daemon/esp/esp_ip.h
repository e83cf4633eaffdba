/*
 * Inner (tunnelled) IP packets as the userspace data plane sees them: the
 * addresses, protocol and ports a traffic selector (RFC 7296 §3.13.1) is
 * matched against, for IPv4 and IPv6 (extension headers are not walked:
 * the protocol is the first Next Header, ports only for TCP/UDP/SCTP).
 */
#ifndef HAIKED_ESP_IP_H
#define HAIKED_ESP_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/export.h>

#define ESP_NH_IPV4 4
#define ESP_NH_IPV6 41
#define ESP_NH_NONE 59 /* RFC 4303 §2.6: a dummy packet, dropped silently */

struct esp_ip_info {
    uint8_t version; /* 4 or 6 */
    uint8_t proto;
    uint16_t sport, dport; /* 0 when the protocol has none */
    uint8_t src[16], dst[16];
};

/* 0, or -1 when p is not a whole IPv4/IPv6 packet of len octets. */
int esp_ip_parse(const uint8_t *p, size_t len, struct esp_ip_info *out);

/* Does ts contain the address (and, when set, protocol and port)? */
bool esp_ts_match(const struct ike_ts_export *ts, uint8_t version, const uint8_t *addr,
                  uint8_t proto, uint16_t port);
/* Is the packet inside (local TSs, remote TSs)? outbound: src local,
 * dst remote; inbound: the other way round. */
bool esp_ip_in_selectors(const struct esp_ip_info *ip, bool outbound,
                         const struct ike_ts_export *local, size_t n_local,
                         const struct ike_ts_export *remote, size_t n_remote);

#endif
