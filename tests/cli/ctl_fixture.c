/* A populated runtime behind a real control socket (see ctl_fixture.h). */
#include "ctl_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <ike/export.h>
#include <ike/transform.h>

#include "ctl/ctl_server.h"
#include "gw_sa.h"

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
    "    keylife = 86400; dpd = \"on-idle\"; dpd-retryinterval = 20; dpd-retrycount = 3;\n"
    "    selectors = (\n"
    "      { name = \"lan\"; local-subnet = \"192.0.2.0/25\"; remote-subnet = \"192.0.2.128/25\";\n"
    "        proposal = \"aes256-sha512\"; keylife = 3600; },\n"
    "      { name = \"dns\"; local-subnet = \"192.0.2.53\"; remote-subnet = \"192.0.2.153\";\n"
    "        protocol = \"udp\"; remote-port = 53; proposal = \"aes256-sha512\"; } ); },\n"
    "  { name = \"branch\"; local-gw = \"203.0.113.1\"; remote-gw = \"203.0.113.3\";\n"
    "    proposal = \"aes256gcm16-prfsha512-ecp521\"; passive = true;\n"
    "    selectors = ( { name = \"all\"; local-subnet = \"192.0.2.0/25\";\n"
    "                    remote-subnet = \"192.0.2.128/25\"; proposal = \"aes256gcm16\"; } ); }\n"
    "%s);\n";

/* ctl_fixture_init_dialup(): a dial-up gateway "dial" (remote-gw any). */
static const char fx_dial_conf[] =
    ",\n  { name = \"dial\"; local-gw = \"203.0.113.1\"; remote-gw = \"any\";\n"
    "    proposal = \"aes256-sha512\"; dhgrp = \"21\";\n"
    "    selectors = ( { name = \"road\"; local-subnet = \"192.0.2.0/25\";\n"
    "                    remote-subnet = \"0.0.0.0/0\"; proposal = \"aes256-sha512\"; } ); }\n";

static const char fx_secrets[] = "secrets = (\n"
                                 "  { gateway = \"hq\"; psk = \"test psk for hq\"; },\n"
                                 "  { gateway = \"branch\"; psk = \"test psk for branch\"; }\n"
                                 "%s);\n";
static const char fx_dial_secrets[] = ",\n  { gateway = \"dial\"; psk = \"test psk for dial\"; }\n";

static int write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    fchmod(fd, mode);
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static void hex_in(uint8_t *out, const char *hex)
{
    for (size_t i = 0; hex[2 * i]; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static void addr4(struct ike_addr *a, const char *text, uint16_t port)
{
    memset(a, 0, sizeof(*a));
    a->family = IKE_AF_INET;
    inet_pton(AF_INET, text, a->addr);
    a->port = port;
}

static void key(struct ike_key_export *k, size_t len, uint8_t fill)
{
    k->len = (uint16_t)len;
    memset(k->data, fill, len);
}

static void ts4(struct ike_ts_export *t, const char *start, const char *end)
{
    memset(t, 0, sizeof(*t));
    t->type = IKE_TS_IPV4_ADDR_RANGE;
    inet_pton(AF_INET, start, t->start_addr);
    inet_pton(AF_INET, end, t->end_addr);
    t->end_port = 65535;
}

struct fx_peer {
    const char *addr;
    uint16_t port;
    const char *spi_i, *spi_r; /* hex */
};

static const struct fx_peer fx_hq_peer = {"203.0.113.2", 4500, FX_IKE_SPI_I, FX_IKE_SPI_R};

/* An established IKE SA of gw with peer p: responder, AES-256-CBC /
 * HMAC-SHA2-512 / ecp521, peer behind a NAT, like the seed's `diagnose vpn
 * ike gateway list`. */
static struct gw_sa *add_ike_sa(struct daemon *d, struct gateway *gw, const struct fx_peer *p)
{
    struct ike_sa_export ex;
    memset(&ex, 0, sizeof(ex));
    ex.version = IKE_EXPORT_VERSION;
    snprintf(ex.cfg_name, sizeof(ex.cfg_name), "%s", gw->name);
    hex_in(ex.spi_i, p->spi_i);
    hex_in(ex.spi_r, p->spi_r);
    ex.initiator = false;
    addr4(&ex.local, "203.0.113.1", 4500);
    addr4(&ex.remote, p->addr, p->port);
    ex.nat_remote = true;
    ex.encr_id = IKE_ENCR_AES_CBC;
    ex.encr_key_bits = 256;
    ex.integ_id = IKE_INTEG_HMAC_SHA2_512_256;
    ex.prf_id = IKE_PRF_HMAC_SHA2_512;
    ex.dh_group = IKE_DH_ECP_521;
    key(&ex.sk_d, 64, 0x11);
    key(&ex.sk_ai, 64, 0x14);
    key(&ex.sk_ar, 64, 0xd0);
    key(&ex.sk_ei, 32, FX_SK_EI_BYTE);
    key(&ex.sk_er, 32, 0xa4);
    key(&ex.sk_pi, 64, 0x21);
    key(&ex.sk_pr, 64, 0x22);
    ex.local_id.type = IKE_ID_FQDN;
    ex.local_id.len = 15;
    memcpy(ex.local_id.data, "gw1.example.com", 15);
    ex.remote_id.type = IKE_ID_IPV4_ADDR;
    ex.remote_id.len = 4;
    inet_pton(AF_INET, p->addr, ex.remote_id.data);
    ex.msgid_send_next = 0;
    ex.msgid_recv_next = 2;
    ex.soft_left_ms = 85594000;
    ex.hard_left_ms = 95000000;

    struct ike_sa *sa = NULL;
    struct ike_diag diag;
    memset(&diag, 0, sizeof(diag));
    struct gw_sa *gs = gw_sa_new(gw, daemon_vdom(d, "root"));
    if (!gs || ike_sa_import(&d->ike_ctx, gw->ike_cfg, &ex, &sa, &diag) != IKE_OK) {
        fprintf(stderr, "fixture: import failed: %s\n", diag.reason);
        return NULL;
    }
    ike_export_wipe(&ex, sizeof(ex));
    if (gw_sa_attach(gs, sa) != 0)
        return NULL;
    gs->established_ms = gs->created_ms;
    gs->msgid_recv_next = 2;
    gw->state = GW_STATE_UP;
    gw->counters.ike_sa_established++;
    return gs;
}

static int add_child(struct daemon *d, struct gw_sa *gs)
{
    struct ike_child_export c;
    memset(&c, 0, sizeof(c));
    c.version = IKE_EXPORT_VERSION;
    hex_in(c.ike_spi_i, FX_IKE_SPI_I);
    hex_in(c.ike_spi_r, FX_IKE_SPI_R);
    snprintf(c.cfg_name, sizeof(c.cfg_name), "lan");
    c.protocol = IKE_PROTO_ESP;
    c.tunnel = true;
    c.spi_in = FX_CHILD_SPI_IN;
    c.spi_out = FX_CHILD_SPI_OUT;
    c.encr_id = IKE_ENCR_AES_CBC;
    c.encr_key_bits = 256;
    c.integ_id = IKE_INTEG_HMAC_SHA2_512_256;
    key(&c.encr_in, 32, FX_ESP_ENC_IN);
    key(&c.integ_in, 64, 0xdf);
    key(&c.encr_out, 32, 0x06);
    key(&c.integ_out, 64, 0x3b);
    c.n_ts_local = c.n_ts_remote = 1;
    ts4(&c.ts_local[0], "192.0.2.0", "192.0.2.127");
    ts4(&c.ts_remote[0], "192.0.2.128", "192.0.2.255");
    c.soft_ms = 3600000;
    c.hard_ms = 3960000;
    struct ike_diag diag;
    memset(&diag, 0, sizeof(diag));
    char err[256];
    if (ike_sa_import_child(gs->sa, &c, &diag) != IKE_OK) {
        fprintf(stderr, "fixture: child import failed: %s\n", diag.reason);
        return -1;
    }
    struct dp_child *dc =
        dp_child_install(&d->dp, gs, &c, ike_sa_local_addr(gs->sa), ike_sa_remote_addr(gs->sa),
                         true, daemon_now_ms(), err, sizeof(err));
    ike_export_wipe(&c, sizeof(c));
    if (!dc) {
        fprintf(stderr, "fixture: install failed: %s\n", err);
        return -1;
    }
    dc->ctr.packets_in = 7;
    dc->ctr.bytes_in = 1204;
    dc->ctr.packets_out = 10;
    dc->ctr.bytes_out = 840;
    dc->ctr.seq_out = 10;
    gs->gw->counters.child_installed = 1;
    return 0;
}

static int fixture_runtime(struct ctl_fixture *fx, bool dialup)
{
    char path[64], conf[4096], secrets[1024], err[256];
    memset(fx, 0, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/ctlfx_XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->sock, sizeof(fx->sock), "%s/run/haiked.sock", fx->dir);
    snprintf(conf, sizeof(conf), fx_conf, fx->sock, fx->dir, dialup ? fx_dial_conf : "");
    snprintf(secrets, sizeof(secrets), fx_secrets, dialup ? fx_dial_secrets : "");
    snprintf(path, sizeof(path), "%s/secrets.conf", fx->dir);
    if (write_file(path, secrets, 0600) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/haiked.conf", fx->dir);
    if (write_file(path, conf, 0644) != 0)
        return -1;
    struct cfg *cfg = NULL;
    struct cfg_errors errs = {0};
    if (cfg_load(path, &cfg, &errs) != 0) {
        cfg_errors_print(&errs, stderr);
        cfg_errors_clear(&errs);
        return -1;
    }
    cfg_errors_clear(&errs);
    fx->base = event_base_new();
    if (daemon_init(&fx->d, fx->base, cfg, path, stderr, err, sizeof(err)) != 0) {
        fprintf(stderr, "fixture: daemon_init: %s\n", err);
        return -1;
    }
    struct gateway *hq = gw_find(&fx->d, "hq");
    struct gw_sa *gs = hq ? add_ike_sa(&fx->d, hq, &fx_hq_peer) : NULL;
    if (!gs || add_child(&fx->d, gs) != 0)
        return -1;
    hq->dpd.probes_sent = 4;
    hq->dpd.replies = 3;
    hq->counters.dgrams_in = 12;
    hq->counters.dgrams_out = 11;
    hq->counters.bytes_in = 3400;
    hq->counters.bytes_out = 3100;
    hq->counters.dropped[GW_DROP_MALFORMED] = 2;
    hq->counters.dropped[GW_DROP_INTEGRITY] = 1;
    daemon_vdom(&fx->d, "root")->net.ctr.dropped[GW_DROP_UNKNOWN_SPI] = 5;
    if (dialup) {
        /* Two road warriors on "dial"; the first one twice (an IKE SA and
         * the one replacing it, as during a reauthentication). */
        static const struct fx_peer peers[] = {
            {"198.51.100.7", 4500, "1111111111111111", "2222222222222222"},
            {"198.51.100.9", 500, "3333333333333333", "4444444444444444"},
            {"198.51.100.7", 4500, "5555555555555555", "6666666666666666"},
        };
        struct gateway *dial = gw_find(&fx->d, "dial");
        for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++)
            if (!dial || !add_ike_sa(&fx->d, dial, &peers[i]))
                return -1;
    }
    return 0;
}

static void remove_dir(struct ctl_fixture *fx)
{
    char cmd[100];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    if (fx->dir[0] && system(cmd) != 0)
        fprintf(stderr, "fixture: could not remove %s\n", fx->dir);
    fx->dir[0] = '\0';
}

int ctl_fixture_init_runtime(struct ctl_fixture *fx)
{
    int rc = fixture_runtime(fx, false);
    remove_dir(fx);
    return rc;
}

static int fixture_init(struct ctl_fixture *fx, bool dialup)
{
    char err[256];
    if (fixture_runtime(fx, dialup) != 0)
        return -1;
    struct ctl_server_opts o = {.d = &fx->d, .log = &fx->d.log};
    fx->srv = ctl_server_start(fx->base, fx->sock, &o, err, sizeof(err));
    if (!fx->srv) {
        fprintf(stderr, "fixture: ctl_server_start: %s\n", err);
        return -1;
    }
    return 0;
}

int ctl_fixture_init(struct ctl_fixture *fx)
{
    return fixture_init(fx, false);
}

int ctl_fixture_init_dialup(struct ctl_fixture *fx)
{
    return fixture_init(fx, true);
}

void ctl_fixture_free(struct ctl_fixture *fx)
{
    ctl_server_stop(fx->srv);
    daemon_free(&fx->d);
    if (fx->base)
        event_base_free(fx->base);
    remove_dir(fx);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ctl_fixture_wait(struct ctl_fixture *fx, pid_t pid, int timeout_ms)
{
    int status;
    int64_t end = mono_ms() + timeout_ms;
    while (mono_ms() < end) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            return status;
        event_base_loop(fx->base, EVLOOP_NONBLOCK);
        usleep(500);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}
