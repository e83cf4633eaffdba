/* IKE SAs by (gateway, peer ID) (see peer_index.h). */
#include "peer_index.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

struct peer_id_group {
    struct peer_id_group *next; /* bucket chain */
    const struct gateway *gw;
    uint64_t hash;
    size_t n;                 /* SAs in sas */
    struct gw_sa_id_list sas; /* by serial */
    uint8_t type;
    uint16_t len;
    uint8_t data[];
};

#define PEER_INDEX_MIN_BUCKETS 256u

static size_t id_len(const struct ike_id_export *id)
{
    return id->len < IKE_EXPORT_ID_MAX ? id->len : IKE_EXPORT_ID_MAX;
}

bool peer_id_equal(const struct ike_id_export *a, const struct ike_id_export *b)
{
    return a->type == b->type && a->len == b->len && !memcmp(a->data, b->data, id_len(a));
}

static uint64_t key_hash(const struct gateway *gw, const struct ike_id_export *id)
{
    uintptr_t g = (uintptr_t)gw;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < sizeof(g); i++)
        h = (h ^ (uint8_t)(g >> (8 * i))) * 1099511628211ull;
    h = (h ^ id->type) * 1099511628211ull;
    for (size_t i = 0, n = id_len(id); i < n; i++)
        h = (h ^ id->data[i]) * 1099511628211ull;
    return h;
}

static bool group_is(const struct peer_id_group *g, const struct gateway *gw,
                     const struct ike_id_export *id, uint64_t h)
{
    return g->hash == h && g->gw == gw && g->type == id->type && g->len == id->len &&
           !memcmp(g->data, id->data, id_len(id));
}

int peer_index_init(struct peer_index *x)
{
    memset(x, 0, sizeof(*x));
    x->n_buckets = PEER_INDEX_MIN_BUCKETS;
    x->buckets = calloc(x->n_buckets, sizeof(*x->buckets));
    return x->buckets ? 0 : -1;
}

void peer_index_fini(struct peer_index *x)
{
    for (size_t i = 0; x->buckets && i < x->n_buckets; i++)
        for (struct peer_id_group *g = x->buckets[i], *nx; g; g = nx) {
            nx = g->next;
            free(g);
        }
    free(x->buckets);
    memset(x, 0, sizeof(*x));
}

static struct peer_id_group *find(const struct peer_index *x, const struct gateway *gw,
                                  const struct ike_id_export *id)
{
    if (!x->buckets)
        return NULL; /* never initialised (or failed to): nothing is filed */
    uint64_t h = key_hash(gw, id);
    for (struct peer_id_group *g = x->buckets[h & (x->n_buckets - 1)]; g; g = g->next)
        if (group_is(g, gw, id, h))
            return g;
    return NULL;
}

/* Twice the buckets when the groups outnumber them; stays as it is when
 * there is no memory for that (chains get longer, nothing is lost). */
static void maybe_grow(struct peer_index *x)
{
    if (x->n_groups <= x->n_buckets)
        return;
    size_t nb = x->n_buckets * 2;
    struct peer_id_group **b = calloc(nb, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < x->n_buckets; i++)
        for (struct peer_id_group *g = x->buckets[i], *nx; g; g = nx) {
            nx = g->next;
            g->next = b[g->hash & (nb - 1)];
            b[g->hash & (nb - 1)] = g;
        }
    free(x->buckets);
    x->buckets = b;
    x->n_buckets = nb;
}

static struct peer_id_group *group_new(struct peer_index *x, const struct gateway *gw,
                                       const struct ike_id_export *id)
{
    size_t len = id_len(id);
    struct peer_id_group *g = x->buckets ? calloc(1, sizeof(*g) + len) : NULL;
    if (!g)
        return NULL;
    g->gw = gw;
    g->hash = key_hash(gw, id);
    g->type = id->type;
    g->len = id->len;
    memcpy(g->data, id->data, len);
    TAILQ_INIT(&g->sas);
    size_t b = g->hash & (x->n_buckets - 1);
    g->next = x->buckets[b];
    x->buckets[b] = g;
    x->n_groups++;
    maybe_grow(x);
    return g;
}

static void group_free(struct peer_index *x, struct peer_id_group *g)
{
    for (struct peer_id_group **pp = &x->buckets[g->hash & (x->n_buckets - 1)]; *pp;
         pp = &(*pp)->next)
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    x->n_groups--;
    free(g);
}

static void unfile(struct peer_index *x, struct gw_sa *gs)
{
    struct peer_id_group *g = gs->id_group;
    if (gs->id_unfiled) {
        gs->id_unfiled = false;
        x->n_unfiled--;
    }
    if (!g)
        return;
    TAILQ_REMOVE(&g->sas, gs, id_link);
    gs->id_group = NULL;
    x->n_filed--;
    if (--g->n == 0)
        group_free(x, g);
}

/* Serial order: an SA gets its ID at IKE_AUTH, after younger SAs may
 * have got theirs; from the tail, as it is nearly always the youngest. */
static void insert_by_serial(struct peer_id_group *g, struct gw_sa *gs)
{
    struct gw_sa *o = TAILQ_LAST(&g->sas, gw_sa_id_list);
    while (o && o->serial > gs->serial)
        o = TAILQ_PREV(o, gw_sa_id_list, id_link);
    if (o)
        TAILQ_INSERT_AFTER(&g->sas, o, gs, id_link);
    else
        TAILQ_INSERT_HEAD(&g->sas, gs, id_link);
}

int peer_index_file(struct peer_index *x, struct gw_sa *gs, const struct ike_id_export *id)
{
    struct peer_id_group *g = gs->id_group;
    if (!id || id->type == 0) {
        unfile(x, gs);
        return 0;
    }
    if (g && group_is(g, gs->gw, id, g->hash))
        return 0; /* the usual case: nothing changed */
    unfile(x, gs);
    if (!(g = find(x, gs->gw, id)) && !(g = group_new(x, gs->gw, id))) {
        gs->id_unfiled = true;
        x->n_unfiled++;
        return -1;
    }
    insert_by_serial(g, gs);
    g->n++;
    gs->id_group = g;
    x->n_filed++;
    return 0;
}

void peer_index_remove(struct peer_index *x, struct gw_sa *gs)
{
    unfile(x, gs);
}

bool peer_index_complete(const struct peer_index *x, const struct ike_id_export *id)
{
    return x->n_unfiled == 0 && id && id->type != 0;
}

struct gw_sa *peer_index_first(const struct peer_index *x, const struct gateway *gw,
                               const struct ike_id_export *id)
{
    struct peer_id_group *g = find(x, gw, id);
    return g ? TAILQ_FIRST(&g->sas) : NULL;
}

struct gw_sa *peer_index_next(const struct gw_sa *gs)
{
    return gs->id_group ? TAILQ_NEXT(gs, id_link) : NULL;
}

size_t peer_index_count(const struct peer_index *x, const struct gateway *gw,
                        const struct ike_id_export *id)
{
    struct peer_id_group *g = find(x, gw, id);
    return g ? g->n : 0;
}

static int check_group(const struct peer_id_group *g, const struct gw_sa *gs, char *why,
                       size_t whylen)
{
    size_t n = 0;
    uint32_t last = 0;
    const struct gw_sa *o;
    bool found = false;
    TAILQ_FOREACH(o, &g->sas, id_link) {
        if (o->id_group != g) {
            snprintf(why, whylen, "SA %u in a group it does not point to", o->serial);
            return -1;
        }
        if (n && o->serial <= last) {
            snprintf(why, whylen, "SA %u after SA %u: not in serial order", o->serial, last);
            return -1;
        }
        last = o->serial;
        found |= o == gs;
        n++;
    }
    if (n != g->n || !found) {
        snprintf(why, whylen, "group of SA %u: %zu listed, %zu counted%s", gs->serial, n, g->n,
                 found ? "" : ", SA missing");
        return -1;
    }
    return 0;
}

int peer_index_check(const struct peer_index *x, struct gateway *gw,
                     const struct ike_id_export *(*id_of)(const struct gw_sa *gs), char *why,
                     size_t whylen)
{
    struct gw_sa *gs;
    TAILQ_FOREACH(gs, &gw->sas, link) {
        const struct ike_id_export *id = id_of(gs);
        bool want = gs->sa && !gs->dying && id && id->type != 0;
        struct peer_id_group *g = gs->id_group;
        if (!g && !want)
            continue;
        if (!g) {
            if (gs->id_unfiled)
                continue; /* counted in n_unfiled: lookups walk */
            snprintf(why, whylen, "SA %u has a peer ID but is not filed", gs->serial);
            return -1;
        }
        if (g->gw != gw) {
            snprintf(why, whylen, "SA %u filed under another gateway", gs->serial);
            return -1;
        }
        if (!id || id->type == 0) {
            snprintf(why, whylen, "SA %u filed without a peer ID", gs->serial);
            return -1;
        }
        if (!group_is(g, gw, id, key_hash(gw, id))) {
            snprintf(why, whylen, "SA %u filed under an ID it no longer has", gs->serial);
            return -1;
        }
        if (find(x, gw, id) != g) {
            snprintf(why, whylen, "SA %u: its group is not found by its ID", gs->serial);
            return -1;
        }
        if (check_group(g, gs, why, whylen) != 0)
            return -1;
    }
    return 0;
}
