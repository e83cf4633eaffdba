/*
 * A clean stop of a cluster node (ha.h: ha_shutdown_keep). A vcluster we
 * master whose peer is in sync is released here (VIPs removed, SAs
 * passive) and its SAs are freed without a Delete: the peer continues them
 * from the synced state when we leave the group (ha_stop), as after any
 * failure of ours, only faster (CPG reports a leave at once). Deleting
 * them, as a single node does, would end every tunnel of the cluster.
 *
 * Kept apart from ha_role.c: it needs only the peers' announcements and
 * ha_release, and daemon.c calls it whether or not HA runs.
 */
#include <inttypes.h>
#include <stdio.h>

#include "daemon.h"
#include "ha_internal.h"
#include "ha_role.h"

const struct ha_peer *ha_eligible_peer(const struct ha *ha, uint32_t id)
{
    for (size_t i = 0; i < ha->n_peers; i++) {
        const struct ha_peer *p = &ha->peers[i];
        for (size_t k = 0; p->member && k < p->n_ann; k++)
            if (p->ann[k].vcluster == id && p->ann[k].role != HASYNC_ROLE_SYNCING &&
                p->ann[k].role != HASYNC_ROLE_WAITING && p->ann[k].priority > 0)
                return p;
    }
    return NULL;
}

bool ha_shutdown_keep(struct daemon *d, const struct gateway *gw)
{
    struct ha *ha = d->ha;
    struct ha_vc *vc = ha ? ha_vc_of_vdom(d, gw->vdom) : NULL;
    if (!vc)
        return false;
    if (!vc->active)
        return true; /* passive copies: the master continues them */
    const struct ha_peer *p = ha_eligible_peer(ha, vc->id);
    if (!p)
        return false; /* nobody continues: the tunnels end with us */
    char why[96];
    snprintf(why, sizeof(why), "shutting down: node %" PRIu32 " (%.40s) continues", p->node,
             p->name);
    /* d->stopping (set by daemon_shutdown) keeps the election from taking
     * anything back until we are gone. */
    ha_release(ha, vc, why);
    return true;
}
