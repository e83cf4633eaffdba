/*
 * The loaded model: freeing, lookups, and the comparison SIGHUP reload
 * relies on to leave unchanged gateways (and their tunnels) alone.
 */
#include <stdlib.h>
#include <string.h>

#include "config/addr_parse.h"
#include "config/loader.h"

void cfg_gateway_free(struct cfg_gateway *gw)
{
    if (!gw)
        return;
    for (size_t i = 0; i < gw->n_selectors; i++) {
        free(gw->selectors[i].name);
        free(gw->selectors[i].proposal_text);
        free(gw->selectors[i].file);
    }
    free(gw->selectors);
    free(gw->children);
    ike_secret_free(gw->psk);
    free(gw->name);
    free(gw->vdom);
    free(gw->proposal_text);
    free(gw->psk_source);
    free(gw->file);
    free(gw);
}

void cfg_free(struct cfg *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_gateways; i++)
        cfg_gateway_free(cfg->gateways[i]);
    free(cfg->gateways);
    for (size_t i = 0; i < cfg->n_vdoms; i++) {
        free(cfg->vdoms[i].name);
        free(cfg->vdoms[i].netns);
        free(cfg->vdoms[i].file);
    }
    free(cfg->vdoms);
    cfg_ha_free(&cfg->ha);
    free(cfg->global.ctl_socket);
    free(cfg->global.secrets_file);
    free(cfg->path);
    free(cfg);
}

const struct cfg_vdom *cfg_vdom_find(const struct cfg *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_vdoms; i++)
        if (cfg->vdoms[i].name && strcmp(cfg->vdoms[i].name, name) == 0)
            return &cfg->vdoms[i];
    return NULL;
}

struct cfg_gateway *cfg_gateway_find(const struct cfg *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_gateways; i++)
        if (strcmp(cfg->gateways[i]->name, name) == 0)
            return cfg->gateways[i];
    return NULL;
}

const struct cfg_selector *cfg_selector_find(const struct cfg_gateway *gw, const char *name)
{
    for (size_t i = 0; i < gw->n_selectors; i++)
        if (gw->selectors[i].name && strcmp(gw->selectors[i].name, name) == 0)
            return &gw->selectors[i];
    return NULL;
}

static bool addr_same(const struct ike_addr *a, const struct ike_addr *b)
{
    size_t len = a->family == IKE_AF_INET ? 4 : 16;
    return a->family == b->family && memcmp(a->addr, b->addr, len) == 0;
}

struct cfg_gateway *cfg_gateway_match(const struct cfg *cfg, const char *vdom,
                                      const struct ike_addr *local, const struct ike_addr *remote)
{
    struct cfg_gateway *dialup = NULL;
    for (size_t i = 0; i < cfg->n_gateways; i++) {
        struct cfg_gateway *gw = cfg->gateways[i];
        if (strcmp(gw->vdom, vdom) != 0 || !addr_same(&gw->sa.local, local))
            continue;
        if (!gw->remote_any && addr_same(&gw->sa.remote, remote))
            return gw;
        if (gw->remote_any && gw->sa.remote.family == remote->family && !dialup)
            dialup = gw;
    }
    return dialup;
}

/* ---- equality --------------------------------------------------------- */

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

#define LIST_EQ(a, b, field, n)                                                                    \
    ((a)->n == (b)->n && memcmp((a)->field, (b)->field, (a)->n * sizeof((a)->field[0])) == 0)

static bool proposal_eq(const struct ike_cfg_proposal *a, const struct ike_cfg_proposal *b)
{
    if (a->n_encr != b->n_encr)
        return false;
    for (size_t i = 0; i < a->n_encr; i++)
        if (a->encr[i].id != b->encr[i].id || a->encr[i].key_bits != b->encr[i].key_bits)
            return false;
    return LIST_EQ(a, b, integ, n_integ) && LIST_EQ(a, b, prf, n_prf) && LIST_EQ(a, b, dh, n_dh) &&
           LIST_EQ(a, b, esn, n_esn);
}

static bool proposals_eq(const struct ike_cfg_proposal *a, size_t na,
                         const struct ike_cfg_proposal *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (!proposal_eq(&a[i], &b[i]))
            return false;
    return true;
}

static bool ts_eq(const struct ike_ts *a, size_t na, const struct ike_ts *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (a[i].type != b[i].type || a[i].ip_proto != b[i].ip_proto ||
            a[i].start_port != b[i].start_port || a[i].end_port != b[i].end_port ||
            memcmp(a[i].start_addr, b[i].start_addr, 16) != 0 ||
            memcmp(a[i].end_addr, b[i].end_addr, 16) != 0)
            return false;
    return true;
}

static bool id_eq(const struct ike_cfg_id *a, const struct ike_cfg_id *b)
{
    return a->type == b->type && a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static bool lifetime_eq(const struct cfg_lifetime *a, const struct cfg_lifetime *b)
{
    return a->soft_s == b->soft_s && a->hard_s == b->hard_s && a->jitter_s == b->jitter_s &&
           a->soft_bytes == b->soft_bytes && a->hard_bytes == b->hard_bytes &&
           a->soft_packets == b->soft_packets && a->hard_packets == b->hard_packets;
}

static bool ike_lifetime_eq(const struct ike_cfg_lifetime *a, const struct ike_cfg_lifetime *b)
{
    return a->soft_s == b->soft_s && a->hard_s == b->hard_s && a->jitter_s == b->jitter_s;
}

static bool selector_eq(const struct cfg_selector *a, const struct cfg_selector *b)
{
    const struct ike_cfg_child *ca = a->child, *cb = b->child;
    return str_eq(a->name, b->name) && a->ip_proto == b->ip_proto &&
           a->local_port_start == b->local_port_start && a->local_port_end == b->local_port_end &&
           a->remote_port_start == b->remote_port_start &&
           a->remote_port_end == b->remote_port_end && a->family == b->family && a->pfs == b->pfs &&
           lifetime_eq(&a->lifetime, &b->lifetime) && a->auto_negotiate == b->auto_negotiate &&
           a->keepalive == b->keepalive && a->add_route == b->add_route &&
           a->replay_set == b->replay_set && a->replay_window == b->replay_window &&
           proposals_eq(ca->proposals, ca->n_proposals, cb->proposals, cb->n_proposals) &&
           ts_eq(ca->local_ts, ca->n_local_ts, cb->local_ts, cb->n_local_ts) &&
           ts_eq(ca->remote_ts, ca->n_remote_ts, cb->remote_ts, cb->n_remote_ts) &&
           ike_lifetime_eq(&ca->lifetime, &cb->lifetime);
}

/* What libike itself is given. */
static bool sa_cfg_eq(const struct ike_sa_cfg *a, const struct ike_sa_cfg *b)
{
    bool psk_eq = (!a->psk && !b->psk) || (a->psk && b->psk && ike_secret_equal(a->psk, b->psk));
    return str_eq(a->name, b->name) && ike_addr_equal(&a->local, &b->local) &&
           ike_addr_equal(&a->remote, &b->remote) &&
           proposals_eq(a->proposals, a->n_proposals, b->proposals, b->n_proposals) && psk_eq &&
           id_eq(&a->local_id, &b->local_id) && id_eq(&a->remote_id, &b->remote_id) &&
           a->fragmentation == b->fragmentation && a->msgid_sync == b->msgid_sync &&
           a->n_children == b->n_children && a->initial_contact == b->initial_contact &&
           a->replay_counter_sync == b->replay_counter_sync && a->reauth == b->reauth &&
           ike_lifetime_eq(&a->lifetime, &b->lifetime) && a->dpd == b->dpd &&
           a->dpd_interval_s == b->dpd_interval_s && a->dpd_retries == b->dpd_retries &&
           a->natt == b->natt;
}

bool cfg_gateway_equal(const struct cfg_gateway *a, const struct cfg_gateway *b)
{
    if (!str_eq(a->name, b->name) || !str_eq(a->vdom, b->vdom) ||
        a->ike_version != b->ike_version || a->remote_any != b->remote_any ||
        a->passive != b->passive || a->auto_negotiate != b->auto_negotiate ||
        a->reauth != b->reauth || a->initial_contact != b->initial_contact || a->dpd != b->dpd ||
        a->route_based != b->route_based ||
        a->dpd_interval_s != b->dpd_interval_s || a->dpd_retries != b->dpd_retries ||
        a->natt != b->natt || a->natt_keepalive_s != b->natt_keepalive_s ||
        !lifetime_eq(&a->lifetime, &b->lifetime) || a->n_selectors != b->n_selectors ||
        !sa_cfg_eq(&a->sa, &b->sa))
        return false;
    for (size_t i = 0; i < a->n_selectors; i++)
        if (!selector_eq(&a->selectors[i], &b->selectors[i]))
            return false;
    return true;
}

static bool vdom_same(const struct cfg *next, const struct cfg *prev, const char *name)
{
    const struct cfg_vdom *a = cfg_vdom_find(next, name), *b = cfg_vdom_find(prev, name);
    return a && b && str_eq(a->netns, b->netns);
}

static void swap_pos(char **fa, int *la, char **fb, int *lb)
{
    char *f = *fa;
    int l = *la;
    *fa = *fb;
    *la = *lb;
    *fb = f;
    *lb = l;
}

/* An adopted gateway keeps its objects but reports the new file:line
 * (lines move when other gateways are edited). */
static void take_positions(struct cfg_gateway *keep, struct cfg_gateway *fresh)
{
    swap_pos(&keep->file, &keep->line, &fresh->file, &fresh->line);
    for (size_t i = 0; i < keep->n_selectors; i++)
        swap_pos(&keep->selectors[i].file, &keep->selectors[i].line, &fresh->selectors[i].file,
                 &fresh->selectors[i].line);
}

size_t cfg_adopt_unchanged(struct cfg *next, struct cfg *prev)
{
    size_t adopted = 0;
    for (size_t i = 0; i < next->n_gateways; i++) {
        struct cfg_gateway *ng = next->gateways[i];
        for (size_t j = 0; j < prev->n_gateways; j++) {
            struct cfg_gateway *pg = prev->gateways[j];
            if (strcmp(pg->name, ng->name) != 0)
                continue;
            if (cfg_gateway_equal(ng, pg) && vdom_same(next, prev, ng->vdom)) {
                take_positions(pg, ng);
                next->gateways[i] = pg;
                memmove(&prev->gateways[j], &prev->gateways[j + 1],
                        (prev->n_gateways - j - 1) * sizeof(prev->gateways[0]));
                prev->n_gateways--;
                cfg_gateway_free(ng);
                adopted++;
            }
            break;
        }
    }
    return adopted;
}
