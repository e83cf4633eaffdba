/*
 * libconfig access for the loader. Type mismatches are errors, not
 * conversions: `keylife = "3600";` is as likely a mistake as a typo'd key.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/loader.h"

void cfgl_done(struct cfg_loader *l)
{
    for (size_t i = 0; i < l->n_names; i++)
        free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->n_names = 0;
}

static const char *intern_joined(struct cfg_loader *l, const char *f)
{
    size_t need = strlen(l->include_dir) + 1 + strlen(f) + 1;
    for (size_t i = 0; i < l->n_names; i++) {
        const char *n = l->names[i];
        size_t dl = strlen(l->include_dir);
        if (strncmp(n, l->include_dir, dl) == 0 && n[dl] == '/' && strcmp(n + dl + 1, f) == 0)
            return n;
    }
    char **v = realloc(l->names, (l->n_names + 1) * sizeof(*v));
    char *p = malloc(need);
    if (!v || !p) {
        free(p);
        if (v)
            l->names = v;
        return f;
    }
    l->names = v;
    snprintf(p, need, "%s/%s", l->include_dir, f);
    l->names[l->n_names++] = p;
    return p;
}

const char *cfgl_file(const struct cfg_loader *l, const config_setting_t *s)
{
    const char *f = s ? config_setting_source_file(s) : NULL;
    if (!f || strcmp(f, l->main_path) == 0)
        return l->main_path;
    if (f[0] == '/' || !l->include_dir)
        return f;
    /* the loader owns the intern table; callers hold it const for reading */
    return intern_joined((struct cfg_loader *)l, f);
}

int cfgl_line(const config_setting_t *s)
{
    return s ? (int)config_setting_source_line(s) : 0;
}

void cfgl_err(struct cfg_loader *l, const config_setting_t *s, const char *where, const char *fmt,
              ...)
{
    char reason[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (where && *where)
        cfg_errors_add(l->errs, cfgl_file(l, s), cfgl_line(s), "%s: %s", where, reason);
    else
        cfg_errors_add(l->errs, cfgl_file(l, s), cfgl_line(s), "%s", reason);
}

bool cfgl_failed(const struct cfg_loader *l)
{
    return l->errs->n + l->errs->dropped > l->errs_at_start;
}

char *cfgl_strdup(struct cfg_loader *l, const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        cfg_errors_add(l->errs, l->main_path, 0, "out of memory");
    return d;
}

/* Edit distance, for "did you mean"; names are short (< 64). */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 64;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static const char *suggest(const char *name, const char *const *allowed)
{
    const char *best = NULL;
    size_t best_d = 3; /* at most two edits away */
    for (size_t i = 0; allowed[i]; i++) {
        size_t d = distance(name, allowed[i]);
        if (d < best_d) {
            best_d = d;
            best = allowed[i];
        }
    }
    return best;
}

static bool is_secret_key(const char *name)
{
    return strcmp(name, "psk") == 0 || strcmp(name, "psksecret") == 0 ||
           strcmp(name, "secret") == 0;
}

void cfgl_check_keys(struct cfg_loader *l, const config_setting_t *group,
                     const char *const *allowed, const char *where)
{
    int n = config_setting_length(group);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);
        if (!name)
            continue;
        bool ok = false;
        for (size_t k = 0; allowed[k] && !ok; k++)
            ok = strcmp(name, allowed[k]) == 0;
        if (ok)
            continue;
        const char *hint = suggest(name, allowed);
        if (is_secret_key(name))
            cfgl_err(l, s, where,
                     "'%s': pre-shared keys do not belong in this file; put them in the "
                     "secrets file (mode 0600, owned by root)",
                     name);
        else if (hint)
            cfgl_err(l, s, where, "unknown setting '%s' (did you mean '%s'?)", name, hint);
        else
            cfgl_err(l, s, where, "unknown setting '%s'", name);
    }
}

int cfgl_string(struct cfg_loader *l, const config_setting_t *grp, const char *key,
                const char *where, const char **out)
{
    const config_setting_t *s = config_setting_get_member(grp, key);
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_STRING) {
        cfgl_err(l, s, where, "%s must be a string (in double quotes)", key);
        return -1;
    }
    *out = config_setting_get_string(s);
    return 1;
}

int cfgl_uint(struct cfg_loader *l, const config_setting_t *grp, const char *key, const char *where,
              uint64_t min, uint64_t max, uint64_t *out)
{
    const config_setting_t *s = config_setting_get_member(grp, key);
    if (!s)
        return 0;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
        cfgl_err(l, s, where, "%s must be an integer", key);
        return -1;
    }
    long long v = config_setting_get_int64(s);
    if (v < 0 || (uint64_t)v < min || (uint64_t)v > max) {
        cfgl_err(l, s, where, "%s = %lld is out of range (%llu..%llu)", key, v,
                 (unsigned long long)min, (unsigned long long)max);
        return -1;
    }
    *out = (uint64_t)v;
    return 1;
}

int cfgl_u32(struct cfg_loader *l, const config_setting_t *grp, const char *key, const char *where,
             uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v;
    int rc = cfgl_uint(l, grp, key, where, min, max, &v);
    if (rc == 1)
        *out = (uint32_t)v;
    return rc;
}

int cfgl_bool(struct cfg_loader *l, const config_setting_t *grp, const char *key, const char *where,
              bool *out)
{
    const config_setting_t *s = config_setting_get_member(grp, key);
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
        cfgl_err(l, s, where, "%s must be true or false", key);
        return -1;
    }
    *out = config_setting_get_bool(s) != 0;
    return 1;
}

int cfgl_enum(struct cfg_loader *l, const config_setting_t *grp, const char *key, const char *where,
              const char *const *names, int *out)
{
    const char *v;
    int rc = cfgl_string(l, grp, key, where, &v);
    if (rc != 1)
        return rc;
    char list[256] = "";
    size_t off = 0;
    for (int i = 0; names[i]; i++) {
        if (strcmp(v, names[i]) == 0) {
            *out = i;
            return 1;
        }
        int w = snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", names[i]);
        if (w > 0 && (size_t)w < sizeof(list) - off)
            off += (size_t)w;
    }
    cfgl_err(l, config_setting_get_member(grp, key), where, "%s = \"%s\" is not one of: %s", key, v,
             list);
    return -1;
}

int cfgl_strings(struct cfg_loader *l, const config_setting_t *grp, const char *key,
                 const char *where, size_t max, const char **out, const config_setting_t **elems,
                 size_t *n)
{
    const config_setting_t *s = config_setting_get_member(grp, key);
    *n = 0;
    if (!s)
        return 0;
    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        out[0] = config_setting_get_string(s);
        elems[0] = s;
        *n = 1;
        return 1;
    }
    if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
        cfgl_err(l, s, where, "%s must be a string or a list of strings", key);
        return -1;
    }
    int len = config_setting_length(s);
    if (len == 0) {
        cfgl_err(l, s, where, "%s is empty", key);
        return -1;
    }
    if ((size_t)len > max) {
        cfgl_err(l, s, where, "%s has %d entries (at most %zu)", key, len, max);
        return -1;
    }
    for (int i = 0; i < len; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            cfgl_err(l, e, where, "%s must be a string or a list of strings", key);
            return -1;
        }
        out[i] = config_setting_get_string(e);
        elems[i] = e;
    }
    *n = (size_t)len;
    return 1;
}

int cfgl_group_list(struct cfg_loader *l, const config_setting_t *grp, const char *key,
                    const char *where, const config_setting_t **out)
{
    const config_setting_t *s = config_setting_get_member(grp, key);
    if (!s)
        return 0;
    if (!config_setting_is_list(s)) {
        cfgl_err(l, s, where, "%s must be a list of groups: %s = ( { ... }, { ... } );", key, key);
        return -1;
    }
    int len = config_setting_length(s);
    for (int i = 0; i < len; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        if (!config_setting_is_group(e)) {
            cfgl_err(l, e, where, "%s must be a list of groups: %s = ( { ... }, { ... } );", key,
                     key);
            return -1;
        }
    }
    *out = s;
    return 1;
}

bool cfgl_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CFG_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}
