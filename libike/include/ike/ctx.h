/*
 * The context the caller (haiked, a test, the load generator) injects into
 * libike's SA state machines: libike owns no socket, timer, clock, log sink
 * or data plane, it calls these instead. Every callback receives the
 * caller's `user` pointer. All are required except `log` and `event`.
 *
 * Ordering promise: for every change a standby must know (see
 * <ike/events.h>), the event is passed to `event` BEFORE the datagram whose
 * effect depends on it is passed to `send`, so the caller can hold the
 * datagram back until its sync message is acknowledged (write-ahead).
 *
 * Re-entrancy: callbacks must not call back into the same SA (no
 * ike_sa_process / ike_sa_timer / ike_sa_free from inside a callback);
 * queue such work instead.
 *
 * Ownership: every SA keeps its own copy of struct ike_ctx (the ops table
 * and `user` must stay valid for the SA's lifetime, the struct itself
 * need not).
 */
#ifndef IKE_CTX_H
#define IKE_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/api.h>

/* An IP address and UDP port, plain data (no sockaddr: libike has no
 * sockets). family IKE_AF_INET uses the first 4 octets of addr. */
#define IKE_AF_INET   4
#define IKE_AF_INET6  6
#define IKE_PORT      500
#define IKE_PORT_NATT 4500

struct ike_addr {
    uint8_t family;   /* IKE_AF_INET or IKE_AF_INET6 */
    uint8_t addr[16]; /* network order */
    uint16_t port;    /* host order */
};

/* Longest text ike_addr_str() writes: "[v6]:port". */
#define IKE_ADDR_STR_MAX 56
/* "192.0.2.1:500" or "[2001:db8::1]:4500"; returns buf. */
IKE_API char *ike_addr_str(const struct ike_addr *a, char *buf, size_t size);
IKE_API bool ike_addr_equal(const struct ike_addr *a, const struct ike_addr *b);

enum ike_log_level {
    IKE_LOG_ERR = 0, /* an SA failed: authentication, proposals, selectors */
    IKE_LOG_WARN,    /* peer input dropped, retransmission given up */
    IKE_LOG_INFO,    /* SA established, state changes */
    IKE_LOG_DEBUG,   /* every message sent and received */
};

/* The timers one SA may have armed; (sa, which) is the timer's handle. */
enum ike_timer {
    IKE_TIMER_RETRANSMIT = 0, /* the outstanding request */
    IKE_TIMER_HALF_OPEN,      /* responder waiting for IKE_AUTH */
    IKE_TIMER_DPD,            /* next liveness check is due (ike_sa_cfg.dpd) */
    IKE_TIMER_IKE_LIFETIME,   /* the IKE SA's soft or hard lifetime */
    IKE_TIMER_CHILD_LIFETIME, /* the earliest soft/hard lifetime of its CHILD SAs */
    IKE_TIMER_COUNT
};

struct ike_sa;
struct ike_event;
struct ike_child_export;
struct ike_cookie_jar;

struct ike_ctx_ops {
    /* One datagram to send from local to remote (ports included: 4500
     * after a NAT was detected; the non-ESP marker is the caller's job).
     * sa is NULL for stateless answers (INVALID_KE_PAYLOAD,
     * NO_PROPOSAL_CHOSEN in IKE_SA_INIT). data is only valid during the
     * call. */
    void (*send)(void *user, struct ike_sa *sa, const struct ike_addr *local,
                 const struct ike_addr *remote, const uint8_t *data, size_t len);
    /* Arm (or re-arm) timer `which` of sa to fire once after ms; the
     * caller then calls ike_sa_timer(sa, which). */
    void (*timer_arm)(void *user, struct ike_sa *sa, enum ike_timer which, uint32_t ms);
    /* Cancel it; cancelling a timer that is not armed is fine. */
    void (*timer_cancel)(void *user, struct ike_sa *sa, enum ike_timer which);
    /* Monotonic milliseconds. */
    uint64_t (*now_ms)(void *user);
    /* One line of text (no newline); sa may be NULL. */
    void (*log)(void *user, const struct ike_sa *sa, enum ike_log_level level, const char *text);
    /* Install a CHILD SA pair in the data plane (keys are only valid during
     * the call). Non-zero: failed, the CHILD SA is not used. */
    int (*child_install)(void *user, struct ike_sa *sa, const struct ike_child_export *child);
    /* Remove the CHILD SA pair whose inbound SPI is spi_in (host order). */
    void (*child_delete)(void *user, struct ike_sa *sa, uint32_t spi_in);
    /* A sync event (<ike/events.h>), valid only during the call. */
    void (*event)(void *user, const struct ike_event *ev);
    /* Optional. sa (established, as responder) received INITIAL_CONTACT
     * (RFC 7296 §2.4): the peer with ID ike_sa_peer_id(sa) has no older
     * state, so the caller drops every other IKE SA it holds with that
     * peer ID and configuration (ike_sa_drop() + ike_sa_free() each; not
     * sa itself: re-entrancy rule above). libike has no SA table. */
    void (*initial_contact)(void *user, struct ike_sa *sa);
    /* Optional. RFC 6311 §5.2: the peer's IPSEC_REPLAY_COUNTER_SYNC asks
     * us to advance the outbound ESP sequence number of every CHILD SA of
     * sa by delta (it took over and may have seen higher numbers). */
    void (*replay_sync)(void *user, struct ike_sa *sa, uint64_t delta);
    /* Optional. The soft lifetime of sa, whose gateway has reauth set,
     * passed: reauthenticate make-before-break, i.e. ike_sa_initiate() a
     * new IKE SA with ike_sa_cfg(sa) (its CHILD SAs are negotiated as
     * configured) and ike_sa_delete(sa) once the new one is ESTABLISHED
     * (or at sa's hard lifetime). Without it libike rekeys the IKE SA. */
    void (*reauth)(void *user, struct ike_sa *sa);
    /* Optional. An IKE SA rekey (RFC 7296 §2.18) created new_sa to replace
     * old. The caller now owns new_sa (ike_sa_free it once DEAD) and must
     * route datagrams carrying its SPIs (ike_sa_spi_i/_r(new_sa)) to it;
     * new_sa shares old's ctx and user pointer, and the CHILD SAs of old
     * now belong to new_sa (no child_delete/child_install: the data plane
     * keeps them). old stays until its Delete exchange ends, then it is
     * DEAD. new_sa arms no timer before this call, and a new SA that
     * is never handed over (a collision that did not resolve) is freed
     * by libike with a NULL user pointer. In a simultaneous rekey
     * (RFC 7296 §2.8.2) it may be called twice for one old SA: the
     * redundant SA has no CHILD SAs and is deleted right away (by us or
     * the peer). Called before new_sa's IKE_SA_ADD event, which carries old's
     * SPIs (replaces_spi_*). Without this callback libike neither starts
     * nor accepts IKE SA rekeys (the peer gets NO_PROPOSAL_CHOSEN). Like
     * every callback it must not call into old or new_sa. */
    void (*ike_rekeyed)(void *user, struct ike_sa *old, struct ike_sa *new_sa);
    /* Optional. Whether inbound ESP SPI spi (host order, >= 256) is in use
     * in the caller's data plane (installed, or handed out and not yet
     * installed if the caller tracks that). libike draws inbound CHILD
     * SPIs at random; while this returns true it draws again, up to
     * IKE_CHILD_SPI_TRIES draws, then the exchange fails with a logged
     * reason (responder: TEMPORARY_FAILURE; initiator: the CHILD SA, or
     * ike_sa_initiate(), is not started). Without it a clash is only
     * noticed when child_install fails. Added last and checked for NULL:
     * source-compatible (tables set up with designated initialisers
     * leave it NULL). Not binary-compatible: a caller compiled against
     * an older header has a shorter table that libike would read past,
     * so it must be rebuilt (libike is SOVERSION 0, its ABI not frozen). */
    bool (*child_spi_taken)(void *user, uint32_t spi);
};

/* Draws of an inbound CHILD SPI before libike gives up (child_spi_taken
 * above). With 10^6 SAs in a 2^32 space one draw clashes with p < 2.4e-4,
 * so 16 draws all clashing means the SPI space is not the problem. */
#define IKE_CHILD_SPI_TRIES 16u

/* Retransmission defaults (RFC 7296 §2.4 leaves them to the implementer). */
#define IKE_RETRANSMIT_BASE_MS   500u
#define IKE_RETRANSMIT_TRIES     5u
#define IKE_HALF_OPEN_TIMEOUT_MS 30000u

struct ike_ctx {
    const struct ike_ctx_ops *ops;
    void *user;
    /* 0 for the defaults above. The n-th retransmission waits
     * base << n ms; after `tries` retransmissions the SA gives up. */
    uint32_t retransmit_base_ms;
    uint32_t retransmit_tries;
    uint32_t half_open_timeout_ms;
    /* COOKIE (RFC 7296 §2.6), read by ike_sa_respond() only: with
     * require_cookie set (the caller counts half-open SAs and sets it past
     * its threshold) an IKE_SA_INIT request without a valid cookie from
     * `cookies` is answered statelessly with N(COOKIE). <ike/cookie.h>. */
    struct ike_cookie_jar *cookies;
    bool require_cookie;
    /* Emit RESPONSE events (<ike/events.h>): an HA master mirrors its
     * responder cache. Off, the event sequence is as without it. */
    bool response_events;
};

#endif
