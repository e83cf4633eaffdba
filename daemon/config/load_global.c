/*
 * The `global` group and the `vdoms` list of haiked.conf.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <ike/ctx.h>

#include "config/loader.h"

static const char *const level_names[] = {"error", "warn", "info", "debug", NULL};
static const char *const subsys_names[] = {"main",      "config", "net",  "ike",
                                           "dataplane", "ctl",    "sync", NULL};
static const char *const target_names[] = {"stderr", "syslog", NULL};
static const char *const dataplane_names[] = {"userspace", "kernel", "record", NULL};

const char *cfg_log_subsys_name(enum cfg_log_subsys s)
{
    return (unsigned)s < CFG_LOG_N_SUBSYS ? subsys_names[s] : "?";
}

const char *cfg_log_level_name(enum cfg_log_level lv)
{
    return (unsigned)lv <= CFG_LOG_DEBUG ? level_names[lv] : "?";
}

const char *cfg_dataplane_name(enum cfg_dataplane d)
{
    return (unsigned)d <= CFG_DATAPLANE_RECORD ? dataplane_names[d] : "?";
}

static void global_defaults(struct cfg_global *g)
{
    for (int i = 0; i < CFG_LOG_N_SUBSYS; i++)
        g->log_level[i] = CFG_LOG_INFO;
    g->log_target = CFG_LOG_TARGET_STDERR;
    g->dataplane = CFG_DATAPLANE_USERSPACE;
    g->cookie_threshold = 100;
    g->half_open_max = 20000;
    g->half_open_per_peer = 100;
    g->retransmit_timeout_ms = IKE_RETRANSMIT_BASE_MS;
    g->retransmit_tries = IKE_RETRANSMIT_TRIES;
    g->half_open_timeout_ms = IKE_HALF_OPEN_TIMEOUT_MS;
}

static void load_log(struct cfg_loader *l, const config_setting_t *glob, struct cfg_global *g)
{
    const config_setting_t *log = config_setting_get_member(glob, "log");
    if (!log)
        return;
    if (!config_setting_is_group(log)) {
        cfgl_err(l, log, "global", "log must be a group: log = { level = \"info\"; };");
        return;
    }
    static const char *const keys[] = {"target", "level",     "main", "config", "net",
                                       "ike",    "dataplane", "ctl",  "sync",   NULL};
    cfgl_check_keys(l, log, keys, "global.log");
    int v;
    if (cfgl_enum(l, log, "target", "global.log", target_names, &v) == 1)
        g->log_target = (enum cfg_log_target)v;
    if (cfgl_enum(l, log, "level", "global.log", level_names, &v) == 1)
        for (int i = 0; i < CFG_LOG_N_SUBSYS; i++)
            g->log_level[i] = (enum cfg_log_level)v;
    for (int i = 0; i < CFG_LOG_N_SUBSYS; i++)
        if (cfgl_enum(l, log, subsys_names[i], "global.log", level_names, &v) == 1)
            g->log_level[i] = (enum cfg_log_level)v;
}

static void load_ike(struct cfg_loader *l, const config_setting_t *glob, struct cfg_global *g)
{
    const config_setting_t *ike = config_setting_get_member(glob, "ike");
    if (!ike)
        return;
    if (!config_setting_is_group(ike)) {
        cfgl_err(l, ike, "global", "ike must be a group: ike = { cookie-threshold = 100; };");
        return;
    }
    static const char *const keys[] = {"cookie-threshold",
                                       "half-open-max",
                                       "half-open-per-peer",
                                       "retransmit-timeout-ms",
                                       "retransmit-tries",
                                       "half-open-timeout-ms",
                                       NULL};
    const char *w = "global.ike";
    cfgl_check_keys(l, ike, keys, w);
    cfgl_u32(l, ike, "cookie-threshold", w, 0, 10000000, &g->cookie_threshold);
    cfgl_u32(l, ike, "half-open-max", w, 1, 10000000, &g->half_open_max);
    cfgl_u32(l, ike, "half-open-per-peer", w, 1, 10000000, &g->half_open_per_peer);
    cfgl_u32(l, ike, "retransmit-timeout-ms", w, 100, 60000, &g->retransmit_timeout_ms);
    cfgl_u32(l, ike, "retransmit-tries", w, 1, 20, &g->retransmit_tries);
    cfgl_u32(l, ike, "half-open-timeout-ms", w, 1000, 300000, &g->half_open_timeout_ms);
}

/* Relative secrets paths are relative to the main file's directory, so a
 * config tree can be moved (and tested) as a whole. */
static char *resolve_near(struct cfg_loader *l, const char *rel)
{
    if (rel[0] == '/')
        return cfgl_strdup(l, rel);
    const char *slash = strrchr(l->main_path, '/');
    if (!slash)
        return cfgl_strdup(l, rel);
    size_t dl = (size_t)(slash - l->main_path);
    char *p = malloc(dl + 1 + strlen(rel) + 1);
    if (!p)
        return cfgl_strdup(l, NULL);
    memcpy(p, l->main_path, dl);
    p[dl] = '/';
    strcpy(p + dl + 1, rel);
    return p;
}

static void load_paths(struct cfg_loader *l, const config_setting_t *glob, struct cfg_global *g)
{
    const char *s;
    if (cfgl_string(l, glob, "control-socket", "global", &s) == 1) {
        const config_setting_t *set = config_setting_get_member(glob, "control-socket");
        struct sockaddr_un sun;
        if (s[0] != '/')
            cfgl_err(l, set, "global", "control-socket '%s' must be an absolute path", s);
        else if (strlen(s) >= sizeof(sun.sun_path))
            cfgl_err(l, set, "global", "control-socket path is longer than %zu characters",
                     sizeof(sun.sun_path) - 1);
        else {
            free(g->ctl_socket);
            g->ctl_socket = cfgl_strdup(l, s);
        }
    }
    if (cfgl_string(l, glob, "secrets-file", "global", &s) == 1) {
        if (!*s) {
            cfgl_err(l, config_setting_get_member(glob, "secrets-file"), "global",
                     "secrets-file is empty");
        } else {
            free(g->secrets_file);
            g->secrets_file = resolve_near(l, s);
        }
    }
}

void cfg_load_global(struct cfg_loader *l, const config_setting_t *root, struct cfg *cfg)
{
    struct cfg_global *g = &cfg->global;
    global_defaults(g);
    g->ctl_socket = cfgl_strdup(l, CFG_DEFAULT_CTL_SOCKET);
    g->secrets_file = cfgl_strdup(l, CFG_DEFAULT_SECRETS);
    const config_setting_t *glob = config_setting_get_member(root, "global");
    if (!glob)
        return;
    if (!config_setting_is_group(glob)) {
        cfgl_err(l, glob, "", "global must be a group: global = { ... };");
        return;
    }
    static const char *const keys[] = {
        "control-socket", "secrets-file", "dataplane", "log", "ike", NULL};
    cfgl_check_keys(l, glob, keys, "global");
    load_paths(l, glob, g);
    int v;
    if (cfgl_enum(l, glob, "dataplane", "global", dataplane_names, &v) == 1)
        g->dataplane = (enum cfg_dataplane)v;
    load_log(l, glob, g);
    load_ike(l, glob, g);
}

/* ---- vdoms ----------------------------------------------------------- */

static struct cfg_vdom *vdom_add(struct cfg_loader *l, struct cfg *cfg)
{
    struct cfg_vdom *v = realloc(cfg->vdoms, (cfg->n_vdoms + 1) * sizeof(*v));
    if (!v) {
        cfg_errors_add(l->errs, l->main_path, 0, "out of memory");
        return NULL;
    }
    cfg->vdoms = v;
    memset(&v[cfg->n_vdoms], 0, sizeof(*v));
    return &v[cfg->n_vdoms++];
}

static void load_vdom(struct cfg_loader *l, const config_setting_t *set, size_t idx,
                      struct cfg *cfg)
{
    static const char *const keys[] = {"name", "netns", NULL};
    char where[96];
    const char *name = NULL, *netns = NULL;
    snprintf(where, sizeof(where), "vdom #%zu", idx + 1);
    if (cfgl_string(l, set, "name", where, &name) == 0)
        cfgl_err(l, set, where, "missing name");
    if (name)
        snprintf(where, sizeof(where), "vdom '%s'", name);
    cfgl_check_keys(l, set, keys, where);
    if (!name)
        return;
    if (!cfgl_name_ok(name)) {
        cfgl_err(l, set, where, "name must be 1..%d characters of A-Z a-z 0-9 _ . -", CFG_NAME_MAX);
        return;
    }
    const struct cfg_vdom *dup = cfg_vdom_find(cfg, name);
    bool netns_set = cfgl_string(l, set, "netns", where, &netns) == 1;
    if (netns_set && !cfgl_name_ok(netns)) {
        cfgl_err(l, config_setting_get_member(set, "netns"), where,
                 "netns must be a namespace name (as in /run/netns/NAME)");
        return;
    }
    if (strcmp(name, CFG_ROOT_VDOM) == 0) {
        if (netns_set)
            cfgl_err(l, config_setting_get_member(set, "netns"), where,
                     "the root VDOM is the daemon's own namespace and takes no netns");
        if (dup && dup->line)
            cfgl_err(l, set, where, "duplicate VDOM name (first defined at %s:%d)", dup->file,
                     dup->line);
        else if (dup) { /* the implicit root: record where it was declared */
            free(cfg->vdoms[0].file);
            cfg->vdoms[0].file = cfgl_strdup(l, cfgl_file(l, set));
            cfg->vdoms[0].line = cfgl_line(set);
        }
        return;
    }
    if (dup) {
        cfgl_err(l, set, where, "duplicate VDOM name (first defined at %s:%d)", dup->file,
                 dup->line);
        return;
    }
    if (!netns_set)
        netns = name;
    for (size_t i = 0; i < cfg->n_vdoms; i++)
        if (cfg->vdoms[i].netns && strcmp(cfg->vdoms[i].netns, netns) == 0) {
            cfgl_err(l, set, where, "netns '%s' is already used by vdom '%s'", netns,
                     cfg->vdoms[i].name);
            return;
        }
    struct cfg_vdom *v = vdom_add(l, cfg);
    if (!v)
        return;
    v->name = cfgl_strdup(l, name);
    v->netns = cfgl_strdup(l, netns);
    v->file = cfgl_strdup(l, cfgl_file(l, set));
    v->line = cfgl_line(set);
}

void cfg_load_vdoms(struct cfg_loader *l, const config_setting_t *root, struct cfg *cfg)
{
    struct cfg_vdom *root_vdom = vdom_add(l, cfg);
    if (!root_vdom)
        return;
    root_vdom->name = cfgl_strdup(l, CFG_ROOT_VDOM);
    root_vdom->file = cfgl_strdup(l, l->main_path);
    const config_setting_t *list = NULL;
    if (cfgl_group_list(l, root, "vdoms", "", &list) != 1)
        return;
    int n = config_setting_length(list);
    for (int i = 0; i < n; i++)
        load_vdom(l, config_setting_get_elem(list, (unsigned)i), (size_t)i, cfg);
}
