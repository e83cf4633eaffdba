/*
 * The `gateways` list: one group per phase 1 with its `selectors`. Each
 * gateway ends with a filled struct ike_sa_cfg for libike (the PSK is
 * attached afterwards from the secrets file, see secrets_attach.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ike/const.h>

#include "config/addr_parse.h"
#include "config/loader.h"
#include "config/proposal_parse.h"

#define IKE_KEYLIFE_DEFAULT 86400 /* FortiOS phase 1 default */

static const char *const gw_keys[] = {"name",
                                      "vdom",
                                      "ike-version",
                                      "local-gw",
                                      "remote-gw",
                                      "proposal",
                                      "dhgrp",
                                      "keylife",
                                      "hard-lifetime",
                                      "rekey-jitter",
                                      "reauth",
                                      "dpd",
                                      "dpd-retryinterval",
                                      "dpd-retrycount",
                                      "nattraversal",
                                      "natt-keepalive",
                                      "auto-negotiate",
                                      "passive",
                                      "local-id",
                                      "remote-id",
                                      "fragmentation",
                                      "msgid-sync",
                                      "initial-contact",
                                      "selectors",
                                      "replay-counter-sync",
                                      "route-based",
                                      NULL};

static const char *const dpd_names[] = {"disable", "on-idle", "on-demand", NULL};
static const char *const natt_names[] = {"disable", "enable", "forced", NULL};

const char *cfg_dpd_name(enum cfg_dpd d)
{
    return (unsigned)d <= CFG_DPD_ON_DEMAND ? dpd_names[d] : "?";
}

const char *cfg_natt_name(enum cfg_natt n)
{
    return (unsigned)n <= CFG_NATT_FORCED ? natt_names[n] : "?";
}

static const config_setting_t *member(const config_setting_t *set, const char *key)
{
    const config_setting_t *s = config_setting_get_member(set, key);
    return s ? s : set;
}

int cfg_load_dhgrp(struct cfg_loader *l, const config_setting_t *set, const char *where,
                   uint16_t *out, size_t *n)
{
    const config_setting_t *s = config_setting_get_member(set, "dhgrp");
    char err[400];
    *n = 0;
    if (!s)
        return 0;
    int t = config_setting_type(s);
    if (t == CONFIG_TYPE_STRING) {
        if (cfg_dhgrp_parse(config_setting_get_string(s), out, IKE_CFG_MAX_TRANSFORMS, n, err,
                            sizeof(err)) != 0) {
            cfgl_err(l, s, where, "dhgrp: %s", err);
            return -1;
        }
        return 1;
    }
    int count = (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) ? 1 : config_setting_length(s);
    bool aggregate = config_setting_is_array(s) || config_setting_is_list(s);
    if (!aggregate && count != 1) {
        cfgl_err(l, s, where, "dhgrp must be a string (\"21 20\"), a number or a list of numbers");
        return -1;
    }
    for (int i = 0; i < count; i++) {
        const config_setting_t *e = aggregate ? config_setting_get_elem(s, (unsigned)i) : s;
        int et = config_setting_type(e);
        if (et != CONFIG_TYPE_INT && et != CONFIG_TYPE_INT64) {
            cfgl_err(l, e, where,
                     "dhgrp must be a string (\"21 20\"), a number or a list of numbers");
            return -1;
        }
        char num[24];
        uint16_t g;
        snprintf(num, sizeof(num), "%lld", config_setting_get_int64(e));
        if (cfg_dh_parse(num, &g, err, sizeof(err)) != 0) {
            cfgl_err(l, e, where, "dhgrp: %s", err);
            return -1;
        }
        if (cfg_dh_list_add(out, n, IKE_CFG_MAX_TRANSFORMS, g) != 0) {
            cfgl_err(l, e, where, "dhgrp: too many DH groups (at most %d)", IKE_CFG_MAX_TRANSFORMS);
            return -1;
        }
    }
    if (*n == 0) {
        cfgl_err(l, s, where, "dhgrp is empty");
        return -1;
    }
    return 1;
}

static void load_version(struct cfg_loader *l, const config_setting_t *set, const char *where,
                         struct cfg_gateway *gw)
{
    uint32_t v = 2;
    gw->ike_version = 2;
    if (cfgl_u32(l, set, "ike-version", where, 0, 1000, &v) != 1)
        return;
    if (v == 1)
        cfgl_err(l, member(set, "ike-version"), where,
                 "ike-version 1: IKEv1 is not supported (haiked speaks IKEv2 only)");
    else if (v != 2)
        cfgl_err(l, member(set, "ike-version"), where, "ike-version must be 2");
}

static void load_addresses(struct cfg_loader *l, const config_setting_t *set, const char *where,
                           struct cfg_gateway *gw)
{
    const char *local = NULL, *remote = NULL;
    char err[200];
    bool local_ok = false, remote_ok = false;
    if (cfgl_string(l, set, "local-gw", where, &local) == 0)
        cfgl_err(l, set, where, "missing local-gw (the address IKE is sent from)");
    if (local && cfg_addr_parse(local, &gw->sa.local, err, sizeof(err)) != 0)
        cfgl_err(l, member(set, "local-gw"), where, "local-gw: %s", err);
    else if (local && cfg_addr_is_zero(&gw->sa.local))
        cfgl_err(l, member(set, "local-gw"), where, "local-gw must be a specific address, not '%s'",
                 local);
    else if (local)
        local_ok = true;

    if (cfgl_string(l, set, "remote-gw", where, &remote) == 0)
        cfgl_err(l, set, where, "missing remote-gw (an address, or \"any\" for dial-up peers)");
    if (remote && strcasecmp(remote, "any") == 0) {
        gw->remote_any = true;
        remote_ok = local_ok;
        gw->sa.remote = (struct ike_addr){.family = gw->sa.local.family, .port = IKE_PORT};
    } else if (remote && cfg_addr_parse(remote, &gw->sa.remote, err, sizeof(err)) != 0) {
        cfgl_err(l, member(set, "remote-gw"), where, "remote-gw: %s", err);
    } else if (remote) {
        gw->remote_any = cfg_addr_is_zero(&gw->sa.remote);
        remote_ok = true;
    }
    if (local_ok && remote_ok && gw->sa.local.family != gw->sa.remote.family)
        cfgl_err(l, member(set, "remote-gw"), where,
                 "local-gw and remote-gw are of different address families");
}

static void load_proposal(struct cfg_loader *l, const config_setting_t *set, const char *where,
                          struct cfg_gateway *gw)
{
    uint16_t dh[IKE_CFG_MAX_TRANSFORMS];
    size_t n_dh = 0;
    const char *text = NULL;
    char err[400];
    /* A bad dhgrp is reported once; a stand-in group keeps its proposals
     * from also failing with "no DH group" while their names are checked. */
    if (cfg_load_dhgrp(l, set, where, dh, &n_dh) < 0) {
        dh[0] = IKE_DH_ECP_256;
        n_dh = 1;
    }
    if (cfgl_string(l, set, "proposal", where, &text) == 0) {
        cfgl_err(l, set, where,
                 "missing proposal (e.g. proposal = \"aes256-sha512\"; dhgrp = "
                 "\"21\"; or proposal = \"aes256-sha512-ecp521\";)");
        return;
    }
    if (!text)
        return;
    gw->proposal_text = cfgl_strdup(l, text);
    if (cfg_proposals_parse(text, CFG_PROP_IKE, dh, n_dh, gw->sa.proposals, &gw->sa.n_proposals,
                            err, sizeof(err)) != 0)
        cfgl_err(l, member(set, "proposal"), where, "%s", err);
}

static void load_dpd_natt(struct cfg_loader *l, const config_setting_t *set, const char *where,
                          struct cfg_gateway *gw)
{
    int v;
    gw->dpd = CFG_DPD_ON_DEMAND;
    gw->dpd_interval_s = 20;
    gw->dpd_retries = 3;
    gw->natt = CFG_NATT_ENABLE;
    gw->natt_keepalive_s = 10;
    if (cfgl_enum(l, set, "dpd", where, dpd_names, &v) == 1)
        gw->dpd = (enum cfg_dpd)v;
    cfgl_u32(l, set, "dpd-retryinterval", where, 1, 3600, &gw->dpd_interval_s);
    cfgl_u32(l, set, "dpd-retrycount", where, 1, 10, &gw->dpd_retries);
    if (cfgl_enum(l, set, "nattraversal", where, natt_names, &v) == 1)
        gw->natt = (enum cfg_natt)v;
    cfgl_u32(l, set, "natt-keepalive", where, 5, 900, &gw->natt_keepalive_s);
}

/* passive / auto-negotiate and their interplay with dial-up remotes. */
static void load_mode(struct cfg_loader *l, const config_setting_t *set, const char *where,
                      struct cfg_gateway *gw)
{
    bool passive = gw->remote_any, autoneg = false;
    int prc = cfgl_bool(l, set, "passive", where, &passive);
    int arc = cfgl_bool(l, set, "auto-negotiate", where, &autoneg);
    if (arc != 1)
        autoneg = !passive;
    if (gw->remote_any && prc == 1 && !passive)
        cfgl_err(l, member(set, "passive"), where,
                 "remote-gw any (dial-up) cannot initiate: it must be passive");
    else if (gw->remote_any && arc == 1 && autoneg)
        cfgl_err(l, member(set, "auto-negotiate"), where,
                 "remote-gw any (dial-up) cannot auto-negotiate");
    else if (passive && arc == 1 && autoneg)
        cfgl_err(l, member(set, "auto-negotiate"), where,
                 "a passive gateway never initiates: auto-negotiate must be false");
    gw->passive = passive;
    gw->auto_negotiate = autoneg;
}

static void load_ids(struct cfg_loader *l, const config_setting_t *set, const char *where,
                     struct cfg_gateway *gw)
{
    const char *s;
    char err[300];
    cfg_id_from_addr(&gw->sa.local, &gw->sa.local_id);
    if (cfgl_string(l, set, "local-id", where, &s) == 1 &&
        cfg_id_parse(s, false, &gw->sa.local_id, err, sizeof(err)) != 0)
        cfgl_err(l, member(set, "local-id"), where, "local-id: %s", err);
    if (cfgl_string(l, set, "remote-id", where, &s) == 1 &&
        cfg_id_parse(s, true, &gw->sa.remote_id, err, sizeof(err)) != 0)
        cfgl_err(l, member(set, "remote-id"), where, "remote-id: %s", err);
}

static void load_flags(struct cfg_loader *l, const config_setting_t *set, const char *where,
                       struct cfg_gateway *gw)
{
    gw->sa.fragmentation = true;
    gw->sa.msgid_sync = false;
    gw->initial_contact = true;
    gw->reauth = false;
    cfgl_bool(l, set, "fragmentation", where, &gw->sa.fragmentation);
    gw->msgid_sync_set = cfgl_bool(l, set, "msgid-sync", where, &gw->sa.msgid_sync) == 1;
    gw->sa.replay_counter_sync = false;
    gw->replay_counter_sync_set =
        cfgl_bool(l, set, "replay-counter-sync", where, &gw->sa.replay_counter_sync) == 1;
    cfgl_bool(l, set, "initial-contact", where, &gw->initial_contact);
    cfgl_bool(l, set, "reauth", where, &gw->reauth);
}

/* The device of a route-based gateway is "hk-" + its name cut to
 * IFNAMSIZ - 1 (esp_tun_name(), dp_xfrm_vti.c): 12 characters of it. */
#define GW_DEV_NAME_CHARS 12

/* route-based: the kernel data plane's tunnels through a VTI device per
 * gateway, as FortiOS's phase1-interface; policy-based (false) is its
 * default. The userspace data plane has only route-based tunnels. */
static void load_route_based(struct cfg_loader *l, const config_setting_t *set, const char *where,
                             const struct cfg *cfg, struct cfg_gateway *gw)
{
    gw->route_based = false;
    if (cfgl_bool(l, set, "route-based", where, &gw->route_based) != 1)
        return;
    if (!gw->route_based && cfg->global.dataplane == CFG_DATAPLANE_USERSPACE) {
        cfgl_err(l, member(set, "route-based"), where,
                 "route-based = false: the userspace data plane is route-based only (a TUN "
                 "per gateway); policy-based tunnels need dataplane = \"kernel\"");
        return;
    }
    if (!gw->route_based || !gw->name || !gw->vdom)
        return;
    for (size_t i = 0; i < cfg->n_gateways; i++) {
        const struct cfg_gateway *o = cfg->gateways[i];
        if (o->route_based && !strcmp(o->vdom, gw->vdom) &&
            !strncmp(o->name, gw->name, GW_DEV_NAME_CHARS)) {
            cfgl_err(l, member(set, "route-based"), where,
                     "device name hk-%.*s is taken by gateway '%s' (%s:%d): route-based "
                     "gateways of one vdom need names that differ in the first %d characters",
                     GW_DEV_NAME_CHARS, gw->name, o->name, o->file, o->line, GW_DEV_NAME_CHARS);
            return;
        }
    }
}

static void load_vdom_ref(struct cfg_loader *l, const config_setting_t *set, const char *where,
                          const struct cfg *cfg, struct cfg_gateway *gw)
{
    const char *vdom = CFG_ROOT_VDOM;
    cfgl_string(l, set, "vdom", where, &vdom);
    if (!cfg_vdom_find(cfg, vdom))
        cfgl_err(l, member(set, "vdom"), where, "unknown vdom '%s' (declare it in vdoms)", vdom);
    gw->vdom = cfgl_strdup(l, vdom);
}

/* A responder picks the gateway by addresses (cfg_gateway_match): two
 * gateways it could not tell apart are an error. */
static void check_ambiguous(struct cfg_loader *l, const config_setting_t *set, const char *where,
                            const struct cfg *cfg, const struct cfg_gateway *gw)
{
    for (size_t i = 0; i < cfg->n_gateways; i++) {
        const struct cfg_gateway *o = cfg->gateways[i];
        if (strcmp(o->vdom, gw->vdom) != 0 || !ike_addr_equal(&o->sa.local, &gw->sa.local) ||
            o->remote_any != gw->remote_any ||
            (!gw->remote_any && !ike_addr_equal(&o->sa.remote, &gw->sa.remote)))
            continue;
        cfgl_err(l, set, where,
                 "same vdom, local-gw and remote-gw as gateway '%s' (%s:%d): a responder "
                 "could not tell them apart",
                 o->name, o->file, o->line);
        return;
    }
}

static enum ike_dpd_mode dpd_mode(enum cfg_dpd d)
{
    switch (d) {
    case CFG_DPD_ON_IDLE: return IKE_DPD_ON_IDLE;
    case CFG_DPD_ON_DEMAND: return IKE_DPD_ON_DEMAND;
    case CFG_DPD_OFF: break;
    }
    return IKE_DPD_OFF;
}

static enum ike_natt_mode natt_mode(enum cfg_natt n)
{
    switch (n) {
    case CFG_NATT_DISABLE: return IKE_NATT_DISABLE;
    case CFG_NATT_FORCED: return IKE_NATT_FORCED;
    case CFG_NATT_ENABLE: break;
    }
    return IKE_NATT_ENABLE;
}

/* The parts of struct ike_sa_cfg that mirror daemon-side settings. */
static void fill_sa(struct cfg_gateway *gw)
{
    struct ike_sa_cfg *sa = &gw->sa;
    sa->name = gw->name;
    sa->children = gw->children;
    sa->n_children = gw->n_selectors;
    sa->initial_contact = gw->initial_contact;
    sa->reauth = gw->reauth;
    sa->lifetime.soft_s = gw->lifetime.soft_s;
    sa->lifetime.hard_s = gw->lifetime.hard_s;
    sa->lifetime.jitter_s = gw->lifetime.jitter_s;
    sa->dpd = dpd_mode(gw->dpd);
    sa->dpd_interval_s = gw->dpd_interval_s;
    sa->dpd_retries = gw->dpd_retries;
    sa->natt = natt_mode(gw->natt);
}

static bool load_name(struct cfg_loader *l, const config_setting_t *set, char *where, size_t wlen,
                      const struct cfg *cfg, struct cfg_gateway *gw)
{
    const char *name = NULL;
    if (cfgl_string(l, set, "name", where, &name) == 0)
        cfgl_err(l, set, where, "missing name");
    if (!name)
        return false;
    snprintf(where, wlen, "gateway '%s'", name);
    if (!cfgl_name_ok(name)) {
        cfgl_err(l, member(set, "name"), where,
                 "name must be 1..%d characters of A-Z a-z 0-9 _ . -", CFG_NAME_MAX);
        return false;
    }
    const struct cfg_gateway *dup = cfg_gateway_find(cfg, name);
    if (dup) {
        cfgl_err(l, member(set, "name"), where, "duplicate gateway name (first defined at %s:%d)",
                 dup->file, dup->line);
        return false;
    }
    gw->name = cfgl_strdup(l, name);
    return gw->name != NULL;
}

static void load_gateway(struct cfg_loader *l, const config_setting_t *set, size_t idx,
                         struct cfg *cfg)
{
    char where[96];
    snprintf(where, sizeof(where), "gateway #%zu", idx + 1);
    struct cfg_gateway *gw = calloc(1, sizeof(*gw));
    if (!gw) {
        cfg_errors_add(l->errs, l->main_path, 0, "out of memory");
        return;
    }
    bool named = load_name(l, set, where, sizeof(where), cfg, gw);
    cfgl_check_keys(l, set, gw_keys, where);
    gw->file = cfgl_strdup(l, cfgl_file(l, set));
    gw->line = cfgl_line(set);
    load_vdom_ref(l, set, where, cfg, gw);
    load_version(l, set, where, gw);
    load_addresses(l, set, where, gw);
    load_proposal(l, set, where, gw);
    cfgl_lifetime(l, set, where, IKE_KEYLIFE_DEFAULT, false, &gw->lifetime);
    load_dpd_natt(l, set, where, gw);
    load_mode(l, set, where, gw);
    load_ids(l, set, where, gw);
    load_flags(l, set, where, gw);
    load_route_based(l, set, where, cfg, gw);
    cfg_load_selectors(l, set, gw, where);
    fill_sa(gw);
    if (!named || !gw->vdom) {
        cfg_gateway_free(gw);
        return;
    }
    check_ambiguous(l, set, where, cfg, gw);
    struct cfg_gateway **v = realloc(cfg->gateways, (cfg->n_gateways + 1) * sizeof(*v));
    if (!v) {
        cfg_errors_add(l->errs, l->main_path, 0, "out of memory");
        cfg_gateway_free(gw);
        return;
    }
    cfg->gateways = v;
    v[cfg->n_gateways++] = gw;
}

void cfg_load_gateways(struct cfg_loader *l, const config_setting_t *root, struct cfg *cfg)
{
    const config_setting_t *list = NULL;
    if (cfgl_group_list(l, root, "gateways", "", &list) != 1)
        return;
    int n = config_setting_length(list);
    for (int i = 0; i < n; i++)
        load_gateway(l, config_setting_get_elem(list, (unsigned)i), (size_t)i, cfg);
}
