/*
 * One client connection: read frames, dispatch, write responses. Input is
 * bounded by the read high watermark (one maximal request) and no new
 * request is processed while a response is still being written, so a
 * client costs at most one request plus one response of memory.
 */
#include "ctl/ctl_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <ike/ctx.h>

#include "ctl/ctl_server_int.h"
#include "ctl_frame.h"

static void tv_ms(struct timeval *tv, unsigned ms)
{
    tv->tv_sec = ms / 1000;
    tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

/* Queues one frame holding body (a packed ctl.Response). */
static int conn_send(struct ctl_conn *c, const uint8_t *body, size_t len)
{
    uint8_t hdr[CTL_FRAME_HDR_LEN];
    struct evbuffer *out = bufferevent_get_output(c->bev);
    ctl_frame_hdr_encode(hdr, (uint32_t)len);
    if (evbuffer_add(out, hdr, sizeof(hdr)) != 0 || evbuffer_add(out, body, len) != 0)
        return -1;
    return 0;
}

static int conn_send_error(struct ctl_conn *c, Ctl__ErrorCode code, const char *msg)
{
    uint8_t *body = NULL;
    size_t len = 0;
    c->srv->stats.errors++;
    if (ctl_pack_error(0, code, msg, &body, &len) != 0)
        return -1;
    int rc = conn_send(c, body, len);
    free(body);
    return rc;
}

/* Stop reading; free once what is queued has been written. Returns false
 * when c is already freed. */
static bool conn_close_after_write(struct ctl_conn *c)
{
    c->closing = true;
    bufferevent_disable(c->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        ctl_conn_free(c);
        return false;
    }
    return true;
}

static bool conn_bad_frame(struct ctl_conn *c, enum ctl_frame_status st,
                           const struct ctl_frame_hdr *hdr)
{
    char msg[160];
    Ctl__ErrorCode code = CTL__ERROR_CODE__ERR_BAD_FRAME;
    if (st == CTL_FRAME_E_TOO_LARGE)
        snprintf(msg, sizeof(msg), "request frame too large (%u > %u octets)", hdr->len,
                 CTL_REQUEST_MAX);
    else if (st == CTL_FRAME_E_VERSION) {
        code = CTL__ERROR_CODE__ERR_BAD_VERSION;
        snprintf(msg, sizeof(msg), "frame version %u not supported (this daemon speaks %u)",
                 hdr->version, CTL_FRAME_VERSION);
    } else
        snprintf(msg, sizeof(msg), "%s", ctl_frame_status_str(st));
    c->srv->stats.bad_frames++;
    ctl_srv_log(c->srv, IKE_LOG_WARN, "ctl client %u (pid %ld): %s, closing", c->serial,
                (long)c->pid, msg);
    conn_send_error(c, code, msg);
    return conn_close_after_write(c);
}

/* One complete frame at the front of the input: dispatch it and queue the
 * response. Returns false when c was freed. */
static bool conn_dispatch(struct ctl_conn *c, struct evbuffer *in, uint32_t len)
{
    struct ctl_server *srv = c->srv;
    const uint8_t *frame = evbuffer_pullup(in, (ssize_t)(CTL_FRAME_HDR_LEN + len));
    uint8_t *out = NULL;
    size_t out_len = 0;
    uint64_t errors_before = srv->ctx.errors;
    int rc = frame ? ctl_dispatch(&srv->ctx, frame + CTL_FRAME_HDR_LEN, len, CTL_RESPONSE_MAX, &out,
                                  &out_len)
                   : -1;
    evbuffer_drain(in, CTL_FRAME_HDR_LEN + len);
    srv->stats.requests++;
    if (srv->ctx.errors != errors_before)
        srv->stats.errors++;
    if (rc != 0 || conn_send(c, out, out_len) != 0) {
        ctl_srv_log(srv, IKE_LOG_ERR, "ctl client %u: out of memory answering, closing", c->serial);
        free(out);
        ctl_conn_free(c);
        return false;
    }
    free(out);
    /* Back-pressure: the next request waits until this response is out. */
    bufferevent_disable(c->bev, EV_READ);
    return true;
}

/* Handles at most one buffered frame; the write callback comes back here
 * once its response has been written. Returns false when c was freed. */
static bool conn_process(struct ctl_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t avail = evbuffer_get_length(in);
    if (c->closing || avail == 0)
        return true;
    uint8_t hdr_octets[CTL_FRAME_HDR_LEN];
    size_t n = avail < sizeof(hdr_octets) ? avail : sizeof(hdr_octets);
    struct ctl_frame_hdr hdr;
    memset(&hdr, 0, sizeof(hdr));
    if (evbuffer_copyout(in, hdr_octets, n) != (ssize_t)n)
        return true;
    enum ctl_frame_status st = ctl_frame_hdr_decode(hdr_octets, n, CTL_REQUEST_MAX, &hdr);
    if (st == CTL_FRAME_NEED_MORE)
        return true;
    if (st != CTL_FRAME_OK)
        return conn_bad_frame(c, st, &hdr);
    if (avail < CTL_FRAME_HDR_LEN + (size_t)hdr.len)
        return true;
    return conn_dispatch(c, in, hdr.len);
}

static bool conn_output_pending(const struct ctl_conn *c)
{
    return evbuffer_get_length(bufferevent_get_output(c->bev)) != 0;
}

/* After the peer's EOF: answer what is still buffered, then close. */
static void conn_finish(struct ctl_conn *c)
{
    if (!conn_process(c))
        return;
    if (!conn_output_pending(c) && !c->closing)
        ctl_conn_free(c);
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
    conn_process(arg);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
    struct ctl_conn *c = arg;
    if (conn_output_pending(c))
        return;
    if (c->closing) {
        ctl_conn_free(c);
        return;
    }
    if (c->eof) {
        conn_finish(c);
        return;
    }
    bufferevent_enable(bev, EV_READ);
    conn_process(c); /* a pipelined request may already be buffered */
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct ctl_conn *c = arg;
    if (what & BEV_EVENT_TIMEOUT) {
        c->srv->stats.timeouts++;
        ctl_srv_log(c->srv, IKE_LOG_INFO, "ctl client %u (pid %ld): %s timeout, closing", c->serial,
                    (long)c->pid, (what & BEV_EVENT_WRITING) ? "write" : "idle");
        ctl_conn_free(c);
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        ctl_conn_free(c);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        /* The client is done sending: answer what it sent, then close. */
        c->eof = true;
        if (!conn_output_pending(c))
            conn_finish(c);
    }
}

struct ctl_conn *ctl_conn_new(struct ctl_server *srv, int fd, pid_t pid, uid_t uid,
                              Ctl__ErrorCode refuse, const char *msg)
{
    struct ctl_conn *c = calloc(1, sizeof(*c));
    struct bufferevent *bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c || !bev) {
        free(c);
        if (bev)
            bufferevent_free(bev);
        else
            close(fd);
        return NULL;
    }
    c->srv = srv;
    c->bev = bev;
    c->pid = pid;
    c->uid = uid;
    c->serial = ++srv->next_serial;
    LIST_INSERT_HEAD(&srv->conns, c, link);
    srv->n_conns++;

    struct timeval rd, wr;
    tv_ms(&rd, srv->opts.idle_timeout_ms);
    tv_ms(&wr, srv->opts.write_timeout_ms);
    bufferevent_set_timeouts(bev, &rd, &wr);
    bufferevent_setwatermark(bev, EV_READ, 0, CTL_FRAME_HDR_LEN + CTL_REQUEST_MAX);
    bufferevent_setcb(bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    if (refuse != CTL__ERROR_CODE__ERR_NONE) {
        bufferevent_enable(bev, EV_WRITE);
        if (conn_send_error(c, refuse, msg) != 0) {
            ctl_conn_free(c);
            return NULL;
        }
        return conn_close_after_write(c) ? c : NULL;
    }
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    return c;
}

/* Reads and drops what the peer already sent, so closing does not reset
 * the connection before the peer has read our last reply (a unix socket
 * closed with unread data makes the peer's next read fail). */
static void conn_discard_input(int fd)
{
    char sink[4096];
    for (int i = 0; i < 32; i++) {
        ssize_t n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
        if (n <= 0)
            break;
    }
}

void ctl_conn_free(struct ctl_conn *c)
{
    if (!c)
        return;
    LIST_REMOVE(c, link);
    c->srv->n_conns--;
    conn_discard_input(bufferevent_getfd(c->bev));
    bufferevent_free(c->bev);
    free(c);
}
