/*
 * Shared by the daemon runtime tests (test_daemon_*.c): a private network
 * namespace for the test process (so ports 500/4500 on 127.0.0.x are ours
 * alone), a temp dir with a config + 0600 secrets file, and a loop runner.
 */
#ifndef DTEST_UTIL_H
#define DTEST_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "config/config.h"
#include "daemon.h"

/* 0 when the process now has its own network namespace with lo up;
 * -1 when it cannot (not root): the caller skips. */
static inline int dtest_private_netns(void)
{
    static int done = 0;
    if (done)
        return done > 0 ? 0 : -1;
    done = -1;
    if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
        return -1;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        return -1;
    ifr.ifr_flags |= IFF_UP;
    int r = ioctl(fd, SIOCSIFFLAGS, &ifr);
    close(fd);
    if (r < 0)
        return -1;
    done = 1;
    return 0;
}

/* A data plane of backend ("kernel", "userspace") in a private network
 * namespace of this test (skip()s without one: not root): its event base. */
static inline struct event_base *dtest_dp_open(struct dp *dp, const char *backend, char *err,
                                               size_t errlen)
{
    if (dtest_private_netns() < 0)
        skip();
    struct event_base *base = event_base_new();
    assert_non_null(base);
    err[0] = '\0';
    assert_int_equal(dp_open(dp, backend, base, err, errlen), 0);
    return base;
}

/* The LAN selector 10.second.third.0/24, any protocol and port. */
static inline struct ike_ts_export dtest_net24(uint8_t second, uint8_t third)
{
    struct ike_ts_export t = {.type = IKE_TS_IPV4_ADDR_RANGE, .end_port = 0xffff};
    uint8_t a[4] = {10, second, third, 0};
    memcpy(t.start_addr, a, 4);
    a[3] = 255;
    memcpy(t.end_addr, a, 4);
    return t;
}

/* An ESP tunnel-mode AES-GCM-16 CHILD SA of selector "net": key_bits of key
 * plus the 4-octet salt, every octet key_in / key_out; one selector each
 * side. */
static inline void dtest_export_gcm(struct ike_child_export *ex, unsigned key_bits, uint32_t spi_in,
                                    uint32_t spi_out, uint8_t key_in, uint8_t key_out,
                                    struct ike_ts_export local, struct ike_ts_export remote)
{
    memset(ex, 0, sizeof(*ex));
    ex->version = IKE_EXPORT_VERSION;
    snprintf(ex->cfg_name, sizeof(ex->cfg_name), "net");
    ex->protocol = IKE_PROTO_ESP;
    ex->tunnel = true;
    ex->encr_id = IKE_ENCR_AES_GCM_16;
    ex->encr_key_bits = (uint16_t)key_bits;
    ex->spi_in = spi_in;
    ex->spi_out = spi_out;
    ex->encr_in.len = ex->encr_out.len = (uint16_t)(key_bits / 8 + 4);
    memset(ex->encr_in.data, key_in, ex->encr_in.len);
    memset(ex->encr_out.data, key_out, ex->encr_out.len);
    ex->n_ts_local = ex->n_ts_remote = 1;
    ex->ts_local[0] = local;
    ex->ts_remote[0] = remote;
}

/* A bare AES-GCM-256 pair (spi in, ~spi out, no keys or addresses) in
 * dp: enough for the SPI bookkeeping tests. NULL if refused. */
static inline struct dp_child *dtest_install_spi(struct dp *dp, uint32_t spi)
{
    struct ike_child_export ex = {.version = IKE_EXPORT_VERSION,
                                  .spi_in = spi,
                                  .spi_out = ~spi,
                                  .encr_id = IKE_ENCR_AES_GCM_16,
                                  .encr_key_bits = 256};
    struct ike_addr l = {0}, r = {0};
    char err[128];
    return dp_child_install(dp, NULL, &ex, &l, &r, false, 0, err, sizeof(err));
}

/* b = the peer's side of a: SPIs, keys and selectors swapped. */
static inline void dtest_export_mirror(const struct ike_child_export *a, struct ike_child_export *b)
{
    *b = *a;
    b->spi_in = a->spi_out;
    b->spi_out = a->spi_in;
    b->encr_in = a->encr_out;
    b->encr_out = a->encr_in;
    b->ts_local[0] = a->ts_remote[0];
    b->ts_remote[0] = a->ts_local[0];
}

struct dtest_dir {
    char path[64];
};

static inline void dtest_dir_make(struct dtest_dir *t)
{
    snprintf(t->path, sizeof(t->path), "/tmp/haiked-dtest-XXXXXX");
    assert_non_null(mkdtemp(t->path));
}

static inline void dtest_write(const struct dtest_dir *t, const char *name, mode_t mode,
                               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static inline void dtest_write(const struct dtest_dir *t, const char *name, mode_t mode,
                               const char *fmt, ...)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", t->path, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
    assert_int_equal(chmod(p, mode), 0);
}

static inline void dtest_dir_remove(struct dtest_dir *t)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->path);
    assert_int_equal(system(cmd), 0);
}

static inline struct cfg *dtest_load(const struct dtest_dir *t, const char *name)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", t->path, name);
    struct cfg *cfg = NULL;
    struct cfg_errors errs = {0};
    if (cfg_load(p, &cfg, &errs) < 0) {
        cfg_errors_print(&errs, stderr);
        cfg_errors_clear(&errs);
        fail_msg("config %s refused", p);
    }
    cfg_errors_clear(&errs);
    return cfg;
}

/* Runs the loop until pred(arg) or timeout_ms; returns pred's last value. */
static inline bool dtest_run_until(struct event_base *base, bool (*pred)(void *), void *arg,
                                   unsigned timeout_ms)
{
    uint64_t end = daemon_now_ms() + timeout_ms;
    while (!pred(arg)) {
        if (daemon_now_ms() >= end)
            return false;
        struct timeval tv = {0, 10000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    return true;
}

static inline void dtest_run_for(struct event_base *base, unsigned ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

#endif
