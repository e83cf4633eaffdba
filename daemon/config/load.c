/*
 * cfg_load(): parse the main file (libconfig, @include relative to its
 * directory), load each section collecting every error, then read the
 * secrets file and give each gateway its PSK.
 */
#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/loader.h"
#include "config/secrets.h"

static void attach_psks(struct cfg_loader *l, struct cfg *cfg)
{
    if (cfg->n_gateways == 0)
        return; /* nothing needs a secret: do not insist on the file */
    struct cfg_secrets sec;
    int rc = cfg_secrets_load(cfg->global.secrets_file, &sec, l->errs);
    for (size_t i = 0; rc == 0 && i < cfg->n_gateways; i++) {
        struct cfg_gateway *gw = cfg->gateways[i];
        const struct cfg_secret_entry *e = cfg_secrets_find(&sec, gw->name, &gw->sa.remote_id);
        if (!e) {
            cfg_errors_add(l->errs, gw->file, gw->line,
                           "gateway '%s': no PSK in %s (add { gateway = \"%s\"; psk = \"...\"; })",
                           gw->name, cfg->global.secrets_file, gw->name);
            continue;
        }
        char src[512];
        snprintf(src, sizeof(src), "%s:%d", e->file, e->line);
        if (ike_secret_dup(e->psk, &gw->psk) != IKE_OK || !(gw->psk_source = strdup(src))) {
            cfg_errors_add(l->errs, l->main_path, 0, "out of memory");
            continue;
        }
        gw->sa.psk = gw->psk;
    }
    cfg_secrets_free(&sec);
}

static void load_root(struct cfg_loader *l, const config_setting_t *root, struct cfg *cfg)
{
    static const char *const keys[] = {"global", "vdoms", "gateways", "ha", NULL};
    cfgl_check_keys(l, root, keys, "");
    cfg_load_global(l, root, cfg);
    cfg_load_vdoms(l, root, cfg);
    cfg_load_gateways(l, root, cfg);
    cfg_load_ha(l, root, cfg); /* after the VDOMs it assigns */
}

/* Directory of path for @include ("." when it has none). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static int parse_file(struct cfg_loader *l, config_t *c, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        cfg_errors_add(l->errs, path, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    fclose(f);
    char *dir = dir_of(path);
    if (!dir) {
        cfg_errors_add(l->errs, path, 0, "out of memory");
        return -1;
    }
    config_set_include_dir(c, dir);
    l->include_dir = dir;
    if (config_read_file(c, path) != CONFIG_TRUE) {
        const char *file = config_error_file(c);
        if (file && file[0] != '/' && strcmp(file, path) != 0) {
            char joined[4096];
            snprintf(joined, sizeof(joined), "%s/%s", dir, file);
            cfg_errors_add(l->errs, joined, config_error_line(c), "%s", config_error_text(c));
        } else
            cfg_errors_add(l->errs, file ? file : path, config_error_line(c), "%s",
                           config_error_text(c));
        return -1;
    }
    return 0;
}

int cfg_load(const char *path, struct cfg **out, struct cfg_errors *errs)
{
    struct cfg_loader l = {
        .errs = errs, .main_path = path, .errs_at_start = errs->n + errs->dropped};
    *out = NULL;
    struct cfg *cfg = calloc(1, sizeof(*cfg));
    if (!cfg || !(cfg->path = strdup(path))) {
        free(cfg);
        cfg_errors_add(errs, path, 0, "out of memory");
        return -1;
    }
    config_t c;
    config_init(&c);
    if (parse_file(&l, &c, path) == 0) {
        load_root(&l, config_root_setting(&c), cfg);
        if (!cfgl_failed(&l))
            attach_psks(&l, cfg);
    }
    config_destroy(&c);
    cfgl_done(&l);
    free(l.include_dir);
    if (cfgl_failed(&l)) {
        cfg_errors_sort(errs, l.errs_at_start < errs->n ? l.errs_at_start : errs->n);
        cfg_free(cfg);
        return -1;
    }
    *out = cfg;
    return 0;
}
