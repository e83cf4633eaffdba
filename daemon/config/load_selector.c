/*
 * A gateway's `selectors` list (phase 2): each becomes one struct
 * ike_cfg_child (ESP proposals, traffic selectors) plus the daemon-side
 * settings in struct cfg_selector.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ike/const.h>

#include "config/addr_parse.h"
#include "config/loader.h"
#include "config/proposal_parse.h"

#define CHILD_KEYLIFE_DEFAULT 43200 /* FortiOS phase 2 default */

static const char *const sel_keys[] = {"name",
                                       "local-subnet",
                                       "remote-subnet",
                                       "protocol",
                                       "local-port",
                                       "remote-port",
                                       "proposal",
                                       "dhgrp",
                                       "pfs",
                                       "keylife",
                                       "hard-lifetime",
                                       "rekey-jitter",
                                       "keylife-bytes",
                                       "hard-lifetime-bytes",
                                       "keylife-packets",
                                       "hard-lifetime-packets",
                                       "auto-negotiate",
                                       "keepalive",
                                       "add-route",
                                       "replay-window",
                                       NULL};

struct subnet_ctx {
    uint8_t family;
    const char *first; /* the first subnet's text, for the mixed-family error */
};

static const config_setting_t *member(const config_setting_t *set, const char *key)
{
    const config_setting_t *s = config_setting_get_member(set, key);
    return s ? s : set;
}

static void load_subnets(struct cfg_loader *l, const config_setting_t *set, const char *where,
                         const char *key, struct subnet_ctx *fam, struct ike_ts *ts, size_t *n)
{
    const char *texts[IKE_CFG_MAX_TS];
    const config_setting_t *elems[IKE_CFG_MAX_TS];
    size_t count = 0;
    char err[200];
    *n = 0;
    int rc = cfgl_strings(l, set, key, where, IKE_CFG_MAX_TS, texts, elems, &count);
    if (rc == 0)
        cfgl_err(l, set, where, "missing %s (e.g. %s = [\"10.1.0.0/16\"];)", key, key);
    for (size_t i = 0; rc == 1 && i < count; i++) {
        uint8_t family;
        if (cfg_subnet_parse(texts[i], &ts[*n], &family, err, sizeof(err)) != 0) {
            cfgl_err(l, elems[i], where, "%s: %s", key, err);
            continue;
        }
        if (fam->family && family != fam->family) {
            cfgl_err(l, elems[i], where, "%s '%s' and '%s' are of different address families", key,
                     texts[i], fam->first);
            continue;
        }
        fam->family = family;
        if (!fam->first)
            fam->first = texts[i];
        (*n)++;
    }
}

static void load_protocol(struct cfg_loader *l, const config_setting_t *set, const char *where,
                          struct cfg_selector *sel)
{
    const config_setting_t *s = config_setting_get_member(set, "protocol");
    char err[200];
    if (!s)
        return;
    int t = config_setting_type(s);
    if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
        long long v = config_setting_get_int64(s);
        if (v < 0 || v > 255)
            cfgl_err(l, s, where, "protocol = %lld is out of range (0..255)", v);
        else
            sel->ip_proto = (uint8_t)v;
    } else if (t == CONFIG_TYPE_STRING) {
        if (cfg_proto_parse(config_setting_get_string(s), &sel->ip_proto, err, sizeof(err)) != 0)
            cfgl_err(l, s, where, "protocol: %s", err);
    } else {
        cfgl_err(l, s, where, "protocol must be a name (\"tcp\") or a number");
    }
}

/* local-port / remote-port: 443, or "1000-2000"; 0 (default) = any. */
static void load_port(struct cfg_loader *l, const config_setting_t *set, const char *where,
                      const char *key, const struct cfg_selector *sel, uint16_t *start,
                      uint16_t *end)
{
    const config_setting_t *s = config_setting_get_member(set, key);
    char err[200];
    *start = 0;
    *end = 0xffff;
    if (!s)
        return;
    int t = config_setting_type(s);
    if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
        long long v = config_setting_get_int64(s);
        if (v < 0 || v > 65535) {
            cfgl_err(l, s, where, "%s = %lld is out of range (0..65535)", key, v);
            return;
        }
        if (v != 0)
            *start = *end = (uint16_t)v;
    } else if (t == CONFIG_TYPE_STRING) {
        if (cfg_port_range_parse(config_setting_get_string(s), start, end, err, sizeof(err)) != 0) {
            cfgl_err(l, s, where, "%s: %s", key, err);
            return;
        }
    } else {
        cfgl_err(l, s, where, "%s must be a number or a range string (\"1000-2000\")", key);
        return;
    }
    if ((*start != 0 || *end != 0xffff) && sel->ip_proto == 0)
        cfgl_err(l, s, where, "%s needs a protocol (protocol = \"tcp\"; or udp, sctp, ...)", key);
}

static void apply_proto_ports(struct ike_ts *ts, size_t n, uint8_t proto, uint16_t start,
                              uint16_t end)
{
    for (size_t i = 0; i < n; i++) {
        ts[i].ip_proto = proto;
        ts[i].start_port = start;
        ts[i].end_port = end;
    }
}

/* ESP proposals and PFS: groups come from the proposal's own DH names, else
 * the selector's dhgrp, else (pfs = true alone) the gateway's IKE groups. */
static void load_proposal(struct cfg_loader *l, const config_setting_t *set, const char *where,
                          const struct cfg_gateway *gw, struct cfg_selector *sel)
{
    uint16_t dh[IKE_CFG_MAX_TRANSFORMS];
    size_t n_dh = 0;
    const char *text = NULL;
    char err[400];
    bool pfs = false;
    int pfs_rc = cfgl_bool(l, set, "pfs", where, &pfs);
    int dh_rc = cfg_load_dhgrp(l, set, where, dh, &n_dh);
    if (dh_rc < 0) { /* reported; a stand-in keeps the proposal check going */
        dh[0] = IKE_DH_ECP_256;
        n_dh = 1;
    }
    if (pfs_rc == 1 && !pfs && dh_rc == 1)
        cfgl_err(l, member(set, "pfs"), where, "pfs = false contradicts dhgrp");
    if (pfs_rc == 1 && pfs && dh_rc == 0 && gw->sa.n_proposals)
        for (size_t i = 0; i < gw->sa.proposals[0].n_dh; i++)
            (void)cfg_dh_list_add(dh, &n_dh, IKE_CFG_MAX_TRANSFORMS, gw->sa.proposals[0].dh[i]);
    if (cfgl_string(l, set, "proposal", where, &text) == 0) {
        cfgl_err(l, set, where, "missing proposal (e.g. proposal = \"aes256gcm16\";)");
        return;
    }
    if (!text)
        return;
    sel->proposal_text = cfgl_strdup(l, text);
    struct ike_cfg_child *c = sel->child;
    if (cfg_proposals_parse(text, CFG_PROP_ESP, dh, n_dh, c->proposals, &c->n_proposals, err,
                            sizeof(err)) != 0) {
        cfgl_err(l, member(set, "proposal"), where, "%s", err);
        return;
    }
    for (size_t i = 0; i < c->n_proposals; i++)
        sel->pfs |= c->proposals[i].n_dh != 0;
    if (pfs_rc == 1 && !pfs && sel->pfs)
        cfgl_err(l, member(set, "pfs"), where, "pfs = false but proposal '%s' names DH groups",
                 text);
}

static void load_flags(struct cfg_loader *l, const config_setting_t *set, const char *where,
                       const struct cfg_gateway *gw, struct cfg_selector *sel)
{
    sel->auto_negotiate = !gw->passive;
    sel->keepalive = false;
    sel->add_route = false;
    int rc = cfgl_bool(l, set, "auto-negotiate", where, &sel->auto_negotiate);
    if (rc == 1 && sel->auto_negotiate && gw->passive)
        cfgl_err(l, member(set, "auto-negotiate"), where,
                 "the gateway is passive (never initiates): auto-negotiate must be false");
    cfgl_bool(l, set, "keepalive", where, &sel->keepalive);
    cfgl_bool(l, set, "add-route", where, &sel->add_route);
}

/* replay-window = N (1..CFG_REPLAY_WINDOW_MAX packets, 0 = off) or
 * "disable" (FortiOS `set replay disable`); absent: the data plane's. */
static void load_replay(struct cfg_loader *l, const config_setting_t *set, const char *where,
                        struct cfg_selector *sel)
{
    const config_setting_t *s = config_setting_get_member(set, "replay-window");
    if (!s)
        return;
    int t = config_setting_type(s);
    if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
        long long v = config_setting_get_int64(s);
        if (v < 0 || v > CFG_REPLAY_WINDOW_MAX) {
            cfgl_err(l, s, where,
                     "replay-window = %lld is out of range (0..%u packets, or "
                     "\"disable\")",
                     v, CFG_REPLAY_WINDOW_MAX);
            return;
        }
        sel->replay_window = (uint32_t)v;
    } else if (t == CONFIG_TYPE_STRING && !strcmp(config_setting_get_string(s), "disable")) {
        sel->replay_window = 0;
    } else {
        cfgl_err(l, s, where, "replay-window must be a number of packets or \"disable\"");
        return;
    }
    sel->replay_set = true;
}

static bool load_name(struct cfg_loader *l, const config_setting_t *set, char *where, size_t wlen,
                      const char *gw_where, const struct cfg_gateway *gw, size_t idx,
                      struct cfg_selector *sel)
{
    const char *name = NULL;
    if (cfgl_string(l, set, "name", where, &name) == 0)
        cfgl_err(l, set, where, "missing name");
    if (!name)
        return false;
    snprintf(where, wlen, "%s selector '%s'", gw_where, name);
    if (!cfgl_name_ok(name)) {
        cfgl_err(l, member(set, "name"), where,
                 "name must be 1..%d characters of A-Z a-z 0-9 _ . -", CFG_NAME_MAX);
        return false;
    }
    for (size_t i = 0; i < idx; i++)
        if (gw->selectors[i].name && strcmp(gw->selectors[i].name, name) == 0) {
            cfgl_err(l, member(set, "name"), where,
                     "duplicate selector name in this gateway (first defined at %s:%d)",
                     gw->selectors[i].file, gw->selectors[i].line);
            return false;
        }
    sel->name = cfgl_strdup(l, name);
    return sel->name != NULL;
}

static void load_selector(struct cfg_loader *l, const config_setting_t *set, size_t idx,
                          struct cfg_gateway *gw, const char *gw_where)
{
    struct cfg_selector *sel = &gw->selectors[idx];
    struct ike_cfg_child *c = &gw->children[idx];
    char where[200];
    snprintf(where, sizeof(where), "%s selector #%zu", gw_where, idx + 1);
    sel->child = c;
    sel->file = cfgl_strdup(l, cfgl_file(l, set));
    sel->line = cfgl_line(set);
    load_name(l, set, where, sizeof(where), gw_where, gw, idx, sel);
    c->name = sel->name;
    cfgl_check_keys(l, set, sel_keys, where);

    struct subnet_ctx fam = {0};
    load_subnets(l, set, where, "local-subnet", &fam, c->local_ts, &c->n_local_ts);
    load_subnets(l, set, where, "remote-subnet", &fam, c->remote_ts, &c->n_remote_ts);
    sel->family = fam.family;
    load_protocol(l, set, where, sel);
    load_port(l, set, where, "local-port", sel, &sel->local_port_start, &sel->local_port_end);
    load_port(l, set, where, "remote-port", sel, &sel->remote_port_start, &sel->remote_port_end);
    apply_proto_ports(c->local_ts, c->n_local_ts, sel->ip_proto, sel->local_port_start,
                      sel->local_port_end);
    apply_proto_ports(c->remote_ts, c->n_remote_ts, sel->ip_proto, sel->remote_port_start,
                      sel->remote_port_end);
    load_proposal(l, set, where, gw, sel);
    cfgl_lifetime(l, set, where, CHILD_KEYLIFE_DEFAULT, true, &sel->lifetime);
    c->lifetime.soft_s = sel->lifetime.soft_s;
    c->lifetime.hard_s = sel->lifetime.hard_s;
    c->lifetime.jitter_s = sel->lifetime.jitter_s;
    load_flags(l, set, where, gw, sel);
    load_replay(l, set, where, sel);
}

void cfg_load_selectors(struct cfg_loader *l, const config_setting_t *gw_set,
                        struct cfg_gateway *gw, const char *where)
{
    const config_setting_t *list = NULL;
    if (cfgl_group_list(l, gw_set, "selectors", where, &list) != 1)
        return;
    size_t n = (size_t)config_setting_length(list);
    if (n == 0)
        return;
    gw->children = calloc(n, sizeof(*gw->children));
    gw->selectors = calloc(n, sizeof(*gw->selectors));
    if (!gw->children || !gw->selectors) {
        cfg_errors_add(l->errs, l->main_path, 0, "out of memory");
        return;
    }
    gw->n_selectors = n;
    for (size_t i = 0; i < n; i++)
        load_selector(l, config_setting_get_elem(list, (unsigned)i), i, gw, where);
}
