/*
 * hactl against the real control server with a populated runtime
 * (ctl_fixture.c): human output, --json (checked to parse, and its
 * fields), --show-keys, errors and exit codes. hactl runs in a forked
 * child (hactl_main, the whole program) while the parent runs the
 * server's event loop.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "ctl_fixture.h"
#include "hactl.h"
#include "hactl_run.h"

static int setup(void **state)
{
    struct ctl_fixture *fx = calloc(1, sizeof(*fx));
    if (ctl_fixture_init(fx) != 0)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    ctl_fixture_free(*state);
    free(*state);
    return 0;
}

static void test_tunnel_summary(void **state)
{
    struct run r;
    HACTL(*state, &r, "tunnel", "summary");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_has(r.out, "'hq' 203.0.113.2:4500 vd=root state=up selectors(total,up): 2/1 "
                      "rx(pkt,err): 7/0 tx(pkt,err): 10/0\n");
    assert_has(r.out, "'branch' 203.0.113.3:500 vd=root state=idle selectors(total,up): 1/0");
    HACTL(*state, &r, "--json", "tunnel", "summary");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_json(r.out, "len(j['tunnels']) == 2 and j['tunnels'][0]['name'] == 'hq' and "
                       "j['tunnels'][0]['selectors_up'] == 1 and "
                       "j['tunnels'][0]['counters']['tx_packets'] == 10");
}

static int setup_dialup(void **state)
{
    struct ctl_fixture *fx = calloc(1, sizeof(*fx));
    if (ctl_fixture_init_dialup(fx) != 0)
        return -1;
    *state = fx;
    return 0;
}

/* A dial-up gateway lists one entry per peer (FortiOS's NAME_0, NAME_1);
 * the two IKE SAs of one peer are one entry; static gateways stay one
 * line each. */
static void test_tunnel_summary_dialup(void **state)
{
    struct run r;
    HACTL(*state, &r, "tunnel", "summary");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_has(r.out, "'hq' 203.0.113.2:4500 vd=root state=up selectors(total,up): 2/1");
    assert_has(r.out, "'dial_0' 198.51.100.7:4500 vd=root state=up selectors(total,up): 1/0");
    assert_has(r.out, "'dial_1' 198.51.100.9:500 vd=root state=up selectors(total,up): 1/0");
    if (strstr(r.out, "'dial'") || strstr(r.out, "'dial_2'"))
        fail_msg("dial-up gateway listed as a whole or a peer twice:\n%s", r.out);
    HACTL(*state, &r, "--json", "tunnel", "summary");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_json(r.out, "[t['name'] for t in j['tunnels']] == ['hq', 'branch', 'dial_0', 'dial_1']");
    assert_json(r.out, "[t['gateway'] for t in j['tunnels']] == ['hq', 'branch', 'dial', 'dial']");
    assert_json(r.out, "[t['dialup'] for t in j['tunnels']] == [False, False, True, True] and "
                       "[t.get('peer_index') for t in j['tunnels']] == [None, None, 0, 1]");
    assert_json(r.out, "[t['ike_sas'] for t in j['tunnels']] == [1, 0, 2, 1] and "
                       "j['tunnels'][3]['remote'] == {'addr': '198.51.100.9', 'port': 500}");
    /* Unchanged for static gateways (backward compatible). */
    assert_json(r.out, "j['tunnels'][0]['selectors_up'] == 1 and "
                       "j['tunnels'][0]['counters']['tx_packets'] == 10 and "
                       "j['tunnels'][2]['counters']['tx_packets'] == 0");
}

/* Without peers a dial-up gateway is one line with its own name. */
static void test_tunnel_summary_dialup_idle(void **state)
{
    struct ctl_fixture *fx = *state;
    struct run r;
    HACTL(fx, &r, "tunnel", "down", "dial");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    /* Let the loop free the deleted SAs. */
    for (int i = 0; i < 50 && gw_find(&fx->d, "dial")->n_sas; i++)
        event_base_loop(fx->base, EVLOOP_NONBLOCK);
    HACTL(fx, &r, "--json", "tunnel", "summary");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_json(r.out, "[t['name'] for t in j['tunnels']][2:] == ['dial'] and "
                       "j['tunnels'][2]['dialup'] is False and j['tunnels'][2]['state'] == 'down'");
}

static void test_gateway_list(void **state)
{
    struct run r;
    HACTL(*state, &r, "gateway", "list", "hq");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_has(r.out, "name: hq\n");
    assert_has(r.out, "addr: 203.0.113.1:500 -> 203.0.113.2:500\n");
    assert_has(r.out, "id/spi: 1 " FX_IKE_SPI_I "/" FX_IKE_SPI_R "\n");
    assert_has(r.out, "direction: responder\n");
    assert_has(r.out, "status: established");
    assert_has(r.out, "addr: 203.0.113.1:4500 -> 203.0.113.2:4500  nat: remote\n");
    assert_has(r.out, "proposal: aes256-sha512-ecp521\n");
    assert_has(r.out, "id: gw1.example.com -> 203.0.113.2\n");
    assert_has(r.out, "message-id sent/recv: 0/2\n");
    assert_has(r.out, "lifetime/rekey: 86400/8559");
    assert_has(r.out, "DPD: on-idle interval 20s retries 3  sent/recv: 4/3  failures: 0\n");
    assert_has(r.out, "IPsec SA: created 1 established 1\n");
    assert_has(r.out, "IKE datagrams in/out: 12/11  bytes in/out: 3400/3100  retransmits: 0\n");
    assert_has(r.out, "dropped: malformed=2 integrity=1\n");
    assert_lacks(r.out, "SK_");
}

static void test_gateway_list_json(void **state)
{
    struct run r;
    HACTL(*state, &r, "--json", "gateway", "list");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_json(r.out, "[g['name'] for g in j['gateways']] == ['hq', 'branch']");
    assert_json(r.out, "j['gateways'][0]['ike_sas'][0]['spi_i'] == '" FX_IKE_SPI_I "' and "
                       "j['gateways'][0]['ike_sas'][0]['spi_r'] == '" FX_IKE_SPI_R "'");
    assert_json(r.out, "j['gateways'][0]['ike_sas'][0]['initiator'] is False and "
                       "j['gateways'][0]['ike_sas'][0]['state'] == 'established'");
    assert_json(r.out, "j['gateways'][0]['ike_sas'][0]['msgid_recv'] == 2 and "
                       "j['gateways'][0]['ike_sas'][0]['remote']['port'] == 4500 and "
                       "j['gateways'][0]['ike_sas'][0]['nat_remote'] is True");
    assert_json(r.out, "j['gateways'][0]['child_sas'][0]['spi_in'] == '154ccf99' and "
                       "j['gateways'][0]['child_sas'][0]['spi_out'] == 'bf67d15d' and "
                       "j['gateways'][0]['child_sas'][0]['counters']['rx_bytes'] == 1204");
    assert_json(r.out, "j['gateways'][1]['ike_sas'] == [] and "
                       "j['gateways'][1]['passive'] is True and "
                       "j['gateways'][0]['passive'] is False");
    assert_json(r.out, "{d['reason']: d['count'] for d in j['gateways'][0]['stats']['dropped']}"
                       "['integrity'] == 1 and j['gateways'][0]['stats']['dgrams_in'] == 12");
    assert_json(r.out, "'keys' not in j['gateways'][0]['ike_sas'][0] and "
                       "'keys' not in j['gateways'][0]['child_sas'][0]");
}

static void test_show_keys(void **state)
{
    struct run r;
    HACTL(*state, &r, "--show-keys", "gateway", "list", "hq");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_has(r.out,
               "SK_ei: 3a3a3a3a3a3a3a3a-3a3a3a3a3a3a3a3a-3a3a3a3a3a3a3a3a-3a3a3a3a3a3a3a3a\n");
    HACTL(*state, &r, "--json", "--show-keys", "tunnel", "show", "hq");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_json(r.out, "j['child_sas'][0]['keys']['encr_in'] == '53' * 32 and "
                       "len(j['child_sas'][0]['keys']['integ_out']) == 128 and "
                       "j['ike_sas'][0]['keys']['sk_ei'] == '3a' * 32");
    /* the option may also come after the command */
    HACTL(*state, &r, "tunnel", "show", "hq", "--show-keys");
    assert_has(r.out, "dec: key=5353");
}

static void test_tunnel_show(void **state)
{
    struct run r;
    HACTL(*state, &r, "tunnel", "show", "hq");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_has(r.out, "name=hq ver=2 vd=root 203.0.113.1:4500->203.0.113.2:4500 mode=manual");
    assert_has(r.out, "stat: rxp=7 txp=10 rxb=1204 txb=840\n");
    assert_has(r.out, "proxyid=lan up=1 auto-negotiate=");
    assert_has(r.out, "  src: 0:192.0.2.0/25:0\n");
    assert_has(r.out, "  dst: 0:192.0.2.128/25:0\n");
    assert_has(r.out, "SA: spi in=154ccf99 out=bf67d15d mode=tunnel esp=aes256 ah=sha512 esn=0 "
                      "life=");
    assert_has(r.out, "dec:pkts/bytes=7/1204, enc:pkts/bytes=10/840 seqno=10");
    assert_has(r.out, "proxyid=dns up=0");
    assert_has(r.out, "dst: 17:192.0.2.153/32:53\n");
    assert_lacks(r.out, "dec: key=");
}

static void test_status(void **state)
{
    struct run r;
    HACTL(*state, &r, "status");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_has(r.out, "haiked " HAIKED_VERSION ", pid ");
    assert_has(r.out, "gateways: 2  IKE SAs: 1  CHILD SAs: 1\n");
    assert_has(r.out, "vd: root");
    assert_has(r.out, "HA: standalone\n");
    HACTL(*state, &r, "--json", "status");
    assert_json(r.out, "j['gateways'] == 2 and j['ike_sas'] == 1 and j['child_sas'] == 1 and "
                       "j['vdoms'][0]['name'] == 'root' and j['version'] == '" HAIKED_VERSION "'");
    assert_json(r.out, "j['mode'] == 'standalone' and 'cluster' not in j");
    assert_json(r.out, "{d['reason']: d['count'] for d in j['vdoms'][0]['net']['dropped']}"
                       "['unknown-spi'] == 5");
    HACTL(*state, &r, "status");
    assert_has(r.out, "dropped (no gateway): unknown-spi=5\n");
    /* the record backend: installs, nothing of its own to tell */
    assert_has(r.out, "data plane: record  CHILD SA installs/removes/failures: 1/0/0  "
                      "ESP-in-UDP dropped: 0\n");
    assert_lacks(r.out, "UDP GSO");
    assert_lacks(r.out, "XFRM events");
    HACTL(*state, &r, "--json", "status");
    assert_json(r.out, "j['dataplane']['backend'] == 'record' and "
                       "j['dataplane']['installs'] == 1 and 'udp_gso' not in j['dataplane'] and "
                       "j['dataplane']['netns'] == []");
    HACTL(*state, &r, "--json", "gateway", "list");
    assert_json(r.out, "all('device' not in g for g in j['gateways'])");
}

/* ---- the data plane's own state (a backend's info / gateway_device) ------ */

static void fake_info(struct dp *dp, struct dp_info *out)
{
    (void)dp;
    out->has_gso = true;
    out->gso = true;
    out->gso_refused = 2;
    out->gso_paths_off = 1;
    out->gso_msgs = 9;
    out->gso_evictions = 0;
    out->n_netns = 2;
    out->netns[0] = (struct dp_info_netns){.name = "", .events = 5, .ae_events = 4, .expires = 1};
    snprintf(out->netns[1].name, sizeof(out->netns[1].name), "vd1");
    out->netns[1].events = 3;
    out->netns[1].ae_events = 2;
    out->netns[1].unknown = 1;
    out->netns[1].overruns = 7;
}

static bool fake_device(struct dp *dp, const char *gw, struct dp_gw_device *out)
{
    (void)dp;
    if (strcmp(gw, "hq"))
        return false;
    snprintf(out->kind, sizeof(out->kind), "vti");
    snprintf(out->ifname, sizeof(out->ifname), "hk-hq");
    snprintf(out->netns, sizeof(out->netns), "vd1");
    out->ifindex = 7;
    out->key = 0x484b0001;
    return true;
}

/* What a backend tells about itself reaches status (text and JSON): UDP
 * GSO (on, refusals, paths without it), XFRM event counters per
 * namespace by name; a route-based gateway's device (name, index, key) in
 * gateway list and tunnel show; a gateway without one shows none. */
static void test_dataplane_state(void **state)
{
    struct ctl_fixture *fx = *state;
    static struct dp_backend_ops fake;
    fake = *fx->d.dp.ops;
    fake.info = fake_info;
    fake.gateway_device = fake_device;
    fx->d.dp.ops = &fake;
    struct run r;
    HACTL(fx, &r, "status");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_has(r.out, "    UDP GSO: on  segmented messages: 9  refused: 2  paths without GSO: 1  "
                      "evicted: 0\n");
    assert_has(r.out, "    XFRM events netns (haiked's own): messages 5  NEWAE 4  expire 1  "
                      "not ours 0  errors 0  overruns 0\n"
                      "    XFRM events netns vd1: messages 3  NEWAE 2  expire 0  not ours 1  "
                      "errors 0  overruns 7\n");
    HACTL(fx, &r, "--json", "status");
    assert_json(r.out, "j['dataplane']['udp_gso'] is True and j['dataplane']['gso_refused'] == 2 "
                       "and j['dataplane']['gso_paths_off'] == 1 and "
                       "j['dataplane']['gso_messages'] == 9");
    assert_json(r.out, "[(n['name'], n['events'], n['ae_events'], n['expires']) for n in "
                       "j['dataplane']['netns']] == [('', 5, 4, 1), ('vd1', 3, 2, 0)] and "
                       "j['dataplane']['netns'][1]['overruns'] == 7 and "
                       "j['dataplane']['netns'][1]['unknown'] == 1");
    HACTL(fx, &r, "gateway", "list");
    assert_has(r.out, "device: hk-hq (vti) ifindex 7  key 0x484b0001  netns vd1\n");
    HACTL(fx, &r, "gateway", "list", "branch");
    assert_lacks(r.out, "device:");
    HACTL(fx, &r, "tunnel", "show", "hq");
    assert_has(r.out, "dev: name=hk-hq kind=vti ifindex=7 key=0x484b0001 netns=vd1\n");
    HACTL(fx, &r, "--json", "gateway", "list");
    assert_json(r.out, "j['gateways'][0]['device'] == {'kind': 'vti', 'name': 'hk-hq', "
                       "'ifindex': 7, 'key': 0x484b0001, 'netns': 'vd1'} and "
                       "'device' not in j['gateways'][1]");
}

/* A VDOM's datagrams by kind: a tunnel's ESP-in-UDP and NAT-keepalives
 * are not IKE datagrams (they were all counted as IKE once). */
static void test_status_datagram_kinds(void **state)
{
    struct ctl_fixture *fx = *state;
    struct net_counters *n = &daemon_vdom(&fx->d, "root")->net.ctr;
    n->ike_in = 4;
    n->ike_out = 3;
    n->esp_in = 75;
    n->esp_out = 74;
    n->keepalives_in = 2;
    n->keepalives_out = 1;
    n->dgrams_in = 81;
    n->dgrams_out = 78;
    struct run r;
    HACTL(fx, &r, "status");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_has(r.out, "    IKE datagrams in/out: 4/3  ESP-in-UDP in/out: 75/74  "
                      "NAT-keepalives in/out: 2/1\n    all datagrams in/out: 81/78  ");
    HACTL(fx, &r, "--json", "status");
    assert_json(r.out, "j['vdoms'][0]['net']['ike_in'] == 4 and "
                       "j['vdoms'][0]['net']['ike_out'] == 3 and "
                       "j['vdoms'][0]['net']['esp_in'] == 75 and "
                       "j['vdoms'][0]['net']['esp_out'] == 74 and "
                       "j['vdoms'][0]['net']['dgrams_in'] == 81");
}

static void test_debug_filter(void **state)
{
    struct ctl_fixture *fx = *state;
    struct run r;
    HACTL(fx, &r, "debug", "ike", "--gateway", "hq", "--peer", "203.0.113.2", "--level", "info");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_has(r.out, "debug ike: level 2, gateway hq, peer 203.0.113.2\n");
    assert_string_equal(fx->d.log.filter_gw, "hq");
    assert_true(fx->d.log.filter_peer_set);
    assert_int_equal(fx->d.log.level[HLOG_IKE], 2);
    HACTL(fx, &r, "--json", "status");
    assert_json(r.out, "j['debug']['active'] is True and j['debug']['gateway'] == 'hq'");
    HACTL(fx, &r, "debug", "ike", "off");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_has(r.out, "debug ike: no filter");
    assert_string_equal(fx->d.log.filter_gw, "");
    assert_false(fx->d.log.filter_peer_set);
    HACTL(fx, &r, "debug", "ike", "--gateway", "nosuch");
    assert_int_equal(r.rc, HACTL_EXIT_ERROR);
    assert_has(r.err, "not found");
}

/* One IKE line about gateway gw with peer `peer` at level; true if it
 * reached the log file. */
static bool logged(struct ctl_fixture *fx, FILE *logf, const char *gw, const char *peer, int level)
{
    struct ike_addr a = {.family = IKE_AF_INET};
    inet_pton(AF_INET, peer, a.addr);
    struct hlog_who who = {.gw = gw, .serial = 1, .peer = &a};
    long before = ftell(logf);
    hlog_write(&fx->d.log, HLOG_IKE, level, &who, "probe %s", gw);
    fflush(logf);
    return ftell(logf) > before;
}

/* The seed's complaint: FortiOS's name filter did not filter. Ours, set
 * through hactl, does (gateway, peer, level, and off again). */
static void test_debug_filter_really_filters(void **state)
{
    struct ctl_fixture *fx = *state;
    struct run r;
    FILE *logf = tmpfile();
    FILE *saved = fx->d.log.out;
    fx->d.log.out = logf;
    HACTL(fx, &r, "debug", "ike", "--gateway", "hq");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_true(logged(fx, logf, "hq", "203.0.113.2", IKE_LOG_DEBUG));
    assert_false(logged(fx, logf, "branch", "203.0.113.3", IKE_LOG_ERR));
    HACTL(fx, &r, "debug", "ike", "--peer", "203.0.113.3", "--level", "1");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_false(logged(fx, logf, "hq", "203.0.113.2", IKE_LOG_ERR));
    assert_true(logged(fx, logf, "branch", "203.0.113.3", IKE_LOG_WARN));
    assert_false(logged(fx, logf, "branch", "203.0.113.3", IKE_LOG_INFO)); /* level 1 */
    HACTL(fx, &r, "debug", "ike", "off");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_true(logged(fx, logf, "hq", "203.0.113.2", IKE_LOG_ERR));
    assert_true(logged(fx, logf, "branch", "203.0.113.3", IKE_LOG_ERR));
    fx->d.log.out = saved;
    char text[1024];
    slurp(logf, text, sizeof(text));
    assert_has(text, "ike 0:hq:1: probe hq\n");
    assert_has(text, "ike 0:branch:1: probe branch\n");
}

static void test_errors_and_exit_codes(void **state)
{
    struct ctl_fixture *fx = *state;
    struct run r;
    HACTL(fx, &r, "tunnel", "show", "nosuch");
    assert_int_equal(r.rc, HACTL_EXIT_ERROR);
    assert_has(r.err, "hactl: not found: tunnel show: no gateway named 'nosuch'\n");
    HACTL(fx, &r, "--json", "gateway", "list", "nosuch");
    assert_int_equal(r.rc, HACTL_EXIT_ERROR);
    assert_json(r.out, "j['error']['code'] == 'ERR_NOT_FOUND'");
    HACTL(fx, &r, "tunnel", "up", "branch");
    assert_int_equal(r.rc, HACTL_EXIT_ERROR);
    assert_has(r.err, "passive");
    HACTL(fx, &r, "tunnel");
    assert_int_equal(r.rc, HACTL_EXIT_USAGE);
    HACTL(fx, &r, "tunnel", "sideways", "hq");
    assert_int_equal(r.rc, HACTL_EXIT_USAGE);
    HACTL(fx, &r, "frobnicate");
    assert_int_equal(r.rc, HACTL_EXIT_USAGE);
    HACTL(fx, &r, "debug", "ike", "--level", "12");
    assert_int_equal(r.rc, HACTL_EXIT_USAGE);
    HACTL(fx, &r, "--timeout", "soon", "status");
    assert_int_equal(r.rc, HACTL_EXIT_USAGE);
    HACTL(fx, &r, "gateway", "--help");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_has(r.out, "usage: hactl gateway list [NAME] | clear [NAME]");
    HACTL(fx, &r, "--help");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_has(r.out, "exit codes");
    /* the last --socket wins: a path with no daemon */
    HACTL(fx, &r, "--socket", "/nonexistent/haiked.sock", "status");
    assert_int_equal(r.rc, HACTL_EXIT_UNREACHABLE);
    assert_has(r.err, "is haiked running?");
}

/* Actions reach the daemon's gw_* functions. */
static void test_actions(void **state)
{
    struct ctl_fixture *fx = *state;
    struct run r;
    HACTL(fx, &r, "tunnel", "down", "hq");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_has(r.out, "tunnel down hq: done");
    assert_int_equal(gw_find(&fx->d, "hq")->state, GW_STATE_ADMIN_DOWN);
    HACTL(fx, &r, "tunnel", "summary");
    assert_has(r.out, "'hq' ");
    assert_has(r.out, "state=down");
    HACTL(fx, &r, "--json", "gateway", "clear");
    assert_int_equal(r.rc, HACTL_EXIT_OK);
    assert_json(r.out, "j['affected'] == 2");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_tunnel_summary),        T(test_gateway_list),
        T(test_gateway_list_json),     T(test_show_keys),
        T(test_tunnel_show),           T(test_status),
        T(test_status_datagram_kinds), T(test_dataplane_state),
        T(test_debug_filter),          T(test_debug_filter_really_filters),
        T(test_errors_and_exit_codes), T(test_actions),
        cmocka_unit_test_setup_teardown(test_tunnel_summary_dialup, setup_dialup, teardown),
        cmocka_unit_test_setup_teardown(test_tunnel_summary_dialup_idle, setup_dialup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
