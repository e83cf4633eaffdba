/*
 * SIGHUP support: cfg_gateway_equal() sees every change that matters to a
 * tunnel (and ignores mere line shifts), and cfg_adopt_unchanged() moves
 * unchanged gateway objects into the new config so SAs borrowing
 * &gw->sa stay valid.
 */
#include "test_config_util.h"

/* full.conf with `from` replaced by `to` (must occur once), as name. */
static void write_variant(const struct cfgt *t, const char *name, const char *from, const char *to)
{
    char src[512];
    snprintf(src, sizeof(src), "%s/full.conf", CFGT_DATA);
    char *text = cfgt_slurp(src);
    char *at = strstr(text, from);
    assert_non_null(at);
    assert_null(strstr(at + 1, from));
    size_t len = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(len);
    assert_non_null(out);
    snprintf(out, len, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    cfgt_write(t, name, out, 0644);
    free(out);
    free(text);
}

static struct cfg *load_pair(const struct cfgt *t, const char *name)
{
    cfgt_copy(t, "full_dialup.inc", "full_dialup.inc", 0644);
    cfgt_copy(t, "full.secrets", "full.secrets", 0600);
    return cfgt_load_ok(t, name);
}

static void test_identical_configs_equal(void **state)
{
    struct cfgt *t = *state;
    cfgt_copy(t, "full.conf", "full.conf", 0644);
    struct cfg *a = load_pair(t, "full.conf"), *b = load_pair(t, "full.conf");
    for (size_t i = 0; i < a->n_gateways; i++) {
        assert_ptr_not_equal(a->gateways[i], b->gateways[i]);
        assert_true(cfg_gateway_equal(a->gateways[i], b->gateways[i]));
    }
    assert_false(cfg_gateway_equal(a->gateways[0], b->gateways[1]));
    cfg_free(a);
    cfg_free(b);
}

/* One edit; only `changed` differs and the others are adopted. */
static void assert_change(const struct cfgt *t, const char *from, const char *to,
                          const char *changed)
{
    cfgt_copy(t, "full.conf", "full.conf", 0644);
    write_variant(t, "edited.conf", from, to);
    struct cfg *prev = load_pair(t, "full.conf"), *next = load_pair(t, "edited.conf");
    for (size_t i = 0; i < next->n_gateways; i++) {
        const struct cfg_gateway *ng = next->gateways[i];
        bool eq = cfg_gateway_equal(ng, cfg_gateway_find(prev, ng->name));
        if (eq == (strcmp(ng->name, changed) == 0))
            fail_msg("edit '%s' -> '%s': gateway %s %s", from, to, ng->name,
                     eq ? "still equal" : "differs");
    }
    const struct cfg_gateway *kept = cfg_gateway_find(prev, changed);
    assert_int_equal(cfg_adopt_unchanged(next, prev), 2);
    /* prev keeps only the changed gateway, next has its fresh copy */
    assert_int_equal(prev->n_gateways, 1);
    assert_ptr_equal(prev->gateways[0], kept);
    assert_ptr_not_equal(cfg_gateway_find(next, changed), kept);
    assert_int_equal(next->n_gateways, 3);
    cfg_free(prev);
    cfg_free(next);
}

static void test_each_change_detected(void **state)
{
    const struct cfgt *t = *state;
    assert_change(t, "dhgrp = \"21 20\";", "dhgrp = \"20 21\";", "fortios-style");
    assert_change(t, "remote-gw = \"198.51.100.1\";", "remote-gw = \"198.51.100.2\";",
                  "fortios-style");
    assert_change(t, "\"10.2.0.0/24\"", "\"10.2.1.0/24\"", "fortios-style");
    assert_change(t, "remote-port = 443;", "remote-port = 444;", "fortios-style");
    assert_change(t, "keylife = 3600;", "keylife = 3601;", "fortios-style");
    assert_change(t, "dpd-retrycount = 4;", "dpd-retrycount = 5;", "fortios-style");
    assert_change(t, "keepalive = true;", "keepalive = false;", "fortios-style");
    assert_change(t, "local-id = \"keyid:0a0b0c\";", "local-id = \"keyid:0a0b0d\";",
                  "strongswan-style");
    assert_change(t, "fragmentation = false;", "fragmentation = true;", "strongswan-style");
    assert_change(t, "replay-counter-sync = true;", "replay-counter-sync = false;",
                  "strongswan-style");
    assert_change(t, "rekey-jitter = 600;", "rekey-jitter = 601;", "strongswan-style");
    assert_change(t, "vdom = \"cust1\";", "vdom = \"root\";", "strongswan-style");
    assert_change(t, "proposal = \"aes256gcm16-ecp384\";", "proposal = \"aes256gcm16\";",
                  "strongswan-style");
}

/* The PSK lives in another file: changing it alone must be seen. */
static void test_psk_change_detected(void **state)
{
    struct cfgt *t = *state;
    cfgt_copy(t, "full.conf", "full.conf", 0644);
    struct cfg *prev = load_pair(t, "full.conf");
    char p[512];
    snprintf(p, sizeof(p), "%s/full.secrets", CFGT_DATA);
    char *text = cfgt_slurp(p);
    char *at = strstr(text, "battery");
    assert_non_null(at);
    at[0] = 'B';
    cfgt_write(t, "full.secrets", text, 0600);
    free(text);
    struct cfg *next = cfgt_load_ok(t, "full.conf");
    assert_false(cfg_gateway_equal(cfg_gateway_find(prev, "fortios-style"),
                                   cfg_gateway_find(next, "fortios-style")));
    assert_true(
        cfg_gateway_equal(cfg_gateway_find(prev, "dialup"), cfg_gateway_find(next, "dialup")));
    cfg_free(prev);
    cfg_free(next);
}

/* Lines moved by an edit elsewhere: still equal, adopted with new lines. */
static void test_line_shift_adopted(void **state)
{
    struct cfgt *t = *state;
    cfgt_copy(t, "full.conf", "full.conf", 0644);
    write_variant(t, "edited.conf", "# A complete", "#\n#\n#\n# A complete");
    struct cfg *prev = load_pair(t, "full.conf"), *next = load_pair(t, "edited.conf");
    struct cfg_gateway *old = cfg_gateway_find(prev, "fortios-style");
    const struct ike_sa_cfg *borrowed = &old->sa;
    assert_int_equal(cfg_adopt_unchanged(next, prev), 3);
    assert_int_equal(prev->n_gateways, 0);
    struct cfg_gateway *now = cfg_gateway_find(next, "fortios-style");
    assert_ptr_equal(now, old);
    assert_ptr_equal(&now->sa, borrowed);
    assert_int_equal(now->line, 26);
    assert_int_equal(now->selectors[1].line, 54);
    char want[256];
    snprintf(want, sizeof(want), "%s/edited.conf", t->dir);
    assert_string_equal(now->file, want);
    cfg_free(prev);
    /* the adopted gateway is intact and owned by next now */
    assert_string_equal(now->sa.name, "fortios-style");
    assert_int_equal(now->sa.psk->len, strlen("correct horse battery staple"));
    cfg_free(next);
}

/* A changed VDOM namespace changes every gateway in it. */
static void test_vdom_change_blocks_adoption(void **state)
{
    struct cfgt *t = *state;
    cfgt_copy(t, "full.conf", "full.conf", 0644);
    write_variant(t, "edited.conf", "netns = \"ns-cust1\";", "netns = \"ns-other\";");
    struct cfg *prev = load_pair(t, "full.conf"), *next = load_pair(t, "edited.conf");
    assert_true(cfg_gateway_equal(cfg_gateway_find(prev, "strongswan-style"),
                                  cfg_gateway_find(next, "strongswan-style")));
    assert_int_equal(cfg_adopt_unchanged(next, prev), 2);
    assert_int_equal(prev->n_gateways, 1);
    assert_string_equal(prev->gateways[0]->name, "strongswan-style");
    cfg_free(prev);
    cfg_free(next);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, cfgt_setup, cfgt_teardown)
    const struct CMUnitTest tests[] = {
        T(test_identical_configs_equal),     T(test_each_change_detected),
        T(test_psk_change_detected),         T(test_line_shift_adopted),
        T(test_vdom_change_blocks_adoption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
