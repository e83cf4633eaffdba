/* The control-protocol client (see ctlclient.h). */
#include "ctlclient.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct ctl_client {
    int fd;
    int timeout_ms;
    uint32_t next_id;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static enum ctl_client_status set_err(enum ctl_client_status st, char *err, size_t errlen,
                                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum ctl_client_status set_err(enum ctl_client_status st, char *err, size_t errlen,
                                      const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

const char *ctl_client_status_str(enum ctl_client_status st)
{
    switch (st) {
    case CTL_CLIENT_OK: return "ok";
    case CTL_CLIENT_E_CONNECT: return "cannot connect";
    case CTL_CLIENT_E_TIMEOUT: return "timed out";
    case CTL_CLIENT_E_IO: return "connection lost";
    case CTL_CLIENT_E_PROTOCOL: return "protocol error";
    case CTL_CLIENT_E_NOMEM: return "out of memory";
    }
    return "unknown status";
}

const char *ctl_client_error_name(Ctl__ErrorCode code)
{
    switch (code) {
    case CTL__ERROR_CODE__ERR_NONE: return "no error";
    case CTL__ERROR_CODE__ERR_BAD_FRAME: return "bad frame";
    case CTL__ERROR_CODE__ERR_BAD_VERSION: return "unsupported protocol version";
    case CTL__ERROR_CODE__ERR_BAD_REQUEST: return "bad request";
    case CTL__ERROR_CODE__ERR_UNKNOWN_COMMAND: return "unknown command";
    case CTL__ERROR_CODE__ERR_NOT_FOUND: return "not found";
    case CTL__ERROR_CODE__ERR_PERMISSION: return "permission denied";
    case CTL__ERROR_CODE__ERR_BUSY: return "busy";
    case CTL__ERROR_CODE__ERR_FAILED: return "failed";
    case CTL__ERROR_CODE__ERR_INTERNAL: return "internal error";
    default: return "error";
    }
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to become ready for `events` before the deadline: 0, or -1
 * with errno (ETIMEDOUT). */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

static const char *connect_hint(int e)
{
    switch (e) {
    case ENOENT:
    case ECONNREFUSED: return " (is haiked running?)";
    case EACCES:
    case EPERM: return " (the control socket is for root only)";
    default: return "";
    }
}

enum ctl_client_status ctl_client_open(const char *path, int timeout_ms, struct ctl_client **out,
                                       char *err, size_t errlen)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (!path)
        path = CTL_DEFAULT_SOCKET;
    if (strlen(path) >= sizeof(sun.sun_path))
        return set_err(CTL_CLIENT_E_CONNECT, err, errlen, "socket path too long: %s", path);
    memcpy(sun.sun_path, path, strlen(path) + 1);
    struct ctl_client *c = calloc(1, sizeof(*c));
    if (!c)
        return set_err(CTL_CLIENT_E_NOMEM, err, errlen, "out of memory");
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    c->next_id = 1;
    memcpy(c->path, sun.sun_path, sizeof(c->path));
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        free(c);
        return set_err(CTL_CLIENT_E_CONNECT, err, errlen, "socket: %s", strerror(errno));
    }
    /* A unix connect() honours SO_SNDTIMEO: it bounds the wait on a full
     * backlog. The socket is made non-blocking for the calls afterwards. */
    struct timeval tv = {.tv_sec = c->timeout_ms / 1000, .tv_usec = (c->timeout_ms % 1000) * 1000};
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(c->fd, (const struct sockaddr *)&sun, sizeof(sun)) != 0) {
        int e = errno;
        ctl_client_close(c);
        return set_err(
            e == EAGAIN || e == EINPROGRESS ? CTL_CLIENT_E_TIMEOUT : CTL_CLIENT_E_CONNECT, err,
            errlen, "cannot connect to haiked at %s: %s%s", path, strerror(e), connect_hint(e));
    }
    int fl = fcntl(c->fd, F_GETFL);
    if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        int e = errno;
        ctl_client_close(c);
        return set_err(CTL_CLIENT_E_IO, err, errlen, "fcntl: %s", strerror(e));
    }
    *out = c;
    return CTL_CLIENT_OK;
}

void ctl_client_close(struct ctl_client *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

void ctl_client_response_free(Ctl__Response *resp)
{
    if (resp)
        ctl__response__free_unpacked(resp, NULL);
}

/* Writes all of buf before the deadline; 0 or -1 with errno. */
static int write_all(int fd, const uint8_t *buf, size_t len, int64_t deadline)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_fd(fd, POLLOUT, deadline) != 0)
                return -1;
            continue;
        }
        return -1;
    }
    return 0;
}

/* Reads exactly len octets before the deadline; 0, or -1 with errno
 * (ECONNRESET for an EOF in the middle). */
static int read_all(int fd, uint8_t *buf, size_t len, int64_t deadline)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = recv(fd, buf + off, len - off, 0);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n == 0) {
            errno = off ? ECONNRESET : EPIPE;
            return -1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (wait_fd(fd, POLLIN, deadline) != 0)
                return -1;
            continue;
        }
        return -1;
    }
    return 0;
}

static enum ctl_client_status io_error(const struct ctl_client *c, const char *what, char *err,
                                       size_t errlen)
{
    int e = errno;
    if (e == ETIMEDOUT)
        return set_err(CTL_CLIENT_E_TIMEOUT, err, errlen,
                       "haiked at %s did not answer within %d ms (%s)", c->path, c->timeout_ms,
                       what);
    if (e == EPIPE)
        return set_err(CTL_CLIENT_E_IO, err, errlen, "haiked at %s closed the connection (%s)",
                       c->path, what);
    return set_err(CTL_CLIENT_E_IO, err, errlen, "%s haiked at %s: %s", what, c->path, strerror(e));
}

static enum ctl_client_status receive(struct ctl_client *c, int64_t deadline, Ctl__Response **resp,
                                      char *err, size_t errlen)
{
    uint8_t hdr_octets[CTL_FRAME_HDR_LEN];
    struct ctl_frame_hdr hdr;
    if (read_all(c->fd, hdr_octets, sizeof(hdr_octets), deadline) != 0)
        return io_error(c, "reading from", err, errlen);
    enum ctl_frame_status st =
        ctl_frame_hdr_decode(hdr_octets, sizeof(hdr_octets), CTL_RESPONSE_MAX, &hdr);
    if (st == CTL_FRAME_E_VERSION)
        return set_err(CTL_CLIENT_E_PROTOCOL, err, errlen,
                       "haiked speaks control frame version %u, this hactl %u", hdr.version,
                       CTL_FRAME_VERSION);
    if (st != CTL_FRAME_OK)
        return set_err(CTL_CLIENT_E_PROTOCOL, err, errlen, "bad response from haiked: %s",
                       ctl_frame_status_str(st));
    uint8_t *body = malloc(hdr.len ? hdr.len : 1);
    if (!body)
        return set_err(CTL_CLIENT_E_NOMEM, err, errlen, "out of memory (%u octets)", hdr.len);
    if (read_all(c->fd, body, hdr.len, deadline) != 0) {
        free(body);
        return io_error(c, "reading from", err, errlen);
    }
    *resp = ctl__response__unpack(NULL, hdr.len, body);
    free(body);
    if (!*resp)
        return set_err(CTL_CLIENT_E_PROTOCOL, err, errlen,
                       "response from haiked does not decode (%u octets)", hdr.len);
    return CTL_CLIENT_OK;
}

enum ctl_client_status ctl_client_call(struct ctl_client *c, const Ctl__Request *req,
                                       Ctl__Response **resp, char *err, size_t errlen)
{
    Ctl__Request copy = *req;
    uint8_t *frame = NULL;
    size_t len = 0;
    *resp = NULL;
    if (!copy.has_id) {
        copy.has_id = true;
        copy.id = c->next_id++;
    }
    if (ctl_frame_pack(&copy.base, CTL_REQUEST_MAX, &frame, &len) != 0)
        return set_err(CTL_CLIENT_E_PROTOCOL, err, errlen,
                       "request does not fit in a control frame (max %u octets)", CTL_REQUEST_MAX);
    int64_t deadline = mono_ms() + c->timeout_ms;
    int wrc = write_all(c->fd, frame, len, deadline);
    int werrno = errno;
    free(frame);
    /* Even when sending failed the daemon may have answered first (it
     * refuses non-root peers and bad frames with a reply, then closes). */
    enum ctl_client_status st = receive(c, deadline, resp, err, errlen);
    if (st != CTL_CLIENT_OK && wrc != 0) {
        errno = werrno;
        return io_error(c, "writing to", err, errlen);
    }
    if (st != CTL_CLIENT_OK)
        return st;
    if (!(*resp)->error && (*resp)->has_id && (*resp)->id != copy.id) {
        uint32_t got = (*resp)->id;
        ctl_client_response_free(*resp);
        *resp = NULL;
        return set_err(CTL_CLIENT_E_PROTOCOL, err, errlen,
                       "response id %u does not match request id %u", got, copy.id);
    }
    return CTL_CLIENT_OK;
}
