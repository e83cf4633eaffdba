/* Two libike IKE SAs in one process over an injected in-memory transport
 * with a fake clock: side 0 initiates, side 1 responds. Datagrams wait in
 * a queue the test delivers, drops, duplicates or reorders; timers fire
 * when the test advances the clock; events, log lines and installed CHILD
 * SAs are recorded per side. Optionally the initiator sits behind a NAT
 * that rewrites its source address and port. */
#ifndef HELPER_PAIR_H
#define HELPER_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/ctx.h>
#include <ike/events.h>
#include <ike/export.h>
#include <ike/sa.h>
#include <ike/secret.h>

#define PAIR_QUEUE_MAX    64
#define PAIR_EVENTS_MAX   64
#define PAIR_LOG_MAX      65536
#define PAIR_CHILDREN_MAX 8

struct pair_dgram {
    int to;                             /* receiving side */
    struct ike_addr local, remote;      /* as the receiver sees them */
    struct ike_addr sent_from, sent_to; /* as the sender passed them */
    uint8_t *data;
    size_t len;
};

struct pair_event {
    enum ike_event_type type;
    struct ike_ev_msgid msgid;
    struct ike_sa_export ike;
    struct ike_child_export child;
    uint32_t child_del_spi; /* CHILD_SA_DEL */
};

struct pair;

struct pair_side {
    struct pair *pair;
    int idx;
    struct ike_ctx ctx;
    struct ike_sa *sa;
    struct ike_sa_cfg cfg;
    struct ike_cfg_child child[2];
    bool timer_armed[IKE_TIMER_COUNT];
    uint64_t timer_due[IKE_TIMER_COUNT];
    uint32_t timer_ms[IKE_TIMER_COUNT][16]; /* every arm, in order */
    size_t n_timer_ms[IKE_TIMER_COUNT];
    struct pair_event events[PAIR_EVENTS_MAX];
    size_t n_events;
    char log[PAIR_LOG_MAX];
    size_t log_len;
    struct ike_child_export installed[PAIR_CHILDREN_MAX];
    size_t n_installed;
    bool install_fails;
    size_t n_sent, n_stateless;
    size_t n_initial_contact; /* ctx initial_contact calls */
    uint64_t replay_delta;    /* ctx replay_sync: sum of deltas */
};

/* Every datagram sent, in order, for wire checks. */
struct pair_trace {
    int from;
    struct ike_addr sent_from, sent_to;
    uint8_t *data;
    size_t len;
};

struct pair {
    struct pair_side side[2];
    struct pair_trace trace[PAIR_QUEUE_MAX];
    size_t n_trace;
    struct pair_dgram queue[PAIR_QUEUE_MAX];
    size_t n_queue;
    uint64_t now;
    bool nat; /* side 0 behind a NAT */
    struct ike_secret *psk[2];
};

/* Both sides configured alike: aes256-sha256-prfsha256-ecp256 for IKE,
 * aes256gcm16 for ESP, 10.1.0.0/16 (side 0) <-> 10.2.0.0/16 (side 1), FQDN
 * IDs "left.example"/"right.example", the same PSK, fragmentation and
 * RFC 6311 on. Tests change side[i].cfg / child before pair_start.
 * Heap-allocated (the struct is large and must not move). */
struct pair *pair_new(void);
/* Frees the SAs, the queue and the pair. */
void pair_free(struct pair *p);
/* ike_sa_initiate on side 0; asserts success. */
void pair_start(struct pair *p);
/* Delivers queue[i] (removed from the queue); returns the status. */
enum ike_status pair_deliver(struct pair *p, size_t i);
void pair_drop(struct pair *p, size_t i);
void pair_dup(struct pair *p, size_t i);
/* Delivers the queue head until the queue is empty; returns count. */
size_t pair_run(struct pair *p);
/* Advances the clock by ms, firing due timers in order. */
void pair_advance(struct pair *p, uint64_t ms);
/* pair_start + pair_run; asserts both sides ESTABLISHED. */
void pair_establish(struct pair *p);
/* pair_new + pair_establish, then the events of the setup forgotten, so a
 * test sees only what its own exchanges record. */
struct pair *pair_established(void);

/* "MSGID_UPDATE IKE_SA_ADD ..." */
const char *pair_event_names(const struct pair_side *s, char *buf, size_t size);
/* pair_event_names into a static buffer: valid until the next call. */
const char *pair_events(const struct pair_side *s);
bool pair_log_has(const struct pair_side *s, const char *needle);
/* Copy of a datagram for later replay; free with pair_bytes_free. */
uint8_t *pair_copy(const struct pair_dgram *d);
void pair_bytes_free(uint8_t *b);
/* Fills an address. */
struct ike_addr pair_addr4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port);
/* A selector a.b.0.0/16, any protocol and port. */
struct ike_ts pair_ts16(uint8_t a, uint8_t b);

#endif
