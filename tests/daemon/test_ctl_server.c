/*
 * The control socket server on a real unix socket in a test event loop:
 * valid requests, every kind of malformed input (each gets an error reply
 * and the server keeps serving), partial and pipelined frames, many
 * clients, a client that never reads, a non-root peer (SO_PEERCRED, from
 * a forked child after setuid(65534)), and the socket file's life cycle.
 * The runtime is a daemon built from a small config (no sockets opened).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "config/config.h"
#include "ctl/ctl_server.h"
#include "ctl_frame.h"
#include "daemon.h"

struct fx {
    char dir[32];
    char sockdir[48];
    char sock[64];
    struct event_base *base;
    struct daemon d;
    struct ctl_server *srv;
};

static const char fx_conf[] =
    "global = {\n"
    "  control-socket = \"%s\";\n"
    "  secrets-file = \"%s/secrets.conf\";\n"
    "  dataplane = \"record\";\n"
    "  log = { level = \"error\"; };\n"
    "};\n"
    "gateways = (\n"
    "  { name = \"hq\"; local-gw = \"203.0.113.1\"; remote-gw = \"203.0.113.2\";\n"
    "    proposal = \"aes256-sha512\"; dhgrp = \"21\"; auto-negotiate = false;\n"
    "    selectors = ( { name = \"lan\"; local-subnet = \"192.0.2.0/25\";\n"
    "                    remote-subnet = \"192.0.2.128/25\"; proposal = \"aes256-sha512\"; } ); "
    "},\n"
    "  { name = \"branch\"; local-gw = \"203.0.113.1\"; remote-gw = \"203.0.113.3\";\n"
    "    proposal = \"aes256gcm16-prfsha512-ecp521\"; passive = true;\n"
    "    selectors = ( { name = \"all\"; local-subnet = \"192.0.2.0/25\";\n"
    "                    remote-subnet = \"192.0.2.128/25\"; proposal = \"aes256gcm16\"; } ); }\n"
    ");\n";

static const char fx_secrets[] = "secrets = (\n"
                                 "  { gateway = \"hq\"; psk = \"test psk for hq\"; },\n"
                                 "  { gateway = \"branch\"; psk = \"test psk for branch\"; }\n"
                                 ");\n";

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    fchmod(fd, mode);
    close(fd);
}

static int fx_setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    char path[160], conf[2048], err[256];
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_ctl_XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->sockdir, sizeof(fx->sockdir), "%s/run", fx->dir);
    snprintf(fx->sock, sizeof(fx->sock), "%s/haiked.sock", fx->sockdir);
    snprintf(conf, sizeof(conf), fx_conf, fx->sock, fx->dir);
    snprintf(path, sizeof(path), "%s/secrets.conf", fx->dir);
    write_file(path, fx_secrets, 0600);
    snprintf(path, sizeof(path), "%s/haiked.conf", fx->dir);
    write_file(path, conf, 0644);
    struct cfg *cfg = NULL;
    struct cfg_errors errs = {0};
    if (cfg_load(path, &cfg, &errs) != 0) {
        cfg_errors_print(&errs, stderr);
        fail_msg("config did not load");
    }
    cfg_errors_clear(&errs);
    fx->base = event_base_new();
    assert_int_equal(daemon_init(&fx->d, fx->base, cfg, path, stderr, err, sizeof(err)), 0);
    struct ctl_server_opts o = {
        .d = &fx->d, .log = &fx->d.log, .idle_timeout_ms = 2000, .write_timeout_ms = 300};
    fx->srv = ctl_server_start(fx->base, cfg->global.ctl_socket, &o, err, sizeof(err));
    if (!fx->srv)
        fail_msg("ctl_server_start: %s", err);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *fx = *state;
    char cmd[200];
    ctl_server_stop(fx->srv);
    daemon_free(&fx->d);
    event_base_free(fx->base);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

/* ---- a raw client, driven together with the server's loop ---------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pump(struct fx *fx, int ms)
{
    int64_t end = now_ms() + ms;
    do {
        event_base_loop(fx->base, EVLOOP_NONBLOCK);
        usleep(500);
    } while (now_ms() < end);
}

static int cli_connect(struct fx *fx)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", fx->sock);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    pump(fx, 2); /* let the server accept */
    return fd;
}

static void cli_send(int fd, const void *data, size_t len)
{
    assert_int_equal(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void cli_send_req(int fd, Ctl__Request *req)
{
    uint8_t *buf;
    size_t len;
    assert_int_equal(ctl_frame_pack(&req->base, CTL_REQUEST_MAX, &buf, &len), 0);
    cli_send(fd, buf, len);
    free(buf);
}

static void cli_send_body(int fd, const uint8_t *body, size_t len)
{
    uint8_t hdr[CTL_FRAME_HDR_LEN];
    ctl_frame_hdr_encode(hdr, (uint32_t)len);
    cli_send(fd, hdr, sizeof(hdr));
    if (len)
        cli_send(fd, body, len);
}

/* Reads one response frame while running the server; NULL at EOF or after
 * timeout_ms. */
static Ctl__Response *cli_recv(struct fx *fx, int fd, int timeout_ms)
{
    static uint8_t buf[1 << 20];
    size_t have = 0;
    int64_t end = now_ms() + timeout_ms;
    while (now_ms() < end) {
        event_base_loop(fx->base, EVLOOP_NONBLOCK);
        size_t want = CTL_FRAME_HDR_LEN;
        if (have >= CTL_FRAME_HDR_LEN)
            want += (size_t)buf[4] << 24 | (size_t)buf[5] << 16 | (size_t)buf[6] << 8 | buf[7];
        assert_true(want <= sizeof(buf));
        if (have >= want && have >= CTL_FRAME_HDR_LEN) {
            struct ctl_frame_hdr hdr;
            assert_int_equal(ctl_frame_hdr_decode(buf, have, CTL_RESPONSE_MAX, &hdr), CTL_FRAME_OK);
            Ctl__Response *r = ctl__response__unpack(NULL, hdr.len, buf + CTL_FRAME_HDR_LEN);
            assert_non_null(r);
            return r;
        }
        ssize_t n = recv(fd, buf + have, want - have, MSG_DONTWAIT);
        if (n == 0)
            return NULL;
        if (n > 0)
            have += (size_t)n;
        else
            usleep(500);
    }
    return NULL;
}

/* The server closed: EOF within timeout_ms. */
static bool cli_closed(struct fx *fx, int fd, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    char c;
    while (now_ms() < end) {
        event_base_loop(fx->base, EVLOOP_NONBLOCK);
        ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return true;
        usleep(500);
    }
    return false;
}

static void req_status(Ctl__Request *req, Ctl__StatusRequest *q, uint32_t id)
{
    ctl__request__init(req);
    ctl__status_request__init(q);
    req->has_id = true;
    req->id = id;
    req->command_case = CTL__REQUEST__COMMAND_STATUS;
    req->status = q;
}

/* A status request answers; the connection stays up. */
static void assert_serving(struct fx *fx, int fd, uint32_t id)
{
    Ctl__Request req;
    Ctl__StatusRequest q;
    req_status(&req, &q, id);
    cli_send_req(fd, &req);
    Ctl__Response *r = cli_recv(fx, fd, 2000);
    assert_non_null(r);
    assert_null(r->error);
    assert_int_equal(r->id, id);
    assert_int_equal(r->result_case, CTL__RESPONSE__RESULT_STATUS);
    assert_int_equal(r->status->gateways, 2);
    ctl__response__free_unpacked(r, NULL);
}

static void assert_error(struct fx *fx, int fd, Ctl__ErrorCode code, const char *needle)
{
    Ctl__Response *r = cli_recv(fx, fd, 2000);
    assert_non_null(r);
    assert_non_null(r->error);
    assert_int_equal(r->error->code, code);
    assert_int_equal(r->result_case, CTL__RESPONSE__RESULT__NOT_SET);
    if (needle && !strstr(r->error->message, needle))
        fail_msg("error '%s' lacks '%s'", r->error->message, needle);
    ctl__response__free_unpacked(r, NULL);
}

/* ---- tests --------------------------------------------------------------- */

static void test_status(void **state)
{
    struct fx *fx = *state;
    int fd = cli_connect(fx);
    Ctl__Request req;
    Ctl__StatusRequest q;
    req_status(&req, &q, 42);
    cli_send_req(fd, &req);
    Ctl__Response *r = cli_recv(fx, fd, 2000);
    assert_non_null(r);
    assert_null(r->error);
    assert_int_equal(r->id, 42);
    assert_string_equal(r->status->version, HAIKED_VERSION);
    assert_int_equal(r->status->gateways, 2);
    assert_int_equal(r->status->ike_sas, 0);
    assert_int_equal(r->status->pid, (uint32_t)getpid());
    assert_true(r->status->n_vdoms >= 1);
    assert_string_equal(r->status->vdoms[0]->name, "root");
    assert_int_equal(r->status->vdoms[0]->gateways, 2);
    ctl__response__free_unpacked(r, NULL);
    close(fd);
}

static void test_garbage_closes(void **state)
{
    struct fx *fx = *state;
    int fd = cli_connect(fx);
    const char text[] = "GET / HTTP/1.0\r\n\r\n";
    cli_send(fd, text, sizeof(text) - 1);
    assert_error(fx, fd, CTL__ERROR_CODE__ERR_BAD_FRAME, "magic");
    assert_true(cli_closed(fx, fd, 2000));
    close(fd);
    fd = cli_connect(fx);
    assert_serving(fx, fd, 1);
    close(fd);
    assert_int_equal(ctl_server_stats(fx->srv)->bad_frames, 1);
}

static void test_bad_version_closes(void **state)
{
    struct fx *fx = *state;
    int fd = cli_connect(fx);
    uint8_t hdr[CTL_FRAME_HDR_LEN];
    ctl_frame_hdr_encode(hdr, 0);
    hdr[2] = 9;
    cli_send(fd, hdr, sizeof(hdr));
    assert_error(fx, fd, CTL__ERROR_CODE__ERR_BAD_VERSION, "version 9");
    assert_true(cli_closed(fx, fd, 2000));
    close(fd);
}

/* The length alone condemns the frame: the reply comes before any body. */
static void test_oversized_closes(void **state)
{
    struct fx *fx = *state;
    int fd = cli_connect(fx);
    uint8_t hdr[CTL_FRAME_HDR_LEN];
    ctl_frame_hdr_encode(hdr, CTL_REQUEST_MAX + 1);
    cli_send(fd, hdr, sizeof(hdr));
    assert_error(fx, fd, CTL__ERROR_CODE__ERR_BAD_FRAME, "too large");
    assert_true(cli_closed(fx, fd, 2000));
    close(fd);
    fd = cli_connect(fx);
    assert_serving(fx, fd, 2);
    close(fd);
}

/* Inside a good frame, bad content gets an error and the connection stays. */
static void test_bad_requests_keep_connection(void **state)
{
    struct fx *fx = *state;
    int fd = cli_connect(fx);
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    cli_send_body(fd, junk, sizeof(junk));
    assert_error(fx, fd, CTL__ERROR_CODE__ERR_BAD_REQUEST, "does not decode");
    cli_send_body(fd, NULL, 0);
    assert_error(fx, fd, CTL__ERROR_CODE__ERR_UNKNOWN_COMMAND, NULL);
    const uint8_t future[] = {0x9a, 0x06, 0x00}; /* field 99, empty message */
    cli_send_body(fd, future, sizeof(future));
    assert_error(fx, fd, CTL__ERROR_CODE__ERR_UNKNOWN_COMMAND, NULL);

    Ctl__Request req = CTL__REQUEST__INIT;
    Ctl__TunnelShowRequest show = CTL__TUNNEL_SHOW_REQUEST__INIT;
    req.command_case = CTL__REQUEST__COMMAND_TUNNEL_SHOW;
    req.tunnel_show = &show;
    show.name = "nosuch\x1b[31m";
    cli_send_req(fd, &req);
    assert_error(fx, fd, CTL__ERROR_CODE__ERR_NOT_FOUND, "no gateway named 'nosuch?[31m'");
    show.name = NULL;
    cli_send_req(fd, &req);
    assert_error(fx, fd, CTL__ERROR_CODE__ERR_BAD_REQUEST, "name is required");

    Ctl__TunnelActionRequest act = CTL__TUNNEL_ACTION_REQUEST__INIT;
    req.command_case = CTL__REQUEST__COMMAND_TUNNEL_ACTION;
    req.tunnel_action = &act;
    act.name = "hq";
    cli_send_req(fd, &req); /* no action */
    assert_error(fx, fd, CTL__ERROR_CODE__ERR_BAD_REQUEST, "up, down or flush");
    act.has_action = true;
    act.action = CTL__TUNNEL_ACTION__TUNNEL_ACTION_UP;
    act.name = "branch";
    cli_send_req(fd, &req);
    assert_error(fx, fd, CTL__ERROR_CODE__ERR_FAILED, "passive");

    Ctl__DebugIkeRequest dbg = CTL__DEBUG_IKE_REQUEST__INIT;
    req.command_case = CTL__REQUEST__COMMAND_DEBUG_IKE;
    req.debug_ike = &dbg;
    dbg.peer = "not-an-address";
    cli_send_req(fd, &req);
    assert_error(fx, fd, CTL__ERROR_CODE__ERR_BAD_REQUEST, "not an IPv4 or IPv6");
    dbg.peer = NULL;
    dbg.has_level = true;
    dbg.level = 7;
    cli_send_req(fd, &req);
    assert_error(fx, fd, CTL__ERROR_CODE__ERR_BAD_REQUEST, "out of range");
    dbg.has_level = false;
    dbg.gateway = "nosuch";
    cli_send_req(fd, &req);
    assert_error(fx, fd, CTL__ERROR_CODE__ERR_NOT_FOUND, "nosuch");

    assert_serving(fx, fd, 3);
    close(fd);
    assert_int_equal(ctl_server_stats(fx->srv)->bad_frames, 0);
}

/* A frame arriving one octet at a time is still one request. */
static void test_partial_frames(void **state)
{
    struct fx *fx = *state;
    int fd = cli_connect(fx);
    Ctl__Request req;
    Ctl__StatusRequest q;
    req_status(&req, &q, 7);
    uint8_t *buf;
    size_t len;
    assert_int_equal(ctl_frame_pack(&req.base, CTL_REQUEST_MAX, &buf, &len), 0);
    for (size_t i = 0; i < len; i++) {
        cli_send(fd, buf + i, 1);
        pump(fx, 2);
    }
    free(buf);
    Ctl__Response *r = cli_recv(fx, fd, 2000);
    assert_non_null(r);
    assert_int_equal(r->id, 7);
    assert_null(r->error);
    ctl__response__free_unpacked(r, NULL);
    close(fd);
}

/* Several requests in one write: answered in order. */
static void test_pipelined(void **state)
{
    struct fx *fx = *state;
    int fd = cli_connect(fx);
    uint8_t all[4096];
    size_t off = 0;
    for (uint32_t id = 1; id <= 5; id++) {
        Ctl__Request req;
        Ctl__StatusRequest q;
        req_status(&req, &q, id);
        uint8_t *buf;
        size_t len;
        assert_int_equal(ctl_frame_pack(&req.base, CTL_REQUEST_MAX, &buf, &len), 0);
        memcpy(all + off, buf, len);
        off += len;
        free(buf);
    }
    cli_send(fd, all, off);
    for (uint32_t id = 1; id <= 5; id++) {
        Ctl__Response *r = cli_recv(fx, fd, 2000);
        assert_non_null(r);
        assert_int_equal(r->id, id);
        ctl__response__free_unpacked(r, NULL);
    }
    close(fd);
}

/* After sending, the client shuts down its side: still answered. */
static void test_half_close(void **state)
{
    struct fx *fx = *state;
    int fd = cli_connect(fx);
    Ctl__Request req;
    Ctl__StatusRequest q;
    req_status(&req, &q, 11);
    cli_send_req(fd, &req);
    shutdown(fd, SHUT_WR);
    Ctl__Response *r = cli_recv(fx, fd, 2000);
    assert_non_null(r);
    assert_int_equal(r->id, 11);
    ctl__response__free_unpacked(r, NULL);
    assert_true(cli_closed(fx, fd, 2000));
    close(fd);
    pump(fx, 5);
    assert_int_equal(ctl_server_clients(fx->srv), 0);
}

static void test_many_clients(void **state)
{
    struct fx *fx = *state;
    enum { N = 40 };
    int fds[N];
    for (int i = 0; i < N; i++)
        fds[i] = cli_connect(fx);
    assert_int_equal(ctl_server_clients(fx->srv), N);
    for (int i = 0; i < N; i++) {
        Ctl__Request req;
        Ctl__StatusRequest q;
        req_status(&req, &q, (uint32_t)(100 + i));
        cli_send_req(fds[i], &req);
    }
    for (int i = N - 1; i >= 0; i--) {
        Ctl__Response *r = cli_recv(fx, fds[i], 2000);
        assert_non_null(r);
        assert_int_equal(r->id, (uint32_t)(100 + i));
        ctl__response__free_unpacked(r, NULL);
        close(fds[i]);
    }
    pump(fx, 5);
    assert_int_equal(ctl_server_clients(fx->srv), 0);
}

/* Over max_clients: ERR_BUSY, and the others keep working. */
static void test_busy(void **state)
{
    struct fx *fx = *state;
    int fds[CTL_MAX_CLIENTS_DEFAULT];
    for (int i = 0; i < CTL_MAX_CLIENTS_DEFAULT; i++)
        fds[i] = cli_connect(fx);
    int extra = cli_connect(fx);
    assert_error(fx, extra, CTL__ERROR_CODE__ERR_BUSY, "busy");
    assert_true(cli_closed(fx, extra, 2000));
    close(extra);
    assert_serving(fx, fds[0], 5);
    for (int i = 0; i < CTL_MAX_CLIENTS_DEFAULT; i++)
        close(fds[i]);
    pump(fx, 5);
    assert_int_equal(ctl_server_stats(fx->srv)->refused_busy, 1);
}

/* A client that sends requests and never reads fills its socket and is
 * dropped after the write timeout; meanwhile others are served at once. */
static void test_slow_client(void **state)
{
    struct fx *fx = *state;
    int slow = cli_connect(fx);
    int small = 4096;
    setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    uint8_t burst[16384];
    size_t off = 0;
    Ctl__Request req = CTL__REQUEST__INIT;
    Ctl__GatewayListRequest gl = CTL__GATEWAY_LIST_REQUEST__INIT;
    req.command_case = CTL__REQUEST__COMMAND_GATEWAY_LIST;
    req.gateway_list = &gl;
    uint8_t *buf;
    size_t len;
    assert_int_equal(ctl_frame_pack(&req.base, CTL_REQUEST_MAX, &buf, &len), 0);
    while (off + len <= sizeof(burst)) {
        memcpy(burst + off, buf, len);
        off += len;
    }
    free(buf);
    cli_send(slow, burst, off);
    pump(fx, 20);
    int fast = cli_connect(fx);
    int64_t t0 = now_ms();
    assert_serving(fx, fast, 9);
    assert_true(now_ms() - t0 < 200);
    pump(fx, 800); /* > write timeout */
    assert_true(ctl_server_stats(fx->srv)->timeouts >= 1);
    assert_int_equal(ctl_server_clients(fx->srv), 1); /* only `fast` is left */
    assert_serving(fx, fast, 10);
    close(fast);
    close(slow);
}

/* A peer that is not root is refused even if the socket file lets it in. */
static void test_non_root_refused(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(chmod(fx->sockdir, 0755), 0);
    assert_int_equal(chmod(fx->dir, 0755), 0);
    assert_int_equal(chmod(fx->sock, 0666), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* child: an unprivileged client, blocking I/O */
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(10);
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", fx->sock);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
            _exit(11);
        Ctl__Request req;
        Ctl__StatusRequest q;
        req_status(&req, &q, 1);
        uint8_t *buf;
        size_t len;
        if (ctl_frame_pack(&req.base, CTL_REQUEST_MAX, &buf, &len) != 0)
            _exit(12);
        (void)!send(fd, buf, len, MSG_NOSIGNAL);
        uint8_t in[4096];
        size_t have = 0;
        ssize_t n;
        while ((n = recv(fd, in + have, sizeof(in) - have, 0)) > 0)
            have += (size_t)n;
        struct ctl_frame_hdr hdr;
        if (ctl_frame_hdr_decode(in, have, CTL_RESPONSE_MAX, &hdr) != CTL_FRAME_OK ||
            have != CTL_FRAME_HDR_LEN + hdr.len)
            _exit(13);
        Ctl__Response *r = ctl__response__unpack(NULL, hdr.len, in + CTL_FRAME_HDR_LEN);
        if (!r || !r->error || r->error->code != CTL__ERROR_CODE__ERR_PERMISSION ||
            r->result_case != CTL__RESPONSE__RESULT__NOT_SET)
            _exit(14);
        _exit(0);
    }
    int status = -1;
    int64_t end = now_ms() + 5000;
    while (now_ms() < end && waitpid(pid, &status, WNOHANG) == 0)
        pump(fx, 5);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(ctl_server_stats(fx->srv)->refused_uid, 1);
    assert_int_equal(ctl_server_stats(fx->srv)->requests, 0);
    int fd = cli_connect(fx);
    assert_serving(fx, fd, 1);
    close(fd);
}

static void test_socket_file(void **state)
{
    struct fx *fx = *state;
    struct stat st;
    char err[256], path[64];
    assert_int_equal(stat(fx->sock, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(fx->sockdir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    /* a second server on the live socket is refused */
    assert_null(ctl_server_start(fx->base, fx->sock, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "another daemon"));
    /* a regular file is never replaced */
    snprintf(path, sizeof(path), "%s/file", fx->dir);
    write_file(path, "keep me", 0644);
    assert_null(ctl_server_start(fx->base, path, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "not a socket"));
    assert_int_equal(stat(path, &st), 0);
    /* a stale socket (nobody listening) is replaced */
    snprintf(path, sizeof(path), "%s/stale.sock", fx->dir);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    close(fd);
    struct ctl_server_opts o = {.d = &fx->d};
    struct ctl_server *s2 = ctl_server_start(fx->base, path, &o, err, sizeof(err));
    if (!s2)
        fail_msg("stale socket not replaced: %s", err);
    ctl_server_stop(s2);
    assert_int_equal(stat(path, &st), -1); /* removed on stop */
    /* too long a path */
    char longp[200];
    memset(longp, 'x', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    assert_null(ctl_server_start(fx->base, longp, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "too long"));
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_ctl_server: needs root (SO_PEERCRED, setuid)\n");
        return 77;
    }
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_status),
        T(test_garbage_closes),
        T(test_bad_version_closes),
        T(test_oversized_closes),
        T(test_bad_requests_keep_connection),
        T(test_partial_frames),
        T(test_pipelined),
        T(test_half_close),
        T(test_many_clients),
        T(test_busy),
        T(test_slow_client),
        T(test_non_root_refused),
        T(test_socket_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
