/*
 * The daemon's runtime model, as the control socket (daemon/ctl/) sees it:
 * one struct gateway per configured gateway ("phase 1"), holding its live
 * IKE SAs (struct gw_sa, wrapping libike's struct ike_sa), the CHILD SAs the
 * data plane installed for each of them (struct dp_child, <dataplane.h>),
 * per-gateway counters and DPD state, and the operator actions of hactl.
 *
 * Stability: ctl builds on this header. Fields and functions are only ever
 * added, never renamed or removed.
 *
 * Ownership: everything here belongs to the daemon (struct daemon,
 * <daemon.h>); pointers stay valid until control returns to the event loop
 * (an action may free SAs: do not keep a gw_sa across gw_down()/gw_clear()).
 * Lists are <sys/queue.h> TAILQs; iterate with TAILQ_FOREACH or the
 * gw_*_first/next helpers below.
 */
#ifndef HAIKED_GATEWAY_H
#define HAIKED_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <ike/ctx.h>
#include <ike/sa.h>

struct daemon;
struct cfg_gateway;   /* daemon/config/config.h */
struct dp_child;      /* daemon/dataplane.h */
struct event;
struct peer_id_group; /* daemon/peer_index.c */
struct vdom_rt;   /* daemon/daemon.h */

/* Why peer input was dropped; indexes gw_counters.dropped[] and
 * net_counters.dropped[] (<net.h>). */
enum gw_drop_reason {
    GW_DROP_MALFORMED = 0, /* header/payload decode, rules, wrong flags */
    GW_DROP_INTEGRITY,     /* ICV / AEAD tag mismatch */
    GW_DROP_MSGID,         /* duplicate, late, out-of-window message ID */
    GW_DROP_UNKNOWN_SPI,   /* no IKE SA with these SPIs */
    GW_DROP_NO_GATEWAY,    /* IKE_SA_INIT from a peer no gateway accepts */
    GW_DROP_UNHANDLED,     /* authentic but not handled in this state */
    GW_DROP_TRUNCATED,     /* shorter than an IKE header / length field */
    GW_DROP_OVERSIZED,     /* longer than our receive buffer */
    GW_DROP_ESP,           /* ESP on 4500: no data plane until issue 4 */
    GW_DROP_HALF_OPEN,     /* half-open limit reached (per peer or global) */
    GW_DROP_AUTH,          /* authentication failed */
    GW_DROP_PROPOSAL,      /* no proposal chosen */
    GW_DROP_TS,            /* traffic selectors unacceptable */
    GW_DROP_OTHER,
    GW_DROP_COUNT
};

const char *gw_drop_reason_name(enum gw_drop_reason r);

struct gw_counters {
    uint64_t dgrams_in, dgrams_out; /* IKE datagrams for this gateway */
    uint64_t bytes_in, bytes_out;
    uint64_t dropped[GW_DROP_COUNT];
    uint64_t ike_sa_established;   /* total since start (or gw_clear) */
    uint64_t ike_sa_failed;        /* died before ESTABLISHED */
    uint64_t ike_sa_deleted;       /* established, then gone */
    uint64_t child_installed;
    uint64_t child_deleted;
    uint64_t child_install_failed;
    uint64_t retransmits;          /* our requests sent again */
    uint64_t events;               /* libike sync events seen */
    uint64_t ike_rekeys;           /* IKE SAs replaced by a rekey (either side) */
    uint64_t reauths;              /* reauthentications started (make-before-break) */
    uint64_t child_rekeys;         /* CHILD SAs installed as a rekey of another */
    uint64_t initial_contact_drops; /* older SAs dropped on the peer's INITIAL_CONTACT */
    uint64_t deletes_sent;         /* IKE SA Deletes we started */
};

enum gw_dpd_mode {
    GW_DPD_OFF = 0,
    GW_DPD_ON_IDLE,   /* probe when nothing was received for `interval` */
    GW_DPD_ON_DEMAND, /* probe only when traffic is sent but none received */
};

struct gw_dpd {
    enum gw_dpd_mode mode;
    uint32_t interval_s;
    uint32_t retries;
    uint64_t probes_sent;
    uint64_t replies;       /* probes answered */
    uint64_t failures;      /* peers declared dead */
    uint64_t last_rx_ms;    /* CLOCK_MONOTONIC ms of the last datagram from the peer */
};

enum gw_state {
    GW_STATE_IDLE = 0,   /* no IKE SA; auto gateways retry, passive ones wait */
    GW_STATE_CONNECTING, /* an IKE SA is negotiating */
    GW_STATE_UP,         /* at least one IKE SA ESTABLISHED */
    GW_STATE_ADMIN_DOWN, /* `tunnel down`: no (re)initiation until gw_up() */
};

const char *gw_state_name(enum gw_state s);

/* One of libike's timers of an IKE SA: (sa, which) -> a libevent timer. */
struct gw_timer {
    struct gw_sa *gs;
    unsigned which;                /* enum ike_timer */
    struct event *ev;              /* created on first arm */
};

/* One live IKE SA of a gateway. */
struct gw_sa {
    TAILQ_ENTRY(gw_sa) link;       /* in gateway.sas */
    struct gateway *gw;
    struct ike_sa *sa;             /* libike's: getters and export on it */
    uint32_t serial;               /* per-daemon number, in every log line */
    uint64_t created_ms;           /* CLOCK_MONOTONIC ms */
    uint64_t established_ms;       /* 0 until ESTABLISHED */
    uint64_t created_wall;         /* CLOCK_REALTIME s, for display */
    uint32_t msgid_send_next;      /* from the MSGID_UPDATE events */
    uint32_t msgid_recv_next;
    uint64_t dgrams_in, dgrams_out;
    struct gw_timer timers[IKE_TIMER_COUNT];
    bool nat_local, nat_remote;    /* from IKE_SA_ADD/UPDATE: who is behind a NAT */
    bool half_open;                /* counted in the half-open limits */
    struct ike_addr half_open_peer; /* the address it was counted under */
    enum ike_sa_state last_state;  /* as seen after the last libike call */
    struct ike_sa_stats stats_seen; /* libike's stats already added to the counters */
    struct vdom_rt *vdom;          /* whose sockets it uses */
    bool drop_pending;             /* INITIAL_CONTACT: ike_sa_drop() at the next loop turn */
    bool reauth_pending;           /* soft lifetime with reauth: start the new SA */
    uint32_t reauth_of;            /* serial of the SA this one reauthenticates (0: none) */
    uint32_t rekey_of;             /* serial of the SA this one replaced by IKE rekey */
    bool deleting;                 /* we sent its Delete: no longer counts as up */
    TAILQ_HEAD(, dp_child) children; /* installed CHILD SAs (dp_child.sa_link) */
    bool dying;                    /* freed at the next loop turn */
    /* What this SA adds to gateway.n_live / n_established (GW_SA_COUNTED_*
     * bits): a change is applied as the difference, and a free takes back
     * exactly what was counted (gw_sa.c). */
    uint8_t counted;
    bool in_attn;                  /* on gateway.attn */
    TAILQ_ENTRY(gw_sa) attn_link;  /* in gateway.attn */
    /* Its group in daemon.peer_ids (peer_index.h), NULL when not filed;
     * id_unfiled: it should be, memory ran out (lookups then walk). */
    struct peer_id_group *id_group;
    TAILQ_ENTRY(gw_sa) id_link;
    bool id_unfiled;
};

#define GW_SA_COUNTED_LIVE 0x1u        /* attached, not dying, not deleting */
#define GW_SA_COUNTED_ESTABLISHED 0x2u /* and ESTABLISHED */

TAILQ_HEAD(gw_sa_list, gw_sa);
TAILQ_HEAD(gw_sa_id_list, gw_sa); /* a peer_index group (peer_index.h) */

struct gateway {
    TAILQ_ENTRY(gateway) link;     /* in daemon.gateways */
    struct daemon *d;
    const struct cfg_gateway *cfg; /* owned by the loaded config */
    const struct ike_sa_cfg *ike_cfg; /* = the config's ready libike config */
    const char *name;              /* = ike_cfg->name */
    unsigned vdom;                 /* 0 (root) until VDOMs (issue 6) */
    bool passive;                  /* responder only: never initiates */
    enum gw_state state;
    struct gw_sa_list sas;
    size_t n_sas;
    /* An SA was added from inside a libike call (IKE rekey): the next
     * gw_sa_after() looks at every SA, not just the one called. */
    bool sweep_needed;
    struct gw_counters counters;
    struct gw_dpd dpd;
    uint64_t natt_keepalives_sent;
    struct event *retry_timer;     /* auto gateways: re-initiate after failure */
    struct event *keepalive_timer; /* NAT-T keepalives every 20 s behind NAT */
    uint32_t retry_backoff_s;
    /* ike_cfg without INITIAL_CONTACT, for IKE SAs started while the
     * gateway still has others (reauthentication, clear/flush): the peer
     * must not drop those before their Delete is answered. */
    struct ike_sa_cfg ike_cfg_no_ic;
    /* Kept at every change of an SA (gw_sa.c), so the gateway's state
     * needs no walk over its SAs: with 10^4 SAs on a dial-up gateway a
     * walk per SA event made teardown quadratic (tests/bench/gw_shutdown.sh). */
    size_t n_live;                 /* SAs attached, not dying, not deleting */
    size_t n_established;          /* of those, ESTABLISHED */
    /* SAs with work for gw_sa_reap (dying, drop/reauth pending): the reap
     * looks at these only. */
    TAILQ_HEAD(, gw_sa) attn;
    /* SAs adopted (IKE rekey) during the current libike call: gw_sa_after
     * looks at them too. Past the array, sweep_needed (every SA). */
    struct gw_sa *adopted[4];
    unsigned n_adopted;
    /* Retirement (gw_retire.c): a SIGHUP reload removed or changed the
     * gateway. It leaves daemon.gateways for daemon.retiring (no name
     * lookup, no initiation, no new IKE_SA_INIT finds it); its IKE SAs run
     * their Delete, their CHILD SAs stay in the data plane until answered
     * or timed out, and the gateway is freed with its last SA. */
    bool retiring;
    bool retire_hold;              /* changed: Deletes wait for the successor to come up */
    bool retire_deleting;          /* the Deletes were started */
    struct event *retire_timer;    /* hold bound, then the deadline */
    struct cfg_gateway *retired_cfg; /* cfg, owned since the old config was freed */
};

TAILQ_HEAD(gateway_list, gateway);

/* ---- iteration --------------------------------------------------------- */

struct gateway *gw_first(struct daemon *d);
struct gateway *gw_next(struct gateway *gw);
size_t gw_count(const struct daemon *d);
/* By name (exact); NULL when there is none. */
struct gateway *gw_find(struct daemon *d, const char *name);
struct gw_sa *gw_sa_first(struct gateway *gw);
struct gw_sa *gw_sa_next(struct gw_sa *gs);
const struct dp_child *gw_child_first(const struct gw_sa *gs);
const struct dp_child *gw_child_next(const struct dp_child *c);
/* The gw_sa of a libike SA created by the daemon (NULL otherwise). */
struct gw_sa *gw_sa_of(const struct ike_sa *sa);

/* ---- actions (hactl) ---------------------------------------------------- */
/* Each returns 0, or -1 with a one-line reason in err (when err != NULL). */

/* `tunnel up`: clear ADMIN_DOWN and initiate unless an IKE SA exists.
 * Refused for passive gateways. */
int gw_up(struct gateway *gw, char *err, size_t errlen);
/* `tunnel down`: delete every IKE SA of the gateway (INFORMATIONAL
 * Delete to the peer) and keep it down until gw_up(). */
int gw_down(struct gateway *gw, char *err, size_t errlen);
/* `tunnel flush`: deletes the gateway's CHILD SAs (INFORMATIONAL Delete
 * each); the IKE SAs stay. Auto-negotiated selectors are not re-created
 * until the next IKE SA (or `tunnel up` after `down`). */
int gw_flush(struct gateway *gw, char *err, size_t errlen);
/* `gateway clear`: delete every IKE SA (Delete sent) and reset the
 * counters; auto gateways re-initiate. */
int gw_clear(struct gateway *gw, char *err, size_t errlen);

/* ---- debug log filter (`hactl debug ike`) ------------------------------ */

/* Only log lines about this gateway (name NULL/"" = any) and/or this
 * peer address (peer NULL = any; port ignored) pass, at levels up to
 * `level` (IKE_LOG_ERR..IKE_LOG_DEBUG). Lines with no gateway/peer pass
 * only when no filter of that kind is set. Returns -1 with err for an
 * unknown gateway name or level. */
int gw_debug_set(struct daemon *d, const char *gw_name, const struct ike_addr *peer,
                 int level, char *err, size_t errlen);
/* Clears the filters (level back to the configured one). */
void gw_debug_clear(struct daemon *d);

#endif
