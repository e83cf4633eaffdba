/*
 * ESP that arrives before its CHILD SA is installed (esp/esp_early.[ch]):
 * the ring on its own (order, the installed check, overflow, expiry), and
 * the userspace backend end to end in a private network namespace: a
 * packet for SPI 0xa1 before the pair is installed is counted as an unknown
 * SPI, then delivered (authenticated, decrypted, to the TUN) at the loop
 * turn after the install, and the drop counters are taken back; one held
 * longer than ESP_EARLY_MS is not. Skipped (not failed) without root.
 */
#include "dtest_util.h"

#include <ike/const.h>

#include "esp/esp_early.h"
#include "esp/esp_sa.h"

struct seen {
    uint32_t spis[32];
    size_t n;
    uint32_t installed; /* the SPI installed() admits */
};

static int installed(void *arg, uint32_t spi)
{
    return ((struct seen *)arg)->installed == spi;
}

static void deliver(void *arg, const uint8_t *pkt, size_t len)
{
    struct seen *s = arg;
    assert_true(len >= 8);
    s->spis[s->n++] = esp_packet_spi(pkt, len) ^ pkt[7]; /* SPI ^ the packet's number */
}

static void pkt_of(uint8_t *p, uint32_t spi, uint8_t n)
{
    memset(p, 0, 16);
    p[0] = (uint8_t)(spi >> 24), p[1] = (uint8_t)(spi >> 16), p[2] = (uint8_t)(spi >> 8);
    p[3] = (uint8_t)spi;
    p[7] = n;
}

static void test_ring(void **state)
{
    (void)state;
    struct esp_early *e = calloc(1, sizeof(*e));
    struct seen s = {.installed = 0xa1};
    uint8_t p[16];
    pkt_of(p, 0xa1, 1);
    esp_early_hold(e, 0xa1, p, sizeof(p), 1000);
    pkt_of(p, 0xb2, 2);
    esp_early_hold(e, 0xb2, p, sizeof(p), 1000);
    pkt_of(p, 0xa1, 3);
    esp_early_hold(e, 0xa1, p, sizeof(p), 1100);
    assert_int_equal(e->n_held, 3);
    /* 0xa1's two, in arrival order; 0xb2's stays */
    assert_int_equal(esp_early_release(e, 1200, installed, deliver, &s), 2);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.spis[0], 0xa1 ^ 1);
    assert_int_equal(s.spis[1], 0xa1 ^ 3);
    assert_int_equal(e->n_held, 1);
    /* too old by now: forgotten, not delivered */
    s.installed = 0xb2;
    assert_int_equal(esp_early_release(e, 1000 + ESP_EARLY_MS + 1, installed, deliver, &s), 0);
    assert_int_equal(e->n_held, 0);
    /* full: the oldest goes first */
    for (unsigned i = 0; i < ESP_EARLY_SLOTS + 2; i++) {
        pkt_of(p, 0xc3, (uint8_t)i);
        esp_early_hold(e, 0xc3, p, sizeof(p), 2000);
    }
    assert_int_equal(e->n_held, ESP_EARLY_SLOTS);
    s = (struct seen){.installed = 0xc3};
    assert_int_equal(esp_early_release(e, 2000, installed, deliver, &s), ESP_EARLY_SLOTS);
    assert_int_equal(s.spis[0], 0xc3 ^ 2);
    assert_int_equal(s.spis[ESP_EARLY_SLOTS - 1], 0xc3 ^ (ESP_EARLY_SLOTS + 1));
    /* not held: SPI 0, too long */
    uint8_t big[ESP_EARLY_LEN + 1] = {0};
    esp_early_hold(e, 0, p, sizeof(p), 3000);
    esp_early_hold(e, 0xd4, big, sizeof(big), 3000);
    assert_int_equal(e->n_held, 0);
    free(e);
}

/* ea: our pair (in 0xa1, out 0xb1); *peer: the peer's SA that encrypts
 * to our 0xa1. */
static void make_peer(struct ike_child_export *ea, struct esp_sa *peer)
{
    struct ike_child_export eb;
    dtest_export_gcm(ea, 256, 0xa1, 0xb1, 0x11, 0x22, dtest_net24(78, 0), dtest_net24(78, 1));
    dtest_export_mirror(ea, &eb);
    struct esp_sa_params sp = {
        .encr_id = eb.encr_id, .encr_key_bits = eb.encr_key_bits, .spi_in = eb.spi_in,
        .spi_out = eb.spi_out,
        .in = {eb.encr_in.data, eb.encr_in.len, NULL, 0},
        .out = {eb.encr_out.data, eb.encr_out.len, NULL, 0},
        .replay_window = 64,
    };
    char err[128];
    assert_int_equal(esp_sa_init(peer, &sp, err, sizeof(err)), 0);
}

/* One ESP packet 10.78.1.5 -> 10.78.0.5 from the peer into dp. */
static void from_peer(struct dp *dp, struct esp_sa *peer)
{
    uint8_t buf[256] = {0};
    static const uint8_t hdr[28] = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0,
                                    10,   78, 1, 5, 10, 78, 0, 5, 0, 9, 0, 9, 0, 8, 0, 0};
    memcpy(buf + esp_sa_hdr_len(peer), hdr, sizeof(hdr));
    size_t n = 0;
    assert_int_equal(esp_encap(peer, buf, sizeof(hdr), sizeof(buf), 4, &n), ESP_OK);
    struct ike_addr a = {.family = IKE_AF_INET, .addr = {203, 0, 113, 1}};
    struct ike_addr b = {.family = IKE_AF_INET, .addr = {203, 0, 113, 2}};
    assert_int_equal(dp_esp_input(dp, buf, n, &a, &b), 0);
}

static void test_backend_delivers_after_install(void **state)
{
    (void)state;
    struct dp dp;
    char err[256];
    struct event_base *base = dtest_dp_open(&dp, "userspace", err, sizeof(err));
    struct ike_child_export ea;
    struct esp_sa peer;
    make_peer(&ea, &peer);
    struct ike_addr l = {.family = IKE_AF_INET, .port = 4500, .addr = {203, 0, 113, 1}};
    struct ike_addr r = {.family = IKE_AF_INET, .port = 4500, .addr = {203, 0, 113, 2}};

    /* before the install: an unknown SPI, held */
    from_peer(&dp, &peer);
    from_peer(&dp, &peer);
    assert_int_equal(dp.esp_in_dropped, 2);
    struct dp_child *a = dp_child_install(&dp, NULL, &ea, &l, &r, true, 0, err, sizeof(err));
    assert_non_null(a);
    dtest_run_for(base, 20);
    assert_int_equal(dp_child_counters(&dp, a), 0);
    assert_int_equal(a->ctr.packets_in, 2); /* authentic, in order */
    assert_int_equal(a->ctr.replay_in_edge, 2);
    assert_int_equal(a->ctr.dropped_integrity + a->ctr.dropped_replay, 0);
    assert_int_equal(dp.esp_in_dropped, 0); /* not dropped after all */
    dp_child_delete(&dp, a);

    /* held longer than ESP_EARLY_MS: gone, still counted as dropped */
    from_peer(&dp, &peer);
    dtest_run_for(base, ESP_EARLY_MS + 100);
    a = dp_child_install(&dp, NULL, &ea, &l, &r, true, 0, err, sizeof(err));
    assert_non_null(a);
    dtest_run_for(base, 20);
    dp_child_counters(&dp, a);
    assert_int_equal(a->ctr.packets_in, 0);
    assert_int_equal(dp.esp_in_dropped, 1);
    esp_sa_free(&peer);
    dp_close(&dp);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring),
        cmocka_unit_test(test_backend_delivers_after_install),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
