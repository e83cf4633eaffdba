/*
 * Internal to daemon/config/: reading libconfig settings with every
 * problem reported as "file:line: reason" and loading carried on, so one
 * run shows all errors. Getters return 1 (present and valid), 0 (absent)
 * or -1 (present but invalid, already reported).
 */
#ifndef HAIKED_CFG_LOADER_H
#define HAIKED_CFG_LOADER_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct cfg_loader {
    struct cfg_errors *errs;
    const char *main_path; /* file of settings libconfig has no name for */
    size_t errs_at_start;
    /* libconfig names @include'd files as written; we report them joined
     * with the include directory (the main file's), interned here. */
    char *include_dir;
    char **names;
    size_t n_names;
};

/* Orders errs->v[from..n) by file (in order of first appearance), then
 * line, keeping the order of errors on the same line (errors.c). */
void cfg_errors_sort(struct cfg_errors *errs, size_t from);

/* Frees the interned names. */
void cfgl_done(struct cfg_loader *l);

const char *cfgl_file(const struct cfg_loader *l, const config_setting_t *s);
int cfgl_line(const config_setting_t *s);
/* where ("gateway 'x'", may be "") prefixes the reason as "where: ". */
void cfgl_err(struct cfg_loader *l, const config_setting_t *s, const char *where, const char *fmt,
              ...) __attribute__((format(printf, 4, 5)));
bool cfgl_failed(const struct cfg_loader *l);

/* Every child of group whose name is not in allowed (NULL-terminated) is
 * an error, with a "did you mean" for near misses. */
void cfgl_check_keys(struct cfg_loader *l, const config_setting_t *group,
                     const char *const *allowed, const char *where);

int cfgl_string(struct cfg_loader *l, const config_setting_t *grp, const char *key,
                const char *where, const char **out);
int cfgl_uint(struct cfg_loader *l, const config_setting_t *grp, const char *key, const char *where,
              uint64_t min, uint64_t max, uint64_t *out);
int cfgl_u32(struct cfg_loader *l, const config_setting_t *grp, const char *key, const char *where,
             uint32_t min, uint32_t max, uint32_t *out);
int cfgl_bool(struct cfg_loader *l, const config_setting_t *grp, const char *key, const char *where,
              bool *out);
/* A string among names (NULL-terminated); *out is its index. */
int cfgl_enum(struct cfg_loader *l, const config_setting_t *grp, const char *key, const char *where,
              const char *const *names, int *out);
/* A string or a list/array of strings: out[0..*n) (at most max) and the
 * setting of each (for its line). */
int cfgl_strings(struct cfg_loader *l, const config_setting_t *grp, const char *key,
                 const char *where, size_t max, const char **out, const config_setting_t **elems,
                 size_t *n);

/* A group (or list of groups) member: "vdoms", "gateways", ... absent is
 * 0, not a list of groups is -1 (reported). */
int cfgl_group_list(struct cfg_loader *l, const config_setting_t *grp, const char *key,
                    const char *where, const config_setting_t **out);

/* strdup that records an out-of-memory error instead of returning NULL
 * silently. */
char *cfgl_strdup(struct cfg_loader *l, const char *s);

/* Names of gateways, selectors and VDOMs: 1..CFG_NAME_MAX of
 * [A-Za-z0-9_.-], so they survive logs, hactl arguments and JSON as is. */
bool cfgl_name_ok(const char *s);

/* Loaders of each section (load_*.c); each reports into l and fills cfg
 * as far as it can. */
void cfg_load_global(struct cfg_loader *l, const config_setting_t *root, struct cfg *cfg);
void cfg_load_vdoms(struct cfg_loader *l, const config_setting_t *root, struct cfg *cfg);
void cfg_load_gateways(struct cfg_loader *l, const config_setting_t *root, struct cfg *cfg);
/* The `ha` group (load_ha.c); after cfg_load_vdoms. */
void cfg_load_ha(struct cfg_loader *l, const config_setting_t *root, struct cfg *cfg);
void cfg_ha_free(struct cfg_ha *ha);
/* Selectors of one gateway (load_selector.c). */
void cfg_load_selectors(struct cfg_loader *l, const config_setting_t *gw_set,
                        struct cfg_gateway *gw, const char *where);
/* keylife / hard-lifetime / rekey-jitter (and for CHILD SAs the -bytes
 * and -packets variants) of set into out, defaults from default_soft_s
 * (lifetime.c). */
#define CFG_LIFETIME_MIN_S 10
#define CFG_LIFETIME_MAX_S 604800
void cfgl_lifetime(struct cfg_loader *l, const config_setting_t *set, const char *where,
                   uint32_t default_soft_s, bool child, struct cfg_lifetime *out);
/* dhgrp = "21 20"; or dhgrp = 21; or dhgrp = [21, 20]; into
 * out[0..*n) (IKE_CFG_MAX_TRANSFORMS entries); 1/0/-1 as the getters. */
int cfg_load_dhgrp(struct cfg_loader *l, const config_setting_t *set, const char *where,
                   uint16_t *out, size_t *n);
/* Frees one gateway and everything it owns (model.c). */
void cfg_gateway_free(struct cfg_gateway *gw);
#endif
