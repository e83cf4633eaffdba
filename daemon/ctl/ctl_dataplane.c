/* The data plane's own state for `status` and the gateway listings (see
 * ctl_dataplane.h). */
#include "ctl/ctl_dataplane.h"

#include <stdlib.h>

#include "daemon.h"
#include "gateway.h"

static Ctl__DataplaneNetns *netns_msg(struct ctl_arena *a, const struct dp_info_netns *n)
{
    Ctl__DataplaneNetns *m = CTL_NEW(a, Ctl__DataplaneNetns, dataplane_netns);
    if (!m || !(m->name = ctl_arena_strdup(a, n->name)))
        return NULL;
    m->has_events = m->has_ae_events = m->has_expires = true;
    m->has_unknown = m->has_errors = m->has_overruns = true;
    m->events = n->events;
    m->ae_events = n->ae_events;
    m->expires = n->expires;
    m->unknown = n->unknown;
    m->errors = n->errors;
    m->overruns = n->overruns;
    return m;
}

/* The backend's part: 1, or 0 when the arena ran out. */
static int fill_info(struct ctl_arena *a, Ctl__DataplaneStatus *m, const struct dp_info *info)
{
    if (info->has_gso) {
        m->has_udp_gso = m->has_gso_refused = m->has_gso_paths_off = true;
        m->has_gso_messages = m->has_gso_evictions = true;
        m->udp_gso = info->gso;
        m->gso_refused = info->gso_refused;
        m->gso_paths_off = (uint32_t)info->gso_paths_off;
        m->gso_messages = info->gso_msgs;
        m->gso_evictions = info->gso_evictions;
    }
    if (info->n_netns) {
        m->netns = ctl_arena_calloc(a, info->n_netns, sizeof(*m->netns));
        if (!m->netns)
            return 0;
        for (size_t i = 0; i < info->n_netns; i++)
            if (!(m->netns[m->n_netns++] = netns_msg(a, &info->netns[i])))
                return 0;
    }
    if (info->netns_omitted) {
        m->has_netns_omitted = true;
        m->netns_omitted = (uint32_t)info->netns_omitted;
    }
    return 1;
}

Ctl__DataplaneStatus *ctl_v_dataplane(struct ctl_req *r)
{
    struct ctl_arena *a = r->arena;
    struct dp *dp = &r->ctx->d->dp;
    Ctl__DataplaneStatus *m = CTL_NEW(a, Ctl__DataplaneStatus, dataplane_status);
    if (!m)
        return NULL;
    if (dp->ops && !(m->backend = ctl_arena_strdup(a, dp->ops->name)))
        return NULL;
    m->has_installs = m->has_removes = m->has_install_failures = m->has_esp_in_dropped = true;
    m->installs = dp->installs;
    m->removes = dp->removes;
    m->install_failures = dp->install_failures;
    m->esp_in_dropped = dp->esp_in_dropped;
    struct dp_info *info = malloc(sizeof(*info)); /* ~10 KiB: not on the stack */
    if (!info)
        return NULL;
    dp_info(dp, info);
    int ok = fill_info(a, m, info);
    free(info);
    if (!ok)
        return NULL;
    return m;
}

Ctl__DataplaneDevice *ctl_v_device(struct ctl_req *r, const struct gateway *gw)
{
    struct dp_gw_device dev;
    if (!dp_gateway_device(&r->ctx->d->dp, gw->name, &dev))
        return NULL;
    struct ctl_arena *a = r->arena;
    Ctl__DataplaneDevice *m = CTL_NEW(a, Ctl__DataplaneDevice, dataplane_device);
    if (!m || !(m->kind = ctl_arena_strdup(a, dev.kind)) ||
        !(m->name = ctl_arena_strdup(a, dev.ifname)) ||
        !(m->netns = ctl_arena_strdup(a, dev.netns)))
        return NULL;
    m->has_ifindex = true;
    m->ifindex = dev.ifindex > 0 ? (uint32_t)dev.ifindex : 0;
    if (dev.key) { /* not a secret: the mark any `ip xfrm policy` shows */
        m->has_key = true;
        m->key = dev.key;
    }
    return m;
}
