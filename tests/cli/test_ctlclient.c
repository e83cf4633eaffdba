/*
 * The client library against peers that misbehave: nobody listening, a
 * daemon that never answers (timeout), one that answers garbage, another
 * frame version, a truncated frame, or hangs up. Each must be a clear
 * one-line error with the right status, never a hang or a crash. The fake
 * peers run in forked children on a socket in a temp directory.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctlclient.h"

struct peer {
    char dir[32];
    char path[64];
    int lfd;
    pid_t pid;
};

enum behaviour { SILENT, GARBAGE, WRONG_VERSION, TRUNCATED, HANG_UP, BAD_BODY, WRONG_ID };

/* What the fake daemon writes after reading the request. */
static void behave(int fd, enum behaviour b)
{
    uint8_t in[4096];
    uint8_t hdr[CTL_FRAME_HDR_LEN];
    (void)!recv(fd, in, sizeof(in), 0);
    switch (b) {
    case SILENT: pause(); break;
    case GARBAGE: (void)!send(fd, "HTTP/1.0 400\r\n", 14, 0); break;
    case WRONG_VERSION:
        ctl_frame_hdr_encode(hdr, 0);
        hdr[2] = 2;
        (void)!send(fd, hdr, sizeof(hdr), 0);
        break;
    case TRUNCATED:
        ctl_frame_hdr_encode(hdr, 100);
        (void)!send(fd, hdr, sizeof(hdr), 0);
        (void)!send(fd, "\x08\x01", 2, 0);
        break;
    case HANG_UP: break;
    case BAD_BODY:
        ctl_frame_hdr_encode(hdr, 3);
        (void)!send(fd, hdr, sizeof(hdr), 0);
        (void)!send(fd, "\xff\xff\xff", 3, 0);
        break;
    case WRONG_ID: {
        Ctl__Response resp = CTL__RESPONSE__INIT;
        uint8_t *buf;
        size_t len;
        resp.has_id = true;
        resp.id = 999;
        if (ctl_frame_pack(&resp.base, CTL_RESPONSE_MAX, &buf, &len) == 0)
            (void)!send(fd, buf, len, 0);
        break;
    }
    }
}

static void peer_start(struct peer *p, enum behaviour b)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(p->dir, sizeof(p->dir), "/tmp/ctlcli_XXXXXX");
    assert_non_null(mkdtemp(p->dir));
    snprintf(p->path, sizeof(p->path), "%s/s", p->dir);
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", p->path);
    p->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(p->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    assert_int_equal(listen(p->lfd, 4), 0);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        int fd = accept(p->lfd, NULL, NULL);
        behave(fd, b);
        close(fd);
        _exit(0);
    }
}

static void peer_stop(struct peer *p)
{
    char cmd[64];
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    close(p->lfd);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p->dir);
    assert_int_equal(system(cmd), 0);
}

/* One status call against a peer behaving like b. */
static enum ctl_client_status call(enum behaviour b, int timeout_ms, char *err, size_t errlen)
{
    struct peer p;
    struct ctl_client *c;
    peer_start(&p, b);
    enum ctl_client_status st = ctl_client_open(p.path, timeout_ms, &c, err, errlen);
    assert_int_equal(st, CTL_CLIENT_OK);
    Ctl__Request req = CTL__REQUEST__INIT;
    Ctl__StatusRequest q = CTL__STATUS_REQUEST__INIT;
    req.command_case = CTL__REQUEST__COMMAND_STATUS;
    req.status = &q;
    Ctl__Response *resp = (Ctl__Response *)1;
    st = ctl_client_call(c, &req, &resp, err, errlen);
    assert_null(resp);
    ctl_client_close(c);
    peer_stop(&p);
    return st;
}

static void assert_has(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in \"%s\"", needle, hay);
}

static void test_nobody_listening(void **state)
{
    char err[256];
    struct ctl_client *c = NULL;
    assert_int_equal(ctl_client_open("/nonexistent/haiked.sock", 500, &c, err, sizeof(err)),
                     CTL_CLIENT_E_CONNECT);
    assert_null(c);
    assert_string_equal(err, "cannot connect to haiked at /nonexistent/haiked.sock: No such "
                             "file or directory (is haiked running?)");
}

static void test_timeout(void **state)
{
    char err[256];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(call(SILENT, 300, err, sizeof(err)), CTL_CLIENT_E_TIMEOUT);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    assert_true(ms >= 290 && ms < 2000);
    assert_has(err, "did not answer within 300 ms");
}

static void test_bad_answers(void **state)
{
    char err[256];
    assert_int_equal(call(GARBAGE, 2000, err, sizeof(err)), CTL_CLIENT_E_PROTOCOL);
    assert_has(err, "bad magic");
    assert_int_equal(call(WRONG_VERSION, 2000, err, sizeof(err)), CTL_CLIENT_E_PROTOCOL);
    assert_has(err, "haiked speaks control frame version 2, this hactl 1");
    assert_int_equal(call(BAD_BODY, 2000, err, sizeof(err)), CTL_CLIENT_E_PROTOCOL);
    assert_has(err, "does not decode");
    assert_int_equal(call(WRONG_ID, 2000, err, sizeof(err)), CTL_CLIENT_E_PROTOCOL);
    assert_has(err, "response id 999 does not match request id 1");
}

static void test_connection_lost(void **state)
{
    char err[256];
    assert_int_equal(call(TRUNCATED, 2000, err, sizeof(err)), CTL_CLIENT_E_IO);
    assert_has(err, "Connection reset");
    assert_int_equal(call(HANG_UP, 2000, err, sizeof(err)), CTL_CLIENT_E_IO);
    assert_has(err, "closed the connection");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nobody_listening),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_bad_answers),
        cmocka_unit_test(test_connection_lost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
