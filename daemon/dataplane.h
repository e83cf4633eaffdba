/*
 * The data-plane interface: where negotiated CHILD SA pairs go. The front
 * (dataplane.c) keeps one struct dp_child per installed pair — SPIs,
 * selectors, algorithms, install time, never keys — listed per IKE SA for
 * hactl; a backend does the actual work:
 *
 *   record     keeps the pairs and nothing else (this issue: no ESP here)
 *   userspace  ESP over TUN, ESP-in-UDP on 4500 (issue 4)
 *   kernel     XFRM via libnl-3 (issue 4)
 *
 * A backend sees the keys only during install(). ESP-in-UDP datagrams that
 * arrive on our 4500 socket are passed to esp_input(); a backend without
 * ESP leaves it NULL and the caller counts them as dropped.
 */
#ifndef HAIKED_DATAPLANE_H
#define HAIKED_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <ike/ctx.h>
#include <ike/export.h>

struct dp;
struct gw_sa;
struct event_base;

struct dp_counters {
    uint64_t packets_in, bytes_in;
    uint64_t packets_out, bytes_out;
    uint64_t dropped_replay, dropped_integrity, dropped_other;
    uint64_t seq_out;        /* last outbound ESP sequence number used */
    uint64_t replay_in_edge; /* highest inbound sequence number accepted */
};

#define DP_NAME_MAX 64
#define DP_REPLAY_WINDOW_DEFAULT 1024

struct dp_child {
    TAILQ_ENTRY(dp_child) sa_link;  /* in gw_sa.children */
    TAILQ_ENTRY(dp_child) all_link; /* in dp.children */
    struct gw_sa *owner;            /* NULL after the IKE SA went away */
    char gw_name[DP_NAME_MAX];
    char child_name[DP_NAME_MAX];   /* the selector config ("phase 2") */
    uint8_t ike_spi_i[IKE_SPI_LEN], ike_spi_r[IKE_SPI_LEN];
    uint32_t spi_in, spi_out;       /* host order */
    uint8_t protocol;               /* IKE_PROTO_ESP */
    bool tunnel;
    uint16_t encr_id, encr_key_bits, integ_id;
    bool esn;
    size_t n_ts_local, n_ts_remote;
    struct ike_ts_export ts_local[IKE_EXPORT_TS_MAX];
    struct ike_ts_export ts_remote[IKE_EXPORT_TS_MAX];
    struct ike_addr local, remote;  /* outer addresses at install (ports: NAT-T) */
    bool encap;                     /* ESP-in-UDP (NAT detected) */
    /* An HA standby's copy (the owner's IKE SA is passive): nothing may
     * leave on it, its outbound sequence numbers trail the master's until
     * the takeover jump (set_passive). */
    bool passive;
    uint64_t installed_ms;          /* CLOCK_MONOTONIC */
    uint64_t installed_wall;        /* CLOCK_REALTIME s */
    struct dp_counters ctr;         /* as last read from the backend */
    void *backend;                  /* the backend's per-pair state */
    struct dp_child *spi_next;      /* dp.spi_index chain */
};

TAILQ_HEAD(dp_child_list, dp_child);

/* A backend's own state for hactl (dp_info()): what only it knows. */
#define DP_INFO_NETNS_MAX 64
struct dp_info_netns {
    char name[DP_NAME_MAX]; /* "" = the daemon's own namespace */
    uint64_t events;        /* messages on its XFRM event socket */
    uint64_t ae_events, expires, unknown, errors, overruns;
};
struct dp_info {
    /* userspace: UDP GSO for ESP-in-UDP */
    bool has_gso;
    bool gso;               /* on (HAIKED_UDP_GSO=0 turns it off) */
    uint64_t gso_refused;   /* runs the kernel refused */
    uint64_t gso_paths_off; /* paths GSO is off for now */
    uint64_t gso_msgs, gso_evictions;
    /* kernel: the event sockets per network namespace in use */
    size_t n_netns, netns_omitted;
    struct dp_info_netns netns[DP_INFO_NETNS_MAX];
};
/* A gateway's device in the data plane (route-based VTI, the TUN). */
struct dp_gw_device {
    char kind[8]; /* "vti", "vti6", "tun" */
    char ifname[DP_NAME_MAX];
    char netns[DP_NAME_MAX]; /* "" = the daemon's own */
    int ifindex;
    uint32_t key; /* VTI ikey = okey = its policies' mark; 0: none */
};

struct dp_backend_ops {
    const char *name;
    int (*open)(struct dp *dp, char *err, size_t errlen);
    void (*close)(struct dp *dp);
    /* c is filled (no keys); ex carries them for this call only. */
    int (*install)(struct dp *dp, struct dp_child *c, const struct ike_child_export *ex,
                   char *err, size_t errlen);
    void (*remove)(struct dp *dp, struct dp_child *c);
    /* Fresh counters into c->ctr; -1 if the backend cannot tell. */
    int (*counters)(struct dp *dp, struct dp_child *c);
    /* Takeover (issue 5): outbound sequence number and replay edge. */
    int (*set_seq)(struct dp *dp, struct dp_child *c, uint64_t seq_out, uint64_t replay_in_edge);
    /* c->passive changed (an HA role change of its owner; install() reads
     * it too): a passive pair carries nothing outbound. NULL: the backend
     * sends only what reaches it anyway. */
    int (*set_passive)(struct dp *dp, struct dp_child *c, bool passive);
    /* An ESP-in-UDP datagram (marker-less, SPI first) from remote to local;
     * NULL: this backend carries no ESP. */
    void (*esp_input)(struct dp *dp, const uint8_t *data, size_t len,
                      const struct ike_addr *local, const struct ike_addr *remote);
    /* The end of a batch of esp_input() calls: what the backend held back
     * to coalesce is written now. NULL: esp_input holds nothing back. */
    void (*esp_flush)(struct dp *dp);
    /* The gateway was removed from the configuration (its pairs are gone
     * or going): what the backend keeps per gateway (the kernel backend's
     * VTI device) goes. NULL: nothing kept. */
    void (*gateway_removed)(struct dp *dp, const char *gw_name);
    /* For hactl: the backend's own state into out (zeroed by the caller);
     * NULL: nothing to tell. */
    void (*info)(struct dp *dp, struct dp_info *out);
    /* For hactl: gw_name's device; false: none. NULL: never any. */
    bool (*gateway_device)(struct dp *dp, const char *gw_name, struct dp_gw_device *out);
};

/* Sends one ESP-in-UDP datagram (SPI first, no non-ESP marker) of c from
 * c->local to c->remote over the owner's port-4500 socket: 0 or -errno. */
typedef int (*dp_udp_send_fn)(void *arg, const struct dp_child *c, const uint8_t *data,
                              size_t len);
/* For a backend that batches its ESP-in-UDP (sendmmsg, UDP GSO) itself:
 * the owner's port-4500 socket c's datagrams leave on (fd), whether
 * c->local must go in a PKTINFO cmsg (the socket is bound to the
 * wildcard), and the owner's cookie for dp_udp_sent_fn. 0 or -errno (no
 * such socket; counted by the owner). The fd is valid until the event
 * loop's next turn. */
struct dp_udp_path {
    int fd;
    bool pktinfo;
    void *owner;
};
typedef int (*dp_udp_path_fn)(void *arg, const struct dp_child *c, struct dp_udp_path *out);
/* What became of one datagram (octets) sent on a path: err 0 or -errno;
 * the owner counts it as it counts udp_send's. */
typedef void (*dp_udp_sent_fn)(void *arg, void *owner, size_t octets, int err);
/* The counter event (HA sync): c's counters (c->ctr) were refreshed after
 * counter_event_packets packets or counter_event_ms ms with traffic. */
typedef void (*dp_counter_event_fn)(void *arg, struct dp_child *c);
/* What a backend reports about a CHILD SA (from the event loop, never from
 * inside install/remove): traffic seen since the last report (for DPD, at
 * most once a second), a soft or hard byte/packet lifetime reached. */
enum dp_report {
    DP_REPORT_INBOUND = 1,  /* authentic ESP arrived */
    DP_REPORT_OUTBOUND = 2, /* we sent ESP */
    DP_REPORT_SOFT_LIMIT,   /* rekey it */
    DP_REPORT_HARD_LIMIT,   /* delete it */
};
typedef void (*dp_report_fn)(void *arg, struct dp_child *c, enum dp_report what);
/* Byte/packet lifetimes of a CHILD SA (0 = none), per direction. */
struct dp_limits {
    uint64_t soft_bytes, hard_bytes, soft_packets, hard_packets;
};

struct dp {
    const struct dp_backend_ops *ops;
    struct event_base *base;
    void *priv;                    /* the backend's */
    struct dp_child_list children; /* every installed pair */
    size_t n_children;
    /* children by inbound SPI (dp_child_find per install and per ESP
     * packet; a list walk made 10^4 tunnels quadratic). NULL: walk. */
    struct dp_child **spi_index;
    size_t spi_index_size; /* power of two */
    uint64_t installs, removes, install_failures;
    uint64_t esp_in_dropped;       /* ESP datagrams nobody could take */
    /* Set by the owner after dp_open() (NULL: none). */
    dp_udp_send_fn udp_send;
    void *udp_send_arg;            /* also udp_path's and udp_sent's */
    dp_udp_path_fn udp_path;       /* NULL: udp_send per datagram */
    dp_udp_sent_fn udp_sent;
    dp_counter_event_fn counter_event;
    void *counter_event_arg;
    uint32_t counter_event_packets; /* 0: never by packets */
    uint32_t counter_event_ms;      /* 0: never by time */
    uint32_t replay_window;         /* inbound anti-replay window (packets, 0 = off) */
    dp_report_fn report;
    void *report_arg;
};

/* "record", "userspace" or "kernel"; -1 with err otherwise. */
int dp_open(struct dp *dp, const char *backend, struct event_base *base, char *err,
            size_t errlen);
/* Removes every pair (backend remove()), then closes. */
void dp_close(struct dp *dp);
bool dp_backend_known(const char *backend);

/* Installs the pair of ex for owner (may be NULL in tests) and links it
 * into owner->children. NULL with err when the backend refused. */
struct dp_child *dp_child_install(struct dp *dp, struct gw_sa *owner,
                                  const struct ike_child_export *ex, const struct ike_addr *local,
                                  const struct ike_addr *remote, bool encap, uint64_t now_ms,
                                  char *err, size_t errlen);
/* Removes and frees c (unlinks it from its owner). */
void dp_child_delete(struct dp *dp, struct dp_child *c);
/* Every pair of owner follows its IKE SA's HA role (passive or not);
 * returns how many the backend refused (they keep their old state). */
size_t dp_children_passive(struct dp *dp, struct gw_sa *owner, bool passive);
struct dp_child *dp_child_find(struct dp *dp, uint32_t spi_in);
/* Refreshes c->ctr from the backend; -1 if it cannot. */
int dp_child_counters(struct dp *dp, struct dp_child *c);
/* 0 when the backend took it; -1 when there is no ESP data plane (the
 * caller counts the drop). */
int dp_esp_input(struct dp *dp, const uint8_t *data, size_t len, const struct ike_addr *local,
                 const struct ike_addr *remote);
/* The same for one datagram of a receive batch: the backend may hold the
 * decapsulated packet back to coalesce it until dp_esp_flush(), which the
 * caller calls at the batch's end (and before anything else, such as an
 * IKE message of the same batch, is processed). */
int dp_esp_input_batch(struct dp *dp, const uint8_t *data, size_t len,
                       const struct ike_addr *local, const struct ike_addr *remote);
void dp_esp_flush(struct dp *dp);
/* The gateway gw_name was removed (reload): the backend's per-gateway state goes. */
void dp_gateway_removed(struct dp *dp, const char *gw_name);

/* What the backend tells about itself / gw_name's device (hactl). */
void dp_info(struct dp *dp, struct dp_info *out);
bool dp_gateway_device(struct dp *dp, const char *gw_name, struct dp_gw_device *out);

/* The backends (dp_*.c). */
extern const struct dp_backend_ops dp_record_ops;
extern const struct dp_backend_ops dp_userspace_ops; /* esp/dp_userspace.c */
extern const struct dp_backend_ops dp_xfrm_ops;      /* esp/dp_xfrm.c ("kernel") */

#endif
