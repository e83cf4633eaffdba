/* A dial-up gateway's SAs by peer address, one pass (see ctl_peers.h). */
#include "ctl/ctl_peers.h"

#include <stdint.h>

#include <ike/sa.h>

#include "gateway.h"

const struct ike_addr *ctl_peer_addr(const struct gw_sa *gs)
{
    return gs->sa && !gs->dying ? ike_sa_remote_addr(gs->sa) : NULL;
}

/* Over what ike_addr_equal compares: family, port, the address octets. */
static uint64_t addr_hash(const struct ike_addr *a)
{
    uint64_t h = (1469598103934665603ull ^ a->family) * 1099511628211ull;
    h = (h ^ a->port) * 1099511628211ull;
    size_t n = a->family == IKE_AF_INET ? 4 : 16;
    for (size_t i = 0; i < n; i++)
        h = (h ^ a->addr[i]) * 1099511628211ull;
    return h;
}

int ctl_peers_group(struct ctl_arena *a, struct gateway *gw, struct ctl_peers *out)
{
    size_t nb = 16;
    while (nb < gw->n_sas)
        nb *= 2;
    struct ctl_peer **bucket = ctl_arena_calloc(a, nb, sizeof(*bucket));
    out->n = 0;
    out->list = ctl_arena_calloc(a, gw->n_sas ? gw->n_sas : 1, sizeof(*out->list));
    if (!bucket || !out->list)
        return -1;
    for (struct gw_sa *gs = gw_sa_first(gw); gs; gs = gw_sa_next(gs)) {
        const struct ike_addr *addr = ctl_peer_addr(gs);
        if (!addr)
            continue;
        struct ctl_peer **slot = &bucket[addr_hash(addr) & (nb - 1)], *p = *slot;
        while (p && !ike_addr_equal(p->addr, addr))
            p = p->chain;
        struct ctl_peer_sa *e = ctl_arena_alloc(a, sizeof(*e));
        if (!e)
            return -1;
        e->gs = gs;
        if (!p) {
            if (out->n >= gw->n_sas || !(p = ctl_arena_alloc(a, sizeof(*p))))
                return -1;
            p->addr = addr;
            p->chain = *slot;
            *slot = p;
            p->first = e;
            out->list[out->n++] = p;
        } else {
            p->last->next = e;
        }
        p->last = e;
    }
    return 0;
}
