/*
 * The daemon: one event_base, the loaded configuration, the gateways'
 * runtime (<gateway.h>), the VDOMs' sockets (<net.h>), the SA table, the
 * data plane, the log, and the libike context that ties them together.
 * main.c creates one; the unit tests create several.
 *
 * Nothing here is global: every module gets the struct daemon (or a part
 * of it) explicitly.
 */
#ifndef HAIKED_DAEMON_H
#define HAIKED_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ike/ctx.h>
#include <ike/events.h>

#include "config/config.h"
#include "dataplane.h"
#include "gateway.h"
#include "log.h"
#include "net.h"
#include "peer_index.h"
#include "sa_table.h"

struct event_base;
struct event;
struct ha;

/* From project() in the top-level CMakeLists.txt (daemon/CMakeLists.txt). */
#ifndef HAIKED_VERSION
#error "HAIKED_VERSION must be defined by the build"
#endif

/* A VDOM at run time: its network namespace and sockets. */
struct vdom_rt {
    struct daemon *d;
    unsigned index; /* in log lines: "ike <index>:GW:..." */
    char name[CFG_NAME_MAX + 1];
    char netns[NET_NETNS_MAX]; /* "" = the daemon's own */
    struct net net;
    uint64_t invalid_spi_sec;  /* rate limit of INVALID_IKE_SPI answers */
    unsigned invalid_spi_sent;
};

/* Sees every libike sync event (hasync subscribes later). */
typedef void (*daemon_event_observer)(void *arg, const struct ike_event *ev);

struct daemon_counters {
    uint64_t events[8];          /* by enum ike_event_type */
    uint64_t ike_sa_created;     /* initiated + responded with state */
    uint64_t stateless_replies;  /* IKE_SA_INIT answered without an SA */
    uint64_t sa_table_collisions;
    uint64_t esp_dropped;        /* ESP-in-UDP with no data plane */
};

struct daemon {
    struct event_base *base;
    struct cfg *cfg;
    char *config_path;
    struct hlog log;
    struct gateway_list gateways;
    size_t n_gateways;
    struct gateway_list retiring;  /* removed/changed by reload, Deletes under way (gw_retire.c) */
    size_t n_retiring;
    struct vdom_rt *vdoms;
    size_t n_vdoms;
    struct sa_table sat;
    struct peer_index peer_ids; /* IKE SAs by (gateway, peer ID): INITIAL_CONTACT */
    struct dp dp;
    struct ike_ctx ike_ctx;
    uint32_t next_serial;
    uint64_t started_ms;
    struct daemon_counters ctr;
    /* Set around ike_sa_initiate()/ike_sa_respond(): libike calls back
     * (send, timers, logs) before it returns the new SA. */
    struct gw_sa *creating;
    struct vdom_rt *cur_vdom;
    struct gateway *cur_gw;
    daemon_event_observer observer;
    void *observer_arg;
    struct event *reaper;  /* frees dying SAs outside libike's callbacks */
    struct ike_cookie_jar *cookies; /* RFC 7296 §2.6, rotated by cookie_timer */
    struct event *cookie_timer;
    bool stopping;
    int cfg_ike_level;     /* the configured ike level (gw_debug_clear restores it) */
    void *ctl;             /* the control server (daemon/ctl/), opaque here */
    struct ha *ha;         /* the cluster side (daemon/ha/ha.h); NULL without HA */
};

/* Takes cfg (freed by daemon_free). log_out: the log FILE (NULL = syslog).
 * Opens the data plane; no sockets yet. -1 with err. */
int daemon_init(struct daemon *d, struct event_base *base, struct cfg *cfg,
                const char *config_path, FILE *log_out, char *err, size_t errlen);
/* Opens every VDOM's sockets and starts the auto gateways. -1 with err. */
int daemon_start(struct daemon *d, char *err, size_t errlen);
/* SIGHUP: unchanged gateways keep their tunnels, removed/changed ones are
 * torn down, new ones start. Takes next. -1 with err (then the old config
 * stays in force and next is freed). */
int daemon_reload(struct daemon *d, struct cfg *next, char *err, size_t errlen);
/* Deletes every IKE SA (Delete to the peer where libike can) and stops
 * initiating. The loop may run a little longer to send. */
void daemon_shutdown(struct daemon *d);
void daemon_free(struct daemon *d);

void daemon_set_observer(struct daemon *d, daemon_event_observer fn, void *arg);
uint64_t daemon_now_ms(void);

/* Internal plumbing between the daemon's modules. */
struct vdom_rt *daemon_vdom(struct daemon *d, const char *name);
void daemon_ike_input(struct vdom_rt *v, const uint8_t *data, size_t len,
                      const struct ike_addr *local, const struct ike_addr *remote);
/* Schedules dying SAs to be freed at the next loop turn. */
void daemon_schedule_reap(struct daemon *d);
/* The who of a log line about gw / gs (either may be NULL). */
struct hlog_who daemon_who(const struct gateway *gw, const struct gw_sa *gs);

/* ike_glue.c: the ops table of d->ike_ctx. */
extern const struct ike_ctx_ops daemon_ike_ops;

#endif
