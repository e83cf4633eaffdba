/* The data-plane front: CHILD SA pair bookkeeping over a backend (see dataplane.h). */
#include "dataplane.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ike/mirror.h>

#include "gateway.h"

static const struct dp_backend_ops *const backends[] = {&dp_record_ops, &dp_userspace_ops,
                                                        &dp_xfrm_ops};

static const struct dp_backend_ops *find_backend(const char *name)
{
    for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
        if (!strcmp(backends[i]->name, name))
            return backends[i];
    return NULL;
}

bool dp_backend_known(const char *backend)
{
    return backend && find_backend(backend) != NULL;
}

int dp_open(struct dp *dp, const char *backend, struct event_base *base, char *err,
            size_t errlen)
{
    memset(dp, 0, sizeof(*dp));
    TAILQ_INIT(&dp->children);
    dp->base = base;
    dp->replay_window = DP_REPLAY_WINDOW_DEFAULT;
    dp->ops = find_backend(backend ? backend : "record");
    if (!dp->ops) {
        snprintf(err, errlen,
                 "data plane \"%s\" is not available in this build (\"record\", "
                 "\"userspace\" or \"kernel\")", backend);
        return -1;
    }
    return dp->ops->open ? dp->ops->open(dp, err, errlen) : 0;
}

void dp_close(struct dp *dp)
{
    if (!dp->ops)
        return;
    struct dp_child *c;
    while ((c = TAILQ_FIRST(&dp->children)))
        dp_child_delete(dp, c);
    if (dp->ops->close)
        dp->ops->close(dp);
    dp->ops = NULL;
    free(dp->spi_index);
    dp->spi_index = NULL;
    dp->spi_index_size = 0;
}

static size_t spi_slot(const struct dp *dp, uint32_t spi)
{
    return (size_t)((spi * 2654435761u) >> 7) & (dp->spi_index_size - 1);
}

/* Rebuilds the index over every listed pair when it has fewer buckets
 * than pairs; true if it did. On allocation failure the old index (or
 * none: dp_child_find walks the list) stays. */
static bool spi_index_grow(struct dp *dp)
{
    if (dp->spi_index && dp->n_children <= dp->spi_index_size)
        return false;
    size_t size = dp->spi_index_size ? dp->spi_index_size * 2 : 1024;
    struct dp_child **idx = calloc(size, sizeof(*idx));
    if (!idx)
        return false;
    free(dp->spi_index);
    dp->spi_index = idx;
    dp->spi_index_size = size;
    struct dp_child *c;
    TAILQ_FOREACH(c, &dp->children, all_link) {
        size_t i = spi_slot(dp, c->spi_in);
        c->spi_next = idx[i];
        idx[i] = c;
    }
    return true;
}

static void spi_index_remove(struct dp *dp, struct dp_child *c)
{
    if (!dp->spi_index)
        return;
    for (struct dp_child **pp = &dp->spi_index[spi_slot(dp, c->spi_in)]; *pp; pp = &(*pp)->spi_next)
        if (*pp == c) {
            *pp = c->spi_next;
            return;
        }
}

static void fill_child(struct dp_child *c, const struct ike_child_export *ex)
{
    snprintf(c->child_name, sizeof(c->child_name), "%s", ex->cfg_name);
    memcpy(c->ike_spi_i, ex->ike_spi_i, IKE_SPI_LEN);
    memcpy(c->ike_spi_r, ex->ike_spi_r, IKE_SPI_LEN);
    c->spi_in = ex->spi_in;
    c->spi_out = ex->spi_out;
    c->protocol = ex->protocol;
    c->tunnel = ex->tunnel;
    c->encr_id = ex->encr_id;
    c->encr_key_bits = ex->encr_key_bits;
    c->integ_id = ex->integ_id;
    c->esn = ex->esn;
    c->n_ts_local = ex->n_ts_local < IKE_EXPORT_TS_MAX ? ex->n_ts_local : IKE_EXPORT_TS_MAX;
    c->n_ts_remote = ex->n_ts_remote < IKE_EXPORT_TS_MAX ? ex->n_ts_remote : IKE_EXPORT_TS_MAX;
    memcpy(c->ts_local, ex->ts_local, c->n_ts_local * sizeof(c->ts_local[0]));
    memcpy(c->ts_remote, ex->ts_remote, c->n_ts_remote * sizeof(c->ts_remote[0]));
}

struct dp_child *dp_child_install(struct dp *dp, struct gw_sa *owner,
                                  const struct ike_child_export *ex, const struct ike_addr *local,
                                  const struct ike_addr *remote, bool encap, uint64_t now_ms,
                                  char *err, size_t errlen)
{
    if (dp_child_find(dp, ex->spi_in)) {
        snprintf(err, errlen, "inbound SPI %08x is already installed", ex->spi_in);
        dp->install_failures++;
        return NULL;
    }
    struct dp_child *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        dp->install_failures++;
        return NULL;
    }
    fill_child(c, ex);
    if (owner)
        snprintf(c->gw_name, sizeof(c->gw_name), "%s", owner->gw->name);
    c->local = *local;
    c->remote = *remote;
    c->encap = encap;
    c->installed_ms = now_ms;
    c->installed_wall = (uint64_t)time(NULL);
    c->owner = owner; /* the backend may look at its gateway's config */
    c->passive = owner && owner->sa && ike_sa_is_passive(owner->sa);
    if (dp->ops->install && dp->ops->install(dp, c, ex, err, errlen) != 0) {
        free(c);
        dp->install_failures++;
        return NULL;
    }
    if (owner)
        TAILQ_INSERT_TAIL(&owner->children, c, sa_link);
    TAILQ_INSERT_TAIL(&dp->children, c, all_link);
    dp->n_children++;
    dp->installs++;
    if (!spi_index_grow(dp) && dp->spi_index) { /* a rebuild indexed c too */
        size_t i = spi_slot(dp, c->spi_in);
        c->spi_next = dp->spi_index[i];
        dp->spi_index[i] = c;
    }
    return c;
}

size_t dp_children_passive(struct dp *dp, struct gw_sa *owner, bool passive)
{
    size_t refused = 0;
    struct dp_child *c;
    TAILQ_FOREACH(c, &owner->children, sa_link)
    {
        if (c->passive == passive)
            continue;
        if (dp->ops->set_passive && dp->ops->set_passive(dp, c, passive) < 0) {
            refused++;
            continue;
        }
        c->passive = passive;
    }
    return refused;
}

void dp_child_delete(struct dp *dp, struct dp_child *c)
{
    if (dp->ops && dp->ops->remove)
        dp->ops->remove(dp, c);
    if (c->owner)
        TAILQ_REMOVE(&c->owner->children, c, sa_link);
    spi_index_remove(dp, c);
    TAILQ_REMOVE(&dp->children, c, all_link);
    dp->n_children--;
    dp->removes++;
    free(c);
}

struct dp_child *dp_child_find(struct dp *dp, uint32_t spi_in)
{
    struct dp_child *c;
    if (dp->spi_index) {
        for (c = dp->spi_index[spi_slot(dp, spi_in)]; c; c = c->spi_next)
            if (c->spi_in == spi_in)
                return c;
        return NULL;
    }
    TAILQ_FOREACH(c, &dp->children, all_link)
        if (c->spi_in == spi_in)
            return c;
    return NULL;
}

int dp_child_counters(struct dp *dp, struct dp_child *c)
{
    return dp->ops && dp->ops->counters ? dp->ops->counters(dp, c) : -1;
}

int dp_esp_input(struct dp *dp, const uint8_t *data, size_t len, const struct ike_addr *local,
                 const struct ike_addr *remote)
{
    if (!dp->ops || !dp->ops->esp_input) {
        dp->esp_in_dropped++;
        return -1;
    }
    dp->ops->esp_input(dp, data, len, local, remote);
    if (dp->ops->esp_flush)
        dp->ops->esp_flush(dp);
    return 0;
}

int dp_esp_input_batch(struct dp *dp, const uint8_t *data, size_t len,
                       const struct ike_addr *local, const struct ike_addr *remote)
{
    if (!dp->ops || !dp->ops->esp_input) {
        dp->esp_in_dropped++;
        return -1;
    }
    dp->ops->esp_input(dp, data, len, local, remote);
    return 0;
}

void dp_esp_flush(struct dp *dp)
{
    if (dp->ops && dp->ops->esp_flush)
        dp->ops->esp_flush(dp);
}

void dp_gateway_removed(struct dp *dp, const char *gw_name)
{
    if (dp->ops && dp->ops->gateway_removed)
        dp->ops->gateway_removed(dp, gw_name);
}

void dp_info(struct dp *dp, struct dp_info *out)
{
    memset(out, 0, sizeof(*out));
    if (dp->ops && dp->ops->info)
        dp->ops->info(dp, out);
}

bool dp_gateway_device(struct dp *dp, const char *gw_name, struct dp_gw_device *out)
{
    memset(out, 0, sizeof(*out));
    return dp->ops && dp->ops->gateway_device && dp->ops->gateway_device(dp, gw_name, out);
}
