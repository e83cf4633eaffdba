/*
 * cfg_load() of a complete, valid configuration: every value lands where
 * the daemon and libike read it (struct ike_sa_cfg transform IDs, traffic
 * selectors, IDs, PSKs), @include works, and the shipped example loads.
 */
#include "test_config_util.h"

#include <arpa/inet.h>

#include <ike/const.h>

static struct cfg *load_full(const struct cfgt *t)
{
    cfgt_copy(t, "full.conf", "full.conf", 0644);
    cfgt_copy(t, "full_dialup.inc", "full_dialup.inc", 0644);
    cfgt_copy(t, "full.secrets", "full.secrets", 0600);
    return cfgt_load_ok(t, "full.conf");
}

static void assert_v4(const uint8_t *a, const char *text)
{
    uint8_t want[4];
    assert_int_equal(inet_pton(AF_INET, text, want), 1);
    assert_memory_equal(a, want, 4);
}

static void assert_v6(const uint8_t *a, const char *text)
{
    uint8_t want[16];
    assert_int_equal(inet_pton(AF_INET6, text, want), 1);
    assert_memory_equal(a, want, 16);
}

static void test_global(void **state)
{
    struct cfg *cfg = load_full(*state);
    const struct cfg_global *g = &cfg->global;
    assert_string_equal(g->ctl_socket, "/run/haiked-test/ctl.sock");
    char want[256];
    snprintf(want, sizeof(want), "%s/full.secrets", ((struct cfgt *)*state)->dir);
    assert_string_equal(g->secrets_file, want);
    assert_int_equal(g->dataplane, CFG_DATAPLANE_RECORD);
    assert_int_equal(g->log_target, CFG_LOG_TARGET_SYSLOG);
    assert_int_equal(g->log_level[CFG_LOG_MAIN], CFG_LOG_WARN);
    assert_int_equal(g->log_level[CFG_LOG_NET], CFG_LOG_WARN);
    assert_int_equal(g->log_level[CFG_LOG_IKE], CFG_LOG_DEBUG);
    assert_int_equal(g->log_level[CFG_LOG_CTL], CFG_LOG_ERR);
    assert_int_equal(g->cookie_threshold, 0);
    assert_int_equal(g->half_open_max, 5000);
    assert_int_equal(g->half_open_per_peer, 7);
    assert_int_equal(g->retransmit_timeout_ms, 500);
    assert_int_equal(g->retransmit_tries, 3);
    assert_int_equal(g->half_open_timeout_ms, 9000);
    cfg_free(cfg);
}

static void test_vdoms(void **state)
{
    struct cfg *cfg = load_full(*state);
    assert_int_equal(cfg->n_vdoms, 3);
    assert_string_equal(cfg->vdoms[0].name, "root");
    assert_null(cfg->vdoms[0].netns);
    assert_int_equal(cfg->vdoms[0].line, 17);
    assert_string_equal(cfg_vdom_find(cfg, "cust1")->netns, "ns-cust1");
    assert_string_equal(cfg_vdom_find(cfg, "cust2")->netns, "cust2"); /* defaults to the name */
    assert_int_equal(cfg_vdom_find(cfg, "cust2")->line, 19);
    assert_null(cfg_vdom_find(cfg, "nope"));
    cfg_free(cfg);
}

static void test_fortios_gateway(void **state)
{
    struct cfg *cfg = load_full(*state);
    assert_int_equal(cfg->n_gateways, 3);
    const struct cfg_gateway *gw = cfg_gateway_find(cfg, "fortios-style");
    assert_non_null(gw);
    assert_ptr_equal(gw, cfg->gateways[0]);
    assert_int_equal(gw->line, 23);
    assert_string_equal(gw->vdom, "root");
    assert_int_equal(gw->ike_version, 2);
    const struct ike_sa_cfg *sa = &gw->sa;
    assert_string_equal(sa->name, "fortios-style");
    assert_int_equal(sa->local.family, IKE_AF_INET);
    assert_int_equal(sa->local.port, 500);
    assert_v4(sa->local.addr, "192.0.2.1");
    assert_v4(sa->remote.addr, "198.51.100.1");
    assert_false(gw->remote_any);

    /* "aes256-sha512 aes256gcm-prfsha384" + dhgrp "21 20" */
    assert_int_equal(sa->n_proposals, 2);
    const struct ike_cfg_proposal *p = &sa->proposals[0];
    assert_int_equal(p->n_encr, 1);
    assert_int_equal(p->encr[0].id, IKE_ENCR_AES_CBC);
    assert_int_equal(p->encr[0].key_bits, 256);
    assert_int_equal(p->n_integ, 1);
    assert_int_equal(p->integ[0], IKE_INTEG_HMAC_SHA2_512_256);
    assert_int_equal(p->n_prf, 1);
    assert_int_equal(p->prf[0], IKE_PRF_HMAC_SHA2_512);
    assert_int_equal(p->n_dh, 2);
    assert_int_equal(p->dh[0], IKE_DH_ECP_521);
    assert_int_equal(p->dh[1], IKE_DH_ECP_384);
    p = &sa->proposals[1];
    assert_int_equal(p->encr[0].id, IKE_ENCR_AES_GCM_16);
    assert_int_equal(p->encr[0].key_bits, 256);
    assert_int_equal(p->n_integ, 0);
    assert_int_equal(p->n_prf, 1);
    assert_int_equal(p->prf[0], IKE_PRF_HMAC_SHA2_384);
    assert_int_equal(p->n_dh, 2);

    assert_int_equal(gw->lifetime.soft_s, 28800);
    assert_int_equal(gw->lifetime.hard_s, 28800 + 2880);
    assert_int_equal(gw->lifetime.jitter_s, 2880);
    assert_int_equal(gw->dpd, CFG_DPD_ON_IDLE);
    assert_int_equal(gw->dpd_interval_s, 5);
    assert_int_equal(gw->dpd_retries, 4);
    assert_int_equal(gw->natt, CFG_NATT_FORCED);
    assert_int_equal(sa->natt, IKE_NATT_FORCED); /* mapped into libike's config */
    assert_int_equal(gw->natt_keepalive_s, 30);
    assert_true(gw->auto_negotiate);
    assert_false(gw->passive);
    assert_true(gw->reauth);
    assert_true(sa->msgid_sync);
    assert_true(sa->fragmentation);
    assert_true(gw->initial_contact);
    /* the same settings, where libike reads them */
    assert_true(sa->initial_contact);
    assert_true(sa->reauth);
    assert_false(sa->replay_counter_sync);
    assert_int_equal(sa->lifetime.soft_s, 28800);
    assert_int_equal(sa->lifetime.hard_s, 28800 + 2880);
    assert_int_equal(sa->lifetime.jitter_s, 2880);
    assert_int_equal(sa->dpd, IKE_DPD_ON_IDLE);
    assert_int_equal(sa->dpd_interval_s, 5);
    assert_int_equal(sa->dpd_retries, 4);

    assert_int_equal(sa->local_id.type, IKE_ID_FQDN);
    assert_int_equal(sa->local_id.len, strlen("gw1.example.com"));
    assert_memory_equal(sa->local_id.data, "gw1.example.com", sa->local_id.len);
    assert_int_equal(sa->remote_id.type, IKE_ID_RFC822_ADDR);
    assert_memory_equal(sa->remote_id.data, "peer@example.com", sa->remote_id.len);

    assert_non_null(sa->psk);
    assert_ptr_equal(sa->psk, gw->psk);
    assert_int_equal(sa->psk->len, strlen("correct horse battery staple"));
    assert_memory_equal(sa->psk->data, "correct horse battery staple", sa->psk->len);
    char src[256];
    snprintf(src, sizeof(src), "%s/full.secrets:3", ((struct cfgt *)*state)->dir);
    assert_string_equal(gw->psk_source, src);
    cfg_free(cfg);
}

static void test_fortios_selectors(void **state)
{
    struct cfg *cfg = load_full(*state);
    const struct cfg_gateway *gw = cfg_gateway_find(cfg, "fortios-style");
    assert_int_equal(gw->n_selectors, 2);
    assert_ptr_equal(gw->sa.children, gw->children);
    assert_int_equal(gw->sa.n_children, 2);

    const struct cfg_selector *lan = cfg_selector_find(gw, "lan");
    assert_ptr_equal(lan, &gw->selectors[0]);
    assert_ptr_equal(lan->child, &gw->children[0]);
    const struct ike_cfg_child *c = lan->child;
    assert_string_equal(c->name, "lan");
    assert_int_equal(c->n_local_ts, 2);
    assert_int_equal(c->local_ts[0].type, IKE_TS_IPV4_ADDR_RANGE);
    assert_int_equal(c->local_ts[0].ip_proto, 0);
    assert_int_equal(c->local_ts[0].start_port, 0);
    assert_int_equal(c->local_ts[0].end_port, 65535);
    assert_v4(c->local_ts[0].start_addr, "10.1.0.0");
    assert_v4(c->local_ts[0].end_addr, "10.1.255.255");
    assert_v4(c->local_ts[1].start_addr, "10.2.0.0");
    assert_v4(c->local_ts[1].end_addr, "10.2.0.255");
    assert_int_equal(c->n_remote_ts, 1);
    assert_v4(c->remote_ts[0].start_addr, "10.9.0.0");
    assert_v4(c->remote_ts[0].end_addr, "10.9.0.99");
    /* "aes256gcm aes256-sha256", pfs = true without dhgrp: the IKE groups */
    assert_int_equal(c->n_proposals, 2);
    assert_int_equal(c->proposals[0].encr[0].id, IKE_ENCR_AES_GCM_16);
    assert_int_equal(c->proposals[0].encr[0].key_bits, 256);
    assert_int_equal(c->proposals[0].n_integ, 0);
    assert_int_equal(c->proposals[0].n_dh, 2);
    assert_int_equal(c->proposals[0].dh[0], IKE_DH_ECP_521);
    assert_int_equal(c->proposals[0].n_esn, 1);
    assert_int_equal(c->proposals[0].esn[0], IKE_ESN_NO);
    assert_int_equal(c->proposals[1].integ[0], IKE_INTEG_HMAC_SHA2_256_128);
    assert_int_equal(c->proposals[1].n_prf, 0);
    assert_true(lan->pfs);
    assert_int_equal(lan->lifetime.soft_s, 3600);
    assert_int_equal(lan->lifetime.hard_s, 3960);
    assert_int_equal(lan->lifetime.soft_bytes, 10485760);
    assert_int_equal(lan->lifetime.hard_bytes, 10485760 + 1048576);
    assert_int_equal(lan->lifetime.soft_packets, 0);
    assert_int_equal(c->lifetime.soft_s, 3600);
    assert_int_equal(c->lifetime.hard_s, 3960);
    assert_int_equal(c->lifetime.jitter_s, 360);
    assert_true(lan->auto_negotiate);
    assert_true(lan->keepalive);
    assert_true(lan->add_route);
    assert_int_equal(lan->family, IKE_AF_INET);

    const struct cfg_selector *web = cfg_selector_find(gw, "web");
    c = web->child;
    assert_int_equal(web->ip_proto, 6);
    assert_int_equal(c->n_local_ts, 1);
    assert_v4(c->local_ts[0].start_addr, "10.1.2.3");
    assert_v4(c->local_ts[0].end_addr, "10.1.2.3");
    assert_int_equal(c->local_ts[0].ip_proto, 6);
    assert_int_equal(c->local_ts[0].start_port, 1024);
    assert_int_equal(c->local_ts[0].end_port, 65535);
    assert_v4(c->remote_ts[0].start_addr, "0.0.0.0");
    assert_v4(c->remote_ts[0].end_addr, "255.255.255.255");
    assert_int_equal(c->remote_ts[0].ip_proto, 6);
    assert_int_equal(c->remote_ts[0].start_port, 443);
    assert_int_equal(c->remote_ts[0].end_port, 443);
    /* "aes128-sha256-modp2048-esn-noesn": one proposal, PFS, both ESN */
    assert_int_equal(c->n_proposals, 1);
    assert_int_equal(c->proposals[0].encr[0].key_bits, 128);
    assert_int_equal(c->proposals[0].n_dh, 1);
    assert_int_equal(c->proposals[0].dh[0], IKE_DH_MODP_2048);
    assert_int_equal(c->proposals[0].n_esn, 2);
    assert_int_equal(c->proposals[0].esn[0], IKE_ESN_YES);
    assert_int_equal(c->proposals[0].esn[1], IKE_ESN_NO);
    assert_true(web->pfs);
    assert_false(web->auto_negotiate);
    assert_int_equal(web->lifetime.soft_s, 43200);
    assert_int_equal(web->line, 51);
    cfg_free(cfg);
}

static void test_strongswan_gateway(void **state)
{
    struct cfg *cfg = load_full(*state);
    const struct cfg_gateway *gw = cfg_gateway_find(cfg, "strongswan-style");
    const struct ike_sa_cfg *sa = &gw->sa;
    assert_string_equal(gw->vdom, "cust1");
    assert_int_equal(sa->local.family, IKE_AF_INET6);
    assert_v6(sa->local.addr, "2001:db8::1");
    assert_v6(sa->remote.addr, "2001:db8::2");
    assert_int_equal(sa->n_proposals, 3);
    assert_int_equal(sa->proposals[0].encr[0].id, IKE_ENCR_AES_GCM_16);
    assert_int_equal(sa->proposals[0].prf[0], IKE_PRF_HMAC_SHA2_512);
    assert_int_equal(sa->proposals[0].n_dh, 1);
    assert_int_equal(sa->proposals[0].dh[0], IKE_DH_ECP_521);
    assert_int_equal(sa->proposals[1].dh[0], IKE_DH_MODP_2048);
    assert_int_equal(sa->proposals[1].prf[0], IKE_PRF_HMAC_SHA2_256);
    assert_int_equal(sa->proposals[2].encr[0].id, IKE_ENCR_CHACHA20_POLY1305);
    assert_int_equal(sa->proposals[2].encr[0].key_bits, 0);
    assert_int_equal(sa->proposals[2].dh[0], IKE_DH_CURVE25519);
    assert_int_equal(gw->lifetime.soft_s, 86400);
    assert_int_equal(gw->lifetime.hard_s, 100000);
    assert_int_equal(gw->lifetime.jitter_s, 600);
    assert_int_equal(gw->dpd, CFG_DPD_OFF);
    assert_int_equal(gw->natt, CFG_NATT_DISABLE);
    assert_int_equal(sa->natt, IKE_NATT_DISABLE);
    assert_false(sa->fragmentation);
    assert_false(sa->msgid_sync);
    assert_false(gw->initial_contact);
    assert_false(sa->initial_contact);
    assert_true(sa->replay_counter_sync);
    assert_false(sa->reauth);
    assert_int_equal(sa->dpd, IKE_DPD_OFF);
    assert_int_equal(sa->lifetime.soft_s, 86400);
    assert_int_equal(sa->lifetime.hard_s, 100000);
    assert_int_equal(sa->local_id.type, IKE_ID_KEY_ID);
    assert_int_equal(sa->local_id.len, 3);
    assert_memory_equal(sa->local_id.data, "\x0a\x0b\x0c", 3);
    assert_int_equal(sa->remote_id.type, 0); /* any */
    assert_int_equal(sa->psk->len, 16);
    assert_memory_equal(sa->psk->data,
                        "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff", 16);

    const struct ike_cfg_child *c = gw->selectors[0].child;
    assert_int_equal(c->local_ts[0].type, IKE_TS_IPV6_ADDR_RANGE);
    assert_v6(c->local_ts[0].start_addr, "2001:db8:1::");
    assert_v6(c->local_ts[0].end_addr, "2001:db8:1:ffff:ffff:ffff:ffff:ffff");
    assert_int_equal(c->n_remote_ts, 2);
    assert_v6(c->remote_ts[1].start_addr, "2001:db8:3::1");
    assert_v6(c->remote_ts[1].end_addr, "2001:db8:3::1");
    assert_int_equal(c->proposals[0].dh[0], IKE_DH_ECP_384);
    assert_true(gw->selectors[0].pfs);
    assert_int_equal(gw->selectors[0].family, IKE_AF_INET6);
    cfg_free(cfg);
}

static void test_dialup_gateway_from_include(void **state)
{
    struct cfgt *t = *state;
    struct cfg *cfg = load_full(t);
    const struct cfg_gateway *gw = cfg_gateway_find(cfg, "dialup");
    char want[256];
    snprintf(want, sizeof(want), "%s/full_dialup.inc", t->dir);
    assert_string_equal(gw->file, want);
    assert_int_equal(gw->line, 2);
    assert_true(gw->remote_any);
    assert_true(gw->passive);
    assert_false(gw->auto_negotiate);
    assert_int_equal(gw->sa.remote.family, IKE_AF_INET);
    assert_v4(gw->sa.remote.addr, "0.0.0.0");
    assert_int_equal(gw->n_selectors, 0);
    assert_int_equal(gw->sa.n_children, 0);
    /* dhgrp = [14, 31] onto "aes128-sha1" */
    assert_int_equal(gw->sa.proposals[0].n_dh, 2);
    assert_int_equal(gw->sa.proposals[0].dh[0], IKE_DH_MODP_2048);
    assert_int_equal(gw->sa.proposals[0].dh[1], IKE_DH_CURVE25519);
    assert_int_equal(gw->sa.proposals[0].integ[0], IKE_INTEG_HMAC_SHA1_96);
    assert_int_equal(gw->sa.proposals[0].prf[0], IKE_PRF_HMAC_SHA1);
    /* local ID defaults to the local address */
    assert_int_equal(gw->sa.local_id.type, IKE_ID_IPV4_ADDR);
    assert_v4(gw->sa.local_id.data, "192.0.2.1");
    /* PSK found by remote ID; "0s" is base64 */
    assert_int_equal(gw->psk->len, 11);
    assert_memory_equal(gw->psk->data, "Hello world", 11);
    cfg_free(cfg);
}

static void test_gateway_match(void **state)
{
    struct cfg *cfg = load_full(*state);
    struct ike_addr local = {.family = IKE_AF_INET, .port = 500};
    struct ike_addr remote = {.family = IKE_AF_INET, .port = 4500};
    inet_pton(AF_INET, "192.0.2.1", local.addr);
    inet_pton(AF_INET, "198.51.100.1", remote.addr);
    assert_ptr_equal(cfg_gateway_match(cfg, "root", &local, &remote),
                     cfg_gateway_find(cfg, "fortios-style"));
    inet_pton(AF_INET, "203.0.113.7", remote.addr);
    assert_null(cfg_gateway_match(cfg, "root", &local, &remote));
    assert_ptr_equal(cfg_gateway_match(cfg, "cust2", &local, &remote),
                     cfg_gateway_find(cfg, "dialup"));
    cfg_free(cfg);
}

static void test_check_main(void **state)
{
    struct cfgt *t = *state;
    struct cfg *cfg = load_full(t);
    cfg_free(cfg);
    char p[256], *out = NULL, *err = NULL;
    size_t ol = 0, el = 0;
    FILE *fo = open_memstream(&out, &ol), *fe = open_memstream(&err, &el);
    assert_int_equal(cfg_check_main(cfgt_path(t, "full.conf", p, sizeof(p)), fo, fe), 0);
    fclose(fo);
    fclose(fe);
    char want[512];
    snprintf(want, sizeof(want), "%s: OK, 3 vdoms, 3 gateways, 3 selectors\n", p);
    assert_string_equal(out, want);
    assert_string_equal(err, "");
    free(out);
    free(err);

    char want2[2048];
    cfgt_write(t, "bad.conf", "gateways = ( { name = \"a\"; bogus = 1; } );\n", 0644);
    fo = open_memstream(&out, &ol);
    fe = open_memstream(&err, &el);
    assert_int_equal(cfg_check_main(cfgt_path(t, "bad.conf", p, sizeof(p)), fo, fe), 1);
    fclose(fo);
    fclose(fe);
    assert_string_equal(out, "");
    snprintf(want2, sizeof(want2),
             "%1$s:1: gateway 'a': unknown setting 'bogus'\n"
             "%1$s:1: gateway 'a': missing local-gw (the address IKE is sent from)\n"
             "%1$s:1: gateway 'a': missing remote-gw (an address, or \"any\" for dial-up peers)\n"
             "%1$s:1: gateway 'a': missing proposal (e.g. proposal = \"aes256-sha512\"; dhgrp = "
             "\"21\"; or proposal = \"aes256-sha512-ecp521\";)\n"
             "%1$s: 4 errors\n",
             p);
    assert_string_equal(err, want2);
    free(out);
    free(err);
}

/* The example shipped for operators must stay valid. */
static void test_example_loads(void **state)
{
    struct cfgt *t = *state;
    char src[512];
    snprintf(src, sizeof(src), "%s/../../../daemon/config/haiked.conf.example", DAEMON_TEST_DATA);
    char *text = cfgt_slurp(src);
    const char *needle = "\"/etc/haiked/secrets.conf\"";
    char *at = strstr(text, needle);
    assert_non_null(at);
    char *fixed = NULL;
    assert_true(asprintf(&fixed, "%.*s\"example.secrets\"%s", (int)(at - text), text,
                         at + strlen(needle)) > 0);
    cfgt_write(t, "example.conf", fixed, 0644);
    cfgt_write(t, "example.secrets",
               "secrets = ( { gateway = \"to-hq\"; psk = \"x\"; },\n"
               "            { remote-id = \"@branch1.example.com\"; psk = \"y\"; } );\n",
               0600);
    struct cfg *cfg = cfgt_load_ok(t, "example.conf");
    assert_int_equal(cfg->n_gateways, 2);
    assert_int_equal(cfg_gateway_find(cfg, "to-hq")->n_selectors, 2);
    assert_true(cfg_gateway_find(cfg, "dialup")->passive);
    cfg_free(cfg);
    free(fixed);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_global, cfgt_setup, cfgt_teardown),
        cmocka_unit_test_setup_teardown(test_vdoms, cfgt_setup, cfgt_teardown),
        cmocka_unit_test_setup_teardown(test_fortios_gateway, cfgt_setup, cfgt_teardown),
        cmocka_unit_test_setup_teardown(test_fortios_selectors, cfgt_setup, cfgt_teardown),
        cmocka_unit_test_setup_teardown(test_strongswan_gateway, cfgt_setup, cfgt_teardown),
        cmocka_unit_test_setup_teardown(test_dialup_gateway_from_include, cfgt_setup,
                                        cfgt_teardown),
        cmocka_unit_test_setup_teardown(test_gateway_match, cfgt_setup, cfgt_teardown),
        cmocka_unit_test_setup_teardown(test_check_main, cfgt_setup, cfgt_teardown),
        cmocka_unit_test_setup_teardown(test_example_loads, cfgt_setup, cfgt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
