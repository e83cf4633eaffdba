/*
 * This node's name for the cluster: what corosync's nodelist calls it
 * (nodelist.node.N.name, else its ring0_addr), so that the name a node
 * announces to its peer and the one hactl shows for it come from the same
 * place as the names corosync's own tools print. The hostname is only the
 * fallback: in network namespaces (the lab) or on cloned VMs every node
 * has the same one.
 *
 * Asked once per CPG connection (ha_role.c): corosync has just answered
 * cpg_initialize, so the few cmap reads do not hold the loop.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <corosync/cmap.h>
#include <corosync/corotypes.h>

#include "ha_role.h"

/* A nodelist longer than this is not a haiked cluster (two nodes). */
#define NODELIST_MAX 64

static void put(char *out, size_t len, const char *s)
{
    size_t o = 0;
    for (; s && *s && o + 1 < len; s++) /* printable ASCII: it goes on the wire */
        out[o++] = (*s > ' ' && *s <= '~') ? *s : '?';
    out[o] = '\0';
}

int ha_name_from_nodelist(uint32_t self, ha_name_get_u32 get_u32, ha_name_get_str get_str,
                          void *arg, char *out, size_t len)
{
    if (!self || !len)
        return -1;
    for (unsigned i = 0; i < NODELIST_MAX; i++) {
        char key[64], *s = NULL;
        uint32_t id = 0;
        snprintf(key, sizeof(key), "nodelist.node.%u.nodeid", i);
        if (get_u32(arg, key, &id) != 0) {
            /* no nodeid: the entry exists only if it has an address */
            snprintf(key, sizeof(key), "nodelist.node.%u.ring0_addr", i);
            if (get_str(arg, key, &s) != 0)
                return -1; /* past the end of the list */
            free(s);
            continue;
        }
        if (id != self)
            continue;
        static const char *const keys[] = {"name", "ring0_addr"};
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            snprintf(key, sizeof(key), "nodelist.node.%u.%s", i, keys[k]);
            s = NULL;
            if (get_str(arg, key, &s) == 0 && s && s[0]) {
                put(out, len, s);
                free(s);
                return 0;
            }
            free(s);
        }
        return -1; /* our entry names nothing */
    }
    return -1;
}

static int cmap_u32(void *arg, const char *key, uint32_t *v)
{
    return cmap_get_uint32(*(cmap_handle_t *)arg, key, v) == CS_OK ? 0 : -1;
}

static int cmap_str(void *arg, const char *key, char **v)
{
    return cmap_get_string(*(cmap_handle_t *)arg, key, v) == CS_OK ? 0 : -1;
}

void ha_name_resolve(uint32_t self, char *out, size_t len)
{
    cmap_handle_t h;
    if (!len)
        return;
    if (cmap_initialize(&h) == CS_OK) {
        int rc = ha_name_from_nodelist(self, cmap_u32, cmap_str, &h, out, len);
        cmap_finalize(h);
        if (rc == 0)
            return;
    }
    char host[256];
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "node%" PRIu32, self);
    host[sizeof(host) - 1] = '\0';
    put(out, len, host);
}
