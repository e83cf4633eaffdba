/*
 * The userspace backend with many installed CHILD SAs: the per-tick work
 * (counter event timer, activity reports, limit reports) follows what
 * happened, not how many SAs there are. N pairs are installed, traffic
 * goes through two of them; only those two get counter events and
 * activity reports, once each, and an idle loop costs next to no CPU.
 * Prints the CPU the backend's timers cost per second with N SAs (the
 * number quoted in daemon/esp/README.md). Skipped without root.
 */
#include "dtest_util.h"

#include <time.h>

#include <ike/const.h>

#include "esp/esp_sa.h"

#define N_PAIRS 5000 /* 10,000 SAs: enough for a walk per tick to show */

struct seen {
    unsigned events, reports_in, reports_out;
    struct dp_child *last_event;
    struct dp_child *events_for[8];
};

static void on_event(void *arg, struct dp_child *c)
{
    struct seen *s = arg;
    if (s->events < 8)
        s->events_for[s->events] = c;
    s->events++;
    s->last_event = c;
}

static void on_report(void *arg, struct dp_child *c, enum dp_report what)
{
    (void)c;
    struct seen *s = arg;
    if (what == DP_REPORT_INBOUND)
        s->reports_in++;
    else if (what == DP_REPORT_OUTBOUND)
        s->reports_out++;
}

static int no_send(void *arg, const struct dp_child *c, const uint8_t *data, size_t len)
{
    (void)arg, (void)c, (void)data, (void)len;
    return 0;
}

/* Pair i: ours is 10.(i/256).(i%256).0/24 <-> 10.(100 + i/256).(i%256).0/24
 * (spi in 0x10000 + 2i, out 0x10000 + 2i + 1); mirror is the other side. */
static void export_pair(unsigned i, struct ike_child_export *a, struct ike_child_export *b)
{
    dtest_export_gcm(a, 128, 0x10000 + 2 * i, 0x10000 + 2 * i + 1, 0x31, 0x42,
                     dtest_net24((uint8_t)(i / 256), (uint8_t)(i % 256)),
                     dtest_net24((uint8_t)(100 + i / 256), (uint8_t)(i % 256)));
    dtest_export_mirror(a, b);
}

/* mirror encrypts remote-host -> local-host of pair i into buf; that
 * goes into the pair's own SA through esp_input. */
static void deliver(struct dp *dp, struct dp_child *mirror, unsigned i)
{
    struct esp_sa *ms = mirror->backend; /* struct us_child starts with its esp_sa */
    uint8_t buf[256] = {0};
    uint8_t *ip = buf + esp_sa_hdr_len(ms);
    ip[0] = 0x45;
    ip[3] = 28;
    ip[8] = 64;
    ip[9] = 17;
    ip[12] = 10, ip[13] = (uint8_t)(100 + i / 256), ip[14] = (uint8_t)(i % 256), ip[15] = 7;
    ip[16] = 10, ip[17] = (uint8_t)(i / 256), ip[18] = (uint8_t)(i % 256), ip[19] = 7;
    size_t n = 0;
    assert_int_equal(esp_encap(ms, buf, 28, sizeof(buf), 4, &n), ESP_OK);
    struct ike_addr a = {.family = IKE_AF_INET, .port = 4500};
    assert_int_equal(dp_esp_input(dp, buf, n, &a, &a), 0);
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void test_many_sas(void **state)
{
    (void)state;
    struct dp dp;
    char err[256] = "";
    struct event_base *base = dtest_dp_open(&dp, "userspace", err, sizeof(err));
    struct seen s = {0};
    dp.udp_send = no_send;
    dp.counter_event = on_event;
    dp.counter_event_arg = &s;
    dp.counter_event_ms = 10; /* an HA cluster's sequence sync period */
    dp.report = on_report;
    dp.report_arg = &s;
    static struct dp_child *ours[N_PAIRS], *mirrors[N_PAIRS];
    struct ike_addr l = {.family = IKE_AF_INET, .port = 4500};
    for (unsigned i = 0; i < N_PAIRS; i++) {
        struct ike_child_export a, b;
        export_pair(i, &a, &b);
        ours[i] = dp_child_install(&dp, NULL, &a, &l, &l, true, 0, err, sizeof(err));
        mirrors[i] = dp_child_install(&dp, NULL, &b, &l, &l, true, 0, err, sizeof(err));
        assert_non_null(ours[i]);
        assert_non_null(mirrors[i]);
    }
    /* idle: 2 s of loop with every SA installed */
    double c0 = cpu_ms();
    dtest_run_for(base, 2000);
    double idle = cpu_ms() - c0;
    assert_int_equal(s.events, 0);
    assert_int_equal(s.reports_in + s.reports_out, 0);

    /* one packet into each of two SAs: one counter event and one inbound
     * activity report each, for those two only */
    deliver(&dp, mirrors[17], 17);
    deliver(&dp, mirrors[N_PAIRS - 1], N_PAIRS - 1);
    dtest_run_for(base, 1300);
    assert_int_equal(s.events, 2);
    assert_ptr_equal(s.events_for[0], ours[17]);
    assert_ptr_equal(s.events_for[1], ours[N_PAIRS - 1]);
    assert_int_equal(ours[17]->ctr.packets_in, 1); /* refreshed before the event */
    assert_int_equal(s.reports_in, 2);
    assert_int_equal(s.reports_out, 0);
    /* quiet again: nothing more */
    dtest_run_for(base, 1100);
    assert_int_equal(s.events, 2);
    assert_int_equal(s.reports_in, 2);

    /* an SA deleted while it waits for its event is simply not reported */
    deliver(&dp, mirrors[5], 5);
    dp_child_delete(&dp, ours[5]);
    dtest_run_for(base, 1100);
    assert_int_equal(s.events, 2);
    assert_int_equal(s.reports_in, 2);

    fprintf(stderr, "[ MEASURE  ] %u SAs, counter event every %u ms: idle loop %.2f ms CPU/s\n",
            2 * N_PAIRS, dp.counter_event_ms, idle / 2.0);
    dp_close(&dp);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_sas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
