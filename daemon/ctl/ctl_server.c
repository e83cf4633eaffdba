/* The control socket listener (see ctl_server.h). */
#include "ctl/ctl_server.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include <ike/ctx.h>

#include "ctl/ctl_server_int.h"
#include "ctl_frame.h"
#include "daemon.h"
#include "log.h"

#define CTL_LISTEN_BACKLOG 64
#define CTL_ACCEPT_RETRY_S 1

void ctl_srv_log(struct ctl_server *srv, int level, const char *fmt, ...)
{
    char line[512];
    if (!srv->opts.log || !hlog_enabled(srv->opts.log, HLOG_CTL, level, NULL))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    hlog_write(srv->opts.log, HLOG_CTL, level, NULL, "%s", line);
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* The socket's directory: created 0700 when missing, must be a directory. */
static int ctl_make_dir(const char *path, char *err, size_t errlen)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0; /* relative name or in "/": nothing to create */
    *slash = '\0';
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : fail(err, errlen, "%s: not a directory", dir);
    if (errno != ENOENT)
        return fail(err, errlen, "%s: %s", dir, strerror(errno));
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return fail(err, errlen, "mkdir %s: %s", dir, strerror(errno));
    return 0;
}

/* A socket file left by a previous haiked is removed; one that still
 * answers belongs to a running daemon and is an error, and so is any file
 * that is not a socket (we never delete what we did not create). */
static int ctl_clear_stale(const struct sockaddr_un *sun, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(sun->sun_path, &st) != 0)
        return errno == ENOENT ? 0 : fail(err, errlen, "%s: %s", sun->sun_path, strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return fail(err, errlen, "%s exists and is not a socket", sun->sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(err, errlen, "socket: %s", strerror(errno));
    int live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
    close(fd);
    if (live)
        return fail(err, errlen, "%s: another daemon is listening there", sun->sun_path);
    if (unlink(sun->sun_path) != 0)
        return fail(err, errlen, "unlink %s: %s", sun->sun_path, strerror(errno));
    return 0;
}

static int ctl_listen_fd(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (!path || !path[0] || strlen(path) >= sizeof(sun.sun_path))
        return fail(err, errlen, "control socket path '%s' empty or too long (max %zu)",
                    path ? path : "", sizeof(sun.sun_path) - 1);
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if (ctl_make_dir(path, err, errlen) != 0 || ctl_clear_stale(&sun, err, errlen) != 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(err, errlen, "socket: %s", strerror(errno));
    /* The umask closes the window between bind() and chmod(). */
    mode_t old = umask(0177);
    int rc = bind(fd, (const struct sockaddr *)&sun, sizeof(sun));
    int bind_errno = errno;
    umask(old);
    if (rc != 0) {
        close(fd);
        return fail(err, errlen, "bind %s: %s", path, strerror(bind_errno));
    }
    if (chmod(path, 0600) != 0 || listen(fd, CTL_LISTEN_BACKLOG) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        return fail(err, errlen, "listen %s: %s", path, strerror(e));
    }
    return fd;
}

static void ctl_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                          int socklen, void *arg)
{
    struct ctl_server *srv = arg;
    struct ucred cred = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
    socklen_t len = sizeof(cred);
    char msg[128];
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred))
        cred.uid = (uid_t)-1;
    if (cred.uid != 0) {
        srv->stats.refused_uid++;
        ctl_srv_log(srv, IKE_LOG_WARN, "ctl: refused client pid %ld uid %ld: not root",
                    (long)cred.pid, (long)cred.uid);
        snprintf(msg, sizeof(msg), "permission denied: the control socket is for root only");
        ctl_conn_new(srv, fd, cred.pid, cred.uid, CTL__ERROR_CODE__ERR_PERMISSION, msg);
        return;
    }
    if (srv->n_conns >= srv->opts.max_clients) {
        srv->stats.refused_busy++;
        ctl_srv_log(srv, IKE_LOG_WARN, "ctl: refused client pid %ld: %zu clients connected",
                    (long)cred.pid, srv->n_conns);
        snprintf(msg, sizeof(msg), "busy: %zu control clients connected, try again", srv->n_conns);
        ctl_conn_new(srv, fd, cred.pid, cred.uid, CTL__ERROR_CODE__ERR_BUSY, msg);
        return;
    }
    srv->stats.accepted++;
    if (!ctl_conn_new(srv, fd, cred.pid, cred.uid, CTL__ERROR_CODE__ERR_NONE, NULL))
        ctl_srv_log(srv, IKE_LOG_ERR, "ctl: out of memory for a client");
}

static void ctl_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ctl_server *srv = arg;
    evconnlistener_enable(srv->listener);
}

/* EMFILE and friends: the listening socket stays readable, so accepting
 * again at once would spin; pause accepting for a moment instead. */
static void ctl_accept_error_cb(struct evconnlistener *l, void *arg)
{
    struct ctl_server *srv = arg;
    struct timeval tv = {.tv_sec = CTL_ACCEPT_RETRY_S};
    int e = EVUTIL_SOCKET_ERROR();
    ctl_srv_log(srv, IKE_LOG_ERR, "ctl: accept: %s; pausing %d s", strerror(e), CTL_ACCEPT_RETRY_S);
    evconnlistener_disable(l);
    evtimer_add(srv->resume, &tv);
}

static void ctl_opts_defaults(struct ctl_server *srv, const struct ctl_server_opts *opts)
{
    if (opts)
        srv->opts = *opts;
    if (!srv->opts.max_clients)
        srv->opts.max_clients = CTL_MAX_CLIENTS_DEFAULT;
    if (!srv->opts.idle_timeout_ms)
        srv->opts.idle_timeout_ms = CTL_IDLE_TIMEOUT_MS_DEFAULT;
    if (!srv->opts.write_timeout_ms)
        srv->opts.write_timeout_ms = CTL_WRITE_TIMEOUT_MS_DEFAULT;
    srv->ctx.d = srv->opts.d;
    srv->ctx.log = srv->opts.log;
    srv->ctx.version = srv->opts.version ? srv->opts.version : HAIKED_VERSION;
    if (!srv->opts.started_ms)
        srv->opts.started_ms = srv->opts.d ? srv->opts.d->started_ms : ctl_now_ms();
    srv->ctx.started_ms = srv->opts.started_ms;
}

struct ctl_server *ctl_server_start(struct event_base *base, const char *path,
                                    const struct ctl_server_opts *opts, char *err, size_t errlen)
{
    struct ctl_server *srv = calloc(1, sizeof(*srv));
    if (!srv || !(srv->path = strdup(path ? path : ""))) {
        free(srv);
        fail(err, errlen, "out of memory");
        return NULL;
    }
    srv->base = base;
    LIST_INIT(&srv->conns);
    ctl_opts_defaults(srv, opts);
    signal(SIGPIPE, SIG_IGN);
    int fd = ctl_listen_fd(path, err, errlen);
    if (fd < 0) {
        free(srv->path);
        free(srv);
        return NULL;
    }
    srv->resume = evtimer_new(base, ctl_resume_cb, srv);
    srv->listener = evconnlistener_new(base, ctl_accept_cb, srv,
                                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
    if (!srv->listener || !srv->resume) {
        if (!srv->listener)
            close(fd);
        fail(err, errlen, "out of memory");
        ctl_server_stop(srv);
        return NULL;
    }
    evconnlistener_set_error_cb(srv->listener, ctl_accept_error_cb);
    ctl_srv_log(srv, IKE_LOG_INFO, "ctl: listening on %s", path);
    return srv;
}

void ctl_server_stop(struct ctl_server *srv)
{
    if (!srv)
        return;
    while (!LIST_EMPTY(&srv->conns))
        ctl_conn_free(LIST_FIRST(&srv->conns));
    if (srv->listener) {
        evconnlistener_free(srv->listener);
        unlink(srv->path);
    }
    if (srv->resume)
        event_free(srv->resume);
    free(srv->path);
    free(srv);
}

const struct ctl_server_stats *ctl_server_stats(const struct ctl_server *srv)
{
    return &srv->stats;
}

size_t ctl_server_clients(const struct ctl_server *srv)
{
    return srv->n_conns;
}
