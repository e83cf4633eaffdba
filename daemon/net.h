/*
 * UDP sockets for IKE: ports 500 and 4500, IPv4 and IPv6, bound on the
 * configured local addresses (or the wildcard), with IP_PKTINFO /
 * IPV6_RECVPKTINFO so every datagram carries the address it arrived on and
 * replies leave from that address. Port 4500 speaks RFC 3948: IKE behind
 * the 4-octet non-ESP marker (stripped here on receive, added on send),
 * ESP (a non-zero SPI first) handed on, 1-octet 0xFF NAT-keepalives ignored.
 *
 * Sockets may be opened inside a named network namespace (/run/netns/NAME)
 * for the VDOMs of later issues: net_socket_netns() enters it, opens the
 * socket and returns to the daemon's namespace.
 */
#ifndef HAIKED_NET_H
#define HAIKED_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/ctx.h>

#include "gateway.h"

struct event_base;
struct event;

/* Longest datagram we take; longer ones are dropped as oversized. PSK
 * exchanges stay far below; RFC 7383 fragments cover larger messages. */
#define NET_MAX_DGRAM 16384
/* Datagrams per recvmmsg: one buffer of NET_MAX_DGRAM each, allocated once. */
#define NET_RX_BATCH 64
/* Socket buffers of the 4500 sockets: a TCP flow's burst of ESP-in-UDP
 * must not overflow the default ~200 KiB while the loop is elsewhere. */
#define NET_NATT_SOCKBUF (4 << 20)
#define NET_MAX_SOCKS 32
#define NET_NETNS_MAX 64

enum net_class {
    NET_CLASS_IKE = 0,   /* an IKE message (after the marker on 4500) */
    NET_CLASS_ESP,       /* ESP-in-UDP on 4500 */
    NET_CLASS_KEEPALIVE, /* NAT-keepalive: ignore */
    NET_CLASS_TRUNCATED, /* too short to be any of these */
};

/* Pure: classifies a datagram received on local_port; for IKE and ESP,
 * *off is where the message starts (4 after the non-ESP marker). */
enum net_class net_classify(uint16_t local_port, const uint8_t *data, size_t len, size_t *off);

struct net;

struct net_sock {
    int fd;
    struct event *ev;
    struct ike_addr bound; /* family, address (all-zero: wildcard), port */
    struct net *net;
};

struct net_counters {
    /* Every datagram on the IKE sockets (500 and 4500), whatever it is. */
    uint64_t dgrams_in, dgrams_out, bytes_in, bytes_out;
    /* By kind: IKE messages, ESP-in-UDP (RFC 3948; userspace data plane),
     * NAT-keepalives. IKE counts only IKE: a tunnel's traffic is ESP. */
    uint64_t ike_in, ike_out, esp_out;
    uint64_t keepalives_in, keepalives_out, esp_in;
    uint64_t send_errors, recv_errors;
    uint64_t dropped[GW_DROP_COUNT]; /* before a gateway was known */
};

/* What the owner gets: an IKE message (marker stripped) or ESP. */
struct net_handlers {
    void (*ike)(void *arg, const uint8_t *data, size_t len, const struct ike_addr *local,
                const struct ike_addr *remote);
    void (*esp)(void *arg, const uint8_t *data, size_t len, const struct ike_addr *local,
                const struct ike_addr *remote);
    /* A datagram dropped before dispatch (truncated, oversized): counted
     * in net_counters.dropped already; for logging. */
    void (*dropped)(void *arg, enum gw_drop_reason why, size_t len, const struct ike_addr *local,
                    const struct ike_addr *remote);
    void *arg;
    /* The datagrams of one socket arrive in batches (recvmmsg); after the
     * last ESP of a run (at the batch's end, or before an IKE message or
     * keepalive of the same batch is handed on) this is called, so the
     * data plane can write what it coalesced. NULL: not needed. */
    void (*esp_done)(void *arg);
};

struct net {
    struct event_base *base;
    struct net_handlers h;
    char netns[NET_NETNS_MAX]; /* "" = the daemon's own namespace */
    struct net_sock socks[NET_MAX_SOCKS];
    size_t n_socks;
    struct net_counters ctr;
    /* ESP is the kernel's (the "kernel" data plane): sockets opened from
     * then on get UDP_ENCAP_ESPINUDP on port 4500 and an XFRM bypass
     * policy (IKE must never go through the CHILD SAs). Set before
     * net_listen(). */
    bool esp_in_kernel;
    /* HA: the local addresses are VIPs that only the master holds; a
     * standby binds them before they exist (IP_FREEBIND). */
    bool freebind;
};

void net_init(struct net *net, struct event_base *base, const struct net_handlers *h,
              const char *netns);
/* Closes every socket. */
void net_close(struct net *net);

/* socket(2) inside network namespace ns (NULL/"" = current): -errno on
 * failure. The calling thread always returns to its own namespace. */
int net_socket_netns(const char *ns, int domain, int type, int protocol);

/* Binds 500 and 4500 on addr (family set, address maybe all-zero for the
 * wildcard; port ignored) unless already bound. 0, or -errno with err. */
int net_listen(struct net *net, const struct ike_addr *addr, char *err, size_t errlen);

/* Sends an IKE message from local to remote (ports included); on port
 * 4500 the non-ESP marker is prepended. 0 or -errno. */
int net_send_ike(struct net *net, const struct ike_addr *local, const struct ike_addr *remote,
                 const uint8_t *data, size_t len);
/* Sends an ESP-in-UDP datagram (RFC 3948: SPI first, no marker) from local
 * to remote (port 4500 on both ends, normally). 0 or -errno. */
int net_send_esp(struct net *net, const struct ike_addr *local, const struct ike_addr *remote,
                 const uint8_t *data, size_t len);
/* For ESP-in-UDP sent outside net_send_esp (batched by the data plane):
 * the socket net_send_esp would use for local, and whether local must go
 * in a PKTINFO cmsg; -EADDRNOTAVAIL (a send error) if there is none. */
int net_esp_sock(struct net *net, const struct ike_addr *local, bool *pktinfo);
/* Counts one such datagram of octets: sent (err 0) or failed. */
void net_esp_sent(struct net *net, size_t octets, int err);
/* Sends a NAT-keepalive (one 0xFF octet) from local to remote. */
int net_send_keepalive(struct net *net, const struct ike_addr *local,
                       const struct ike_addr *remote);

/* sockaddr conversions (ports in host order in ike_addr). */
struct sockaddr_storage;
void net_addr_from_sockaddr(struct ike_addr *out, const struct sockaddr_storage *ss);
size_t net_addr_to_sockaddr(const struct ike_addr *a, struct sockaddr_storage *ss);
/* "203.0.113.1" or "2001:db8::1" -> a (port 0); -1 if neither. */
int net_addr_parse(const char *text, struct ike_addr *a);
bool net_addr_is_any(const struct ike_addr *a);
/* Same family and address; ports ignored. */
bool net_addr_same_host(const struct ike_addr *a, const struct ike_addr *b);

#endif
