/*
 * A selector's replay-window (FortiOS `set replay disable`): a number of
 * packets or "disable", absent = the data plane's default; bad values are
 * reported with file:line; a changed window makes the gateway differ on
 * reload (its tunnels come back with the new window).
 */
#include "test_config_util.h"

/* The "lan" selector of full.conf gets `setting` after its add-route. */
#define ANCHOR "                add-route = true;\n"

static void write_lan(const struct cfgt *t, const char *name, const char *setting)
{
    char src[512];
    snprintf(src, sizeof(src), "%s/full.conf", CFGT_DATA);
    char *text = cfgt_slurp(src);
    char *at = strstr(text, ANCHOR);
    assert_non_null(at);
    assert_null(strstr(at + 1, ANCHOR));
    at += strlen(ANCHOR);
    size_t len = strlen(text) + strlen(setting) + 1;
    char *out = malloc(len);
    assert_non_null(out);
    snprintf(out, len, "%.*s%s%s", (int)(at - text), text, setting, at);
    cfgt_write(t, name, out, 0644);
    free(out);
    free(text);
    cfgt_copy(t, "full_dialup.inc", "full_dialup.inc", 0644);
    cfgt_copy(t, "full.secrets", "full.secrets", 0600);
}

static const struct cfg_selector *lan(const struct cfg *cfg)
{
    const struct cfg_gateway *gw = cfg_gateway_find(cfg, "fortios-style");
    assert_non_null(gw);
    const struct cfg_selector *s = cfg_selector_find(gw, "lan");
    assert_non_null(s);
    return s;
}

static void test_default_window(void **state)
{
    write_lan(*state, "a.conf", "");
    struct cfg *cfg = cfgt_load_ok(*state, "a.conf");
    assert_false(lan(cfg)->replay_set);
    cfg_free(cfg);
}

static void test_window_values(void **state)
{
    static const struct {
        const char *text;
        uint32_t window;
    } ok[] = {
        {"replay-window = 64;\n", 64},         {"replay-window = 4096;\n", 4096},
        {"replay-window = 1;\n", 1},           {"replay-window = 0;\n", 0},
        {"replay-window = \"disable\";\n", 0},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        write_lan(*state, "a.conf", ok[i].text);
        struct cfg *cfg = cfgt_load_ok(*state, "a.conf");
        assert_true(lan(cfg)->replay_set);
        assert_int_equal(lan(cfg)->replay_window, ok[i].window);
        cfg_free(cfg);
    }
}

static void test_bad_windows(void **state)
{
    /* the anchor is line 49 of full.conf: the setting lands on line 50 */
    write_lan(*state, "a.conf", "replay-window = 4097;\n");
    CFGT_EXPECT(
        *state, "a.conf",
        "@/a.conf:50: gateway 'fortios-style' selector 'lan': replay-window = 4097 is out of range "
        "(0..4096 packets, or \"disable\")");
    write_lan(*state, "a.conf", "replay-window = -1;\n");
    CFGT_EXPECT(
        *state, "a.conf",
        "@/a.conf:50: gateway 'fortios-style' selector 'lan': replay-window = -1 is out of range "
        "(0..4096 packets, or \"disable\")");
    write_lan(*state, "a.conf", "replay-window = \"off\";\n");
    CFGT_EXPECT(
        *state, "a.conf",
        "@/a.conf:50: gateway 'fortios-style' selector 'lan': replay-window must be a number of "
        "packets or \"disable\"");
    write_lan(*state, "a.conf", "replay-window = true;\n");
    CFGT_EXPECT(
        *state, "a.conf",
        "@/a.conf:50: gateway 'fortios-style' selector 'lan': replay-window must be a number of "
        "packets or \"disable\"");
}

static void test_reload_sees_window(void **state)
{
    write_lan(*state, "a.conf", "replay-window = 64;\n");
    write_lan(*state, "b.conf", "replay-window = \"disable\";\n");
    write_lan(*state, "c.conf", "replay-window = 64;\n");
    struct cfg *a = cfgt_load_ok(*state, "a.conf"), *b = cfgt_load_ok(*state, "b.conf"),
               *c = cfgt_load_ok(*state, "c.conf");
    const char *gw = "fortios-style";
    assert_false(cfg_gateway_equal(cfg_gateway_find(a, gw), cfg_gateway_find(b, gw)));
    assert_true(cfg_gateway_equal(cfg_gateway_find(a, gw), cfg_gateway_find(c, gw)));
    cfg_free(a);
    cfg_free(b);
    cfg_free(c);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, cfgt_setup, cfgt_teardown)
    const struct CMUnitTest tests[] = {
        T(test_default_window),
        T(test_window_values),
        T(test_bad_windows),
        T(test_reload_sees_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
