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
    IKE_TIMER_COUNT
};

struct ike_sa;
struct ike_event;
struct ike_child_export;

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
};

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
};

#endif
