/*
 * A gateway's route-based (kernel data plane: a VTI device "hk-NAME" per
 * gateway, daemon/esp/dp_xfrm_vti.c): false by default, true/false only,
 * an explicit false is an error with the userspace data plane (only
 * route-based there), two route-based gateways of one VDOM whose device
 * names would be the same are an error naming the other's file:line; a
 * changed setting makes the gateway differ on reload.
 */
#include "test_config_util.h"

#define GW_OK "proposal = \"aes256-sha256-ecp256\";"

/* a.conf with the dataplane, the VDOMs and the gateways given (each line
 * of gws is one gateway group), s.conf with a PSK for each name. */
static void write_conf(const struct cfgt *t, const char *dataplane, const char *gws,
                       const char *const *names, size_t n)
{
    char text[4096], secrets[2048];
    snprintf(text, sizeof(text),
             "global = { dataplane = \"%s\"; secrets-file = \"s.conf\"; };\n"
             "vdoms = ( { name = \"root\"; }, { name = \"cust\"; netns = \"ns-cust\"; } );\n"
             "gateways = (\n%s);\n",
             dataplane, gws);
    cfgt_write(t, "a.conf", text, 0644);
    size_t off = (size_t)snprintf(secrets, sizeof(secrets), "secrets = (");
    for (size_t i = 0; i < n; i++)
        off +=
            (size_t)snprintf(secrets + off, sizeof(secrets) - off,
                             "%s { gateway = \"%s\"; psk = \"k%zu\"; }", i ? "," : "", names[i], i);
    snprintf(secrets + off, sizeof(secrets) - off, " );\n");
    cfgt_write(t, "s.conf", secrets, 0600);
}

static const struct cfg_gateway *gw(const struct cfg *cfg, const char *name)
{
    const struct cfg_gateway *g = cfg_gateway_find(cfg, name);
    assert_non_null(g);
    return g;
}

static void test_default_and_values(void **state)
{
    static const char *const names[] = {"a", "b", "c"};
    write_conf(*state, "kernel",
               "  { name = \"a\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.2\"; " GW_OK
               " },\n"
               "  { name = \"b\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.3\"; " GW_OK
               " route-based = true; },\n"
               "  { name = \"c\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.4\"; " GW_OK
               " route-based = false; }\n",
               names, 3);
    struct cfg *cfg = cfgt_load_ok(*state, "a.conf");
    assert_false(gw(cfg, "a")->route_based);
    assert_true(gw(cfg, "b")->route_based);
    assert_false(gw(cfg, "c")->route_based);
    cfg_free(cfg);
}

/* Dial-up and IPv6 gateways may be route-based (VTI without a remote,
 * ip6_vti); the userspace data plane takes an explicit true. */
static void test_dialup_v6_userspace(void **state)
{
    static const char *const names[] = {"dial", "six"};
    const char *gws =
        "  { name = \"dial\"; local-gw = \"192.0.2.1\"; remote-gw = \"any\"; " GW_OK
        " route-based = true; },\n"
        "  { name = \"six\"; local-gw = \"2001:db8::1\"; remote-gw = \"2001:db8::2\"; " GW_OK
        " route-based = true; }\n";
    write_conf(*state, "kernel", gws, names, 2);
    struct cfg *cfg = cfgt_load_ok(*state, "a.conf");
    assert_true(gw(cfg, "dial")->route_based && gw(cfg, "dial")->remote_any);
    assert_true(gw(cfg, "six")->route_based);
    cfg_free(cfg);
    write_conf(*state, "userspace", gws, names, 2);
    cfg = cfgt_load_ok(*state, "a.conf");
    assert_true(gw(cfg, "six")->route_based);
    cfg_free(cfg);
}

static void test_bad_values(void **state)
{
    static const char *const names[] = {"a", "b"};
    write_conf(*state, "kernel",
               "  { name = \"a\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.2\"; " GW_OK
               "\n    route-based = \"vti\"; },\n"
               "  { name = \"b\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.3\"; " GW_OK
               "\n    route-based = 1; }\n",
               names, 2);
    CFGT_EXPECT(*state, "a.conf", "@/a.conf:5: gateway 'a': route-based must be true or false",
                "@/a.conf:7: gateway 'b': route-based must be true or false");
}

/* Policy-based tunnels exist only in the kernel data plane. */
static void test_policy_based_needs_kernel(void **state)
{
    static const char *const names[] = {"a"};
    write_conf(*state, "userspace",
               "  { name = \"a\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.2\"; " GW_OK
               "\n    route-based = false; }\n",
               names, 1);
    CFGT_EXPECT(*state, "a.conf",
                "@/a.conf:5: gateway 'a': route-based = false: the userspace data plane is "
                "route-based only (a TUN per gateway); policy-based tunnels need dataplane = "
                "\"kernel\"");
}

/* "hk-" + 12 characters: "branch-office-1" and "branch-office-2" would
 * share hk-branch-offic. Other VDOMs (namespaces) and policy-based
 * gateways have no device there, and 12 different characters are enough. */
static void test_device_name_clash(void **state)
{
    static const char *const names[] = {"branch-office-1", "branch-office-2", "branch-office-3",
                                        "branch-office-4", "branch-offiX"};
    write_conf(*state, "kernel",
               "  { name = \"branch-office-1\"; local-gw = \"192.0.2.1\"; remote-gw = "
               "\"192.0.2.2\"; " GW_OK " route-based = true; },\n"
               "  { name = \"branch-office-2\"; local-gw = \"192.0.2.1\"; remote-gw = "
               "\"192.0.2.3\"; " GW_OK " route-based = true; },\n"
               "  { name = \"branch-office-3\"; vdom = \"cust\"; local-gw = \"192.0.2.1\"; "
               "remote-gw = \"192.0.2.4\"; " GW_OK " route-based = true; },\n"
               "  { name = \"branch-office-4\"; local-gw = \"192.0.2.1\"; remote-gw = "
               "\"192.0.2.5\"; " GW_OK " },\n"
               "  { name = \"branch-offiX\"; local-gw = \"192.0.2.1\"; remote-gw = "
               "\"192.0.2.7\"; " GW_OK " route-based = true; }\n",
               names, 5);
    CFGT_EXPECT(
        *state, "a.conf",
        "@/a.conf:5: gateway 'branch-office-2': device name hk-branch-offic is taken by "
        "gateway 'branch-office-1' (@/a.conf:4): route-based gateways of one vdom need names "
        "that differ in the first 12 characters");
}

static void test_reload_sees_change(void **state)
{
    static const char *const names[] = {"a"};
    const char *on = "  { name = \"a\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.2\"; " GW_OK
                     " route-based = true; }\n";
    const char *off =
        "  { name = \"a\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.2\"; " GW_OK " }\n";
    write_conf(*state, "kernel", on, names, 1);
    struct cfg *a = cfgt_load_ok(*state, "a.conf"), *b;
    write_conf(*state, "kernel", off, names, 1);
    b = cfgt_load_ok(*state, "a.conf");
    assert_false(cfg_gateway_equal(gw(a, "a"), gw(b, "a")));
    cfg_free(b);
    write_conf(*state, "kernel", on, names, 1);
    b = cfgt_load_ok(*state, "a.conf");
    assert_true(cfg_gateway_equal(gw(a, "a"), gw(b, "a")));
    cfg_free(a);
    cfg_free(b);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, cfgt_setup, cfgt_teardown)
    const struct CMUnitTest tests[] = {
        T(test_default_and_values),        T(test_dialup_v6_userspace), T(test_bad_values),
        T(test_policy_based_needs_kernel), T(test_device_name_clash),   T(test_reload_sees_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
