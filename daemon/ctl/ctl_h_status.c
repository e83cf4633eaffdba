/* `status`: version, uptime, per-VDOM counts, the debug filter, the data
 * plane's own state, the cluster. */
#include <string.h>
#include <unistd.h>

#include "ctl/ctl_dataplane.h"
#include "ctl/ctl_dispatch.h"
#include "ctl/ctl_handlers.h"
#include "ctl/ctl_view.h"
#include "daemon.h"
#include "gateway.h"

/* Live SAs only: a dying one is freed at the next loop turn. */
static void sa_counts(struct gateway *gw, uint32_t *ike, uint32_t *child)
{
    *ike = *child = 0;
    for (struct gw_sa *gs = gw_sa_first(gw); gs; gs = gw_sa_next(gs)) {
        if (gs->dying)
            continue;
        (*ike)++;
        for (const struct dp_child *c = gw_child_first(gs); c; c = gw_child_next(c))
            (*child)++;
    }
}

static Ctl__VdomStatus *vdom_slot(struct ctl_arena *a, Ctl__StatusResult *st, size_t cap,
                                  const char *name)
{
    for (size_t i = 0; i < st->n_vdoms; i++)
        if (strcmp(st->vdoms[i]->name, name) == 0)
            return st->vdoms[i];
    if (st->n_vdoms >= cap)
        return NULL;
    Ctl__VdomStatus *v = CTL_NEW(a, Ctl__VdomStatus, vdom_status);
    if (!v || !(v->name = ctl_arena_strdup(a, name)))
        return NULL;
    v->has_gateways = v->has_ike_sas = v->has_child_sas = true;
    st->vdoms[st->n_vdoms++] = v;
    return v;
}

int ctl_h_status(struct ctl_req *r)
{
    struct ctl_arena *a = r->arena;
    Ctl__StatusResult *st = CTL_NEW(a, Ctl__StatusResult, status_result);
    if (!st)
        return -1;
    st->version = ctl_arena_strdup(a, r->ctx->version ? r->ctx->version : "?");
    st->has_uptime = st->has_pid = true;
    st->uptime = r->now_ms > r->ctx->started_ms ? (r->now_ms - r->ctx->started_ms) / 1000 : 0;
    st->pid = (uint32_t)getpid();
    struct daemon *d = r->ctx->d;
    size_t n_gw = gw_count(d), cap = n_gw + d->n_vdoms;
    st->vdoms = ctl_arena_calloc(a, cap ? cap : 1, sizeof(*st->vdoms));
    if (!st->vdoms)
        return -1;
    /* Every VDOM, also those without gateways, in configuration order. */
    for (size_t i = 0; i < d->n_vdoms; i++) {
        Ctl__VdomStatus *v = vdom_slot(a, st, cap, d->vdoms[i].name);
        if (!v || !(v->net = ctl_v_net_stats(a, &d->vdoms[i].net.ctr)))
            return -1;
    }
    st->has_gateways = st->has_ike_sas = st->has_child_sas = true;
    for (struct gateway *gw = gw_first(d); gw; gw = gw_next(gw)) {
        Ctl__VdomStatus *v = vdom_slot(a, st, cap, ctl_v_vdom(gw));
        uint32_t ike, children;
        sa_counts(gw, &ike, &children);
        st->gateways++;
        st->ike_sas += ike;
        st->child_sas += children;
        if (v) {
            v->gateways++;
            v->ike_sas += ike;
            v->child_sas += children;
        }
    }
    st->debug = ctl_debug_filter(r);
    if (!(st->dataplane = ctl_v_dataplane(r)))
        return -1;
    if (ctl_ha_status(r, st) != 0)
        return -1;
    r->resp->result_case = CTL__RESPONSE__RESULT_STATUS;
    r->resp->status = st;
    return 0;
}
