/*
 * A struct ha (daemon/ha/ha.h) filled in by the test, as the HA modules
 * would keep it on node 1 ("this node") of a two-node cluster with node 2
 * "vpn-b": vcluster 1 (VDOM root, priority 200 override) mastered here,
 * vcluster 2 (VDOM dmz, priority 100) mastered by vpn-b and 3 sync
 * messages behind. No CPG channel (ha.cpg NULL): the handlers must cope.
 *
 * ha_failover() is replaced by a recording mock (the tests link with
 * -Wl,--wrap=ha_failover): the handlers are tested, not the handover.
 */
#ifndef HA_FAKE_H
#define HA_FAKE_H

#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "ha/ha.h"

/* vcluster 1's last role change: 2025-12-02 01:52:28 UTC, 412 ms. */
#define HAF_CHANGE_MS   1764640348000ull
#define HAF_CHANGE_TEXT "2025-12-02 01:52:28 UTC"

struct ha_fake {
    struct ha ha;
    struct ha_vc vcs[2];
    struct cfg_vcluster vcfg[2];
    char *vdoms1[1], *vdoms2[1];
    /* the ha_failover() mock */
    int failover_rc;            /* what it returns */
    char failover_err[64];      /* its error text when failing */
    uint32_t failover_calls[8]; /* vcluster of each call */
    size_t n_failover_calls;
};

/* Fills f and sets d->ha (undo with ha_fake_detach before daemon_free). */
void ha_fake_init(struct ha_fake *f, struct daemon *d);
void ha_fake_detach(struct ha_fake *f, struct daemon *d);

#endif
