/* IKE SA lookup by SPIs and half-open counting (see sa_table.h). */
#include "sa_table.h"

#include <stdlib.h>
#include <string.h>

#include <ike/sa.h>

#include "gateway.h"

struct sat_entry {
    struct sat_entry *next;
    uint8_t spi[IKE_SPI_LEN];
    struct ike_addr peer; /* by_init only */
    struct gw_sa *gs;
};

struct sat_peer {
    struct sat_peer *next;
    struct ike_addr addr; /* port 0 */
    size_t half_open;
};

#define SAT_MIN_BUCKETS 1024u
#define SAT_PEER_BUCKETS 256u

static uint64_t spi_hash(const uint8_t spi[IKE_SPI_LEN])
{
    /* Our SPIs are random, the peer's may not be: mix anyway (FNV-1a). */
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < IKE_SPI_LEN; i++)
        h = (h ^ spi[i]) * 1099511628211ull;
    return h;
}

static uint64_t addr_hash(const struct ike_addr *a)
{
    uint64_t h = 1469598103934665603ull ^ a->family;
    size_t n = a->family == IKE_AF_INET ? 4 : 16;
    for (size_t i = 0; i < n; i++)
        h = (h ^ a->addr[i]) * 1099511628211ull;
    return h;
}

static bool host_equal(const struct ike_addr *a, const struct ike_addr *b)
{
    return a->family == b->family && !memcmp(a->addr, b->addr, a->family == IKE_AF_INET ? 4 : 16);
}

int sat_init(struct sa_table *t)
{
    memset(t, 0, sizeof(*t));
    t->n_buckets = SAT_MIN_BUCKETS;
    t->n_peer_buckets = SAT_PEER_BUCKETS;
    t->by_ours = calloc(t->n_buckets, sizeof(*t->by_ours));
    t->by_init = calloc(t->n_buckets, sizeof(*t->by_init));
    t->peers = calloc(t->n_peer_buckets, sizeof(*t->peers));
    if (!t->by_ours || !t->by_init || !t->peers) {
        sat_fini(t);
        return -1;
    }
    return 0;
}

static void free_chain(struct sat_entry **b, size_t n)
{
    for (size_t i = 0; b && i < n; i++)
        for (struct sat_entry *e = b[i], *nx; e; e = nx) {
            nx = e->next;
            free(e);
        }
    free(b);
}

void sat_fini(struct sa_table *t)
{
    free_chain(t->by_ours, t->n_buckets);
    free_chain(t->by_init, t->n_buckets);
    for (size_t i = 0; t->peers && i < t->n_peer_buckets; i++)
        for (struct sat_peer *p = t->peers[i], *nx; p; p = nx) {
            nx = p->next;
            free(p);
        }
    free(t->peers);
    memset(t, 0, sizeof(*t));
}

/* Doubles both tables once they average two entries per bucket. */
static void maybe_grow(struct sa_table *t)
{
    if (t->n < 2 * t->n_buckets)
        return;
    size_t nb = t->n_buckets * 2;
    struct sat_entry **o = calloc(nb, sizeof(*o)), **i = calloc(nb, sizeof(*i));
    if (!o || !i) { /* keep the old tables: slower, still correct */
        free(o);
        free(i);
        return;
    }
    for (size_t b = 0; b < t->n_buckets; b++) {
        for (struct sat_entry *e = t->by_ours[b], *nx; e; e = nx) {
            nx = e->next;
            size_t h = spi_hash(e->spi) & (nb - 1);
            e->next = o[h];
            o[h] = e;
        }
        for (struct sat_entry *e = t->by_init[b], *nx; e; e = nx) {
            nx = e->next;
            size_t h = (spi_hash(e->spi) ^ addr_hash(&e->peer)) & (nb - 1);
            e->next = i[h];
            i[h] = e;
        }
    }
    free(t->by_ours);
    free(t->by_init);
    t->by_ours = o;
    t->by_init = i;
    t->n_buckets = nb;
}

static const uint8_t *our_spi(const struct ike_sa *sa)
{
    return ike_sa_is_initiator(sa) ? ike_sa_spi_i(sa) : ike_sa_spi_r(sa);
}

static struct sat_entry *find_ours(const struct sa_table *t, const uint8_t *spi)
{
    for (struct sat_entry *e = t->by_ours[spi_hash(spi) & (t->n_buckets - 1)]; e; e = e->next)
        if (!memcmp(e->spi, spi, IKE_SPI_LEN))
            return e;
    return NULL;
}

int sat_add(struct sa_table *t, struct gw_sa *gs)
{
    const uint8_t *spi = our_spi(gs->sa);
    if (find_ours(t, spi))
        return -1;
    struct sat_entry *e = calloc(1, sizeof(*e));
    struct sat_entry *ie = NULL;
    if (!e)
        return -1;
    if (!ike_sa_is_initiator(gs->sa)) {
        ie = calloc(1, sizeof(*ie));
        if (!ie) {
            free(e);
            return -1;
        }
        memcpy(ie->spi, ike_sa_spi_i(gs->sa), IKE_SPI_LEN);
        ie->peer = *ike_sa_remote_addr(gs->sa);
        ie->peer.port = 0;
        ie->gs = gs;
        size_t h = (spi_hash(ie->spi) ^ addr_hash(&ie->peer)) & (t->n_buckets - 1);
        ie->next = t->by_init[h];
        t->by_init[h] = ie;
    }
    memcpy(e->spi, spi, IKE_SPI_LEN);
    e->gs = gs;
    size_t h = spi_hash(spi) & (t->n_buckets - 1);
    e->next = t->by_ours[h];
    t->by_ours[h] = e;
    t->n++;
    maybe_grow(t);
    return 0;
}

static bool unlink_gs(struct sat_entry **b, size_t n, struct gw_sa *gs)
{
    for (size_t i = 0; i < n; i++)
        for (struct sat_entry **pp = &b[i]; *pp; pp = &(*pp)->next)
            if ((*pp)->gs == gs) {
                struct sat_entry *e = *pp;
                *pp = e->next;
                free(e);
                return true;
            }
    return false;
}

static bool unlink_bucket(struct sat_entry **pp, struct gw_sa *gs)
{
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->gs == gs) {
            struct sat_entry *e = *pp;
            *pp = e->next;
            free(e);
            return true;
        }
    return false;
}

void sat_remove(struct sa_table *t, struct gw_sa *gs)
{
    const uint8_t *spi = our_spi(gs->sa);
    if (unlink_bucket(&t->by_ours[spi_hash(spi) & (t->n_buckets - 1)], gs) ||
        unlink_gs(t->by_ours, t->n_buckets, gs))
        t->n--;
    if (!ike_sa_is_initiator(gs->sa)) {
        struct ike_addr peer = *ike_sa_remote_addr(gs->sa);
        peer.port = 0;
        size_t h = (spi_hash(ike_sa_spi_i(gs->sa)) ^ addr_hash(&peer)) & (t->n_buckets - 1);
        /* The peer's address may have moved (NAT): fall back to a scan. */
        if (!unlink_bucket(&t->by_init[h], gs))
            unlink_gs(t->by_init, t->n_buckets, gs);
    }
}

static bool spi_zero(const uint8_t *spi)
{
    static const uint8_t z[IKE_SPI_LEN];
    return !memcmp(spi, z, IKE_SPI_LEN);
}

struct gw_sa *sat_lookup(const struct sa_table *t, const struct ike_hdr *hdr)
{
    bool from_initiator = hdr->flags & IKE_FLAG_INITIATOR;
    const uint8_t *ours = from_initiator ? hdr->spi_r : hdr->spi_i;
    const uint8_t *theirs = from_initiator ? hdr->spi_i : hdr->spi_r;
    if (spi_zero(ours))
        return NULL;
    struct sat_entry *e = find_ours(t, ours);
    if (!e)
        return NULL;
    const struct ike_sa *sa = e->gs->sa;
    if (ike_sa_is_initiator(sa) == from_initiator)
        return NULL; /* the flag says the sender has our role */
    const uint8_t *known = from_initiator ? ike_sa_spi_i(sa) : ike_sa_spi_r(sa);
    /* Before the IKE_SA_INIT response the initiator does not know SPI_r;
     * a stateless error response also carries 0. */
    if (!spi_zero(known) && !spi_zero(theirs) && memcmp(known, theirs, IKE_SPI_LEN))
        return NULL;
    return e->gs;
}

struct gw_sa *sat_lookup_init(const struct sa_table *t, const uint8_t spi_i[IKE_SPI_LEN],
                              const struct ike_addr *peer)
{
    struct ike_addr p = *peer;
    p.port = 0;
    size_t h = (spi_hash(spi_i) ^ addr_hash(&p)) & (t->n_buckets - 1);
    for (struct sat_entry *e = t->by_init[h]; e; e = e->next)
        if (!memcmp(e->spi, spi_i, IKE_SPI_LEN) && host_equal(&e->peer, &p))
            return e->gs;
    return NULL;
}

static struct sat_peer **peer_slot(const struct sa_table *t, const struct ike_addr *a)
{
    struct sat_peer **pp = &t->peers[addr_hash(a) & (t->n_peer_buckets - 1)];
    for (; *pp; pp = &(*pp)->next)
        if (host_equal(&(*pp)->addr, a))
            break;
    return pp;
}

size_t sat_half_open_peer(const struct sa_table *t, const struct ike_addr *peer)
{
    struct sat_peer *p = *peer_slot(t, peer);
    return p ? p->half_open : 0;
}

void sat_half_open_inc(struct sa_table *t, const struct ike_addr *peer)
{
    struct sat_peer **pp = peer_slot(t, peer);
    if (!*pp) {
        *pp = calloc(1, sizeof(**pp));
        if (!*pp)
            return; /* counted globally only */
        (*pp)->addr = *peer;
        (*pp)->addr.port = 0;
    }
    (*pp)->half_open++;
    t->half_open++;
}

void sat_half_open_dec(struct sa_table *t, const struct ike_addr *peer)
{
    struct sat_peer **pp = peer_slot(t, peer);
    if (t->half_open)
        t->half_open--;
    if (!*pp)
        return;
    if (--(*pp)->half_open == 0) {
        struct sat_peer *p = *pp;
        *pp = p->next;
        free(p);
    }
}
