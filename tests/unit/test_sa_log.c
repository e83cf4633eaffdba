/* ike_sa_log / ike_ctx_log: the line a log callback receives. Every SA
 * log line is "NAME SPIi/SPIr: text", the SPIs present even after the
 * longest name, the whole line cut at 511 octets (never overrun), no
 * name given as "-", and a context without a log callback is silent.
 * scripts/test.sh also runs this at -O3 -DNDEBUG (Release). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sa_internal.h"

struct rec {
    unsigned lines;
    enum ike_log_level level;
    const struct ike_sa *sa;
    char text[1024];
};

static void rec_send(void *user, struct ike_sa *sa, const struct ike_addr *local,
                     const struct ike_addr *remote, const uint8_t *data, size_t len)
{
    fail_msg("nothing is sent here");
}

static void rec_timer_arm(void *user, struct ike_sa *sa, enum ike_timer which, uint32_t ms)
{
}

static void rec_timer_cancel(void *user, struct ike_sa *sa, enum ike_timer which)
{
}

static uint64_t rec_now(void *user)
{
    return 1000;
}

static void rec_log(void *user, const struct ike_sa *sa, enum ike_log_level level,
                    const char *text)
{
    struct rec *r = user;
    r->lines++;
    r->level = level;
    r->sa = sa;
    snprintf(r->text, sizeof(r->text), "%s", text);
}

static int rec_install(void *user, struct ike_sa *sa, const struct ike_child_export *c)
{
    return -1;
}

static void rec_delete(void *user, struct ike_sa *sa, uint32_t spi_in)
{
}

static const struct ike_ctx_ops rec_ops = {
    .send = rec_send,
    .timer_arm = rec_timer_arm,
    .timer_cancel = rec_timer_cancel,
    .now_ms = rec_now,
    .log = rec_log,
    .child_install = rec_install,
    .child_delete = rec_delete,
};

static const uint8_t SPI_I[IKE_SPI_LEN] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
static const uint8_t SPI_R[IKE_SPI_LEN] = {0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
#define SPIS "0123456789abcdef/fedcba9876543210: "

static struct ike_sa *new_sa(struct rec *r, const struct ike_ctx_ops *ops,
                             const struct ike_sa_cfg *cfg)
{
    memset(r, 0, sizeof(*r));
    struct ike_ctx ctx = {.ops = ops, .user = r};
    struct ike_sa *sa = ike_sa_alloc(&ctx, cfg, true);
    assert_non_null(sa);
    memcpy(sa->spi_i, SPI_I, IKE_SPI_LEN);
    memcpy(sa->spi_r, SPI_R, IKE_SPI_LEN);
    return sa;
}

static void test_prefix(void **state)
{
    struct rec r;
    struct ike_sa_cfg cfg = {.name = "gw-1"};
    struct ike_sa *sa = new_sa(&r, &rec_ops, &cfg);
    ike_sa_log(sa, IKE_LOG_WARN, "peer %s sent %u octets, %llu total", "198.51.100.7", 42u,
               12345678901ULL);
    assert_int_equal(r.lines, 1);
    assert_int_equal(r.level, IKE_LOG_WARN);
    assert_ptr_equal(r.sa, sa);
    assert_string_equal(r.text, "gw-1 " SPIS "peer 198.51.100.7 sent 42 octets, 12345678901 total");

    cfg.name = NULL; /* a configuration without a name */
    ike_sa_log(sa, IKE_LOG_DEBUG, "x");
    assert_string_equal(r.text, "- " SPIS "x");
    ike_sa_free(sa);
}

/* The daemon allows 63-octet names; longer ones are capped at 64 so the
 * SPIs, which identify the SA, are never cut off. */
static void test_long_name(void **state)
{
    char name[201];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    static const size_t lens[] = {63, 64, 65, 200};
    for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        size_t len = lens[k];
        struct rec r;
        name[len] = '\0';
        struct ike_sa_cfg cfg = {.name = name};
        struct ike_sa *sa = new_sa(&r, &rec_ops, &cfg);
        ike_sa_log(sa, IKE_LOG_INFO, "state %s -> %s", "NEW", "INIT_SENT");
        char want[256];
        snprintf(want, sizeof(want), "%.*s " SPIS "state NEW -> INIT_SENT", len > 64 ? 64 : (int)len,
                 name);
        assert_string_equal(r.text, want);
        ike_sa_free(sa);
        name[len] = 'n';
    }
}

/* A text longer than a log line (e.g. a peer-supplied ID) is cut at 511
 * octets: the callback gets one terminated line (ASan checks the bounds). */
static void test_truncated(void **state)
{
    struct rec r;
    struct ike_sa_cfg cfg = {.name = "gw-1"};
    struct ike_sa *sa = new_sa(&r, &rec_ops, &cfg);
    char big[900];
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ike_sa_log(sa, IKE_LOG_ERR, "id %s end", big);
    assert_int_equal(strlen(r.text), 511);
    assert_memory_equal(r.text, "gw-1 " SPIS "id AAAA", strlen("gw-1 " SPIS "id AAAA"));
    assert_int_equal(r.text[510], 'A');

    ike_ctx_log(&sa->ctx, IKE_LOG_ERR, "%s", big);
    assert_int_equal(r.lines, 2);
    assert_null(r.sa);
    assert_int_equal(strlen(r.text), 511);
    ike_sa_free(sa);
}

/* The log callback is optional: without it nothing is formatted or called. */
static void test_no_callback(void **state)
{
    struct ike_ctx_ops ops = rec_ops;
    ops.log = NULL;
    struct rec r;
    struct ike_sa_cfg cfg = {.name = "gw-1"};
    struct ike_sa *sa = new_sa(&r, &ops, &cfg);
    ike_sa_log(sa, IKE_LOG_ERR, "%s", "dropped");
    ike_ctx_log(&sa->ctx, IKE_LOG_ERR, "%s", "dropped");
    assert_int_equal(r.lines, 0);
    ike_sa_free(sa);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_long_name),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_no_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
