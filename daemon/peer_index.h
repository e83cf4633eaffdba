/*
 * IKE SAs by (gateway, authenticated peer ID), for INITIAL_CONTACT
 * (RFC 7296 §2.4: the notifying SA is the only one between the two
 * authenticated identities; a gateway has one local identity, so the
 * others are its SAs with the same peer ID). Without it every IKE_AUTH
 * carrying INITIAL_CONTACT walked all SAs of the gateway: O(n) per tunnel
 * on a dial-up gateway with 10^4 peers.
 *
 * Kept incrementally by gw_sa.c (attach, after every libike call, adopt,
 * destroy): each SA with a libike SA and an ID (type != 0) is filed in the
 * group of its (gateway, ID); a group lists its SAs in creation (serial)
 * order, the order a walk of gateway.sas saw them in.
 */
#ifndef HAIKED_PEER_INDEX_H
#define HAIKED_PEER_INDEX_H

#include <stdbool.h>
#include <stddef.h>

#include <ike/export.h>

struct gateway;
struct gw_sa;
struct peer_id_group;

struct peer_index {
    struct peer_id_group **buckets;
    size_t n_buckets; /* power of two */
    size_t n_groups;
    size_t n_filed;   /* SAs in some group */
    size_t n_unfiled; /* SAs that should be filed but are not (out of memory) */
};

int peer_index_init(struct peer_index *x);
/* Frees the groups (not the SAs); every SA must have been removed. */
void peer_index_fini(struct peer_index *x);

/* Files gs under (gs->gw, id), moving it out of the group of an older ID;
 * id NULL or of type 0: gs leaves the index. O(1) when the ID did not
 * change. -1 when out of memory: gs is then unfiled, counted in
 * n_unfiled until filed or removed (lookups must then walk). */
int peer_index_file(struct peer_index *x, struct gw_sa *gs, const struct ike_id_export *id);
void peer_index_remove(struct peer_index *x, struct gw_sa *gs);

/* True when every SA that should be filed is (no SA left out for lack of
 * memory) and id can be looked up (type != 0): then peer_index_first/next
 * see exactly the SAs of gw with this ID. */
bool peer_index_complete(const struct peer_index *x, const struct ike_id_export *id);
/* The oldest SA of gw filed under id, NULL when none. */
struct gw_sa *peer_index_first(const struct peer_index *x, const struct gateway *gw,
                               const struct ike_id_export *id);
/* The next SA with the same gateway and ID, in creation order. */
struct gw_sa *peer_index_next(const struct gw_sa *gs);
/* Number of SAs filed under (gw, id). */
size_t peer_index_count(const struct peer_index *x, const struct gateway *gw,
                        const struct ike_id_export *id);
/* True when a and b are the same ID (type, length, octets). */
bool peer_id_equal(const struct ike_id_export *a, const struct ike_id_export *b);

/* Recounts from gw's SAs (id_of gives each one's current ID): every SA
 * with an SA and an ID filed under exactly that ID, in serial order, the
 * groups' counts right. 0, or -1 with the first difference in why. O(n),
 * for tests. */
int peer_index_check(const struct peer_index *x, struct gateway *gw,
                     const struct ike_id_export *(*id_of)(const struct gw_sa *gs), char *why,
                     size_t whylen);

#endif
