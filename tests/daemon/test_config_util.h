/*
 * Shared by the test_config*.c tests: a temporary directory per test into
 * which configs from data/config/ are copied (the secrets file needs mode
 * 0600 and root ownership, which git does not keep), and exact comparison
 * of the "file:line: reason" lists cfg_load() reports.
 */
#ifndef TEST_CONFIG_UTIL_H
#define TEST_CONFIG_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"

#define CFGT_DATA DAEMON_TEST_DATA "/config"

/* libconfig 1.5's scanner leaks its string buffer when a syntax error
 * follows a string (strbuf_append inside libconfig, nothing of ours on the
 * stack); the syntax-error tests hit it. Each test program includes this
 * header once, so the hook is defined once per program. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libconfig.so\n";
}

struct cfgt {
    char dir[64];
};

static inline int cfgt_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static inline int cfgt_setup(void **state)
{
    struct cfgt *t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    snprintf(t->dir, sizeof(t->dir), "/tmp/haiked-cfgtest-XXXXXX");
    if (!mkdtemp(t->dir)) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static inline int cfgt_teardown(void **state)
{
    struct cfgt *t = *state;
    nftw(t->dir, cfgt_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(t);
    return 0;
}

/* dir/name, into buf. */
static inline const char *cfgt_path(const struct cfgt *t, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", t->dir, name);
    return buf;
}

static inline void cfgt_write(const struct cfgt *t, const char *name, const char *text, mode_t mode)
{
    char p[256];
    cfgt_path(t, name, p, sizeof(p));
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(p, mode), 0);
}

/* Whole file into a malloc'd string. */
static inline char *cfgt_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    assert_true(len >= 0);
    rewind(f);
    char *buf = calloc(1, (size_t)len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    return buf;
}

/* Copies data/config/src to dir/dst with mode. */
static inline void cfgt_copy(const struct cfgt *t, const char *src, const char *dst, mode_t mode)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", CFGT_DATA, src);
    char *text = cfgt_slurp(p);
    cfgt_write(t, dst, text, mode);
    free(text);
}

/* Loads dir/name expecting failure with exactly `expected` (texts with
 * "@" standing for the temporary directory), in order. */
static inline void cfgt_expect_errors(const struct cfgt *t, const char *name,
                                      const char *const *expected, size_t n)
{
    char p[256];
    struct cfg *cfg = (struct cfg *)1;
    struct cfg_errors errs = {0};
    int rc = cfg_load(cfgt_path(t, name, p, sizeof(p)), &cfg, &errs);
    bool same = rc == -1 && cfg == NULL && errs.n == n && errs.dropped == 0;
    for (size_t i = 0; same && i < n; i++) {
        char want[2048];
        size_t off = 0;
        for (const char *c = expected[i]; *c && off < sizeof(want) - 64; c++) {
            if (*c == '@' && (c[1] == '/' || c[1] == '\0'))
                off += (size_t)snprintf(want + off, sizeof(want) - off, "%s", t->dir);
            else
                want[off++] = *c;
        }
        want[off] = '\0';
        same = strcmp(errs.v[i].text, want) == 0;
    }
    if (!same) {
        fprintf(stderr, "cfg_load(%s) returned %d with %zu errors:\n", name, rc, errs.n);
        cfg_errors_print(&errs, stderr);
        fprintf(stderr, "expected %zu:\n", n);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "%s\n", expected[i]);
    }
    cfg_errors_clear(&errs);
    assert_true(same);
}

/* CFGT_EXPECT(t, name, "first error", ...): cfgt_expect_errors() with the
 * expected lines written inline. */
#define CFGT_EXPECT(t, name, ...)                                                                  \
    do {                                                                                           \
        const char *const cfgt_exp_[] = {__VA_ARGS__};                                             \
        cfgt_expect_errors(t, name, cfgt_exp_, sizeof(cfgt_exp_) / sizeof(cfgt_exp_[0]));          \
    } while (0)

/* Loads dir/name expecting success. */
static inline struct cfg *cfgt_load_ok(const struct cfgt *t, const char *name)
{
    char p[256];
    struct cfg *cfg = NULL;
    struct cfg_errors errs = {0};
    int rc = cfg_load(cfgt_path(t, name, p, sizeof(p)), &cfg, &errs);
    if (rc != 0)
        cfg_errors_print(&errs, stderr);
    assert_int_equal(rc, 0);
    assert_int_equal(errs.n, 0);
    assert_non_null(cfg);
    cfg_errors_clear(&errs);
    return cfg;
}

#endif
