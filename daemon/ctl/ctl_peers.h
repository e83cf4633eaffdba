/*
 * A dial-up gateway's peers for `tunnel summary`: its listed IKE SAs (a
 * libike SA, not dying) grouped by the peer's address:port in one pass
 * over them (a hash table in the request's arena), the peers in the order
 * their oldest SAs were created. Replaces, per SA, a walk over the SAs
 * before it and, per peer, walks over all SAs: quadratic with 10^4 peers.
 */
#ifndef HAIKED_CTL_PEERS_H
#define HAIKED_CTL_PEERS_H

#include <stddef.h>

#include <ike/ctx.h>

#include "ctl/ctl_arena.h"

struct gateway;
struct gw_sa;

struct ctl_peer_sa {
    struct gw_sa *gs;
    struct ctl_peer_sa *next; /* the peer's next SA, in the gateway's order */
};

struct ctl_peer {
    const struct ike_addr *addr; /* the remote address of its oldest SA */
    struct ctl_peer_sa *first, *last;
    struct ctl_peer *chain; /* hash bucket */
};

struct ctl_peers {
    struct ctl_peer **list; /* first-seen order */
    size_t n;
};

/* The SA a peer listing shows (libike SA attached, not freed): its peer's
 * address, else NULL. */
const struct ike_addr *ctl_peer_addr(const struct gw_sa *gs);
/* Groups gw's SAs; -1 when the arena ran out. */
int ctl_peers_group(struct ctl_arena *a, struct gateway *gw, struct ctl_peers *out);

#endif
