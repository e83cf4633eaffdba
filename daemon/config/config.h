/*
 * haiked's configuration: the in-memory model the daemon consumes, loaded
 * from a libconfig file (haiked.conf, syntax in daemon/config/README.md)
 * plus a separate secrets file holding the PSKs (mode 0600, owned by root).
 *
 * Ownership: cfg_load() returns one struct cfg that owns every string,
 * array and secret reachable from it. Each gateway carries a ready-to-use
 * struct ike_sa_cfg (`gw->sa`) whose pointers (name, psk, children) point
 * into that storage: pass &gw->sa straight to ike_sa_initiate() /
 * ike_sa_respond(). libike borrows it, so a gateway must outlive its SAs;
 * gateways are individually allocated (stable addresses) so that a SIGHUP
 * reload can move unchanged ones from the old cfg into the new one
 * (cfg_adopt_unchanged) and their tunnels keep running.
 *
 * Errors: cfg_load() does not stop at the first problem; every error is
 * collected as "file:line: reason" (a libconfig syntax error ends parsing
 * of that file, so it is the only one reported from it). PSK values are
 * never part of any message.
 *
 * `haiked --check-config FILE` calls cfg_check_main() (see below).
 */
#ifndef HAIKED_CFG_CONFIG_H
#define HAIKED_CFG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ike/ctx.h>
#include <ike/sa.h>
#include <ike/secret.h>

/* ---- limits and defaults ---------------------------------------------- */

#define CFG_NAME_MAX           63 /* gateway, selector, vdom names (octets, no NUL) */
#define CFG_DEFAULT_PATH       "/etc/haiked/haiked.conf"
#define CFG_DEFAULT_SECRETS    "/etc/haiked/secrets.conf"
#define CFG_DEFAULT_CTL_SOCKET "/run/haiked/haiked.sock"
#define CFG_ROOT_VDOM          "root" /* the daemon's own network namespace */

/* ---- errors ------------------------------------------------------------ */

struct cfg_error {
    char *file;   /* may be "" when the file is unknown */
    int line;     /* 0 when not tied to a line */
    char *reason; /* never contains a secret */
    char *text;   /* "file:line: reason" (or "file: reason" when line is 0) */
};

struct cfg_errors {
    struct cfg_error *v;
    size_t n, cap;
    size_t dropped; /* past CFG_ERRORS_MAX, counted but not kept */
};
#define CFG_ERRORS_MAX 1000

/* A zeroed struct cfg_errors is ready to use; clear frees its contents. */
void cfg_errors_clear(struct cfg_errors *errs);
void cfg_errors_add(struct cfg_errors *errs, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* One error per line to f, plus a "(N more errors)" line if some were
 * dropped. */
void cfg_errors_print(const struct cfg_errors *errs, FILE *f);

/* ---- global settings --------------------------------------------------- */

enum cfg_log_level { /* same numbering as enum ike_log_level */
                     CFG_LOG_ERR = 0,
                     CFG_LOG_WARN,
                     CFG_LOG_INFO,
                     CFG_LOG_DEBUG,
};

/* Per-subsystem log switches (config key names in cfg_log_subsys_name). */
enum cfg_log_subsys {
    CFG_LOG_MAIN = 0,  /* "main": startup, signals, reload */
    CFG_LOG_CONFIG,    /* "config" */
    CFG_LOG_NET,       /* "net": sockets, datagrams in/out */
    CFG_LOG_IKE,       /* "ike": libike's lines, per-exchange events */
    CFG_LOG_DATAPLANE, /* "dataplane": CHILD SA install/remove */
    CFG_LOG_CTL,       /* "ctl": control socket */
    CFG_LOG_SYNC,      /* "sync": HA sync (later issues) */
    CFG_LOG_N_SUBSYS
};

enum cfg_log_target {
    CFG_LOG_TARGET_STDERR = 0, /* foreground; journald captures it under systemd */
    CFG_LOG_TARGET_SYSLOG,
};

enum cfg_dataplane {
    CFG_DATAPLANE_USERSPACE = 0, /* "userspace": ESP over TUN in haiked */
    CFG_DATAPLANE_KERNEL,        /* "kernel": XFRM via libnl-3 */
    CFG_DATAPLANE_RECORD,        /* "record": records CHILD SAs, no traffic (tests) */
};

struct cfg_global {
    enum cfg_log_level log_level[CFG_LOG_N_SUBSYS];
    enum cfg_log_target log_target;
    char *ctl_socket;   /* absolute path */
    char *secrets_file; /* absolute (relative ones are resolved against the config's dir) */
    enum cfg_dataplane dataplane;
    /* DoS protection (responder): COOKIE required once this many IKE SAs are
     * half-open (all peers); 0 = always. */
    uint32_t cookie_threshold;
    uint32_t half_open_max;      /* IKE_SA_INIT requests dropped beyond this */
    uint32_t half_open_per_peer; /* per remote address */
    /* Retransmission of our requests: first timeout, doubled each try. */
    uint32_t retransmit_timeout_ms;
    uint32_t retransmit_tries;
    /* A responder's half-open IKE SA (no IKE_AUTH yet) is dropped after. */
    uint32_t half_open_timeout_ms;
};

/* ---- VDOMs ------------------------------------------------------------- */

struct cfg_vdom {
    char *name;
    char *netns; /* /run/netns/NAME; NULL: the daemon's own namespace ("root") */
    /* Its virtual cluster is the cfg_ha.vclusters entry listing it (every
     * VDOM is in exactly one when HA is on). */
    char *file;
    int line; /* 0 for the implicit "root" VDOM */
};

/* ---- gateways (phase 1) and selectors (phase 2) ------------------------ */

enum cfg_dpd {
    CFG_DPD_OFF = 0,   /* "disable" */
    CFG_DPD_ON_IDLE,   /* "on-idle": probe when nothing was received for interval */
    CFG_DPD_ON_DEMAND, /* "on-demand": probe only when we sent but got nothing back */
};

enum cfg_natt {
    CFG_NATT_DISABLE = 0, /* no NAT_DETECTION notifies, stay on 500 */
    CFG_NATT_ENABLE,      /* detect, move to 4500 when a NAT is seen */
    CFG_NATT_FORCED,      /* claim a NAT so UDP encapsulation is always used */
};

/* Soft (rekey/reauth) and hard (expire) limits. Seconds always; bytes and
 * packets only for CHILD SAs (0 = no limit). The SA rekeys at
 * soft_s - random(0..jitter_s). */
struct cfg_lifetime {
    uint32_t soft_s, hard_s, jitter_s;
    uint64_t soft_bytes, hard_bytes;
    uint64_t soft_packets, hard_packets;
};

/* Largest replay-window a selector may set (the userspace data plane's
 * inline bitmap; the kernel takes as many). */
#define CFG_REPLAY_WINDOW_MAX 4096u

struct cfg_selector {
    char *name;
    struct ike_cfg_child *child; /* == &gw->children[i]: proposals, TSs for libike */
    /* Protocol/ports as configured (already applied to every TS of child). */
    uint8_t ip_proto;
    uint16_t local_port_start, local_port_end;
    uint16_t remote_port_start, remote_port_end;
    uint8_t family; /* IKE_AF_INET or IKE_AF_INET6, all subnets share it */
    bool pfs;       /* PFS groups present in child->proposals[].dh */
    struct cfg_lifetime lifetime;
    bool auto_negotiate; /* bring up with the IKE SA / at start, not on traffic */
    bool keepalive;      /* rekey even without traffic */
    bool add_route;      /* route the remote subnets into the tunnel */
    /* replay-window = N | "disable" (FortiOS `replay disable`): when
     * replay_set, the inbound anti-replay window in packets, 0 = off;
     * else the data plane's default. */
    bool replay_set;
    uint32_t replay_window;
    char *proposal_text; /* as written, for listings */
    char *file;          /* owned (gateways move between cfgs on reload) */
    int line;
};

struct cfg_gateway {
    char *name;
    char *vdom;      /* name of a struct cfg_vdom of the same cfg */
    int ike_version; /* always 2 (1 is rejected at load) */
    /* Initiator addresses are sa.local / sa.remote (ports 500). */
    bool remote_any;     /* remote-gw "any": dial-up, accepts any peer; sa.remote is the
                          * family's zero address */
    bool passive;        /* responder only: never initiates */
    bool auto_negotiate; /* initiate at start and re-initiate after a failure */
    bool reauth;         /* reauthenticate (make-before-break) instead of IKE rekey */
    bool initial_contact;
    /* route-based = true: the kernel data plane reaches the CHILD SAs through a VTI
     * device "hk-NAME" (daemon/esp/dp_xfrm_vti.c), false: policy-based. The
     * userspace data plane is route-based (its TUN) either way. */
    bool route_based;
    /* msgid-sync / replay-counter-sync written in the file: a gateway of an
     * HA vcluster defaults both to true (load_ha.c), an explicit value wins. */
    bool msgid_sync_set, replay_counter_sync_set;
    enum cfg_dpd dpd;
    uint32_t dpd_interval_s;
    uint32_t dpd_retries;
    enum cfg_natt natt;
    uint32_t natt_keepalive_s;    /* NAT-T keepalive period when behind a NAT */
    struct cfg_lifetime lifetime; /* IKE SA (seconds only) */
    char *proposal_text;          /* as written, for listings */
    char *psk_source;             /* "secrets.conf:12" where the PSK came from */

    /* What libike consumes; pointers into this gateway. Its copies of
     * daemon-side settings (initial_contact, reauth, lifetime, dpd*) are
     * filled from the fields above. */
    struct ike_sa_cfg sa;
    struct ike_secret *psk;         /* == sa.psk */
    struct ike_cfg_child *children; /* == sa.children, n_selectors entries */
    struct cfg_selector *selectors; /* selectors[i].child == &children[i] */
    size_t n_selectors;

    char *file; /* owned */
    int line;
};

/* ---- high availability (issue 5; DESIGN.md §3, §4) --------------------- */

/* A floating address of a virtual cluster: added on the node that masters
 * it (with gratuitous ARP), removed when it stands by. */
struct cfg_vip {
    char *vdom;             /* the VDOM (network namespace) it lives in */
    char *ifname;           /* interface inside that namespace */
    struct ike_addr addr;   /* port unused */
    uint8_t prefix_len;
    char *file;
    int line;
};

/* A set of VDOMs that fail over together, with this node's priority. */
struct cfg_vcluster {
    uint32_t id;            /* 1.., the same on every node */
    uint32_t priority;      /* this node's; higher wins; 0 = never master */
    bool override;          /* a higher-priority node preempts a running master */
    char **vdoms;           /* names of cfg.vdoms */
    size_t n_vdoms;
    struct cfg_vip *vips;
    size_t n_vips;
    char *file;
    int line;
};

struct cfg_ha {
    bool enabled;               /* an "ha" section is present */
    char *group;                /* CPG group name, default "haiked" */
    bool allow_plaintext_sync;  /* run over a ring without knet crypto */
    uint32_t seq_sync_packets;  /* ESP counter event every N packets ... */
    uint32_t seq_sync_ms;       /* ... or T ms, whichever first */
    uint64_t seq_jump;          /* takeover: outbound ESP seq += this (default 2^20) */
    uint32_t msgid_jump;        /* takeover with RFC 6311: message IDs += this */
    uint32_t drain_timeout_ms;  /* graceful handover: wait this long for our exchanges */
    struct cfg_vcluster *vclusters; /* every VDOM belongs to exactly one */
    size_t n_vclusters;
    char *file;
    int line;
};

/* ---- the whole configuration ------------------------------------------- */

struct cfg {
    char *path; /* main file as given */
    struct cfg_global global;
    struct cfg_vdom *vdoms; /* vdoms[0] is always "root" */
    size_t n_vdoms;
    struct cfg_gateway **gateways; /* individually allocated, see cfg_adopt_unchanged */
    size_t n_gateways;
    struct cfg_ha ha;
};

/* Loads path (and its secrets file). On success returns 0 and *out; on any
 * error returns -1, *out is NULL and errs holds every error found (errs must
 * be zeroed or cleared by the caller beforehand; errors are appended). */
int cfg_load(const char *path, struct cfg **out, struct cfg_errors *errs);

/* Frees everything, PSKs wiped; NULL is fine. */
void cfg_free(struct cfg *cfg);

/* Lookups by name; NULL when absent. */
const struct cfg_vdom *cfg_vdom_find(const struct cfg *cfg, const char *name);
struct cfg_gateway *cfg_gateway_find(const struct cfg *cfg, const char *name);
const struct cfg_selector *cfg_selector_find(const struct cfg_gateway *gw, const char *name);

/* The gateway that answers an IKE_SA_INIT received in vdom on local from
 * remote (ports ignored): a gateway with exactly that remote address first,
 * else a dial-up one (remote_any) on that local address; NULL if none. */
struct cfg_gateway *cfg_gateway_match(const struct cfg *cfg, const char *vdom,
                                      const struct ike_addr *local, const struct ike_addr *remote);

/* Every setting that affects the gateway's tunnels is equal (names,
 * addresses, proposals, selectors, lifetimes, DPD, NAT-T, IDs, PSK compared
 * in constant time, ...); file/line and the text forms are ignored. */
bool cfg_gateway_equal(const struct cfg_gateway *a, const struct cfg_gateway *b);

/* SIGHUP reload: for every gateway of next that is cfg_gateway_equal to the
 * one of the same name in prev (and whose VDOM is unchanged), move prev's
 * gateway object into next (next's copy is freed), so SAs borrowing
 * &gw->sa keep valid pointers. prev keeps only removed/changed gateways;
 * free it once their tunnels are gone. Returns how many were adopted. */
size_t cfg_adopt_unchanged(struct cfg *next, struct cfg *prev);

/* SIGHUP reload: the ha sections of next and prev must be equal (the
 * running cluster keeps its roles, VIPs and pointers into prev's); then
 * prev's objects move into next. -1 with err when they differ (the reload
 * is refused: restart haiked to change HA settings). */
int cfg_ha_adopt(struct cfg *next, struct cfg *prev, char *err, size_t errlen);

/* Names for logs and listings. */
const char *cfg_log_subsys_name(enum cfg_log_subsys s);
const char *cfg_log_level_name(enum cfg_log_level l);
const char *cfg_dataplane_name(enum cfg_dataplane d);
const char *cfg_dpd_name(enum cfg_dpd d);
const char *cfg_natt_name(enum cfg_natt n);

/* `haiked --check-config FILE` (main.c calls this and exits with its
 * return value): loads path, prints every "file:line: reason" to err and
 * returns 1; or prints a one-line summary to out ("haiked.conf: OK, 2
 * vdoms, 3 gateways, 5 selectors") and returns 0. */
int cfg_check_main(const char *path, FILE *out, FILE *err);

#endif
