/*
 * haiked's control socket: a unix stream socket, root only, speaking the
 * framed protocol of proto/control.proto (proto/ctl_frame.h) with hactl
 * and anything built on cli/ctlclient/.
 *
 * For main.c (daemon): after the config is loaded and the event base
 * exists,
 *
 *     struct ctl_server_opts co = {.d = d, .log = &d->log};
 *     d->ctl = ctl_server_start(base, cfg->global.ctl_socket, &co, err, sizeof(err));
 *     if (!d->ctl) -> log err and exit;
 *
 * and ctl_server_stop(d->ctl) on shutdown, before the gateways are freed.
 *
 * Properties:
 * - The socket's directory is created mode 0700 if missing; the socket is
 *   mode 0600. A stale socket file is replaced; a live one (another haiked
 *   answering) or a non-socket file at the path is an error.
 * - Peers are checked with SO_PEERCRED: anyone but uid 0 gets an
 *   ERR_PERMISSION reply and is disconnected, whatever the file modes.
 * - Everything runs on the caller's event_base with bufferevents; nothing
 *   blocks. A client holds at most one request's worth of input and one
 *   response of output: no new request is read until its previous response
 *   has been written, so a client that stops reading stalls only itself and
 *   is dropped after write_timeout_ms.
 * - Frames are bounded (CTL_REQUEST_MAX in, CTL_RESPONSE_MAX out). A bad
 *   frame (magic, version, oversized) gets an error reply and the
 *   connection is closed; a frame whose body is not a valid request, an
 *   unknown command or an unknown gateway gets an error reply and the
 *   connection stays usable.
 * - SIGPIPE is set to ignored (a client that goes away mid-response must
 *   not kill the daemon).
 */
#ifndef HAIKED_CTL_SERVER_H
#define HAIKED_CTL_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct daemon;
struct hlog;
struct ctl_server;

#define CTL_MAX_CLIENTS_DEFAULT      64
#define CTL_IDLE_TIMEOUT_MS_DEFAULT  30000
#define CTL_WRITE_TIMEOUT_MS_DEFAULT 10000

struct ctl_server_opts {
    struct daemon *d;          /* the runtime the commands read and act on */
    struct hlog *log;          /* ctl's log lines; `debug ike` reads its filter back. NULL: quiet */
    const char *version;       /* for `status`; NULL: HAIKED_VERSION */
    uint64_t started_ms;       /* CLOCK_MONOTONIC ms the daemon started; 0: d->started_ms */
    unsigned max_clients;      /* 0: CTL_MAX_CLIENTS_DEFAULT; more get ERR_BUSY */
    unsigned idle_timeout_ms;  /* 0: default; no (complete) request for this long: closed */
    unsigned write_timeout_ms; /* 0: default; response not taken for this long: closed */
};

struct ctl_server_stats {
    uint64_t accepted;     /* connections taken */
    uint64_t refused_uid;  /* not root */
    uint64_t refused_busy; /* over max_clients */
    uint64_t requests;     /* frames dispatched */
    uint64_t errors;       /* error replies of any kind */
    uint64_t bad_frames;   /* magic / version / oversized */
    uint64_t timeouts;     /* idle or stalled clients dropped */
};

/* Listens on path. NULL with a one-line reason in err on failure. */
struct ctl_server *ctl_server_start(struct event_base *base, const char *path,
                                    const struct ctl_server_opts *opts, char *err, size_t errlen);
/* Closes every client and the socket, removes the socket file. NULL is fine. */
void ctl_server_stop(struct ctl_server *srv);

const struct ctl_server_stats *ctl_server_stats(const struct ctl_server *srv);
/* Clients connected now. */
size_t ctl_server_clients(const struct ctl_server *srv);

#endif
