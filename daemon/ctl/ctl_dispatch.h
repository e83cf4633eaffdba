/*
 * The control protocol's request handling, without any I/O: one request
 * body (a packed ctl.Request, the frame already removed) in, one packed
 * ctl.Response out. The socket server (ctl_server.c) and the fuzz target
 * both call ctl_dispatch(); anything a client can send ends in a response,
 * never in a crash.
 *
 * Handlers (ctl_h_*.c) read the runtime through <gateway.h> and build the
 * response from a per-request arena (ctl_arena.h).
 */
#ifndef HAIKED_CTL_DISPATCH_H
#define HAIKED_CTL_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control.pb-c.h"
#include "ctl/ctl_arena.h"

struct daemon;
struct hlog;

/* What the handlers act on; owned by the server. */
struct ctl_ctx {
    struct daemon *d;    /* the runtime (gw_first(d), ...) */
    struct hlog *log;    /* the daemon's log: its debug filter is read back */
    const char *version; /* reported by `status` */
    uint64_t started_ms; /* CLOCK_MONOTONIC ms at daemon start */
    /* counters, shown in `status` and logs */
    uint64_t requests, errors;
};

/* One request in flight. */
struct ctl_req {
    struct ctl_ctx *ctx;
    const Ctl__Request *req;
    Ctl__Response *resp;
    struct ctl_arena *arena;
    uint64_t now_ms; /* CLOCK_MONOTONIC ms, one reading per request */
};

typedef int (*ctl_handler_fn)(struct ctl_req *r);

struct ctl_command {
    Ctl__Request__CommandCase which;
    const char *name; /* for logs: "tunnel summary" */
    ctl_handler_fn handler;
    bool mutates; /* changes the runtime: logged at info */
};

/* The dispatch table and a lookup in it (NULL: unknown command). */
const struct ctl_command *ctl_command_find(Ctl__Request__CommandCase which);

/* Handles one request body. Always produces a response in *out (malloc'd,
 * *out_len octets, the body only, no frame header) unless memory runs out
 * (then -1). The response is bounded by max_len: a larger result becomes
 * an ERR_INTERNAL reply saying so. */
int ctl_dispatch(struct ctl_ctx *ctx, const uint8_t *body, size_t len, size_t max_len,
                 uint8_t **out, size_t *out_len);

/* Packs an error-only response (id echoed when known) for errors found
 * before a request could be decoded (bad frame, not root, busy). */
int ctl_pack_error(uint32_t id, Ctl__ErrorCode code, const char *msg, uint8_t **out,
                   size_t *out_len);

/* For handlers: set the response's error (printf-style message) and
 * return -1, so `return ctl_fail(r, CTL__ERROR_CODE__ERR_NOT_FOUND, ...)`. */
int ctl_fail(struct ctl_req *r, Ctl__ErrorCode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

uint64_t ctl_now_ms(void);

/* A new, initialised message from the arena: CTL_NEW(a, Ctl__Endpoint, endpoint). */
#define CTL_NEW(a, type, name) ((type *)ctl_arena_msg((a), &ctl__##name##__descriptor))

/* The handlers (ctl_h_*.c). */
int ctl_h_status(struct ctl_req *r);
int ctl_h_tunnel_summary(struct ctl_req *r);
int ctl_h_tunnel_show(struct ctl_req *r);
int ctl_h_tunnel_action(struct ctl_req *r);
int ctl_h_gateway_list(struct ctl_req *r);
int ctl_h_gateway_clear(struct ctl_req *r);
int ctl_h_debug_ike(struct ctl_req *r);
int ctl_h_failover(struct ctl_req *r); /* ctl_h_ha.c */
int ctl_h_ha_stats(struct ctl_req *r);
/* status's cluster part: mode "standalone" or "cluster" and, with HA, the
 * nodes, virtual clusters, sync health and corosync's view (ctl_h_ha.c). */
int ctl_ha_status(struct ctl_req *r, Ctl__StatusResult *st);

#endif
