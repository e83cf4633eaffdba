/*
 * The secrets file: refused unless a regular file owned by root with no
 * group/other bits; PSK encodings; lookup by gateway name and by remote
 * ID; and no PSK value ever appears in an error message.
 */
#include "test_config_util.h"

#define MARK "Sekr1t-Marker"

static const char main_conf[] =
    "global = { secrets-file = \"s.conf\"; };\n"
    "gateways = (\n"
    "  { name = \"a\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.2\";\n"
    "    proposal = \"aes256-sha256-ecp256\"; },\n"
    "  { name = \"b\"; local-gw = \"192.0.2.1\"; remote-gw = \"192.0.2.3\";\n"
    "    proposal = \"aes256-sha256-ecp256\"; remote-id = \"b@example.com\"; }\n"
    ");\n";

static const char good_secrets[] = "secrets = ( { gateway = \"a\"; psk = \"" MARK "-a\"; },\n"
                                   "  { remote-id = \"b@example.com\"; psk = \"0x"
                                   "0102ff\"; } );\n";

static void write_pair(const struct cfgt *t, const char *secrets, mode_t mode)
{
    cfgt_write(t, "a.conf", main_conf, 0644);
    cfgt_write(t, "s.conf", secrets, mode);
}

static void test_good_secrets(void **state)
{
    write_pair(*state, good_secrets, 0600);
    struct cfg *cfg = cfgt_load_ok(*state, "a.conf");
    const struct cfg_gateway *a = cfg_gateway_find(cfg, "a"), *b = cfg_gateway_find(cfg, "b");
    assert_int_equal(a->psk->len, strlen(MARK "-a"));
    assert_memory_equal(a->psk->data, MARK "-a", a->psk->len);
    assert_ptr_equal(a->sa.psk, a->psk);
    assert_int_equal(b->psk->len, 3);
    assert_memory_equal(b->psk->data, "\x01\x02\xff", 3);
    cfg_free(cfg);
}

static void test_mode_0644_refused(void **state)
{
    write_pair(*state, good_secrets, 0644);
    CFGT_EXPECT(
        *state, "a.conf",
        "@/s.conf: secrets file must not be accessible by group or others (mode 0644; chmod "
        "600 it)");
}

static void test_group_readable_refused(void **state)
{
    write_pair(*state, good_secrets, 0640);
    CFGT_EXPECT(
        *state, "a.conf",
        "@/s.conf: secrets file must not be accessible by group or others (mode 0640; chmod "
        "600 it)");
}

static void test_non_root_owner_refused(void **state)
{
    struct cfgt *t = *state;
    char p[256];
    write_pair(t, good_secrets, 0600);
    assert_int_equal(chown(cfgt_path(t, "s.conf", p, sizeof(p)), 65534, 65534), 0);
    CFGT_EXPECT(t, "a.conf", "@/s.conf: secrets file must be owned by root (owner uid is 65534)");
    /* both problems at once are both reported */
    assert_int_equal(chmod(p, 0604), 0);
    CFGT_EXPECT(
        t, "a.conf", "@/s.conf: secrets file must be owned by root (owner uid is 65534)",
        "@/s.conf: secrets file must not be accessible by group or others (mode 0604; chmod "
        "600 it)");
}

static void test_not_regular_or_missing(void **state)
{
    struct cfgt *t = *state;
    char p[256];
    cfgt_write(t, "a.conf", main_conf, 0644);
    CFGT_EXPECT(t, "a.conf", "@/s.conf: cannot open secrets file: No such file or directory");
    assert_int_equal(mkdir(cfgt_path(t, "s.conf", p, sizeof(p)), 0700), 0);
    CFGT_EXPECT(t, "a.conf", "@/s.conf: secrets file is not a regular file");
}

static void test_no_gateways_no_secrets_needed(void **state)
{
    cfgt_write(*state, "a.conf", "global = { secrets-file = \"missing.conf\"; };\n", 0644);
    struct cfg *cfg = cfgt_load_ok(*state, "a.conf");
    assert_int_equal(cfg->n_gateways, 0);
    cfg_free(cfg);
}

static void test_psk_encodings(void **state)
{
    write_pair(*state,
               "secrets = ( { gateway = \"a\"; psk = \"0sAAEC/w==\"; },\n"
               "  { gateway = \"b\"; psk = \"0X"
               "DEADbeef\"; } );\n",
               0600);
    struct cfg *cfg = cfgt_load_ok(*state, "a.conf");
    const struct cfg_gateway *a = cfg_gateway_find(cfg, "a"), *b = cfg_gateway_find(cfg, "b");
    assert_int_equal(a->psk->len, 4);
    assert_memory_equal(a->psk->data, "\x00\x01\x02\xff", 4);
    /* gateway name wins over the remote-id entry */
    assert_int_equal(b->psk->len, 4);
    assert_memory_equal(b->psk->data, "\xde\xad\xbe\xef", 4);
    cfg_free(cfg);
}

/* Every kind of bad entry, each with a PSK carrying MARK: all reported, the
 * marker never printed. */
static void test_errors_never_show_psk(void **state)
{
    struct cfgt *t = *state;
    write_pair(t,
               "secrets = (\n"
               "  { gateway = \"a\"; psk = \"" MARK "1\"; },\n"
               "  { gateway = \"a\"; psk = \"" MARK "2\"; },\n"
               "  { gateway = \"b\"; psk = \"0x" MARK "\"; },\n"
               "  { gateway = \"b\"; psk = \"0s" MARK "\"; },\n"
               "  { gateway = \"b\"; psk = \"\"; },\n"
               "  { gateway = \"b\"; remote-id = \"x@y\"; psk = \"" MARK "3\"; },\n"
               "  { gateway = \"b\"; key = \"" MARK "4\"; },\n"
               "  { remote-id = \"CN=x\"; psk = \"" MARK "5\"; }\n"
               ");\n"
               "extra = \"" MARK "6\";\n",
               0600);
    CFGT_EXPECT(
        t, "a.conf", "@/s.conf:3: secret #2: duplicate entry for gateway 'a' (first at line 2)",
        "@/s.conf:4: secret #3: psk starting with 0x must be followed by an even number of "
        "hex digits",
        "@/s.conf:5: secret #4: psk starting with 0s must be followed by valid base64",
        "@/s.conf:6: secret #5: psk is empty",
        "@/s.conf:7: secret #6: give exactly one of gateway or remote-id",
        "@/s.conf:8: secret #7: unknown setting 'key'",
        "@/s.conf:9: secret #8: remote-id: identity 'CN=x' looks like a distinguished name; "
        "those need certificates, which haiked does not support (use an FQDN, e-mail or "
        "address)",
        "@/s.conf:11: unknown setting 'extra' (the secrets file holds only secrets = ( ... );)");

    /* and through --check-config's output */
    char p[256], *out = NULL, *err = NULL;
    size_t ol = 0, el = 0;
    FILE *fo = open_memstream(&out, &ol), *fe = open_memstream(&err, &el);
    assert_int_equal(cfg_check_main(cfgt_path(t, "a.conf", p, sizeof(p)), fo, fe), 1);
    fclose(fo);
    fclose(fe);
    assert_non_null(strstr(err, "secret #3"));
    assert_null(strstr(err, MARK));
    assert_null(strstr(out, MARK));
    free(out);
    free(err);
}

static void test_syntax_error_hides_psk(void **state)
{
    write_pair(*state, "secrets = ( { gateway = \"a\"; psk = \"" MARK "\" " MARK " } );\n", 0600);
    CFGT_EXPECT(*state, "a.conf", "@/s.conf:1: syntax error");
}

static void test_include_refused(void **state)
{
    struct cfgt *t = *state;
    cfgt_write(t, "a.conf", main_conf, 0644);
    /* an included file's settings would escape the permission check */
    cfgt_write(t, "inc.conf", "secrets = ( { gateway = \"a\"; psk = \"x\"; } );\n", 0644);
    char text[512];
    snprintf(text, sizeof(text), "@include \"%s/inc.conf\"\n", t->dir);
    cfgt_write(t, "s.conf", text, 0600);
    CFGT_EXPECT(t, "a.conf", "@/s.conf: @include is not allowed in the secrets file");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, cfgt_setup, cfgt_teardown)
    const struct CMUnitTest tests[] = {
        T(test_good_secrets),           T(test_mode_0644_refused),
        T(test_group_readable_refused), T(test_non_root_owner_refused),
        T(test_not_regular_or_missing), T(test_no_gateways_no_secrets_needed),
        T(test_psk_encodings),          T(test_errors_never_show_psk),
        T(test_syntax_error_hides_psk), T(test_include_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
