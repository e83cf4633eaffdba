/*
 * SIGHUP reload of a gateway with a live tunnel (daemon/gw_retire.c): two
 * haiked runtimes in one process, each on its own event_base so the peer
 * can be paused (its datagrams wait in its socket): A (127.0.0.1,
 * initiator, gwA) and B (127.0.0.2, passive, gwB), userspace data plane.
 *
 *  - gwA removed, B silent: A's Delete is retransmitted; A's inbound ESP SA
 *    still decrypts; when B answers, the SA and its CHILD SAs go and the
 *    retiring gateway is freed.
 *  - gwA removed, B silent throughout: the Delete times out, then
 *    everything of the old SA goes (ESP on its SPI is dropped).
 *  - gwA changed: the new gwA comes up while the old IKE SA and CHILD SA
 *    are still installed (no INITIAL_CONTACT), then the old one is deleted.
 *  - shutdown while a changed gateway holds its Deletes: they start.
 * Skipped (not failed) without root.
 */
#include "dtest_util.h"

#include <ike/sa.h>

#include "ctl/ctl_dispatch.h"
#include "esp/esp_sa.h"
#include "gw_internal.h"

#define PSK "unit-test-psk-not-secret"
/* retransmit-timeout-ms 200, tries 2: a request gives up after 1.4 s */
#define CONF_FMT \
    "global = { control-socket = \"%s/%s.sock\"; secrets-file = \"%s.secrets\";\n" \
    "  dataplane = \"userspace\"; log = { target = \"stderr\"; level = \"debug\"; };\n" \
    "  ike = { retransmit-timeout-ms = 200; retransmit-tries = 2; }; };\n" \
    "gateways = ( %s );\n"
#define GW_FMT \
    "{ name = \"%s\"; local-gw = \"%s\"; remote-gw = \"%s\";\n" \
    "  proposal = \"aes256-sha512-ecp521\"; %s keylife = %d;\n" \
    "  local-id = \"@%s.test\"; remote-id = \"@%s.test\";\n" \
    "  selectors = ( { name = \"net\"; local-subnet = \"%s\"; remote-subnet = \"%s\";\n" \
    "    proposal = \"aes256gcm16\"; } ); }"

struct rt {
    struct dtest_dir dir;
    struct event_base *base_a, *base_b;
    struct daemon a, b;
    FILE *log_a, *log_b;
    bool b_paused;
};

/* a.conf: gwA with keylife, or (keylife 0) only gwY, a passive gateway to
 * another peer: gwA removed. */
static void write_a(struct rt *t, int keylife)
{
    char gw[1024];
    if (keylife)
        snprintf(gw, sizeof(gw), GW_FMT, "gwA", "127.0.0.1", "127.0.0.2",
                 "auto-negotiate = true;", keylife, "a", "b", "10.0.1.0/24", "10.0.2.0/24");
    else
        snprintf(gw, sizeof(gw), GW_FMT, "gwY", "127.0.0.1", "127.0.0.9", "passive = true;",
                 28800, "a", "y", "10.0.1.0/24", "10.0.9.0/24");
    dtest_write(&t->dir, "a.conf", 0644, CONF_FMT, t->dir.path, "a", "a", gw);
    dtest_write(&t->dir, "a.secrets", 0600,
                "secrets = ( { gateway = \"gwA\"; psk = \"%s\"; },"
                " { gateway = \"gwY\"; psk = \"y-psk-y-psk\"; } );\n", PSK);
}

static void write_b(struct rt *t)
{
    char gw[1024];
    snprintf(gw, sizeof(gw), GW_FMT, "gwB", "127.0.0.2", "127.0.0.1", "passive = true;", 28800,
             "b", "a", "10.0.2.0/24", "10.0.1.0/24");
    dtest_write(&t->dir, "b.conf", 0644, CONF_FMT, t->dir.path, "b", "b", gw);
    dtest_write(&t->dir, "b.secrets", 0600, "secrets = ( { gateway = \"gwB\"; psk = \"%s\"; } );\n",
                PSK);
}

/* One turn of A's loop and (unless paused) B's. */
static void turn(struct rt *t)
{
    event_base_loop(t->base_a, EVLOOP_NONBLOCK);
    if (!t->b_paused)
        event_base_loop(t->base_b, EVLOOP_NONBLOCK);
    usleep(1000);
}

static bool run_until(struct rt *t, bool (*pred)(struct rt *), unsigned ms)
{
    uint64_t end = daemon_now_ms() + ms;
    while (!pred(t)) {
        if (daemon_now_ms() >= end)
            return false;
        turn(t);
    }
    return true;
}

static void run_for(struct rt *t, unsigned ms)
{
    uint64_t end = daemon_now_ms() + ms;
    while (daemon_now_ms() < end)
        turn(t);
}

static struct gw_sa *established(struct gateway *gw)
{
    struct gw_sa *gs;
    TAILQ_FOREACH(gs, &gw->sas, link)
        if (gs->sa && !gs->dying && !gs->deleting &&
            ike_sa_state(gs->sa) == IKE_SA_STATE_ESTABLISHED && !TAILQ_EMPTY(&gs->children))
            return gs;
    return NULL;
}

static bool a_up(struct rt *t)
{
    struct gateway *ga = gw_find(&t->a, "gwA");
    return ga && ga->state == GW_STATE_UP && established(ga);
}

static bool retired(struct rt *t)
{
    return t->a.n_retiring == 0;
}

static int setup(void **state)
{
    if (dtest_private_netns() < 0) {
        print_message("skipped: needs root for a private network namespace\n");
        *state = NULL;
        return 0;
    }
    struct rt *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    dtest_dir_make(&t->dir);
    write_a(t, 28800);
    write_b(t);
    t->base_a = event_base_new();
    t->base_b = event_base_new();
    t->log_a = tmpfile();
    t->log_b = tmpfile();
    char err[256], path[128];
    snprintf(path, sizeof(path), "%s/b.conf", t->dir.path);
    assert_int_equal(daemon_init(&t->b, t->base_b, dtest_load(&t->dir, "b.conf"), path, t->log_b,
                                 err, sizeof(err)), 0);
    assert_int_equal(daemon_start(&t->b, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/a.conf", t->dir.path);
    assert_int_equal(daemon_init(&t->a, t->base_a, dtest_load(&t->dir, "a.conf"), path, t->log_a,
                                 err, sizeof(err)), 0);
    assert_int_equal(daemon_start(&t->a, err, sizeof(err)), 0);
    assert_true(run_until(t, a_up, 5000));
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct rt *t = *state;
    if (!t)
        return 0;
    daemon_free(&t->a);
    daemon_free(&t->b);
    event_base_free(t->base_a);
    event_base_free(t->base_b);
    fclose(t->log_a);
    fclose(t->log_b);
    dtest_dir_remove(&t->dir);
    free(t);
    return 0;
}

#define SKIP_IF_NO_NETNS(t) \
    do { \
        if (!(t)) \
            skip(); \
    } while (0)

static bool log_has(FILE *f, const char *needle)
{
    fflush(f);
    rewind(f);
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, needle) != NULL;
    fseek(f, 0, SEEK_END);
    return found;
}

static void reload_a(struct rt *t, int keylife)
{
    char err[256];
    write_a(t, keylife);
    assert_int_equal(daemon_reload(&t->a, dtest_load(&t->dir, "a.conf"), err, sizeof(err)), 0);
}

/* One ESP packet 10.0.2.5 -> 10.0.1.5 as B's CHILD SA paired with A's
 * inbound SPI spi_in encrypts it, handed to A's data plane. */
static void esp_from_b(struct rt *t, uint32_t spi_in)
{
    struct dp_child *bc = NULL, *c;
    TAILQ_FOREACH(c, &t->b.dp.children, all_link)
        if (c->spi_out == spi_in)
            bc = c;
    assert_non_null(bc);
    struct esp_sa *bs = bc->backend; /* struct us_child starts with its esp_sa */
    uint8_t buf[256] = {0};
    uint8_t *ip = buf + esp_sa_hdr_len(bs);
    static const uint8_t hdr[28] = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0,
                                    10,   0, 2, 5,  10, 0, 1, 5, 0, 9, 0, 9, 0, 8, 0, 0};
    memcpy(ip, hdr, sizeof(hdr));
    size_t n = 0;
    assert_int_equal(esp_encap(bs, buf, sizeof(hdr), sizeof(buf), 4, &n), ESP_OK);
    struct ike_addr la = {.family = IKE_AF_INET, .addr = {127, 0, 0, 1}};
    struct ike_addr lb = {.family = IKE_AF_INET, .addr = {127, 0, 0, 2}};
    assert_int_equal(dp_esp_input(&t->a.dp, buf, n, &la, &lb), 0);
}

static uint64_t packets_in(struct rt *t, uint32_t spi_in)
{
    struct dp_child *c = dp_child_find(&t->a.dp, spi_in);
    assert_non_null(c);
    assert_int_equal(dp_child_counters(&t->a.dp, c), 0);
    assert_int_equal(c->ctr.dropped_integrity + c->ctr.dropped_replay, 0);
    return c->ctr.packets_in;
}

static void test_removed_delete_retransmitted(void **state)
{
    struct rt *t = *state;
    SKIP_IF_NO_NETNS(t);
    struct gw_sa *gs = established(gw_find(&t->a, "gwA"));
    uint32_t spi_in = TAILQ_FIRST(&gs->children)->spi_in;
    t->b_paused = true;
    reload_a(t, 0);
    assert_null(gw_find(&t->a, "gwA"));
    assert_int_equal(gw_count(&t->a), 1); /* gwY */
    assert_int_equal(t->a.n_retiring, 1);
    struct gateway *old = TAILQ_FIRST(&t->a.retiring);
    assert_string_equal(old->name, "gwA");
    assert_true(old->retire_deleting);
    assert_true(gs->deleting);
    assert_true(log_has(t->log_a, "0 gateways kept, 1 removed or changed, 1 new"));
    /* between reload and the answer the old inbound SA still decrypts */
    esp_from_b(t, spi_in);
    assert_int_equal(packets_in(t, spi_in), 1);

    /* B silent for 700 ms: the Delete goes again (200 ms, then 400 ms) */
    run_for(t, 700);
    assert_int_equal(t->a.n_retiring, 1);
    assert_true(old->counters.retransmits >= 1);
    esp_from_b(t, spi_in);
    assert_int_equal(packets_in(t, spi_in), 2);

    /* B answers: the old SA, its CHILD SA and the gateway go */
    t->b_paused = false;
    assert_true(run_until(t, retired, 1000));
    assert_null(dp_child_find(&t->a.dp, spi_in));
    assert_true(log_has(t->log_a, "IKE SA deleted"));
    assert_true(log_has(t->log_a, "retired: the old gateway and its SAs are gone"));
    assert_false(log_has(t->log_a, "giving up"));
    struct gateway *gb = gw_find(&t->b, "gwB");
    assert_int_equal(gb->n_sas, 0); /* B handled the Delete */
    assert_int_equal(t->a.dp.n_children, 0);
}

static void test_removed_delete_times_out(void **state)
{
    struct rt *t = *state;
    SKIP_IF_NO_NETNS(t);
    struct gw_sa *gs = established(gw_find(&t->a, "gwA"));
    uint32_t spi_in = TAILQ_FIRST(&gs->children)->spi_in;
    t->b_paused = true;
    uint64_t t0 = daemon_now_ms();
    reload_a(t, 0);
    struct gateway *old = TAILQ_FIRST(&t->a.retiring);
    assert_non_null(old);
    run_for(t, 1000);
    /* still installed a second later: the Delete is not answered yet */
    esp_from_b(t, spi_in);
    assert_int_equal(packets_in(t, spi_in), 1);
    /* 200 + 400 + 800 ms, then libike gives up: everything goes */
    assert_true(run_until(t, retired, 3000));
    uint64_t took = daemon_now_ms() - t0;
    assert_in_range(took, 1350, 3000); /* libevent timers may fire a few ms early */
    assert_null(dp_child_find(&t->a.dp, spi_in));
    assert_true(log_has(t->log_a, "giving up on INFORMATIONAL request"));
    uint64_t dropped = t->a.dp.esp_in_dropped;
    esp_from_b(t, spi_in);
    assert_int_equal(t->a.dp.esp_in_dropped, dropped + 1); /* unknown SPI now */
}

/* `hactl gateway list [name]` in process: the gateways' names and
 * retiring flags, as "gwA gwA(retiring)". */
static void gateway_list(struct rt *t, const char *name, char *out, size_t outlen)
{
    struct ctl_ctx ctx = {.d = &t->a, .log = &t->a.log, .version = "test"};
    Ctl__Request req = CTL__REQUEST__INIT;
    Ctl__GatewayListRequest q = CTL__GATEWAY_LIST_REQUEST__INIT;
    q.name = (char *)name;
    req.command_case = CTL__REQUEST__COMMAND_GATEWAY_LIST;
    req.gateway_list = &q;
    uint8_t body[256], *resp = NULL;
    size_t len = ctl__request__pack(&req, body), rlen = 0;
    assert_int_equal(ctl_dispatch(&ctx, body, len, 1 << 20, &resp, &rlen), 0);
    Ctl__Response *r = ctl__response__unpack(NULL, rlen, resp);
    assert_non_null(r);
    assert_non_null(r->gateway_list);
    out[0] = '\0';
    for (size_t i = 0; i < r->gateway_list->n_gateways; i++) {
        const Ctl__Gateway *g = r->gateway_list->gateways[i];
        snprintf(out + strlen(out), outlen - strlen(out), "%s%s%s", i ? " " : "", g->name,
                 g->retiring ? "(retiring)" : "");
    }
    ctl__response__free_unpacked(r, NULL);
    free(resp);
}

struct mbb {
    struct rt *t;
    uint32_t old_spi;
    bool old_present_when_new_up;
};
static struct mbb g_mbb;

static bool new_up(struct rt *t)
{
    if (!a_up(t))
        return false;
    g_mbb.old_present_when_new_up = dp_child_find(&t->a.dp, g_mbb.old_spi) != NULL;
    return true;
}

static void test_changed_make_before_break(void **state)
{
    struct rt *t = *state;
    SKIP_IF_NO_NETNS(t);
    struct gateway *ga = gw_find(&t->a, "gwA");
    struct gw_sa *gs = established(ga);
    uint32_t old_serial = gs->serial;
    g_mbb = (struct mbb){.t = t, .old_spi = TAILQ_FIRST(&gs->children)->spi_in};
    reload_a(t, 7200);
    struct gateway *nga = gw_find(&t->a, "gwA");
    assert_non_null(nga);
    assert_int_equal(nga->cfg->lifetime.soft_s, 7200);
    assert_int_equal(nga->state, GW_STATE_CONNECTING); /* started right away */
    assert_int_equal(t->a.n_retiring, 1);
    struct gateway *old = TAILQ_FIRST(&t->a.retiring);
    assert_true(old->retire_hold);
    assert_false(gs->deleting); /* no Delete before the new tunnel is up */
    /* hactl: listed as retiring; a name finds only the configured gateway */
    char list[128];
    gateway_list(t, NULL, list, sizeof(list));
    assert_string_equal(list, "gwA gwA(retiring)");
    gateway_list(t, "gwA", list, sizeof(list));
    assert_string_equal(list, "gwA");
    esp_from_b(t, g_mbb.old_spi);
    assert_int_equal(packets_in(t, g_mbb.old_spi), 1);

    assert_true(run_until(t, new_up, 5000));
    assert_true(g_mbb.old_present_when_new_up);
    struct gw_sa *ngs = established(nga);
    assert_int_not_equal(ngs->serial, old_serial);
    uint32_t new_spi = TAILQ_FIRST(&ngs->children)->spi_in;
    assert_int_not_equal(new_spi, g_mbb.old_spi);

    assert_true(run_until(t, retired, 2000));
    assert_null(dp_child_find(&t->a.dp, g_mbb.old_spi));
    assert_non_null(dp_child_find(&t->a.dp, new_spi));
    gateway_list(t, NULL, list, sizeof(list));
    assert_string_equal(list, "gwA");
    assert_true(log_has(t->log_a, "kept until the new gateway is up"));
    assert_true(log_has(t->log_a, "retiring (changed, its successor is up)"));
    assert_true(log_has(t->log_a, "IKE SA deleted"));
    /* B saw no INITIAL_CONTACT: it deleted the old SA on our Delete */
    struct gateway *gb = gw_find(&t->b, "gwB");
    assert_int_equal(gb->counters.initial_contact_drops, 0);
    assert_int_equal(gb->n_sas, 1);
    assert_int_equal(nga->state, GW_STATE_UP);
    char why[160];
    assert_int_equal(gw_check_counts(nga, why, sizeof(why)), 0);
}

static void test_shutdown_starts_held_deletes(void **state)
{
    struct rt *t = *state;
    SKIP_IF_NO_NETNS(t);
    struct gw_sa *gs = established(gw_find(&t->a, "gwA"));
    t->b_paused = true; /* the successor cannot come up */
    reload_a(t, 7200);
    struct gateway *old = TAILQ_FIRST(&t->a.retiring);
    assert_true(old->retire_hold);
    assert_false(gs->deleting);
    daemon_shutdown(&t->a);
    assert_false(old->retire_hold);
    assert_true(gs->deleting);
    assert_int_equal(gw_retire_sas(&t->a), 1);
    t->b_paused = false;
    assert_true(run_until(t, retired, 2000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_removed_delete_retransmitted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_delete_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_make_before_break, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_starts_held_deletes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
