/*
 * The `ha` group of haiked.conf (DESIGN.md §3, §4): the sync channel's
 * settings and the virtual clusters, each a set of VDOMs that fail over
 * together with this node's priority and the floating addresses (VIPs)
 * the master of the vcluster holds.
 *
 * Every VDOM belongs to exactly one vcluster. A VDOM listed in none is an
 * error rather than silently joining some default vcluster: which node
 * answers for a VDOM's tunnels is exactly what must never be implicit (the
 * seed's failure was a VDOM active on the "wrong" node). The one shortcut:
 * with a single vcluster, `vdoms` may be left out and it takes them all.
 */
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/addr_parse.h"
#include "config/loader.h"

/* hasync_elect's limit (HASYNC_ELECT_MAX_VC); ha_role.c asserts they agree. */
#define CFG_VCLUSTERS_MAX 16
#define CFG_VIPS_MAX      64
#define CFG_GROUP_MAX     127 /* CPG_MAX_NAME_LENGTH 128 with the NUL */

/* Defaults, justified in README.md ("ha"). */
#define HA_SEQ_SYNC_PACKETS 1024u
#define HA_SEQ_SYNC_MS      1000u
#define HA_SEQ_JUMP         (UINT64_C(1) << 20)
#define HA_MSGID_JUMP       1u
#define HA_DRAIN_TIMEOUT_MS 2000u /* the retransmit schedule's first tries */
#define HA_PRIORITY         128u /* FGCP's default device priority */

static const char *const ha_keys[] = {
    "group",    "allow-plaintext-sync", "seq-sync-packets", "seq-sync-ms",
    "seq-jump", "msgid-jump",           "vclusters",        "drain-timeout-ms", NULL};
static const char *const vc_keys[] = {"id", "priority", "override", "vdoms", "vips", NULL};
static const char *const vip_keys[] = {"vdom", "interface", "address", NULL};

static void vc_free(struct cfg_vcluster *vc)
{
    for (size_t k = 0; k < vc->n_vdoms; k++)
        free(vc->vdoms[k]);
    free(vc->vdoms);
    for (size_t k = 0; k < vc->n_vips; k++) {
        free(vc->vips[k].vdom);
        free(vc->vips[k].ifname);
        free(vc->vips[k].file);
    }
    free(vc->vips);
    free(vc->file);
}

void cfg_ha_free(struct cfg_ha *ha)
{
    for (size_t i = 0; i < ha->n_vclusters; i++)
        vc_free(&ha->vclusters[i]);
    free(ha->vclusters);
    free(ha->group);
    free(ha->file);
    memset(ha, 0, sizeof(*ha));
}

/* The vcluster that already lists vdom, or NULL. */
static const struct cfg_vcluster *vdom_owner(const struct cfg_ha *ha, const char *vdom)
{
    for (size_t i = 0; i < ha->n_vclusters; i++)
        for (size_t k = 0; k < ha->vclusters[i].n_vdoms; k++)
            if (strcmp(ha->vclusters[i].vdoms[k], vdom) == 0)
                return &ha->vclusters[i];
    return NULL;
}

static bool vc_has_vdom(const struct cfg_vcluster *vc, const char *vdom)
{
    for (size_t k = 0; k < vc->n_vdoms; k++)
        if (strcmp(vc->vdoms[k], vdom) == 0)
            return true;
    return false;
}

/* "203.0.113.10/24" or "2001:db8::10/64" or one address (/32, /128). */
static int parse_vip_addr(const char *s, struct cfg_vip *vip, char *err, size_t errlen)
{
    char buf[INET6_ADDRSTRLEN + 8];
    if (strlen(s) >= sizeof(buf)) {
        snprintf(err, errlen, "address '%.60s...' is too long", s);
        return -1;
    }
    snprintf(buf, sizeof(buf), "%s", s);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    if (cfg_addr_parse(buf, &vip->addr, err, errlen) < 0)
        return -1;
    vip->addr.port = 0;
    unsigned max = vip->addr.family == IKE_AF_INET ? 32 : 128;
    vip->prefix_len = (uint8_t)max;
    if (slash) {
        char *end;
        const char *p = slash + 1;
        unsigned long len = strtoul(p, &end, 10);
        if (!*p || *end || *p < '0' || *p > '9' || len > max) {
            snprintf(err, errlen, "address '%s': prefix length must be 0..%u", s, max);
            return -1;
        }
        vip->prefix_len = (uint8_t)len;
    }
    if (cfg_addr_is_zero(&vip->addr)) {
        snprintf(err, errlen, "address '%s' is the unspecified address", s);
        return -1;
    }
    return 0;
}

static bool ifname_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= IFNAMSIZ)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '/' || s[i] == ':' || s[i] <= ' ' || s[i] > '~')
            return false;
    return true;
}

static void load_vip(struct cfg_loader *l, const config_setting_t *set, size_t idx,
                     struct cfg_ha *ha, struct cfg_vcluster *vc)
{
    char where[96];
    snprintf(where, sizeof(where), "vcluster %" PRIu32 " vip #%zu", vc->id, idx + 1);
    cfgl_check_keys(l, set, vip_keys, where);
    const char *vdom = NULL, *ifname = NULL, *addr = NULL;
    int rv = cfgl_string(l, set, "vdom", where, &vdom);
    int ri = cfgl_string(l, set, "interface", where, &ifname);
    int ra = cfgl_string(l, set, "address", where, &addr);
    if (rv < 0 || ri < 0 || ra < 0)
        return;
    if (rv == 0) {
        if (vc->n_vdoms != 1) {
            cfgl_err(l, set, where, "missing vdom (the vcluster has %zu VDOMs)", vc->n_vdoms);
            return;
        }
        vdom = vc->vdoms[0];
    }
    if (ri == 0 || ra == 0) {
        cfgl_err(l, set, where, "missing %s", ri == 0 ? "interface" : "address");
        return;
    }
    if (!vc_has_vdom(vc, vdom)) {
        cfgl_err(l, config_setting_get_member(set, "vdom"), where,
                 "VDOM '%s' is not in vcluster %" PRIu32 " (a VIP moves with its vcluster)", vdom,
                 vc->id);
        return;
    }
    if (!ifname_ok(ifname)) {
        cfgl_err(l, config_setting_get_member(set, "interface"), where,
                 "interface '%s' is not an interface name (1..%d characters, no '/', ':' or "
                 "spaces)",
                 ifname, IFNAMSIZ - 1);
        return;
    }
    struct cfg_vip vip = {0};
    char err[160];
    if (parse_vip_addr(addr, &vip, err, sizeof(err)) < 0) {
        cfgl_err(l, config_setting_get_member(set, "address"), where, "%s", err);
        return;
    }
    /* One address in one namespace, once: two vclusters fighting over it
     * would each remove the other's. */
    for (size_t i = 0; i <= ha->n_vclusters; i++) { /* vc is not in the list yet */
        const struct cfg_vcluster *o = i < ha->n_vclusters ? &ha->vclusters[i] : vc;
        for (size_t k = 0; k < o->n_vips; k++)
            if (strcmp(o->vips[k].vdom, vdom) == 0 && ike_addr_equal(&o->vips[k].addr, &vip.addr)) {
                cfgl_err(l, config_setting_get_member(set, "address"), where,
                         "address '%s' is already a VIP of VDOM '%s' (%s:%d)", addr, vdom,
                         o->vips[k].file, o->vips[k].line);
                return;
            }
    }
    struct cfg_vip *v = realloc(vc->vips, (vc->n_vips + 1) * sizeof(*v));
    if (!v) {
        cfg_errors_add(l->errs, l->main_path, 0, "out of memory");
        return;
    }
    vc->vips = v;
    vip.vdom = cfgl_strdup(l, vdom);
    vip.ifname = cfgl_strdup(l, ifname);
    vip.file = cfgl_strdup(l, cfgl_file(l, set));
    vip.line = cfgl_line(set);
    vc->vips[vc->n_vips++] = vip;
}

static void load_vc_vdoms(struct cfg_loader *l, const config_setting_t *set, const char *where,
                          const struct cfg *cfg, struct cfg_ha *ha, struct cfg_vcluster *vc)
{
    const char *names[64];
    const config_setting_t *elems[64];
    size_t n = 0;
    if (cfgl_strings(l, set, "vdoms", where, 64, names, elems, &n) != 1)
        return;
    vc->vdoms = calloc(n, sizeof(*vc->vdoms));
    if (!vc->vdoms) {
        cfg_errors_add(l->errs, l->main_path, 0, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!cfg_vdom_find(cfg, names[i])) {
            cfgl_err(l, elems[i], where, "unknown VDOM '%s'", names[i]);
            continue;
        }
        const struct cfg_vcluster *o = vdom_owner(ha, names[i]);
        if (o || vc_has_vdom(vc, names[i])) {
            if (!o)
                cfgl_err(l, elems[i], where, "VDOM '%s' is listed twice", names[i]);
            else
                cfgl_err(l, elems[i], where,
                         "VDOM '%s' is already in vcluster %" PRIu32 " (%s:%d): a VDOM fails "
                         "over with exactly one vcluster",
                         names[i], o->id, o->file, o->line);
            continue;
        }
        vc->vdoms[vc->n_vdoms++] = cfgl_strdup(l, names[i]);
    }
}

/* The implicit VDOM list of a lone vcluster: every VDOM. */
static void take_all_vdoms(struct cfg_loader *l, const struct cfg *cfg, struct cfg_vcluster *vc)
{
    vc->vdoms = calloc(cfg->n_vdoms ? cfg->n_vdoms : 1, sizeof(*vc->vdoms));
    if (!vc->vdoms) {
        cfg_errors_add(l->errs, l->main_path, 0, "out of memory");
        return;
    }
    for (size_t i = 0; i < cfg->n_vdoms; i++)
        vc->vdoms[vc->n_vdoms++] = cfgl_strdup(l, cfg->vdoms[i].name);
}

static void load_vcluster(struct cfg_loader *l, const config_setting_t *set, size_t idx,
                          size_t count, const struct cfg *cfg, struct cfg_ha *ha)
{
    char where[64];
    uint32_t id = 0;
    snprintf(where, sizeof(where), "vcluster #%zu", idx + 1);
    int rid = cfgl_u32(l, set, "id", where, 1, 65535, &id);
    if (rid == 0)
        cfgl_err(l, set, where, "missing id (1..65535, the same on every node)");
    if (rid == 1)
        snprintf(where, sizeof(where), "vcluster %" PRIu32, id);
    cfgl_check_keys(l, set, vc_keys, where);
    if (rid != 1)
        return;
    for (size_t i = 0; i < ha->n_vclusters; i++)
        if (ha->vclusters[i].id == id) {
            cfgl_err(l, config_setting_get_member(set, "id"), where,
                     "duplicate vcluster id %" PRIu32 " (first defined at %s:%d)", id,
                     ha->vclusters[i].file, ha->vclusters[i].line);
            return;
        }
    struct cfg_vcluster vc = {.id = id, .priority = HA_PRIORITY};
    cfgl_u32(l, set, "priority", where, 0, 255, &vc.priority);
    cfgl_bool(l, set, "override", where, &vc.override);
    vc.file = cfgl_strdup(l, cfgl_file(l, set));
    vc.line = cfgl_line(set);
    if (config_setting_get_member(set, "vdoms"))
        load_vc_vdoms(l, set, where, cfg, ha, &vc);
    else if (count == 1)
        take_all_vdoms(l, cfg, &vc);
    else
        cfgl_err(l, set, where,
                 "missing vdoms (with %zu vclusters each lists the VDOMs it fails over)", count);
    const config_setting_t *vips = NULL;
    if (cfgl_group_list(l, set, "vips", where, &vips) == 1) {
        int n = config_setting_length(vips);
        if (n > CFG_VIPS_MAX)
            cfgl_err(l, vips, where, "%d VIPs (at most %d)", n, CFG_VIPS_MAX);
        else
            for (int i = 0; i < n; i++)
                load_vip(l, config_setting_get_elem(vips, (unsigned)i), (size_t)i, ha, &vc);
    }
    struct cfg_vcluster *v = realloc(ha->vclusters, (ha->n_vclusters + 1) * sizeof(*v));
    if (!v) {
        cfg_errors_add(l->errs, l->main_path, 0, "out of memory");
        vc_free(&vc);
        return;
    }
    ha->vclusters = v;
    ha->vclusters[ha->n_vclusters++] = vc;
}

static void load_sync_settings(struct cfg_loader *l, const config_setting_t *set, struct cfg_ha *ha)
{
    const char *group = NULL;
    if (cfgl_string(l, set, "group", "ha", &group) == 1) {
        if (!group[0] || strlen(group) > CFG_GROUP_MAX || !cfgl_name_ok(group))
            cfgl_err(l, config_setting_get_member(set, "group"), "ha",
                     "group must be 1..%d characters of A-Z a-z 0-9 _ . -", CFG_NAME_MAX);
        else {
            free(ha->group);
            ha->group = cfgl_strdup(l, group);
        }
    }
    cfgl_bool(l, set, "allow-plaintext-sync", "ha", &ha->allow_plaintext_sync);
    cfgl_u32(l, set, "seq-sync-packets", "ha", 1, 1u << 30, &ha->seq_sync_packets);
    cfgl_u32(l, set, "seq-sync-ms", "ha", 10, 60000, &ha->seq_sync_ms);
    /* 0 would reuse (SPI, sequence) pairs after a takeover: with AES-GCM a
     * nonce reuse (DESIGN.md §3: mandatory, not an option). */
    int rj = cfgl_uint(l, set, "seq-jump", "ha", 1, UINT64_C(1) << 62, &ha->seq_jump);
    cfgl_u32(l, set, "msgid-jump", "ha", 0, 1024, &ha->msgid_jump);
    cfgl_u32(l, set, "drain-timeout-ms", "ha", 0, 60000, &ha->drain_timeout_ms);
    if (rj == 1 && ha->seq_jump <= ha->seq_sync_packets)
        cfgl_err(l, config_setting_get_member(set, "seq-jump"), "ha",
                 "seq-jump (%" PRIu64 ") must be larger than seq-sync-packets (%" PRIu32
                 "): the old master may have sent that many packets since its last sync",
                 ha->seq_jump, ha->seq_sync_packets);
}

/* RFC 6311 is what lets a new master continue an IKE SA whose message IDs
 * and ESP replay windows trail the old master's: a gateway whose VDOM is
 * in a vcluster offers both unless its file says otherwise (a single node
 * keeps the libike default, off). */
static void rfc6311_defaults(struct cfg *cfg)
{
    for (size_t i = 0; i < cfg->n_gateways; i++) {
        struct cfg_gateway *gw = cfg->gateways[i];
        if (!gw || !gw->vdom || !vdom_owner(&cfg->ha, gw->vdom))
            continue;
        if (!gw->msgid_sync_set)
            gw->sa.msgid_sync = true;
        if (!gw->replay_counter_sync_set)
            gw->sa.replay_counter_sync = true;
    }
}

void cfg_load_ha(struct cfg_loader *l, const config_setting_t *root, struct cfg *cfg)
{
    struct cfg_ha *ha = &cfg->ha;
    const config_setting_t *set = config_setting_get_member(root, "ha");
    if (!set)
        return;
    if (!config_setting_is_group(set)) {
        cfgl_err(l, set, "", "ha must be a group: ha = { vclusters = ( { id = 1; } ); };");
        return;
    }
    cfgl_check_keys(l, set, ha_keys, "ha");
    ha->enabled = true;
    ha->group = cfgl_strdup(l, "haiked");
    ha->seq_sync_packets = HA_SEQ_SYNC_PACKETS;
    ha->seq_sync_ms = HA_SEQ_SYNC_MS;
    ha->seq_jump = HA_SEQ_JUMP;
    ha->msgid_jump = HA_MSGID_JUMP;
    ha->drain_timeout_ms = HA_DRAIN_TIMEOUT_MS;
    ha->file = cfgl_strdup(l, cfgl_file(l, set));
    ha->line = cfgl_line(set);
    load_sync_settings(l, set, ha);

    const config_setting_t *list = NULL;
    int rc = cfgl_group_list(l, set, "vclusters", "ha", &list);
    if (rc == 0) {
        cfgl_err(l, set, "ha", "missing vclusters: vclusters = ( { id = 1; priority = 200; } );");
        return;
    }
    if (rc < 0)
        return;
    int n = config_setting_length(list);
    if (n == 0 || n > CFG_VCLUSTERS_MAX) {
        cfgl_err(l, list, "ha", "vclusters has %d entries (1..%d)", n, CFG_VCLUSTERS_MAX);
        return;
    }
    size_t errs_before = l->errs->n + l->errs->dropped;
    for (int i = 0; i < n; i++)
        load_vcluster(l, config_setting_get_elem(list, (unsigned)i), (size_t)i, (size_t)n, cfg, ha);
    if (l->errs->n + l->errs->dropped != errs_before)
        return; /* a bad vcluster may have been the one meant to hold the VDOMs */
    for (size_t i = 0; i < cfg->n_vdoms; i++) {
        const struct cfg_vdom *v = &cfg->vdoms[i];
        if (vdom_owner(ha, v->name))
            continue;
        if (v->line)
            cfgl_err(l, list, "ha",
                     "VDOM '%s' (%s:%d) is in no vcluster: list it in the vdoms of one", v->name,
                     v->file, v->line);
        else
            cfgl_err(l, list, "ha", "VDOM '%s' is in no vcluster: list it in the vdoms of one",
                     v->name);
    }
    rfc6311_defaults(cfg);
}

/* ---- SIGHUP reload ------------------------------------------------------- */

static bool str_same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool vc_same(const struct cfg_vcluster *a, const struct cfg_vcluster *b)
{
    if (a->id != b->id || a->priority != b->priority || a->override != b->override ||
        a->n_vdoms != b->n_vdoms || a->n_vips != b->n_vips)
        return false;
    for (size_t k = 0; k < a->n_vdoms; k++)
        if (!str_same(a->vdoms[k], b->vdoms[k]))
            return false;
    for (size_t k = 0; k < a->n_vips; k++) {
        const struct cfg_vip *x = &a->vips[k], *y = &b->vips[k];
        if (!str_same(x->vdom, y->vdom) || !str_same(x->ifname, y->ifname) ||
            !ike_addr_equal(&x->addr, &y->addr) || x->prefix_len != y->prefix_len)
            return false;
    }
    return true;
}

int cfg_ha_adopt(struct cfg *next, struct cfg *prev, char *err, size_t errlen)
{
    const struct cfg_ha *a = &next->ha, *b = &prev->ha;
    bool same = a->enabled == b->enabled && str_same(a->group, b->group) &&
                a->allow_plaintext_sync == b->allow_plaintext_sync &&
                a->seq_sync_packets == b->seq_sync_packets && a->seq_sync_ms == b->seq_sync_ms &&
                a->seq_jump == b->seq_jump && a->msgid_jump == b->msgid_jump &&
                a->drain_timeout_ms == b->drain_timeout_ms && a->n_vclusters == b->n_vclusters;
    for (size_t i = 0; same && i < a->n_vclusters; i++)
        same = vc_same(&a->vclusters[i], &b->vclusters[i]);
    if (!same) {
        snprintf(err, errlen, "the ha section changed: restart haiked to apply it");
        return -1;
    }
    /* The running cluster side points into prev's: keep those objects. */
    struct cfg_ha tmp = next->ha;
    next->ha = prev->ha;
    prev->ha = tmp;
    return 0;
}
