/*
 * The "kernel" data-plane backend: CHILD SAs as XFRM states and policies
 * through libnl-xfrm-3 (see README.md in this directory). Internal to
 * dp_xfrm*.c and their tests; the daemon sees only dp_xfrm_ops.
 *
 *   dp_xfrm.c         ops table, open/close, install/remove, counters, set_seq
 *   dp_xfrm_alg.c     IKEv2 transform IDs -> kernel algorithm names (pure)
 *   dp_xfrm_state.c   one xfrm state (SA): build, add, delete
 *   dp_xfrm_policy.c  traffic selectors -> in/out/fwd policies, shared by refcount
 *   dp_xfrm_ae.c      GETSA counters, NEWAE (set_seq), the AE/EXPIRE event socket
 *   dp_xfrm_route.c   add-route: routes to the remote selectors (policy-based)
 *   dp_xfrm_netns.c   the netlink sockets of each network namespace (VDOMs)
 *   dp_xfrm_vti.c     route-based gateways: a VTI device each, marks on the policies
 *   dp_xfrm_leftover.c states a killed predecessor left: replaced when the same SA
 *   dp_xfrm_cleanup.c  haiked --cleanup: what a dead haiked left (dp_xfrm_cleanup.h)
 */
#ifndef HAIKED_DP_XFRM_H
#define HAIKED_DP_XFRM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/ctx.h>
#include <ike/export.h>

#include "dataplane.h"

struct nl_sock;
struct nl_msg;
struct event;
struct xfrmnl_sa;
struct xfrmnl_sp;
struct xf_ns; /* dp_xfrm_netns.h */
struct xf_vti; /* dp_xfrm_vti.h */

/* ---- what marks the kernel objects as haiked's ------------------------------ */

/* Reqids of our states and policy templates: XF_REQID_BASE + 1 .. +
 * XF_REQID_SPAN. "H" in the top octet keeps them apart from other IKE
 * daemons' (strongSwan counts from 1, Libreswan from 16384 in steps of 4)
 * and from `ip xfrm` (0 unless given), so `haiked --cleanup` can tell
 * which states and policies a dead haiked left. */
#define XF_REQID_BASE 0x48000000u
#define XF_REQID_SPAN 0x00ffffffu
static inline bool xf_reqid_ours(uint32_t reqid)
{
    return reqid > XF_REQID_BASE && reqid - XF_REQID_BASE <= XF_REQID_SPAN;
}
/* rtm_protocol of the routes add-route and the VTI pins add (`ip route`
 * shows "proto 104"): unused in iproute2's rt_protos, so the cleanup finds
 * exactly ours, and deleting with it never takes an administrator's route
 * to the same prefix. */
#define XF_RTPROT_HAIKED 104

/* ---- algorithms (dp_xfrm_alg.c) ------------------------------------------ */

#define XF_ALG_NAME_MAX 64 /* struct xfrm_algo.alg_name */

struct xf_alg {
    bool aead;
    char enc[XF_ALG_NAME_MAX];  /* AEAD or cipher name */
    char auth[XF_ALG_NAME_MAX]; /* "" for AEAD */
    unsigned icv_bits;          /* AEAD tag */
    unsigned trunc_bits;        /* HMAC truncation */
    size_t enc_key_len;         /* octets, salt included for the AEADs */
    size_t auth_key_len;
};

/* The kernel's view of an ESP transform (key lengths as libike exports
 * them: AEAD keys carry the 4-octet salt at the end, as RFC 4106/7634
 * and the kernel's rfc4106/rfc7539esp templates want). -1 with err. */
int xf_alg_map(uint16_t encr_id, uint16_t encr_key_bits, uint16_t integ_id, struct xf_alg *out,
               char *err, size_t errlen);

/* ---- one SA direction --------------------------------------------------- */

struct xf_dir {
    uint32_t spi;
    struct ike_addr src, dst; /* outer; ports are the NAT-T ports */
    bool installed;
    /* Last known from the kernel (GETSA or an AE event). */
    uint64_t bytes, packets;
    uint64_t seq; /* out: last sequence number sent; in: replay edge */
    uint64_t replay_drops, integrity_drops;
};

/* What an SA is built from (keys borrowed for the call). */
struct xf_sa_params {
    uint32_t spi;
    const struct ike_addr *src, *dst;
    uint32_t reqid;
    const struct xf_alg *alg;
    const struct ike_key_export *encr, *integ;
    bool esn;
    uint32_t replay_window; /* 0 = off (non-ESN) */
    bool encap;             /* ESP-in-UDP, ports from src/dst */
    struct dp_limits lim;   /* 0 = none */
    /* Always sent: without them the kernel's defaults apply (an event
     * every 2 packets, net.core.xfrm_aevent_rseqth). */
    uint32_t etimer;        /* XFRMA_ETIMER_THRESH as the kernel takes it (jiffies) */
    uint32_t replay_thresh; /* XFRMA_REPLAY_THRESH (packets); 0 = timer events only */
    uint64_t oseq;          /* outbound: the last sequence number already used */
};

/* dp_xfrm_state.c */
int xf_sa_build(const struct xf_sa_params *p, struct xfrmnl_sa **out, char *err, size_t errlen);
struct xf_priv;
/* In namespace ns (its cmd socket); refusals are recorded in xp. */
int xf_sa_add(struct xf_priv *xp, struct xf_ns *ns, const struct xf_sa_params *p, char *err,
              size_t errlen);
int xf_sa_delete(struct xf_priv *xp, struct xf_ns *ns, uint32_t spi, const struct ike_addr *dst,
                 char *err, size_t errlen);
/* dp_xfrm_leftover.c: a and b are the same SA (addresses, SPI, mode,
 * algorithms, keys). */
bool xf_sa_same(struct xfrmnl_sa *a, struct xfrmnl_sa *b);
/* After EEXIST for p: the state in the kernel is the same SA, left by a
 * killed predecessor: deleted (1, add again); another SA (0); -1 with err. */
int xf_sa_replace_leftover(struct xf_priv *xp, struct xf_ns *ns, const struct xf_sa_params *p,
                           char *err, size_t errlen);
/* The replay window the kernel gets for a configured one (see the .c). */
uint32_t xf_replay_window(uint32_t configured, bool esn);
/* Bitmap length (32-bit words) for a window. */
uint32_t xf_replay_bmp_len(uint32_t window);
/* "<what> SPI 0a0b0c0d: <errno text> (<the kernel's extended ACK>)" into
 * err; libnl's text for nlerr when the kernel said nothing (xp may be NULL). */
void xf_nl_error(char *err, size_t errlen, const struct xf_priv *xp, const char *what, uint32_t spi,
                 int nlerr);

/* nl_addr of an ike_addr (port ignored): NULL on allocation failure. */
struct nl_addr *xf_nl_addr(const struct ike_addr *a);
int xf_family(const struct ike_addr *a); /* AF_INET / AF_INET6 */

/* ---- policies (dp_xfrm_policy.c) ------------------------------------------ */

struct xf_sel {
    uint8_t family; /* AF_INET / AF_INET6 */
    uint8_t saddr[16], daddr[16];
    uint8_t plen_s, plen_d;
    uint8_t proto;                                 /* 0 = any */
    uint16_t sport, sport_mask, dport, dport_mask; /* host order */
};

/* The (prefix, port block) combinations of one TS pair, src -> dst.
 * At most max; -1 with err when there are more or the TSs disagree. */
int xf_sel_expand(const struct ike_ts_export *src, const struct ike_ts_export *dst,
                  struct xf_sel *out, size_t max, size_t *n, char *err, size_t errlen);
/* Splits the big-endian range [start, end] of len octets into aligned
 * blocks: fn(value, prefix length in bits) for each, in order. */
void xf_range_blocks(const uint8_t *start, const uint8_t *end, size_t len,
                     void (*fn)(void *arg, const uint8_t *value, unsigned plen), void *arg);
/* More specific selectors get a lower (= preferred) priority value. */
uint32_t xf_sel_priority(const struct xf_sel *s);

/* A policy as built for the kernel (dir: XFRM_POLICY_IN/OUT/FWD). */
int xf_sp_build(const struct xf_sel *sel, int dir, uint32_t priority, uint32_t reqid,
                const struct ike_addr *tmpl_src, const struct ike_addr *tmpl_dst,
                struct xfrmnl_sp **out);

struct xf_pol {
    struct xf_pol *next;
    struct xf_sel sel;
    int dir;
    uint32_t reqid;
    struct ike_addr tsrc, tdst; /* the template's tunnel endpoints */
    struct xf_ns *ns;           /* the namespace it is installed in */
    uint32_t mark;              /* XFRMA_MARK (route-based: the VTI's key), 0 = none */
    bool blocked;               /* out: XFRM_POLICY_BLOCK, the pairs are HA standby copies */
    unsigned refs;
};

/* ---- routes (dp_xfrm_route.c) ----------------------------------------------- */

struct xf_route {
    struct xf_route *next;
    uint8_t family;
    uint8_t dst[16];
    uint8_t plen;
    bool owned; /* we added it (else it was there before) */
    unsigned refs;
};

/* Buckets of the policy and tunnel tables (fixed: 10^4 tunnels give
 * chains of a few entries). */
#define XF_BUCKETS 4096

/* FNV-1a, continued from h (start with XF_HASH_INIT). */
#define XF_HASH_INIT 2166136261u
uint32_t xf_hash(uint32_t h, const void *data, size_t len);

/* ---- the backend's state ---------------------------------------------------- */

struct xf_child {
    struct dp_child *c;
    struct xf_ns *ns; /* where its states, policies and routes are (a reference) */
    uint32_t reqid;
    struct xf_dir in, out;
    struct xf_child *out_next; /* xf_priv.out_index chain */
    struct xf_child *tun_next; /* xf_priv.tun_index chain (same tunnel hash) */
    struct xf_vti *vti;        /* route-based: its gateway's device (dp_xfrm_vti.h) */
    uint32_t mark;             /* of its policies: the device's key; 0 = policy-based */
    struct xf_pol **pols;      /* the policies this pair holds a reference on */
    size_t n_pols;
    struct xf_route **routes;
    size_t n_routes;
    struct dp_limits lim;
    bool soft_due, hard_due, soft_sent, hard_sent;
    bool act_in, act_out;   /* traffic since the last activity report */
    uint64_t event_packets; /* in + out packets at the last counter event */
    /* Rekey switch-over (make-before-break, as strongSwan does): a pair
     * that replaces one of the same tunnel gets its inbound state at once
     * and its outbound state only when the peer sends on the new SA or
     * the old pair goes; until then the kernel keeps sending on the old
     * one. The outbound keys wait here (wiped on free). */
    bool out_deferred;
    struct xf_alg alg;
    struct ike_key_export encr_out, integ_out;
};

struct xf_priv {
    struct xf_ns *root; /* the daemon's own namespace (sockets: dp_xfrm_netns.h) */
    struct xf_ns *nss;  /* every open namespace, root included */
    struct xf_vti *vtis; /* route-based gateways' devices (dp_xfrm_vti.c) */
    struct event *tick;      /* activity reports, once a second */
    struct event *report_ev; /* limit reports, at the next loop turn */
    unsigned hz;             /* kernel HZ (learnt, see dp_xfrm_ae.c); 0 = unknown */
    bool hz_learnt;          /* false: the guess (100) is in use */
    uint32_t etimer_ms;      /* the AE timer cadence of new states */
    uint32_t next_reqid;
    struct xf_pol **pol_index; /* XF_BUCKETS chains by (direction, selector) */
    struct xf_child **tun_index; /* XF_BUCKETS chains by tunnel (xf_tunnel_hash) */
    struct xf_child **out_index; /* by outbound SPI */
    size_t out_index_size;       /* power of two */
    uint64_t ev_msgs, ev_unknown, ev_errors, ev_overruns, ae_events, expires;
    uint64_t deferred, activated, activate_failures;
    uint64_t leftovers_replaced; /* states of a killed predecessor (dp_xfrm_leftover.c) */
    /* The last refusal on a cmd socket (errno and extended-ACK text), see
     * on_cmd_err in dp_xfrm_netns.c. */
    int last_errno;
    char last_ext[128];
};

/* Before each request on a cmd socket: forget the last refusal. */
static inline void xf_cmd_begin(struct xf_priv *p)
{
    p->last_errno = 0;
    p->last_ext[0] = '\0';
}

static inline struct xf_child *xf_of(const struct dp_child *c)
{
    return c->backend;
}

/* dp_xfrm_policy.c */
int xf_policies_install(struct dp *dp, struct xf_child *x, char *err, size_t errlen);
void xf_policies_remove(struct dp *dp, struct xf_child *x);
/* x's out policies block (an HA standby's copy: the kernel must not send on
 * it) or allow; -1 with err when the kernel refused (nothing changed). */
int xf_policies_block_out(struct dp *dp, struct xf_child *x, bool block, char *err,
                          size_t errlen);

/* dp_xfrm_route.c */
int xf_routes_install(struct dp *dp, struct xf_child *x, char *err, size_t errlen);
void xf_routes_remove(struct dp *dp, struct xf_child *x);

/* dp_xfrm_ae.c */
/* The event socket of ns, opened inside it and watched on the loop. */
int xf_ev_open(struct xf_ns *ns, char *err, size_t errlen);
void xf_ev_close(struct xf_ns *ns);
/* GETSA of both directions into x->in / x->out; -1 if neither answered. */
int xf_read_counters(struct dp *dp, struct xf_child *x);
void xf_fill_counters(struct dp_child *c);
int xf_set_seq(struct dp *dp, struct xf_child *x, uint64_t seq_out, uint64_t replay_edge, char *err,
               size_t errlen);
/* The ETIMER value to install for ms, learning HZ on the first SA. */
uint32_t xf_etimer_for(const struct xf_priv *p, uint32_t ms);
void xf_learn_hz(struct dp *dp, struct xf_ns *ns, const struct xf_dir *d);
/* Pure: HZ from a value written in jiffies and read back in 100 ms units. */
unsigned xf_hz_from_readback(uint32_t written_jiffies, uint32_t read_deciseconds);
/* Replay-state words <-> 64-bit sequence numbers (ESN high half). */
uint64_t xf_seq64(uint32_t hi, uint32_t lo);

/* dp_xfrm.c: adds a deferred outbound state (see xf_child); 0 if there
 * was none to add. */
int xf_out_activate(struct dp *dp, struct xf_child *x);
/* Activates the deferred successors of x (same tunnel), before x stops. */
void xf_out_successors(struct dp *dp, struct xf_child *x);

/* dp_xfrm.c: find the pair an event of namespace ns is about. */
struct xf_child *xf_find(struct dp *dp, const struct xf_ns *ns, uint32_t spi,
                         const struct ike_addr *dst, bool *inbound);
void xf_limit_reached(struct dp *dp, struct xf_child *x, bool hard);
/* The selector config of c (lifetimes, add-route); NULL without an owner. */
const struct cfg_selector *xf_selector_of(const struct dp_child *c);

#endif
