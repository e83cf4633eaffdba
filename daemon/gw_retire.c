/*
 * Retiring gateways: what a SIGHUP reload removed or changed. Freeing such
 * a gateway at once dropped its IKE SAs and their CHILD SAs before the
 * peer had seen the Delete: ESP still in flight on the old SA was lost, the
 * Delete was never retransmitted, and a changed gateway's new tunnel came
 * up only after the old one was gone.
 *
 * Now the gateway moves to daemon.retiring: gw_find() and ctl lookups no
 * longer see it, it never initiates (initiate() refuses), and no
 * IKE_SA_INIT reaches it (dispatch matches the new config only). Each IKE
 * SA runs its Delete exchange through libike, which keeps the CHILD SAs in
 * the data plane until the answer arrives or the retransmissions give up;
 * the gateway is freed with its last SA. A changed gateway holds its
 * Deletes until its successor (the same name, the new config) is up or
 * gave up: make-before-break as in a reauthentication. Per-name data-plane
 * state (the kernel backend's VTI device) goes with the last holder of
 * the name.
 *
 * HA: only where the gateway's vcluster is active are Deletes sent; a
 * standby keeps its passive copies until the master's IkeSaDel arrives.
 * A deadline bounds everything: what is left then is freed locally.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "config/loader.h"
#include "daemon.h"
#include "gw_internal.h"
#include "gw_sa.h"
#include "ha/ha.h"

/* What one request may take with its retransmissions (libike's
 * schedule: base, 2 base, 4 base, ... for 1 + tries sends). */
static uint64_t exchange_ms(const struct daemon *d)
{
    uint64_t step = d->ike_ctx.retransmit_base_ms ? d->ike_ctx.retransmit_base_ms
                                                  : IKE_RETRANSMIT_BASE_MS;
    unsigned tries = d->ike_ctx.retransmit_tries ? d->ike_ctx.retransmit_tries
                                                 : IKE_RETRANSMIT_TRIES;
    uint64_t ms = 0;
    for (unsigned i = 0; i <= tries; i++, step *= 2)
        ms += step;
    return ms;
}

static void arm(struct gateway *gw, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(gw->retire_timer, &tv);
}

static void retire_log(const struct gateway *gw, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void retire_log(const struct gateway *gw, int level, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    struct hlog_who who = daemon_who(gw, NULL);
    hlog_write(&gw->d->log, HLOG_CFG, level, &who, "%s", text);
}

/* The configured gateway of gw's name (NULL: none). */
static struct gateway *successor(struct gateway *gw)
{
    return gw_find(gw->d, gw->name);
}

/* Deletes every SA not yet being deleted (where this node may send). */
static void delete_live(struct gateway *gw, const char *why)
{
    if (gw->n_live && ha_gateway_active(gw->d, gw))
        gw_delete_all(gw, why);
}

static void start_deletes(struct gateway *gw, const char *why)
{
    struct daemon *d = gw->d;
    gw->retire_hold = false;
    gw->retire_deleting = true;
    if (ha_gateway_active(d, gw))
        retire_log(gw, IKE_LOG_INFO, "retiring (%s): deleting %zu IKE SA(s), their CHILD SAs "
                   "stay until each Delete is answered", why, gw->n_sas);
    else
        retire_log(gw, IKE_LOG_INFO, "retiring (%s): %zu passive IKE SA(s) kept until the "
                   "master's deletes arrive", why, gw->n_sas);
    delete_live(gw, why);
    /* the running exchange, then the Delete with its retransmissions */
    arm(gw, 2 * exchange_ms(d) + 1000);
    daemon_schedule_reap(d);
}

static void on_retire_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct gateway *gw = arg;
    if (gw->retire_hold) {
        struct gateway *s = successor(gw);
        start_deletes(gw, !s ? "removed" : s->state == GW_STATE_UP ? "changed, its successor is up"
                                                                   : "changed, its successor "
                                                                     "is not up");
        return;
    }
    /* The deadline: the peer (or the master) never finished. */
    retire_log(gw, IKE_LOG_WARN, "retiring: %zu IKE SA(s) left after the Delete deadline: "
               "freed locally", gw->n_sas);
    struct gw_sa *gs;
    TAILQ_FOREACH(gs, &gw->sas, link) {
        gs->dying = true;
        gw_sa_defer(gs);
    }
    daemon_schedule_reap(gw->d);
}

/* Frees gw (off daemon.retiring) and, with the last holder of its name,
 * the data plane's per-name state. */
static void retire_free(struct gateway *gw)
{
    struct daemon *d = gw->d;
    TAILQ_REMOVE(&d->retiring, gw, link);
    d->n_retiring--;
    retire_log(gw, IKE_LOG_INFO, "retired: the old gateway and its SAs are gone");
    struct gateway *s = successor(gw);
    /* a route-based successor uses the VTI of the name now */
    if (!gw_retire_pending(d, gw->name) && (!s || !s->cfg->route_based))
        dp_gateway_removed(&d->dp, gw->name);
    struct cfg_gateway *cg = gw->retired_cfg;
    gw_destroy(gw);
    cfg_gateway_free(cg);
}

void gw_retire(struct gateway *gw, struct cfg *prev, bool hold, const char *why)
{
    struct daemon *d = gw->d;
    TAILQ_REMOVE(&d->gateways, gw, link);
    d->n_gateways--;
    TAILQ_INSERT_TAIL(&d->retiring, gw, link);
    d->n_retiring++;
    gw->retiring = true;
    for (size_t i = 0; i < prev->n_gateways; i++)
        if (prev->gateways[i] == gw->cfg) {
            gw->retired_cfg = prev->gateways[i];
            prev->gateways[i] = NULL; /* cfg_free skips it: ours now */
        }
    if (gw->retry_timer)
        evtimer_del(gw->retry_timer);
    gw->retire_timer = evtimer_new(d->base, on_retire_timer, gw);
    if (!gw->n_sas || !gw->retire_timer) {
        /* nothing to wait for (or no timer to bound the wait: the old way,
         * Deletes sent once and everything freed now) */
        gw_delete_all(gw, why);
        retire_free(gw);
        return;
    }
    if (hold && ha_gateway_active(d, gw)) {
        gw->retire_hold = true;
        retire_log(gw, IKE_LOG_INFO, "retiring (%s): %zu IKE SA(s) kept until the new "
                   "gateway is up", why, gw->n_sas);
        /* IKE_SA_INIT and IKE_AUTH of the successor */
        arm(gw, 2 * exchange_ms(d));
        return;
    }
    start_deletes(gw, why);
}

void gw_retire_note(struct gateway *gw)
{
    if (gw->retiring || gw->state == GW_STATE_CONNECTING)
        return;
    struct gateway *r;
    TAILQ_FOREACH(r, &gw->d->retiring, link)
        if (r->retire_hold && !strcmp(r->name, gw->name))
            arm(r, 0); /* next loop turn: this may run inside gw_sa_after */
}

void gw_retire_check_holds(struct daemon *d)
{
    struct gateway *r;
    TAILQ_FOREACH(r, &d->retiring, link) {
        if (!r->retire_hold)
            continue;
        struct gateway *s = successor(r);
        if (!s || s->state != GW_STATE_CONNECTING)
            arm(r, 0);
    }
}

void gw_retire_collect(struct daemon *d)
{
    struct gateway *gw, *next;
    for (gw = TAILQ_FIRST(&d->retiring); gw; gw = next) {
        next = TAILQ_NEXT(gw, link);
        if (!gw->n_sas) {
            retire_free(gw);
            continue;
        }
        /* an SA born during the Delete (a peer's IKE rekey) goes too */
        if (gw->retire_deleting)
            delete_live(gw, "retiring");
    }
}

bool gw_retire_pending(const struct daemon *d, const char *name)
{
    const struct gateway *gw;
    TAILQ_FOREACH(gw, &d->retiring, link)
        if (gw->n_sas && !strcmp(gw->name, name))
            return true;
    return false;
}

size_t gw_retire_sas(const struct daemon *d)
{
    size_t n = 0;
    const struct gateway *gw;
    TAILQ_FOREACH(gw, &d->retiring, link)
        n += gw->n_sas;
    return n;
}

void gw_retire_shutdown(struct daemon *d)
{
    struct gateway *gw;
    TAILQ_FOREACH(gw, &d->retiring, link) {
        if (ha_shutdown_keep(d, gw)) {
            struct gw_sa *gs;
            TAILQ_FOREACH(gs, &gw->sas, link) {
                gs->dying = true;
                gw_sa_defer(gs);
            }
        } else if (gw->retire_hold) {
            start_deletes(gw, "shutdown");
        }
    }
}

void gw_retire_free_all(struct daemon *d)
{
    struct gateway *gw;
    while ((gw = TAILQ_FIRST(&d->retiring))) {
        TAILQ_REMOVE(&d->retiring, gw, link);
        d->n_retiring--;
        struct cfg_gateway *cg = gw->retired_cfg;
        gw_destroy(gw);
        cfg_gateway_free(cg);
    }
}
