/*
 * Text forms of addresses, subnets, ports, protocols and IKE identities
 * used by haiked.conf, parsed into libike's types. Each returns 0, or -1
 * with a reason (quoting the bad text) in err.
 */
#ifndef HAIKED_CFG_ADDR_PARSE_H
#define HAIKED_CFG_ADDR_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/ctx.h>
#include <ike/sa.h>

/* An IPv4 or IPv6 literal (no names: DNS is not resolved). Port 500. */
int cfg_addr_parse(const char *s, struct ike_addr *out, char *err, size_t errlen);
bool cfg_addr_is_zero(const struct ike_addr *a);

/* "10.1.0.0/16", "2001:db8::/32", "10.0.0.1-10.0.0.9" or one address, as
 * an address range TS (protocol and ports: any). Host bits set under a
 * prefix are an error (a typo more often than intended). */
int cfg_subnet_parse(const char *s, struct ike_ts *ts, uint8_t *family, char *err, size_t errlen);

/* "tcp", "udp", "icmp", "ipv6-icmp", "sctp", "gre", "any" or 0..255. */
int cfg_proto_parse(const char *s, uint8_t *out, char *err, size_t errlen);

/* "443" or "1000-2000". */
int cfg_port_range_parse(const char *s, uint16_t *start, uint16_t *end, char *err, size_t errlen);

/* IKE identity: "192.0.2.1" / "2001:db8::1" (address), "@vpn.example.com"
 * or "vpn.example.com" (FQDN), "user@example.com" (RFC 822), or explicit
 * "fqdn:", "email:", "ipv4:", "ipv6:", "keyid:<hex>". allow_any: "any"
 * (or "%any") gives type 0, which libike treats as "accept any ID". */
int cfg_id_parse(const char *s, bool allow_any, struct ike_cfg_id *out, char *err, size_t errlen);

/* The ID an address implies (the default local ID). */
void cfg_id_from_addr(const struct ike_addr *a, struct ike_cfg_id *out);

#endif
