/*
 * Each class of bad configuration yields its exact "file:line: reason",
 * and one load reports every error, not just the first. "@" in an
 * expected line is the test's temporary directory.
 */
#include "test_config_util.h"

/* A valid gateway body after name/addresses, to keep the cases short. */
#define GW_OK "proposal = \"aes256-sha256-ecp256\";"

static void test_missing_file(void **state)
{
    CFGT_EXPECT(*state, "nope.conf", "@/nope.conf: cannot open: No such file or directory");
}

static void test_syntax_error(void **state)
{
    cfgt_write(*state, "a.conf",
               "global = {\n"
               "    dataplane \"record\";\n" /* missing = */
               "    log = { level = \"info\"; };\n"
               "};\n",
               0644);
    CFGT_EXPECT(*state, "a.conf", "@/a.conf:2: syntax error");
}

static void test_syntax_error_in_include(void **state)
{
    cfgt_write(*state, "a.conf", "vdoms = ( { name = \"x\"; } );\n@include \"inc.conf\"\n", 0644);
    cfgt_write(*state, "inc.conf", "\n\ngateways = ( { name = } );\n", 0644);
    CFGT_EXPECT(*state, "a.conf", "@/inc.conf:3: syntax error");
}

static void test_unknown_keys(void **state)
{
    cfgt_write(*state, "a.conf",
               "global = { dataplan = \"record\"; log = { levle = \"info\"; }; };\n"
               "gateway = ( );\n"
               "gateways = ( {\n"
               "    name = \"g\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.2\";\n"
               "    " GW_OK "\n"
               "    dpd-retrycnt = 3;\n"
               "    frobnicate = true;\n"
               "    psk = \"hunter2-secret\";\n"
               "    selectors = ( { name = \"s\"; local-subnet = \"10.0.0.0/8\";\n"
               "                    remote-subnet = \"10.1.0.0/16\"; proposal = \"aes256gcm16\";\n"
               "                    remote-prot = 53; } );\n"
               "} );\n",
               0644);
    CFGT_EXPECT(
        *state, "a.conf",
        "@/a.conf:1: global: unknown setting 'dataplan' (did you mean 'dataplane'?)",
        "@/a.conf:1: global.log: unknown setting 'levle' (did you mean 'level'?)",
        "@/a.conf:2: unknown setting 'gateway' (did you mean 'gateways'?)",
        "@/a.conf:6: gateway 'g': unknown setting 'dpd-retrycnt' (did you mean "
        "'dpd-retrycount'?)",
        "@/a.conf:7: gateway 'g': unknown setting 'frobnicate'",
        "@/a.conf:8: gateway 'g': 'psk': pre-shared keys do not belong in this file; put "
        "them in the secrets file (mode 0600, owned by root)",
        "@/a.conf:11: gateway 'g' selector 's': unknown setting 'remote-prot' (did you mean "
        "'remote-port'?)");
}

static void test_duplicates(void **state)
{
    cfgt_write(
        *state, "a.conf",
        "vdoms = ( { name = \"v\"; }, { name = \"v\"; netns = \"other\"; },\n"
        "          { name = \"w\"; netns = \"v\"; } );\n"
        "gateways = (\n"
        "  { name = \"g\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.2\"; " GW_OK "\n"
        "    selectors = (\n"
        "      { name = \"s\"; local-subnet = \"10.0.0.0/8\"; remote-subnet = \"10.1.0.0/16\";\n"
        "        proposal = \"aes256gcm16\"; },\n"
        "      { name = \"s\"; local-subnet = \"10.0.0.0/8\"; remote-subnet = \"10.2.0.0/16\";\n"
        "        proposal = \"aes256gcm16\"; } ); },\n"
        "  { name = \"g\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.3\"; " GW_OK " }\n"
        ");\n",
        0644);
    CFGT_EXPECT(
        *state, "a.conf", "@/a.conf:1: vdom 'v': duplicate VDOM name (first defined at @/a.conf:1)",
        "@/a.conf:2: vdom 'w': netns 'v' is already used by vdom 'v'",
        "@/a.conf:8: gateway 'g' selector 's': duplicate selector name in this gateway (first "
        "defined at @/a.conf:6)",
        "@/a.conf:10: gateway 'g': duplicate gateway name (first defined at @/a.conf:4)");
}

static void test_addresses(void **state)
{
    cfgt_write(
        *state, "a.conf",
        "gateways = (\n"
        "  { name = \"a\"; local-gw = \"gw.example.com\"; remote-gw = \"192.0.2.2\"; " GW_OK " },\n"
        "  { name = \"b\"; local-gw = \"0.0.0.0\"; remote-gw = \"192.0.2.2\"; " GW_OK " },\n"
        "  { name = \"c\"; local-gw = \"192.0.2.1\"; remote-gw = \"2001:db8::1\"; " GW_OK " },\n"
        "  { name = \"d\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.300\"; " GW_OK " },\n"
        "  { name = \"e\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.9\"; " GW_OK " },\n"
        "  { name = \"f\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.9\"; " GW_OK " }\n"
        ");\n",
        0644);
    CFGT_EXPECT(
        *state, "a.conf",
        "@/a.conf:2: gateway 'a': local-gw: 'gw.example.com' is not an IPv4 or IPv6 address",
        "@/a.conf:3: gateway 'b': local-gw must be a specific address, not '0.0.0.0'",
        "@/a.conf:4: gateway 'c': local-gw and remote-gw are of different address families",
        "@/a.conf:5: gateway 'd': remote-gw: '192.0.2.300' is not an IPv4 or IPv6 address",
        "@/a.conf:7: gateway 'f': same vdom, local-gw and remote-gw as gateway 'e' "
        "(@/a.conf:6): a responder could not tell them apart");
}

static void test_selector_subnets(void **state)
{
    cfgt_write(*state, "a.conf",
               "gateways = ( { name = \"g\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.2\";\n"
               "  " GW_OK "\n"
               "  selectors = (\n"
               "    { name = \"mixed\"; proposal = \"aes256gcm16\";\n"
               "      local-subnet = [ \"10.0.0.0/8\",\n"
               "                       \"2001:db8::/32\" ];\n"
               "      remote-subnet = \"2001:db8:1::/48\"; },\n"
               "    { name = \"hostbits\"; proposal = \"aes256gcm16\";\n"
               "      local-subnet = \"10.1.2.3/16\"; remote-subnet = \"10.9.0.0/33\"; },\n"
               "    { name = \"range\"; proposal = \"aes256gcm16\";\n"
               "      local-subnet = \"10.0.0.9-10.0.0.1\"; remote-subnet = \"zz\"; },\n"
               "    { name = \"ports\"; proposal = \"aes256gcm16\"; local-subnet = \"10.0.0.1\";\n"
               "      remote-subnet = \"10.0.0.2\"; remote-port = 53; local-port = \"9-1\"; },\n"
               "    { name = \"proto\"; proposal = \"aes256gcm16\"; local-subnet = \"10.0.0.1\";\n"
               "      remote-subnet = \"10.0.0.2\"; protocol = \"tcpp\"; },\n"
               "    { name = \"missing\"; proposal = \"aes256gcm16\"; }\n"
               "  ); } );\n",
               0644);
    CFGT_EXPECT(
        *state, "a.conf",
        "@/a.conf:6: gateway 'g' selector 'mixed': local-subnet '2001:db8::/32' and "
        "'10.0.0.0/8' are of different address families",
        "@/a.conf:7: gateway 'g' selector 'mixed': remote-subnet '2001:db8:1::/48' and "
        "'10.0.0.0/8' are of different address families",
        "@/a.conf:9: gateway 'g' selector 'hostbits': local-subnet: '10.1.2.3/16' has host "
        "bits set (did you mean 10.1.0.0/16?)",
        "@/a.conf:9: gateway 'g' selector 'hostbits': remote-subnet: '10.9.0.0/33': prefix "
        "length must be 0..32",
        "@/a.conf:11: gateway 'g' selector 'range': local-subnet: '10.0.0.9-10.0.0.1': range "
        "start is above its end",
        "@/a.conf:11: gateway 'g' selector 'range': remote-subnet: 'zz' is not a subnet, "
        "range or address",
        "@/a.conf:13: gateway 'g' selector 'ports': local-port: port range '9-1': start is "
        "above its end",
        "@/a.conf:13: gateway 'g' selector 'ports': remote-port needs a protocol (protocol = "
        "\"tcp\"; or udp, sctp, ...)",
        "@/a.conf:15: gateway 'g' selector 'proto': protocol: unknown protocol 'tcpp' (a name "
        "such as tcp, udp, icmp, sctp, or 0..255)",
        "@/a.conf:16: gateway 'g' selector 'missing': missing local-subnet (e.g. local-subnet "
        "= [\"10.1.0.0/16\"];)",
        "@/a.conf:16: gateway 'g' selector 'missing': missing remote-subnet (e.g. "
        "remote-subnet = [\"10.1.0.0/16\"];)");
}

static void test_passive_modes(void **state)
{
    cfgt_write(*state, "a.conf",
               "gateways = (\n"
               "  { name = \"a\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.2\"; " GW_OK "\n"
               "    passive = true; auto-negotiate = true; },\n"
               "  { name = \"b\"; local-gw = \"192.0.2.1\"; remote-gw = \"any\"; " GW_OK "\n"
               "    passive = false; },\n"
               "  { name = \"c\"; local-gw = \"192.0.2.5\"; remote-gw = \"0.0.0.0\"; " GW_OK "\n"
               "    auto-negotiate = true; },\n"
               "  { name = \"d\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.4\"; " GW_OK "\n"
               "    passive = true; selectors = ( { name = \"s\"; local-subnet = \"10.0.0.0/8\";\n"
               "      remote-subnet = \"10.1.0.0/16\"; proposal = \"aes256gcm16\";\n"
               "      auto-negotiate = true; } ); }\n"
               ");\n",
               0644);
    CFGT_EXPECT(
        *state, "a.conf",
        "@/a.conf:3: gateway 'a': a passive gateway never initiates: auto-negotiate must be "
        "false",
        "@/a.conf:5: gateway 'b': remote-gw any (dial-up) cannot initiate: it must be passive",
        "@/a.conf:7: gateway 'c': remote-gw any (dial-up) cannot auto-negotiate",
        "@/a.conf:11: gateway 'd' selector 's': the gateway is passive (never initiates): "
        "auto-negotiate must be false");
}

static void test_lifetimes_dpd_types(void **state)
{
    cfgt_write(*state, "a.conf",
               "gateways = ( { name = \"g\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.2\";\n"
               "  " GW_OK "\n"
               "  keylife = 3600;\n"
               "  hard-lifetime = 3600;\n"
               "  rekey-jitter = 4000;\n"
               "  dpd = \"sometimes\";\n"
               "  dpd-retrycount = 11;\n"
               "  dpd-retryinterval = 0;\n"
               "  natt-keepalive = \"10\";\n"
               "  reauth = 1;\n"
               "  selectors = ( { name = \"s\"; local-subnet = \"10.0.0.0/8\";\n"
               "      remote-subnet = \"10.1.0.0/16\"; proposal = \"aes256gcm16\";\n"
               "      keylife = 5;\n"
               "      keylife-bytes = 2000000; hard-lifetime-bytes = 1500000; } );\n"
               "} );\n",
               0644);
    CFGT_EXPECT(
        *state, "a.conf",
        "@/a.conf:4: gateway 'g': hard-lifetime (3600 s) must be above keylife (3600 s)",
        "@/a.conf:5: gateway 'g': rekey-jitter (4000 s) must be below keylife (3600 s)",
        "@/a.conf:6: gateway 'g': dpd = \"sometimes\" is not one of: disable, on-idle, "
        "on-demand",
        "@/a.conf:7: gateway 'g': dpd-retrycount = 11 is out of range (1..10)",
        "@/a.conf:8: gateway 'g': dpd-retryinterval = 0 is out of range (1..3600)",
        "@/a.conf:9: gateway 'g': natt-keepalive must be an integer",
        "@/a.conf:10: gateway 'g': reauth must be true or false",
        "@/a.conf:13: gateway 'g' selector 's': keylife = 5 is out of range (10..604800)",
        "@/a.conf:14: gateway 'g' selector 's': hard-lifetime-bytes (1500000) must be above "
        "keylife-bytes (2000000)");
}

static void test_version_vdom_ids(void **state)
{
    cfgt_write(*state, "a.conf",
               "gateways = ( { name = \"g\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.2\";\n"
               "  " GW_OK "\n"
               "  ike-version = 1;\n"
               "  vdom = \"cust9\";\n"
               "  local-id = \"any\";\n"
               "  remote-id = \"CN=peer, O=Example\";\n"
               "},\n"
               "{ name = \"bad name\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.3\"; " GW_OK
               " }\n"
               ");\n",
               0644);
    CFGT_EXPECT(
        *state, "a.conf",
        "@/a.conf:3: gateway 'g': ike-version 1: IKEv1 is not supported (haiked speaks IKEv2 "
        "only)",
        "@/a.conf:4: gateway 'g': unknown vdom 'cust9' (declare it in vdoms)",
        "@/a.conf:5: gateway 'g': local-id: 'any' is not a valid local identity",
        "@/a.conf:6: gateway 'g': remote-id: identity 'CN=peer, O=Example' looks like a "
        "distinguished name; those need certificates, which haiked does not support (use an "
        "FQDN, e-mail or address)",
        "@/a.conf:8: gateway 'bad name': name must be 1..63 characters of A-Z a-z 0-9 _ . -");
}

static void test_proposals(void **state)
{
    cfgt_write(*state, "a.conf",
               "gateways = (\n"
               "  { name = \"a\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.2\";\n"
               "    proposal = \"aes256-sha256-ecp256 3des-sha1-modp2048\"; },\n"
               "  { name = \"b\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.3\";\n"
               "    proposal = \"aes256-sha256\"; },\n"
               "  { name = \"c\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.4\";\n"
               "    proposal = \"aes256gcm16-sha256-ecp256\"; },\n"
               "  { name = \"d\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.5\";\n"
               "    proposal = \"aes256-sha256\"; dhgrp = \"14 5\"; },\n"
               "  { name = \"e\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.6\";\n"
               "    proposal = \"aes256-sha256-ecp256\";\n"
               "    selectors = ( { name = \"s\"; local-subnet = \"10.0.0.0/8\";\n"
               "      remote-subnet = \"10.1.0.0/16\"; proposal = \"aes256-shaa256\"; } ); }\n"
               ");\n",
               0644);
    CFGT_EXPECT(
        *state, "a.conf",
        "@/a.conf:3: gateway 'a': proposal '3des-sha1-modp2048': cipher '3des' is not "
        "supported by libike (supported: aes128 aes192 aes256 aes128gcm16 aes192gcm16 "
        "aes256gcm16 chacha20poly1305)",
        "@/a.conf:5: gateway 'b': proposal 'aes256-sha256' has no DH group (add one such as "
        "'aes256-sha256-ecp256', or set dhgrp)",
        "@/a.conf:7: gateway 'c': proposal 'aes256gcm16-sha256-ecp256': an AEAD cipher takes "
        "no integrity algorithm (use prfsha* for the IKE PRF)",
        "@/a.conf:9: gateway 'd': dhgrp: DH group 5 is not supported by libike (supported: "
        "modp2048(14) modp3072(15) modp4096(16) ecp256(19) ecp384(20) ecp521(21) "
        "curve25519(31))",
        "@/a.conf:13: gateway 'e' selector 's': proposal 'aes256-shaa256': unknown algorithm "
        "'shaa256'");
}

static void test_missing_psk(void **state)
{
    cfgt_write(
        *state, "a.conf",
        "global = { secrets-file = \"s.conf\"; };\n"
        "gateways = (\n"
        "  { name = \"a\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.2\"; " GW_OK " },\n"
        "  { name = \"b\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.3\"; " GW_OK "\n"
        "    remote-id = \"@b.example.com\"; },\n"
        "  { name = \"c\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.4\"; " GW_OK " }\n"
        ");\n",
        0644);
    cfgt_write(*state, "s.conf",
               "secrets = ( { gateway = \"a\"; psk = \"k1\"; },\n"
               "            { remote-id = \"@b.example.com\"; psk = \"k2\"; } );\n",
               0600);
    CFGT_EXPECT(
        *state, "a.conf",
        "@/a.conf:6: gateway 'c': no PSK in @/s.conf (add { gateway = \"c\"; psk = \"...\"; })");
}

/* Errors from different sections and an included file, all in one run,
 * sorted by file (in order of first appearance) and line. */
static void test_many_errors_one_run(void **state)
{
    cfgt_write(*state, "a.conf",
               "global = { dataplane = \"ebpf\"; control-socket = \"relative.sock\"; };\n"
               "vdoms = ( { name = \"root\"; netns = \"x\"; } );\n"
               "gateways = (\n"
               "  @include \"gw.inc\"\n"
               "  { name = \"b\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.3\";\n"
               "    proposal = \"aes256-md5-ecp256\"; keylife = 1; }\n"
               ");\n",
               0644);
    cfgt_write(*state, "gw.inc",
               "  { name = \"a\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.2\"; " GW_OK "\n"
               "    dpd-retrycount = 0; },\n",
               0644);
    CFGT_EXPECT(
        *state, "a.conf",
        "@/a.conf:1: global: control-socket 'relative.sock' must be an absolute path",
        "@/a.conf:1: global: dataplane = \"ebpf\" is not one of: userspace, kernel, record",
        "@/a.conf:2: vdom 'root': the root VDOM is the daemon's own namespace and takes no "
        "netns",
        "@/a.conf:6: gateway 'b': proposal 'aes256-md5-ecp256': integrity algorithm 'md5' is "
        "not supported by libike (supported: sha1 sha256 sha384 sha512)",
        "@/a.conf:6: gateway 'b': keylife = 1 is out of range (10..604800)",
        "@/gw.inc:2: gateway 'a': dpd-retrycount = 0 is out of range (1..10)");
}

/* A pathological file is reported up to CFG_ERRORS_MAX, the rest counted. */
static void test_error_cap(void **state)
{
    struct cfgt *t = *state;
    size_t n = CFG_ERRORS_MAX + 100, len = 0;
    char *text = malloc(n * 32 + 32);
    assert_non_null(text);
    len += (size_t)sprintf(text, "global = {\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, "  bogus%zu = 1;\n", i);
    sprintf(text + len, "};\n");
    cfgt_write(t, "a.conf", text, 0644);
    free(text);

    char p[256], *out = NULL;
    size_t ol = 0;
    struct cfg *cfg = NULL;
    struct cfg_errors errs = {0};
    assert_int_equal(cfg_load(cfgt_path(t, "a.conf", p, sizeof(p)), &cfg, &errs), -1);
    assert_null(cfg);
    assert_int_equal(errs.n, CFG_ERRORS_MAX);
    assert_int_equal(errs.dropped, 100);
    char want[512];
    snprintf(want, sizeof(want), "%s:%d: global: unknown setting 'bogus%d'", p, CFG_ERRORS_MAX + 1,
             CFG_ERRORS_MAX - 1);
    assert_string_equal(errs.v[CFG_ERRORS_MAX - 1].text, want);
    FILE *f = open_memstream(&out, &ol);
    cfg_errors_print(&errs, f);
    fclose(f);
    assert_non_null(strstr(out, "\n(100 more errors)\n"));
    free(out);
    cfg_errors_clear(&errs);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, cfgt_setup, cfgt_teardown)
    const struct CMUnitTest tests[] = {
        T(test_missing_file),        T(test_syntax_error),  T(test_syntax_error_in_include),
        T(test_unknown_keys),        T(test_duplicates),    T(test_addresses),
        T(test_selector_subnets),    T(test_passive_modes), T(test_lifetimes_dpd_types),
        T(test_version_vdom_ids),    T(test_proposals),     T(test_missing_psk),
        T(test_many_errors_one_run), T(test_error_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
