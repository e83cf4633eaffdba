/*
 * libFuzzer target for haiked's configuration loader: the input, cut at
 * its first NUL byte, is a haiked.conf and a secrets file, written to a
 * private directory (secrets.conf with mode 0600) and loaded as the daemon
 * loads them. Checked: a load either succeeds with a consistent model
 * (every pointer libike will follow is set, counts in bounds, lifetimes
 * ordered) and an identical second load is adopted whole by the reload
 * path, or it fails with at least one non-empty "file:line: reason".
 * Inputs using @include are skipped: they would read arbitrary files.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "config/secrets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libconfig 1.5's scanner leaks a string buffer on some syntax errors
 * (inside libconfig_yylex, nothing of ours on the stack): not our bug, and
 * without this LeakSanitizer stops every campaign at the first one. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libconfig.so\n";
}

static char dir[64];
static char main_path[96];
static char secrets_path[96];

static void cleanup(void)
{
    unlink(main_path);
    unlink(secrets_path);
    rmdir(dir);
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/fuzz_config.XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(main_path, sizeof(main_path), "%s/haiked.conf", dir);
    snprintf(secrets_path, sizeof(secrets_path), "%s/secrets.conf", dir);
    atexit(cleanup);
}

static void write_file(const char *path, const uint8_t *data, size_t len, mode_t mode)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0 || chmod(path, mode) != 0)
        abort();
}

static void check_selector(const struct cfg_gateway *gw, size_t i)
{
    const struct cfg_selector *s = &gw->selectors[i];
    const struct ike_cfg_child *c = s->child;
    if (c != &gw->children[i] || !s->name || c->name != s->name || !s->file)
        abort();
    if (c->n_proposals < 1 || c->n_proposals > IKE_CFG_MAX_PROPOSALS)
        abort();
    if (c->n_local_ts < 1 || c->n_local_ts > IKE_CFG_MAX_TS || c->n_remote_ts < 1 ||
        c->n_remote_ts > IKE_CFG_MAX_TS)
        abort();
    if (s->lifetime.soft_s >= s->lifetime.hard_s || s->lifetime.jitter_s >= s->lifetime.soft_s)
        abort();
    if (cfg_selector_find(gw, s->name) != s)
        abort();
}

static void check_ok(const struct cfg *cfg)
{
    if (cfg->n_vdoms < 1 || strcmp(cfg->vdoms[0].name, "root") != 0)
        abort();
    for (size_t i = 0; i < cfg->n_gateways; i++) {
        const struct cfg_gateway *gw = cfg->gateways[i];
        const struct ike_sa_cfg *sa = &gw->sa;
        if (cfg_gateway_find(cfg, gw->name) != gw || !cfg_vdom_find(cfg, gw->vdom))
            abort();
        if (sa->name != gw->name || !sa->psk || sa->psk != gw->psk || !gw->psk_source)
            abort();
        if (sa->n_proposals < 1 || sa->n_proposals > IKE_CFG_MAX_PROPOSALS)
            abort();
        for (size_t p = 0; p < sa->n_proposals; p++)
            if (!sa->proposals[p].n_encr || !sa->proposals[p].n_prf || !sa->proposals[p].n_dh)
                abort();
        if (sa->children != gw->children || sa->n_children != gw->n_selectors)
            abort();
        if (sa->local.family != sa->remote.family || (gw->passive && gw->auto_negotiate))
            abort();
        if (gw->lifetime.soft_s >= gw->lifetime.hard_s)
            abort();
        if (!cfg_gateway_equal(gw, gw))
            abort();
        for (size_t s = 0; s < gw->n_selectors; s++)
            check_selector(gw, s);
    }
}

static void check_failed(const struct cfg *cfg, const struct cfg_errors *errs)
{
    if (cfg || errs->n + errs->dropped == 0)
        abort();
    for (size_t i = 0; i < errs->n; i++)
        if (!errs->v[i].text[0] || !errs->v[i].reason[0] || errs->v[i].line < 0)
            abort();
}

/* Load twice: the second load must be adopted whole by the first. */
static void load_and_check(void)
{
    struct cfg *cfg = NULL, *again = NULL;
    struct cfg_errors errs = {0};
    if (cfg_load(main_path, &cfg, &errs) != 0) {
        check_failed(cfg, &errs);
        cfg_errors_clear(&errs);
        return;
    }
    if (errs.n)
        abort();
    check_ok(cfg);
    if (cfg_load(main_path, &again, &errs) != 0)
        abort();
    size_t n = again->n_gateways;
    if (cfg_adopt_unchanged(again, cfg) != n || cfg->n_gateways != 0)
        abort();
    cfg_free(cfg);
    cfg_free(again);
    cfg_errors_clear(&errs);
}

static void secrets_check(void)
{
    struct cfg_secrets sec;
    struct cfg_errors errs = {0};
    int rc = cfg_secrets_load(secrets_path, &sec, &errs);
    if (rc == 0 && errs.n)
        abort();
    for (size_t i = 0; i < sec.n; i++)
        if (!sec.v[i].psk || !sec.v[i].psk->len || (!sec.v[i].gateway == !sec.v[i].id.type))
            abort();
    cfg_secrets_free(&sec);
    cfg_errors_clear(&errs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0])
        setup();
    if (memmem(data, size, "@include", 8))
        return 0;
    const uint8_t *nul = memchr(data, 0, size);
    size_t main_len = nul ? (size_t)(nul - data) : size;
    const uint8_t *sec = nul ? nul + 1 : data + size;
    write_file(main_path, data, main_len, 0644);
    write_file(secrets_path, sec, size - (size_t)(sec - data), 0600);
    load_and_check();
    secrets_check();
    return 0;
}
