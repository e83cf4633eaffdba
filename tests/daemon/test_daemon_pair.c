/*
 * Two haiked runtimes in one process, in a private network namespace:
 * A (127.0.0.1, initiator) and B (127.0.0.2, passive responder) negotiate
 * over real UDP sockets on one event_base. Checks the tunnel on both
 * sides, bad datagrams dropped and counted while it stays up, the hactl
 * actions, SIGHUP reload semantics and the debug log filter.
 */
#include "dtest_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ike/sa.h>

#include "gw_internal.h"

#define PSK "unit-test-psk-not-secret"

struct pair {
    const char *addr_a, *addr_b; /* IPv4 or IPv6 */
    const char *b_ike_extra;     /* B's global.ike settings */
    struct dtest_dir dir;
    struct event_base *base;
    struct daemon a, b;
    FILE *log_a, *log_b;
};

#define CONF_FMT \
    "global = { control-socket = \"%s/%s.sock\"; secrets-file = \"%s.secrets\";\n" \
    "  dataplane = \"record\"; log = { target = \"stderr\"; level = \"debug\"; };\n" \
    "  ike = { retransmit-timeout-ms = 200; retransmit-tries = 2; %s }; };\n" \
    "gateways = ( { name = \"%s\"; local-gw = \"%s\"; remote-gw = \"%s\";\n" \
    "  proposal = \"aes256-sha512-ecp521 aes128-sha256-modp2048\"; %s keylife = %d;\n" \
    "  local-id = \"@%s.test\"; remote-id = \"@%s.test\";\n" \
    "  selectors = ( { name = \"net\"; local-subnet = \"%s\"; remote-subnet = \"%s\";\n" \
    "    proposal = \"aes256gcm16 aes256-sha512\"; } ); } %s );\n"

static void write_a(struct pair *p, int keylife, const char *extra_gw)
{
    dtest_write(&p->dir, "a.conf", 0644, CONF_FMT, p->dir.path, "a", "a", "", "gwA", p->addr_a,
                p->addr_b, "auto-negotiate = true; natt-keepalive = 5;", keylife, "a", "b", "10.0.1.0/24",
                "10.0.2.0/24", extra_gw);
    dtest_write(&p->dir, "a.secrets", 0600,
                "secrets = ( { gateway = \"gwA\"; psk = \"%s\"; }%s );\n", PSK,
                extra_gw[0] ? ", { gateway = \"gwX\"; psk = \"x-psk-x-psk\"; }" : "");
}

static void write_b(struct pair *p)
{
    dtest_write(&p->dir, "b.conf", 0644, CONF_FMT, p->dir.path, "b", "b", p->b_ike_extra, "gwB",
                p->addr_b, p->addr_a, "passive = true;", 28800, "b", "a", "10.0.2.0/24", "10.0.1.0/24",
                "");
    dtest_write(&p->dir, "b.secrets", 0600, "secrets = ( { gateway = \"gwB\"; psk = \"%s\"; } );\n",
                PSK);
}

/* The gateway's IKE SA that is up and not being deleted. */
static struct gw_sa *live_sa(struct gateway *gw)
{
    struct gw_sa *gs;
    TAILQ_FOREACH(gs, &gw->sas, link)
        if (gs->sa && !gs->dying && !gs->deleting &&
            ike_sa_state(gs->sa) == IKE_SA_STATE_ESTABLISHED)
            return gs;
    return NULL;
}

static bool both_up(void *arg)
{
    struct pair *p = arg;
    struct gateway *ga = gw_find(&p->a, "gwA"), *gb = gw_find(&p->b, "gwB");
    return ga && gb && ga->state == GW_STATE_UP && gb->state == GW_STATE_UP && live_sa(ga) &&
           !TAILQ_EMPTY(&live_sa(ga)->children);
}

static int setup_with(void **state, const char *addr_a, const char *addr_b,
                      const char *b_ike_extra)
{
    if (dtest_private_netns() < 0) {
        print_message("skipped: needs root for a private network namespace\n");
        *state = NULL;
        return 0;
    }
    struct pair *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    p->addr_a = addr_a;
    p->addr_b = addr_b;
    p->b_ike_extra = b_ike_extra;
    dtest_dir_make(&p->dir);
    write_a(p, 28800, "");
    write_b(p);
    p->base = event_base_new();
    p->log_a = tmpfile();
    p->log_b = tmpfile();
    char err[256];
    char path[128];
    snprintf(path, sizeof(path), "%s/b.conf", p->dir.path);
    assert_int_equal(daemon_init(&p->b, p->base, dtest_load(&p->dir, "b.conf"), path, p->log_b,
                                 err, sizeof(err)), 0);
    assert_int_equal(daemon_start(&p->b, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/a.conf", p->dir.path);
    assert_int_equal(daemon_init(&p->a, p->base, dtest_load(&p->dir, "a.conf"), path, p->log_a,
                                 err, sizeof(err)), 0);
    assert_int_equal(daemon_start(&p->a, err, sizeof(err)), 0);
    assert_true(dtest_run_until(p->base, both_up, p, 5000));
    *state = p;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, "127.0.0.1", "127.0.0.2", "");
}

/* B demands a COOKIE from everyone (threshold 0): A's first IKE_SA_INIT
 * gets N(COOKIE), the retry with it is answered. */
static int setup_cookie(void **state)
{
    return setup_with(state, "127.0.0.1", "127.0.0.2", "cookie-threshold = 0;");
}

static int setup_v6(void **state)
{
    if (dtest_private_netns() == 0) {
        /* our own namespace: these addresses exist for this process only */
        if (system("ip -6 addr add 2001:db8::1/128 dev lo nodad 2>/dev/null;"
                   "ip -6 addr add 2001:db8::2/128 dev lo nodad 2>/dev/null;"
                   "ip -6 addr show dev lo | grep -q 2001:db8::2") != 0) {
            print_message("skipped: no IPv6 on this host\n");
            *state = NULL;
            return 0;
        }
    }
    return setup_with(state, "2001:db8::1", "2001:db8::2", "");
}

static int teardown(void **state)
{
    struct pair *p = *state;
    if (!p)
        return 0;
    daemon_free(&p->a);
    daemon_free(&p->b);
    event_base_free(p->base);
    fclose(p->log_a);
    fclose(p->log_b);
    dtest_dir_remove(&p->dir);
    free(p);
    return 0;
}

#define SKIP_IF_NO_NETNS(p)                                                                        \
    do {                                                                                           \
        if (!(p)) {                                                                                \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static char *read_log(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    char *buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    rewind(f);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fseek(f, 0, SEEK_END);
    return buf;
}

static void assert_log_has(FILE *f, const char *needle)
{
    char *text = read_log(f);
    if (!strstr(text, needle))
        fail_msg("log lacks \"%s\":\n%s", needle, text);
    free(text);
}

static void test_tunnel_both_sides(void **state)
{
    struct pair *p = *state;
    SKIP_IF_NO_NETNS(p);
    struct gateway *ga = gw_find(&p->a, "gwA"), *gb = gw_find(&p->b, "gwB");
    struct gw_sa *sa_a = gw_sa_first(ga), *sa_b = gw_sa_first(gb);
    assert_non_null(sa_a);
    assert_non_null(sa_b);
    assert_true(ike_sa_is_initiator(sa_a->sa));
    assert_false(ike_sa_is_initiator(sa_b->sa));
    assert_memory_equal(ike_sa_spi_i(sa_a->sa), ike_sa_spi_i(sa_b->sa), IKE_SPI_LEN);
    assert_memory_equal(ike_sa_spi_r(sa_a->sa), ike_sa_spi_r(sa_b->sa), IKE_SPI_LEN);
    const struct dp_child *ca = gw_child_first(sa_a), *cb = gw_child_first(sa_b);
    assert_non_null(ca);
    assert_non_null(cb);
    assert_int_equal(ca->spi_in, cb->spi_out);
    assert_int_equal(ca->spi_out, cb->spi_in);
    assert_string_equal(ca->child_name, "net");
    assert_string_equal(ca->gw_name, "gwA");
    assert_int_equal(ca->encr_id, IKE_ENCR_AES_GCM_16);
    assert_int_equal(ca->n_ts_local, 1);
    assert_int_equal(ca->ts_local[0].start_addr[2], 1); /* 10.0.1.0 */
    assert_int_equal(cb->ts_local[0].start_addr[2], 2);
    assert_null(gw_child_next(ca));
    /* IKE_SA_INIT + IKE_AUTH each way */
    assert_int_equal(ga->counters.dgrams_out, 2);
    assert_int_equal(ga->counters.dgrams_in, 2);
    assert_int_equal(gb->counters.dgrams_in, 2);
    assert_int_equal(ga->counters.ike_sa_established, 1);
    assert_int_equal(ga->counters.child_installed, 1);
    assert_int_equal(p->b.sat.half_open, 0);
    assert_int_equal(p->a.dp.n_children, 1);
    assert_true(sa_a->msgid_send_next >= 2);
    assert_int_equal(p->a.ctr.events[IKE_EV_IKE_SA_ADD], 1);
    assert_int_equal(p->b.ctr.events[IKE_EV_CHILD_SA_ADD], 1);
    assert_log_has(p->log_a, "ike 0:gwA:1: sent IKE msg (AUTH): 127.0.0.1:500->127.0.0.2:500");
    assert_log_has(p->log_b, "CHILD SA net installed (record)");
}

static void send_raw(const char *to, uint16_t port, const uint8_t *data, size_t len)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in from = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.3", &from.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, to, &sin.sin_addr);
    assert_int_equal(sendto(fd, data, len, 0, (struct sockaddr *)&sin, sizeof(sin)), (ssize_t)len);
    close(fd);
}

static void ike_header(uint8_t *h, const uint8_t *spi_i, const uint8_t *spi_r, uint8_t exch,
                       uint8_t flags, uint32_t msgid, uint32_t length)
{
    memcpy(h, spi_i, 8);
    memcpy(h + 8, spi_r, 8);
    h[16] = 0;    /* next payload */
    h[17] = 0x20; /* version 2.0 */
    h[18] = exch;
    h[19] = flags;
    for (int i = 0; i < 4; i++) {
        h[20 + i] = (uint8_t)(msgid >> (24 - 8 * i));
        h[24 + i] = (uint8_t)(length >> (24 - 8 * i));
    }
}

static void test_bad_input_dropped_and_counted(void **state)
{
    struct pair *p = *state;
    SKIP_IF_NO_NETNS(p);
    struct gateway *gb = gw_find(&p->b, "gwB");
    struct gw_sa *sa_b = gw_sa_first(gb);
    struct net_counters *nc = &p->b.vdoms[0].net.ctr;
    uint8_t buf[20000] = {0};
    static const uint8_t spi_x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, zero[8] = {0};
    const struct net_counters nc0 = *nc;

    send_raw("127.0.0.2", 500, (const uint8_t *)"garbage!!", 9);       /* truncated */
    ike_header(buf, spi_x, spi_x, IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR, 5, 28);
    send_raw("127.0.0.2", 500, buf, 28);                                /* unknown SPIs */
    ike_header(buf, spi_x, spi_x, IKE_EXCH_INFORMATIONAL, 0, 5, 400);
    send_raw("127.0.0.2", 500, buf, 60);                                /* length > datagram */
    send_raw("127.0.0.2", 500, buf, sizeof(buf));                       /* oversized */
    const uint8_t esp[12] = {0xc0, 0xff, 0xee, 0x01, 0, 0, 0, 1, 9, 9, 9, 9};
    send_raw("127.0.0.2", 4500, esp, sizeof(esp));                      /* ESP, no data plane */
    const uint8_t ka = 0xff;
    send_raw("127.0.0.2", 4500, &ka, 1);                                /* NAT keepalive */
    send_raw("127.0.0.2", 4500, esp, 2);                                /* truncated on 4500 */
    /* IKE_SA_INIT request from a peer no gateway of B accepts */
    memset(buf, 0, 64);
    ike_header(buf, spi_x, zero, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_INITIATOR, 0, 28);
    send_raw("127.0.0.2", 500, buf, 28);
    /* The real SA's SPIs, message ID 1 again, garbage SK payload. */
    uint8_t forged[80] = {0};
    ike_header(forged, ike_sa_spi_i(sa_b->sa), ike_sa_spi_r(sa_b->sa), IKE_EXCH_INFORMATIONAL,
               IKE_FLAG_INITIATOR, 2, sizeof(forged));
    forged[16] = 46; /* SK */
    forged[28] = 0;
    forged[30] = 0;
    forged[31] = sizeof(forged) - 28;
    for (size_t i = 32; i < sizeof(forged); i++)
        forged[i] = (uint8_t)i;
    send_raw("127.0.0.2", 500, forged, sizeof(forged));
    dtest_run_for(p->base, 300);

    assert_int_equal(nc->dropped[GW_DROP_TRUNCATED], 3);
    assert_int_equal(nc->dropped[GW_DROP_UNKNOWN_SPI], 1);
    assert_int_equal(nc->dropped[GW_DROP_OVERSIZED], 1);
    assert_int_equal(nc->dropped[GW_DROP_ESP], 1);
    assert_int_equal(nc->dropped[GW_DROP_NO_GATEWAY], 1);
    assert_int_equal(nc->keepalives_in, 1);
    assert_int_equal(p->b.ctr.esp_dropped, 1);
    /* Counted by kind: 5 IKE on 500 (the oversized one never got a
     * class), the ESP and the keepalive on 4500 are no IKE datagrams. */
    assert_int_equal(nc->dgrams_in - nc0.dgrams_in, 9);
    assert_int_equal(nc->ike_in - nc0.ike_in, 5);
    assert_int_equal(nc->esp_in - nc0.esp_in, 1);
    /* whatever B answered was IKE */
    assert_int_equal(nc->ike_out - nc0.ike_out, nc->dgrams_out - nc0.dgrams_out);
    /* ESP-in-UDP and a keepalive out: not IKE either, on either side. */
    struct net_counters *na = &p->a.vdoms[0].net.ctr;
    const struct net_counters na0 = *na, nb0 = *nc;
    struct ike_addr from, to;
    assert_int_equal(net_addr_parse("127.0.0.2", &from), 0);
    assert_int_equal(net_addr_parse("127.0.0.1", &to), 0);
    from.port = to.port = IKE_PORT_NATT;
    assert_int_equal(net_send_esp(&p->b.vdoms[0].net, &from, &to, esp, sizeof(esp)), 0);
    assert_int_equal(net_send_keepalive(&p->b.vdoms[0].net, &from, &to), 0);
    dtest_run_for(p->base, 100);
    assert_int_equal(nc->esp_out - nb0.esp_out, 1);
    assert_int_equal(nc->keepalives_out - nb0.keepalives_out, 1);
    assert_int_equal(nc->dgrams_out - nb0.dgrams_out, 2);
    assert_int_equal(nc->ike_out, nb0.ike_out);
    assert_int_equal(na->esp_in - na0.esp_in, 1);
    assert_int_equal(na->keepalives_in - na0.keepalives_in, 1);
    assert_int_equal(na->ike_in, na0.ike_in);
    /* The forged one reached the SA and was refused there. */
    assert_true(gb->counters.dropped[GW_DROP_INTEGRITY] + gb->counters.dropped[GW_DROP_MALFORMED] +
                    gb->counters.dropped[GW_DROP_MSGID] >= 1);
    assert_int_equal(ike_sa_state(sa_b->sa), IKE_SA_STATE_ESTABLISHED);
    assert_int_equal(gb->state, GW_STATE_UP);
    assert_ptr_equal(gw_sa_first(gb), sa_b);
    assert_log_has(p->log_b, "no gateway configured for this peer on 127.0.0.2:500");
    assert_log_has(p->log_b, "9 octets < IKE header 28");
}

static bool both_gone(void *arg)
{
    struct pair *p = arg;
    return !gw_sa_first(gw_find(&p->a, "gwA")) && !gw_sa_first(gw_find(&p->b, "gwB"));
}

static void test_actions(void **state)
{
    struct pair *p = *state;
    SKIP_IF_NO_NETNS(p);
    struct gateway *ga = gw_find(&p->a, "gwA"), *gb = gw_find(&p->b, "gwB");
    char err[256] = "";
    assert_int_equal(gw_up(gb, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "passive"));

    assert_int_equal(gw_down(ga, err, sizeof(err)), 0);
    assert_int_equal(ga->state, GW_STATE_ADMIN_DOWN);
    assert_int_equal(ga->counters.deletes_sent, 1);
    /* The Delete is answered: both sides lose the SA and its CHILD SA. */
    assert_true(dtest_run_until(p->base, both_gone, p, 3000));
    assert_int_equal(p->a.dp.n_children, 0);
    assert_int_equal(p->b.dp.n_children, 0);
    assert_int_equal(gb->state, GW_STATE_IDLE);
    assert_int_equal(p->b.ctr.events[IKE_EV_IKE_SA_DEL], 1);
    dtest_run_for(p->base, 300); /* no re-initiation while down */
    assert_null(gw_sa_first(ga));

    assert_int_equal(gw_up(ga, err, sizeof(err)), 0);
    assert_true(dtest_run_until(p->base, both_up, p, 5000));
    assert_int_equal(ga->counters.ike_sa_established, 2);
    assert_int_equal(ga->n_sas, 1);

    const struct gw_sa *before = gw_sa_first(ga);
    uint8_t old_spi[8];
    memcpy(old_spi, ike_sa_spi_i(before->sa), 8);
    assert_int_equal(gw_clear(ga, err, sizeof(err)), 0);
    assert_int_equal(ga->counters.ike_sa_established, 0); /* reset ... */
    assert_true(dtest_run_until(p->base, both_up, p, 5000)); /* ... and re-initiated */
    assert_int_equal(ga->counters.ike_sa_established, 1);
    assert_memory_not_equal(ike_sa_spi_i(live_sa(ga)->sa), old_spi, 8);
}

struct rekey_wait {
    struct pair *p;
    uint32_t old_serial_a;
    uint32_t old_child_spi;
};

/* A's live SA is a new one, the old is gone on both sides. */
static bool ike_rekeyed(void *arg)
{
    struct rekey_wait *w = arg;
    struct gateway *ga = gw_find(&w->p->a, "gwA"), *gb = gw_find(&w->p->b, "gwB");
    struct gw_sa *a = live_sa(ga);
    return a && a->serial != w->old_serial_a && ga->n_sas == 1 && gb->n_sas == 1 &&
           live_sa(gb);
}

static bool child_rekeyed(void *arg)
{
    struct rekey_wait *w = arg;
    struct gw_sa *a = live_sa(gw_find(&w->p->a, "gwA"));
    const struct dp_child *c = a ? gw_child_first(a) : NULL;
    return c && c->spi_in != w->old_child_spi && !gw_child_next(c) &&
           w->p->b.dp.n_children == 1;
}

static bool flushed(void *arg)
{
    struct pair *p = arg;
    return p->a.dp.n_children == 0 && p->b.dp.n_children == 0;
}

static void test_rekeys_and_flush(void **state)
{
    struct pair *p = *state;
    SKIP_IF_NO_NETNS(p);
    struct gateway *ga = gw_find(&p->a, "gwA"), *gb = gw_find(&p->b, "gwB");
    struct gw_sa *a = live_sa(ga);
    uint32_t child_in = gw_child_first(a)->spi_in;
    struct ike_diag diag = {0};

    /* CHILD rekey from A: same IKE SA, new CHILD SPIs on both sides. */
    struct rekey_wait w = {p, a->serial, child_in};
    assert_int_equal(ike_sa_child_rekey(a->sa, child_in, &diag), IKE_OK);
    assert_true(dtest_run_until(p->base, child_rekeyed, &w, 3000));
    assert_ptr_equal(live_sa(ga), a);
    const struct dp_child *cb = gw_child_first(live_sa(gb));
    assert_int_equal(cb->spi_out, gw_child_first(a)->spi_in);
    assert_int_equal(ga->counters.child_rekeys, 1);
    assert_int_equal(gb->counters.child_rekeys, 1);

    /* IKE rekey from B (the responder): new IKE SPIs, CHILD SAs move. */
    child_in = gw_child_first(a)->spi_in;
    w.old_serial_a = a->serial;
    assert_int_equal(ike_sa_rekey(live_sa(gb)->sa, &diag), IKE_OK);
    assert_true(dtest_run_until(p->base, ike_rekeyed, &w, 3000));
    struct gw_sa *na = live_sa(ga), *nb = live_sa(gb);
    assert_int_equal(na->rekey_of, w.old_serial_a);
    assert_memory_equal(ike_sa_spi_i(na->sa), ike_sa_spi_i(nb->sa), 8);
    assert_memory_equal(ike_sa_spi_r(na->sa), ike_sa_spi_r(nb->sa), 8);
    assert_int_equal(gw_child_first(na)->spi_in, child_in); /* moved, not renegotiated */
    assert_memory_equal(gw_child_first(na)->ike_spi_i, ike_sa_spi_i(na->sa), 8);
    assert_int_equal(p->a.dp.n_children, 1);
    assert_int_equal(ga->counters.ike_rekeys, 1);
    assert_int_equal(gb->counters.ike_rekeys, 1);

    /* tunnel flush: the CHILD SA goes on both sides, the IKE SA stays. */
    char err[128];
    assert_int_equal(gw_flush(ga, err, sizeof(err)), 0);
    assert_true(dtest_run_until(p->base, flushed, p, 3000));
    assert_ptr_equal(live_sa(ga), na);
    assert_int_equal(ga->state, GW_STATE_UP);
}

static void test_cookie_required(void **state)
{
    struct pair *p = *state;
    SKIP_IF_NO_NETNS(p);
    /* setup already waited for the tunnel: it came up through the COOKIE */
    assert_true(p->b.ctr.stateless_replies >= 1);
    assert_log_has(p->log_b, "COOKIE");
    assert_int_equal(gw_find(&p->b, "gwB")->state, GW_STATE_UP);
}

static void test_ipv6_tunnel(void **state)
{
    struct pair *p = *state;
    SKIP_IF_NO_NETNS(p);
    struct gw_sa *a = live_sa(gw_find(&p->a, "gwA"));
    assert_non_null(a);
    assert_int_equal(ike_sa_local_addr(a->sa)->family, IKE_AF_INET6);
    assert_int_equal(ike_sa_remote_addr(a->sa)->port, 500);
    assert_non_null(gw_child_first(a));
    assert_log_has(p->log_a, "sent IKE msg (AUTH): [2001:db8::1]:500->[2001:db8::2]:500");
}

/* RFC 3948 §2.3: the side behind a NAT sends 0xFF keepalives on 4500
 * (here every 5 s); loopback has no NAT, so pretend A is behind one. */
static void test_natt_keepalive(void **state)
{
    struct pair *p = *state;
    SKIP_IF_NO_NETNS(p);
    struct gateway *ga = gw_find(&p->a, "gwA");
    struct net_counters *nb = &p->b.vdoms[0].net.ctr;
    dtest_run_for(p->base, 5500);
    assert_int_equal(ga->natt_keepalives_sent, 0); /* not behind a NAT: none */
    live_sa(ga)->nat_local = true;
    dtest_run_for(p->base, 5200);
    assert_int_equal(ga->natt_keepalives_sent, 1);
    /* sent from our IKE address/port to the peer's: port 500 here, no NAT-T
     * switch on loopback, so B sees an IKE datagram too short for a header */
    assert_int_equal(nb->dropped[GW_DROP_TRUNCATED] + nb->keepalives_in, 1);
    assert_int_equal(gw_find(&p->b, "gwB")->state, GW_STATE_UP);
}

static bool a_has_x(void *arg)
{
    struct pair *p = arg;
    return gw_find(&p->a, "gwX") != NULL;
}

static void test_reload(void **state)
{
    struct pair *p = *state;
    SKIP_IF_NO_NETNS(p);
    char err[256];
    struct gw_sa *gs = gw_sa_first(gw_find(&p->a, "gwA"));
    uint8_t spi[8];
    memcpy(spi, ike_sa_spi_i(gs->sa), 8);

    /* Same config plus a new gateway: gwA keeps its tunnel. */
    write_a(p, 28800, ", { name = \"gwX\"; local-gw = \"127.0.0.1\"; remote-gw = \"127.0.0.9\";"
                      " proposal = \"aes128-sha256-modp2048\"; passive = true; selectors = ("
                      " { name = \"x\"; local-subnet = \"10.9.1.0/24\"; remote-subnet ="
                      " \"10.9.2.0/24\"; proposal = \"aes128-sha256\"; } ); }");
    assert_int_equal(daemon_reload(&p->a, dtest_load(&p->dir, "a.conf"), err, sizeof(err)), 0);
    assert_true(a_has_x(p));
    assert_int_equal(gw_count(&p->a), 2);
    struct gateway *ga = gw_find(&p->a, "gwA");
    assert_ptr_equal(gw_sa_first(ga), gs);
    assert_memory_equal(ike_sa_spi_i(gs->sa), spi, 8);
    assert_int_equal(ga->state, GW_STATE_UP);
    assert_log_has(p->log_a, "1 gateways kept, 0 removed or changed, 1 new");

    /* gwA changed (keylife), gwX removed: gwA renegotiates. */
    write_a(p, 7200, "");
    assert_int_equal(daemon_reload(&p->a, dtest_load(&p->dir, "a.conf"), err, sizeof(err)), 0);
    assert_null(gw_find(&p->a, "gwX"));
    ga = gw_find(&p->a, "gwA");
    assert_non_null(ga);
    assert_true(dtest_run_until(p->base, both_up, p, 5000));
    assert_memory_not_equal(ike_sa_spi_i(live_sa(ga)->sa), spi, 8);
    assert_int_equal(ga->cfg->lifetime.soft_s, 7200);
    assert_log_has(p->log_a, "0 gateways kept, 2 removed or changed, 1 new");
}

static void test_debug_filter(void **state)
{
    struct pair *p = *state;
    SKIP_IF_NO_NETNS(p);
    char err[256];
    struct gateway *ga = gw_find(&p->a, "gwA");
    assert_int_equal(gw_debug_set(&p->a, "nope", NULL, IKE_LOG_DEBUG, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "nope"));
    assert_int_equal(gw_debug_set(&p->a, "gwA", NULL, 7, err, sizeof(err)), -1);

    /* A peer filter that matches nothing of gwA: its lines vanish. */
    struct ike_addr other;
    assert_int_equal(net_addr_parse("127.0.0.9", &other), 0);
    assert_int_equal(gw_debug_set(&p->a, "gwA", &other, IKE_LOG_DEBUG, err, sizeof(err)), 0);
    uint64_t lines = p->a.log.lines, filtered = p->a.log.filtered;
    assert_int_equal(gw_clear(ga, err, sizeof(err)), 0);
    assert_true(dtest_run_until(p->base, both_up, p, 5000));
    assert_int_equal(p->a.log.lines, lines);
    assert_true(p->a.log.filtered > filtered + 5);

    /* The right peer: they come back. */
    struct ike_addr peer;
    assert_int_equal(net_addr_parse("127.0.0.2", &peer), 0);
    assert_int_equal(gw_debug_set(&p->a, "gwA", &peer, IKE_LOG_DEBUG, err, sizeof(err)), 0);
    lines = p->a.log.lines;
    assert_int_equal(gw_clear(ga, err, sizeof(err)), 0);
    assert_true(dtest_run_until(p->base, both_up, p, 5000));
    assert_true(p->a.log.lines > lines + 5);
    gw_debug_clear(&p->a);
    assert_false(p->a.log.filter_peer_set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tunnel_both_sides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input_dropped_and_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_actions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rekeys_and_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cookie_required, setup_cookie, teardown),
        cmocka_unit_test_setup_teardown(test_natt_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_tunnel, setup_v6, teardown),
        cmocka_unit_test_setup_teardown(test_debug_filter, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
