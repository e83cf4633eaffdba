/* The test's struct ha and the ha_failover() mock (see ha_fake.h). */
#include "ha_fake.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct ha_fake *current;

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void init_vcs(struct ha_fake *f)
{
    f->vdoms1[0] = "root";
    f->vdoms2[0] = "dmz";
    f->vcfg[0] = (struct cfg_vcluster){
        .id = 1, .priority = 200, .override = true, .vdoms = f->vdoms1, .n_vdoms = 1};
    f->vcfg[1] = (struct cfg_vcluster){.id = 2, .priority = 100, .vdoms = f->vdoms2, .n_vdoms = 1};
    f->vcs[0] = (struct ha_vc){.cfg = &f->vcfg[0],
                               .id = 1,
                               .role = HASYNC_ROLE_MASTER,
                               .active = true,
                               /* a master's own sync state: it never
                                * catches up with anybody (ha_role.c) */
                               .sync = HA_SYNC_ALONE,
                               .last_change_ms = HAF_CHANGE_MS,
                               .last_takeover_ms = 412};
    snprintf(f->vcs[0].last_reason, sizeof(f->vcs[0].last_reason), "peer left");
    f->vcs[1] = (struct ha_vc){.cfg = &f->vcfg[1],
                               .id = 2,
                               .role = HASYNC_ROLE_STANDBY,
                               .sync = HA_SYNC_BEHIND,
                               .behind = 3};
}

static void init_elect(struct ha_fake *f)
{
    struct hasync_elect_cfg ec = {.self = 1, .wait_for_all = true, .n_vc = 2};
    ec.vc[0] = (struct hasync_elect_vc_cfg){.vcluster = 1, .priority = 200, .override = true};
    ec.vc[1] = (struct hasync_elect_vc_cfg){.vcluster = 2, .priority = 100};
    if (hasync_elect_init(&f->ha.elect, &ec) != 0)
        fprintf(stderr, "ha_fake: hasync_elect_init refused the config\n");
    f->ha.elect.vc[0].role = HASYNC_ROLE_MASTER;
    snprintf(f->ha.elect.vc[0].reason, HASYNC_ELECT_REASON_LEN, "priority 200 > 100");
    f->ha.elect.vc[1].role = HASYNC_ROLE_STANDBY;
    snprintf(f->ha.elect.vc[1].reason, HASYNC_ELECT_REASON_LEN, "priority 100 < 200");
}

static void init_peer(struct ha_fake *f)
{
    uint64_t now = wall_ms();
    struct ha_peer *p = &f->ha.peers[0];
    p->node = 2;
    snprintf(p->name, sizeof(p->name), "vpn-b");
    p->member = true;
    p->since_ms = now - 300 * 1000;    /* joined 5 min ago */
    p->started_ms = now - 3723 * 1000; /* up 1h02m03s */
    p->ann[0] = (struct hasync_elect_announce){
        .node = 2, .vcluster = 1, .role = HASYNC_ROLE_STANDBY, .priority = 100};
    p->ann[1] = (struct hasync_elect_announce){
        .node = 2, .vcluster = 2, .role = HASYNC_ROLE_MASTER, .priority = 200, .override = true};
    p->n_ann = 2;
    f->ha.n_peers = 1;
}

static void init_stats(struct ha_stats *s)
{
    for (size_t i = 0; i < sizeof(s->sent) / sizeof(s->sent[0]); i++) {
        s->sent[i] = 100 + i;
        s->received[i] = 200 + i;
        s->dropped[i] = i;
    }
    s->bulk_syncs_requested = 1;
    s->bulk_syncs_served = 2;
    s->held_datagrams = 42;
    s->held_max_us = 850;
    s->takeovers = 3;
    s->releases = 2;
    s->import_errors = 1;
    s->sync_refused = 7;
    s->resyncs_sent = 5;
}

void ha_fake_init(struct ha_fake *f, struct daemon *d)
{
    memset(f, 0, sizeof(*f));
    f->ha.d = d;
    init_vcs(f);
    init_elect(f);
    init_peer(f);
    init_stats(&f->ha.stats);
    f->ha.vcs = f->vcs;
    f->ha.n_vcs = 2;
    f->ha.quorate = true;
    f->ha.ever_saw_peer = true;
    /* What ha_role.c announces when corosync's nodelist does not name us
     * (no corosync here): the hostname. */
    if (gethostname(f->ha.self_name, sizeof(f->ha.self_name) - 1) != 0)
        snprintf(f->ha.self_name, sizeof(f->ha.self_name), "?");
    d->ha = &f->ha;
    current = f;
}

void ha_fake_detach(struct ha_fake *f, struct daemon *d)
{
    if (d->ha == &f->ha)
        d->ha = NULL;
    current = NULL;
}

/* The mock (the tests link with -Wl,--wrap=ha_failover). */
int __wrap_ha_failover(struct ha *ha, uint32_t vcluster, char *err, size_t errlen);
int __wrap_ha_failover(struct ha *ha, uint32_t vcluster, char *err, size_t errlen)
{
    struct ha_fake *f = current;
    if (!f || ha != &f->ha) {
        snprintf(err, errlen, "mock: unexpected struct ha");
        return -1;
    }
    if (f->n_failover_calls < sizeof(f->failover_calls) / sizeof(f->failover_calls[0]))
        f->failover_calls[f->n_failover_calls++] = vcluster;
    if (f->failover_rc != 0)
        snprintf(err, errlen, "%s", f->failover_err);
    return f->failover_rc;
}

/*
 * Link-time stand-ins for what ha_role.c / ha_takeover.c define (gateway.c
 * and the ha_*.c mirror files call them). Weak: where the real object is
 * linked in anyway, its definitions win without a clash; and since a weak
 * definition already satisfies these references, the linker does not pull
 * ha_role.o from haiked_core for them, so the real election code never
 * runs on this test's struct ha (which has no ha->role state). None of
 * them is what these tests check.
 */
#define HAF_WEAK __attribute__((weak))

HAF_WEAK bool ha_gateway_active(const struct daemon *d, const struct gateway *gw)
{
    (void)gw;
    return d->ha == NULL;
}

HAF_WEAK struct ha_vc *ha_vc_of_vdom(const struct daemon *d, unsigned vdom)
{
    (void)d;
    (void)vdom;
    return NULL;
}

HAF_WEAK struct ha_vc *ha_vc_find(struct ha *ha, uint32_t id)
{
    for (size_t i = 0; i < ha->n_vcs; i++)
        if (ha->vcs[i].id == id)
            return &ha->vcs[i];
    return NULL;
}

HAF_WEAK int ha_role_init(struct ha *ha, char *err, size_t errlen)
{
    (void)ha;
    snprintf(err, errlen, "ha_role.c is not in this build");
    return -1;
}

HAF_WEAK void ha_role_free(struct ha *ha)
{
    (void)ha;
}

HAF_WEAK void ha_role_connection(struct ha *ha, bool up)
{
    (void)ha;
    (void)up;
}

HAF_WEAK void ha_role_sync_changed(struct ha *ha, struct ha_vc *vc)
{
    (void)ha;
    (void)vc;
}

HAF_WEAK void ha_role_membership(struct ha *ha, const struct hasync_member *members, size_t n,
                                 const struct hasync_member *left, size_t n_left)
{
    (void)ha;
    (void)members;
    (void)n;
    (void)left;
    (void)n_left;
}

HAF_WEAK void ha_role_announce_rx(struct ha *ha, const Hasync__Envelope *env)
{
    (void)ha;
    (void)env;
}

HAF_WEAK void ha_takeover(struct ha *ha, struct ha_vc *vc, const char *why)
{
    (void)ha;
    (void)vc;
    (void)why;
}

HAF_WEAK void ha_release(struct ha *ha, struct ha_vc *vc, const char *why)
{
    (void)ha;
    (void)vc;
    (void)why;
}
