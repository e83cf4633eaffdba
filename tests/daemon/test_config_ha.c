/*
 * The `ha` section: defaults, a two-vcluster config with VIPs, every class
 * of error with its exact "file:line: reason", `--check-config`'s summary
 * and the reload rule (an unchanged section is adopted, a changed one
 * refused). "@" in an expected line is the test's temporary directory.
 */
#include "test_config_util.h"

#define VDOMS "vdoms = ( { name = \"cust1\"; }, { name = \"cust2\"; } );\n"

static void test_defaults_single_vcluster(void **state)
{
    cfgt_write(*state, "a.conf", VDOMS "ha = { vclusters = ( { id = 1; } ); };\n", 0644);
    struct cfg *cfg = cfgt_load_ok(*state, "a.conf");
    const struct cfg_ha *ha = &cfg->ha;
    assert_true(ha->enabled);
    assert_string_equal(ha->group, "haiked");
    assert_false(ha->allow_plaintext_sync);
    assert_int_equal(ha->seq_sync_packets, 1024);
    assert_int_equal(ha->seq_sync_ms, 1000);
    assert_int_equal(ha->seq_jump, 1u << 20);
    assert_int_equal(ha->msgid_jump, 1);
    assert_int_equal(ha->drain_timeout_ms, 2000);
    assert_int_equal(ha->n_vclusters, 1);
    assert_int_equal(ha->vclusters[0].priority, 128);
    assert_false(ha->vclusters[0].override);
    /* a lone vcluster without vdoms takes them all, root included */
    assert_int_equal(ha->vclusters[0].n_vdoms, 3);
    assert_string_equal(ha->vclusters[0].vdoms[0], "root");
    assert_string_equal(ha->vclusters[0].vdoms[2], "cust2");
    assert_int_equal(ha->vclusters[0].line, 2);
    cfg_free(cfg);
}

static void test_no_ha_section(void **state)
{
    cfgt_write(*state, "a.conf", VDOMS, 0644);
    struct cfg *cfg = cfgt_load_ok(*state, "a.conf");
    assert_false(cfg->ha.enabled);
    assert_int_equal(cfg->ha.n_vclusters, 0);
    cfg_free(cfg);
}

static const char two_vc[] = VDOMS
    "ha = {\n"
    "  group = \"hk-cluster\";\n"
    "  allow-plaintext-sync = true;\n"
    "  seq-sync-packets = 512;\n"
    "  seq-sync-ms = 250;\n"
    "  seq-jump = 4294967296L;\n"
    "  msgid-jump = 4; drain-timeout-ms = 750;\n"
    "  vclusters = (\n"
    "    { id = 1; priority = 200; override = true; vdoms = [\"root\", \"cust1\"];\n"
    "      vips = ( { vdom = \"root\"; interface = \"wan0\"; address = \"203.0.113.10/24\"; },\n"
    "               { vdom = \"cust1\"; interface = \"wan1\"; address = \"2001:db8::10/64\"; } ); "
    "},\n"
    "    { id = 7; priority = 100; vdoms = \"cust2\";\n"
    "      vips = ( { interface = \"wan2\"; address = \"198.51.100.7\"; } ); }\n"
    "  );\n"
    "};\n";

static void test_two_vclusters(void **state)
{
    cfgt_write(*state, "a.conf", two_vc, 0644);
    struct cfg *cfg = cfgt_load_ok(*state, "a.conf");
    const struct cfg_ha *ha = &cfg->ha;
    assert_string_equal(ha->group, "hk-cluster");
    assert_true(ha->allow_plaintext_sync);
    assert_int_equal(ha->seq_sync_packets, 512);
    assert_int_equal(ha->seq_sync_ms, 250);
    assert_true(ha->seq_jump == (UINT64_C(1) << 32));
    assert_int_equal(ha->msgid_jump, 4);
    assert_int_equal(ha->drain_timeout_ms, 750);
    assert_int_equal(ha->n_vclusters, 2);
    const struct cfg_vcluster *a = &ha->vclusters[0], *b = &ha->vclusters[1];
    assert_int_equal(a->id, 1);
    assert_int_equal(a->priority, 200);
    assert_true(a->override);
    assert_int_equal(a->n_vdoms, 2);
    assert_string_equal(a->vdoms[1], "cust1");
    assert_int_equal(a->n_vips, 2);
    assert_string_equal(a->vips[0].ifname, "wan0");
    assert_int_equal(a->vips[0].addr.family, IKE_AF_INET);
    assert_int_equal(a->vips[0].prefix_len, 24);
    assert_memory_equal(a->vips[0].addr.addr, ((uint8_t[]){203, 0, 113, 10}), 4);
    assert_int_equal(a->vips[0].line, 11);
    assert_int_equal(a->vips[1].addr.family, IKE_AF_INET6);
    assert_int_equal(a->vips[1].prefix_len, 64);
    assert_int_equal(b->id, 7);
    assert_false(b->override);
    assert_int_equal(b->n_vdoms, 1);
    assert_string_equal(b->vdoms[0], "cust2");
    /* a VIP without vdom in a one-VDOM vcluster is that VDOM's; no prefix = host */
    assert_string_equal(b->vips[0].vdom, "cust2");
    assert_int_equal(b->vips[0].prefix_len, 32);
    cfg_free(cfg);
}

static void test_errors_vclusters(void **state)
{
    cfgt_write(*state, "a.conf",
               VDOMS "ha = {\n"
                     "  vclusters = (\n"
                     "    { id = 1; vdoms = [\"root\", \"nope\"]; priorty = 3; },\n"
                     "    { id = 1; vdoms = \"cust1\"; },\n"
                     "    { vdoms = \"cust1\"; },\n"
                     "    { id = 2; vdoms = [\"cust1\", \"root\"]; priority = 300; },\n"
                     "    { id = 3; vdoms = [\"cust2\", \"cust2\"]; }\n"
                     "  );\n"
                     "};\n",
               0644);
    CFGT_EXPECT(*state, "a.conf",
                "@/a.conf:4: vcluster 1: unknown setting 'priorty' (did you mean 'priority'?)",
                "@/a.conf:4: vcluster 1: unknown VDOM 'nope'",
                "@/a.conf:5: vcluster 1: duplicate vcluster id 1 (first defined at @/a.conf:4)",
                "@/a.conf:6: vcluster #3: missing id (1..65535, the same on every node)",
                "@/a.conf:7: vcluster 2: priority = 300 is out of range (0..255)",
                "@/a.conf:7: vcluster 2: VDOM 'root' is already in vcluster 1 (@/a.conf:4): a VDOM "
                "fails over with exactly one vcluster",
                "@/a.conf:8: vcluster 3: VDOM 'cust2' is listed twice");
}

static void test_vdom_in_no_vcluster(void **state)
{
    cfgt_write(*state, "a.conf",
               VDOMS "ha = {\n"
                     "  vclusters = ( { id = 1; vdoms = \"root\"; },\n"
                     "                { id = 2; vdoms = \"cust1\"; } );\n"
                     "};\n",
               0644);
    CFGT_EXPECT(*state, "a.conf",
                "@/a.conf:3: ha: VDOM 'cust2' (@/a.conf:1) is in no vcluster: list it in the vdoms "
                "of one");
}

static void test_errors_settings_and_vips(void **state)
{
    cfgt_write(
        *state, "a.conf",
        VDOMS
        "ha = {\n"
        "  group = \"bad group\";\n"
        "  seq-jump = 0;\n"
        "  seq-sync-ms = 5;\n"
        "  msgid-jump = -1; drain-timeout-ms = 60001;\n"
        "  sync = true;\n"
        "  vclusters = (\n"
        "    { id = 1; vdoms = [\"root\", \"cust1\"];\n"
        "      vips = ( { interface = \"wan0\"; address = \"203.0.113.10/24\"; },\n"
        "               { vdom = \"cust2\"; interface = \"wan0\"; address = \"203.0.113.11\"; },\n"
        "               { vdom = \"root\"; interface = \"a/b\"; address = \"203.0.113.12\"; },\n"
        "               { vdom = \"root\"; interface = \"wan0\"; address = \"203.0.113.13/33\"; "
        "},\n"
        "               { vdom = \"root\"; interface = \"wan0\"; address = \"vip.example\"; },\n"
        "               { vdom = \"root\"; interface = \"wan0\"; address = \"0.0.0.0/0\"; },\n"
        "               { vdom = \"root\"; interface = \"wan0\"; address = \"203.0.113.20\"; },\n"
        "               { vdom = \"root\"; interface = \"wan1\"; address = \"203.0.113.20/24\"; "
        "},\n"
        "               { vdom = \"root\"; address = \"203.0.113.21\"; } ); },\n"
        "    { id = 2; vdoms = \"cust2\"; }\n"
        "  );\n"
        "};\n",
        0644);
    CFGT_EXPECT(
        *state, "a.conf", "@/a.conf:3: ha: group must be 1..63 characters of A-Z a-z 0-9 _ . -",
        "@/a.conf:4: ha: seq-jump = 0 is out of range (1..4611686018427387904)",
        "@/a.conf:5: ha: seq-sync-ms = 5 is out of range (10..60000)",
        "@/a.conf:6: ha: msgid-jump = -1 is out of range (0..1024)",
        "@/a.conf:6: ha: drain-timeout-ms = 60001 is out of range (0..60000)",
        "@/a.conf:7: ha: unknown setting 'sync'",
        "@/a.conf:10: vcluster 1 vip #1: missing vdom (the vcluster has 2 VDOMs)",
        "@/a.conf:11: vcluster 1 vip #2: VDOM 'cust2' is not in vcluster 1 (a VIP moves with "
        "its vcluster)",
        "@/a.conf:12: vcluster 1 vip #3: interface 'a/b' is not an interface name (1..15 "
        "characters, no '/', ':' or spaces)",
        "@/a.conf:13: vcluster 1 vip #4: address '203.0.113.13/33': prefix length must be "
        "0..32",
        "@/a.conf:14: vcluster 1 vip #5: 'vip.example' is not an IPv4 or IPv6 address",
        "@/a.conf:15: vcluster 1 vip #6: address '0.0.0.0/0' is the unspecified address",
        "@/a.conf:17: vcluster 1 vip #8: address '203.0.113.20/24' is already a VIP of VDOM "
        "'root' (@/a.conf:16)",
        "@/a.conf:18: vcluster 1 vip #9: missing interface");
}

static void test_seq_jump_must_cover_sync_interval(void **state)
{
    cfgt_write(*state, "a.conf",
               "ha = { seq-sync-packets = 4096; seq-jump = 4096;\n"
               "       vclusters = ( { id = 1; } ); };\n",
               0644);
    CFGT_EXPECT(
        *state, "a.conf",
        "@/a.conf:1: ha: seq-jump (4096) must be larger than seq-sync-packets (4096): the old "
        "master may have sent that many packets since its last sync");
}

static void test_shapes(void **state)
{
    cfgt_write(*state, "a.conf", "ha = ( 1 );\n", 0644);
    CFGT_EXPECT(*state, "a.conf",
                "@/a.conf:1: ha must be a group: ha = { vclusters = ( { id = 1; } ); };");
    cfgt_write(*state, "b.conf", "ha = { };\n", 0644);
    CFGT_EXPECT(*state, "b.conf",
                "@/b.conf:1: ha: missing vclusters: vclusters = ( { id = 1; priority = 200; } );");
    cfgt_write(*state, "c.conf",
               VDOMS "ha = { vclusters = ( { id = 1; vdoms = \"root\"; }, { id = 2; } ); };\n",
               0644);
    CFGT_EXPECT(*state, "c.conf",
                "@/c.conf:2: vcluster 2: missing vdoms (with 2 vclusters each lists the VDOMs it "
                "fails over)");
}

static void test_check_config_summary(void **state)
{
    char p[256], want[512];
    cfgt_write(*state, "a.conf", two_vc, 0644);
    cfgt_path(*state, "a.conf", p, sizeof(p));
    char *out_buf = NULL, *err_buf = NULL;
    size_t out_len = 0, err_len = 0;
    FILE *out = open_memstream(&out_buf, &out_len), *err = open_memstream(&err_buf, &err_len);
    assert_int_equal(cfg_check_main(p, out, err), 0);
    fclose(out);
    fclose(err);
    snprintf(want, sizeof(want),
             "%s: OK, 3 vdoms, 0 gateways, 0 selectors, HA group hk-cluster: 2 vclusters, 3 VIPs\n",
             p);
    assert_string_equal(out_buf, want);
    assert_string_equal(err_buf, "");
    free(out_buf);
    free(err_buf);
}

static void test_reload_adopts_unchanged_refuses_changed(void **state)
{
    cfgt_write(*state, "a.conf", two_vc, 0644);
    struct cfg *prev = cfgt_load_ok(*state, "a.conf");
    struct cfg *next = cfgt_load_ok(*state, "a.conf");
    const struct cfg_vcluster *running = prev->ha.vclusters;
    char err[128] = "";
    assert_int_equal(cfg_ha_adopt(next, prev, err, sizeof(err)), 0);
    assert_ptr_equal(next->ha.vclusters, running); /* the running cluster's pointers stay */
    cfg_free(prev);
    assert_int_equal(next->ha.vclusters[1].id, 7);

    char *changed = strdup(two_vc);
    char *at = strstr(changed, "priority = 100");
    assert_non_null(at);
    memcpy(at, "priority = 101", 14);
    cfgt_write(*state, "b.conf", changed, 0644);
    free(changed);
    struct cfg *other = cfgt_load_ok(*state, "b.conf");
    assert_int_equal(cfg_ha_adopt(other, next, err, sizeof(err)), -1);
    assert_string_equal(err, "the ha section changed: restart haiked to apply it");
    assert_ptr_equal(next->ha.vclusters, running);
    cfg_free(other);
    cfg_free(next);
}

#define RFC6311_GWS                                                                        \
    "global = { secrets-file = \"s.secrets\"; };\n"                                       \
    "gateways = (\n"                                                                      \
    "  { name = \"plain\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.2\";\n"           \
    "    proposal = \"aes256-sha256-ecp256\"; },\n"                                         \
    "  { name = \"nomsgid\"; vdom = \"cust1\"; local-gw = \"192.0.2.1\";\n"                 \
    "    remote-gw = \"192.0.2.3\"; proposal = \"aes256-sha256-ecp256\";\n"                 \
    "    msgid-sync = false; },\n"                                                         \
    "  { name = \"explicit\"; vdom = \"cust2\"; local-gw = \"192.0.2.1\";\n"                \
    "    remote-gw = \"192.0.2.4\"; proposal = \"aes256-sha256-ecp256\";\n"                 \
    "    msgid-sync = true; replay-counter-sync = false; }\n"                              \
    ");\n"

/* RFC 6311 is on by default for a gateway in an HA vcluster (an explicit
 * value wins), and stays off by default on a single node. */
static void test_rfc6311_defaults(void **state)
{
    cfgt_write(*state, "s.secrets",
               "secrets = ( { gateway = \"plain\"; psk = \"x\"; },\n"
               "            { gateway = \"nomsgid\"; psk = \"y\"; },\n"
               "            { gateway = \"explicit\"; psk = \"z\"; } );\n",
               0600);
    cfgt_write(*state, "ha.conf", VDOMS RFC6311_GWS "ha = { vclusters = ( { id = 1; } ); };\n",
               0644);
    struct cfg *cfg = cfgt_load_ok(*state, "ha.conf");
    const struct cfg_gateway *g = cfg_gateway_find(cfg, "plain");
    assert_non_null(g);
    assert_true(g->sa.msgid_sync);
    assert_true(g->sa.replay_counter_sync);
    g = cfg_gateway_find(cfg, "nomsgid");
    assert_non_null(g);
    assert_false(g->sa.msgid_sync);
    assert_true(g->sa.replay_counter_sync);
    g = cfg_gateway_find(cfg, "explicit");
    assert_non_null(g);
    assert_true(g->sa.msgid_sync);
    assert_false(g->sa.replay_counter_sync);
    cfg_free(cfg);

    cfgt_write(*state, "single.conf", VDOMS RFC6311_GWS, 0644);
    cfg = cfgt_load_ok(*state, "single.conf");
    g = cfg_gateway_find(cfg, "plain");
    assert_non_null(g);
    assert_false(g->sa.msgid_sync);
    assert_false(g->sa.replay_counter_sync);
    g = cfg_gateway_find(cfg, "explicit");
    assert_non_null(g);
    assert_true(g->sa.msgid_sync);
    assert_false(g->sa.replay_counter_sync);
    cfg_free(cfg);
}

/* The HA block of the shipped example (commented out with "#ha# ") is valid. */
static void test_example_ha_block_loads(void **state)
{
    struct cfgt *t = *state;
    char src[512];
    snprintf(src, sizeof(src), "%s/../../../daemon/config/haiked.conf.example", DAEMON_TEST_DATA);
    char *text = cfgt_slurp(src);
    size_t len = strlen(text), o = 0;
    char *out = calloc(1, len + 64);
    assert_non_null(out);
    for (size_t i = 0; i < len;) {
        if ((i == 0 || text[i - 1] == '\n') && strncmp(text + i, "#ha# ", 5) == 0)
            i += 5;
        else
            out[o++] = text[i++];
    }
    const char *needle = "\"/etc/haiked/secrets.conf\"";
    char *at = strstr(out, needle);
    assert_non_null(at);
    char *fixed = NULL;
    assert_true(asprintf(&fixed, "%.*s\"example.secrets\"%s", (int)(at - out), out,
                         at + strlen(needle)) > 0);
    cfgt_write(t, "example.conf", fixed, 0644);
    cfgt_write(t, "example.secrets",
               "secrets = ( { gateway = \"to-hq\"; psk = \"x\"; },\n"
               "            { remote-id = \"@branch1.example.com\"; psk = \"y\"; } );\n",
               0600);
    struct cfg *cfg = cfgt_load_ok(t, "example.conf");
    assert_true(cfg->ha.enabled);
    assert_int_equal(cfg->ha.n_vclusters, 2);
    assert_string_equal(cfg->ha.vclusters[1].vips[0].vdom, "customer1");
    /* its gateways are in vclusters: RFC 6311 on without writing it */
    for (size_t i = 0; i < cfg->n_gateways; i++) {
        assert_true(cfg->gateways[i]->sa.msgid_sync);
        assert_true(cfg->gateways[i]->sa.replay_counter_sync);
    }
    cfg_free(cfg);
    free(fixed);
    free(out);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_single_vcluster, cfgt_setup, cfgt_teardown),
        cmocka_unit_test_setup_teardown(test_no_ha_section, cfgt_setup, cfgt_teardown),
        cmocka_unit_test_setup_teardown(test_two_vclusters, cfgt_setup, cfgt_teardown),
        cmocka_unit_test_setup_teardown(test_errors_vclusters, cfgt_setup, cfgt_teardown),
        cmocka_unit_test_setup_teardown(test_vdom_in_no_vcluster, cfgt_setup, cfgt_teardown),
        cmocka_unit_test_setup_teardown(test_errors_settings_and_vips, cfgt_setup, cfgt_teardown),
        cmocka_unit_test_setup_teardown(test_seq_jump_must_cover_sync_interval, cfgt_setup,
                                        cfgt_teardown),
        cmocka_unit_test_setup_teardown(test_shapes, cfgt_setup, cfgt_teardown),
        cmocka_unit_test_setup_teardown(test_check_config_summary, cfgt_setup, cfgt_teardown),
        cmocka_unit_test_setup_teardown(test_reload_adopts_unchanged_refuses_changed, cfgt_setup,
                                        cfgt_teardown),
        cmocka_unit_test_setup_teardown(test_example_ha_block_loads, cfgt_setup, cfgt_teardown),
        cmocka_unit_test_setup_teardown(test_rfc6311_defaults, cfgt_setup, cfgt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
