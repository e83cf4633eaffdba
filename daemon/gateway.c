/* Gateways at run time: creation from the config, (re)initiation, NAT-T
 * keepalives, iteration and the hactl actions (see gateway.h). */
#include "gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "daemon.h"
#include "gw_internal.h"
#include "gw_sa.h"
#include "ha/ha.h"

static const char *const drop_names[GW_DROP_COUNT] = {
    "malformed", "integrity", "msgid", "unknown-spi", "no-gateway", "unhandled", "truncated",
    "oversized", "esp-no-dataplane", "half-open-limit", "auth", "no-proposal", "ts-unacceptable",
    "other"};

const char *gw_drop_reason_name(enum gw_drop_reason r)
{
    return (unsigned)r < GW_DROP_COUNT ? drop_names[r] : "?";
}

const char *gw_state_name(enum gw_state s)
{
    switch (s) {
    case GW_STATE_IDLE: return "idle";
    case GW_STATE_CONNECTING: return "connecting";
    case GW_STATE_UP: return "up";
    case GW_STATE_ADMIN_DOWN: return "down";
    }
    return "?";
}

/* ---- iteration ---------------------------------------------------------- */

struct gateway *gw_first(struct daemon *d) { return TAILQ_FIRST(&d->gateways); }
struct gateway *gw_next(struct gateway *gw) { return TAILQ_NEXT(gw, link); }
size_t gw_count(const struct daemon *d) { return d->n_gateways; }
struct gw_sa *gw_sa_first(struct gateway *gw) { return TAILQ_FIRST(&gw->sas); }
struct gw_sa *gw_sa_next(struct gw_sa *gs) { return TAILQ_NEXT(gs, link); }
const struct dp_child *gw_child_first(const struct gw_sa *gs) { return TAILQ_FIRST(&gs->children); }
const struct dp_child *gw_child_next(const struct dp_child *c) { return TAILQ_NEXT(c, sa_link); }
struct gw_sa *gw_sa_of(const struct ike_sa *sa) { return sa ? ike_sa_user(sa) : NULL; }

struct gateway *gw_find(struct daemon *d, const char *name)
{
    struct gateway *gw;
    TAILQ_FOREACH(gw, &d->gateways, link)
        if (!strcmp(gw->name, name))
            return gw;
    return NULL;
}

struct gateway *gw_find_cfg(struct daemon *d, const struct cfg_gateway *cg)
{
    struct gateway *gw;
    TAILQ_FOREACH(gw, &d->gateways, link)
        if (gw->cfg == cg)
            return gw;
    return NULL;
}

/* ---- state and (re)initiation ------------------------------------------- */

/* An SA attached, not dying, not being deleted by us (and ESTABLISHED):
 * the counts gw_sa.c keeps at every change, O(1) here. */
static bool has_live_sa(const struct gateway *gw, bool established)
{
    return established ? gw->n_established != 0 : gw->n_live != 0;
}

int gw_check_counts(const struct gateway *gw, char *why, size_t whylen)
{
    size_t n = 0, live = 0, est = 0, flagged = 0, queued = 0;
    const struct gw_sa *gs;
    TAILQ_FOREACH(gs, &gw->sas, link) {
        n++;
        /* The definition the counts replace: a walk over every SA. */
        bool is_live = !gs->dying && !gs->deleting && gs->sa;
        bool is_est = is_live && ike_sa_state(gs->sa) == IKE_SA_STATE_ESTABLISHED;
        live += is_live;
        est += is_est;
        if (gs->in_attn)
            flagged++;
        if ((gs->dying || gs->drop_pending || gs->reauth_pending) && !gs->in_attn) {
            snprintf(why, whylen, "IKE SA %u has reap work but is not queued", gs->serial);
            return -1;
        }
    }
    TAILQ_FOREACH(gs, &gw->attn, attn_link)
        queued++;
    enum gw_state want = est ? GW_STATE_UP : live ? GW_STATE_CONNECTING : GW_STATE_IDLE;
    if (n != gw->n_sas || live != gw->n_live || est != gw->n_established)
        snprintf(why, whylen, "kept sas/live/established %zu/%zu/%zu, recounted %zu/%zu/%zu",
                 gw->n_sas, gw->n_live, gw->n_established, n, live, est);
    else if (queued != flagged)
        snprintf(why, whylen, "%zu SAs queued for the reap, %zu flagged", queued, flagged);
    else if (gw->state != GW_STATE_ADMIN_DOWN && gw->state != want)
        snprintf(why, whylen, "state %s, the SAs say %s", gw_state_name(gw->state),
                 gw_state_name(want));
    else
        return 0;
    return -1;
}

static void schedule_retry(struct gateway *gw)
{
    if (!gw->retry_timer || evtimer_pending(gw->retry_timer, NULL))
        return;
    if (!ha_gateway_may_start(gw->d, gw))
        return; /* the master of its vcluster initiates, not us (nor while it hands over) */
    /* 2, 4, 8 ... 60 s: a peer that is down is not hammered. */
    gw->retry_backoff_s = gw->retry_backoff_s ? gw->retry_backoff_s * 2 : 2;
    if (gw->retry_backoff_s > 60)
        gw->retry_backoff_s = 60;
    struct timeval tv = {gw->retry_backoff_s, 0};
    evtimer_add(gw->retry_timer, &tv);
    struct hlog_who who = daemon_who(gw, NULL);
    hlog_write(&gw->d->log, HLOG_IKE, IKE_LOG_INFO, &who, "no IKE SA: re-initiating in %u s",
               gw->retry_backoff_s);
}

void gw_refresh_state(struct gateway *gw)
{
    if (gw->state == GW_STATE_ADMIN_DOWN)
        return;
    if (has_live_sa(gw, true))
        gw->state = GW_STATE_UP;
    else if (has_live_sa(gw, false))
        gw->state = GW_STATE_CONNECTING;
    else
        gw->state = GW_STATE_IDLE;
    if (gw->retiring) {
        if (!gw->n_sas)
            daemon_schedule_reap(gw->d); /* gw_retire_collect frees it */
        return;
    }
    if (gw->d->n_retiring)
        gw_retire_note(gw);
    if (gw->state == GW_STATE_IDLE && !gw->passive && gw->cfg->auto_negotiate &&
        !gw->d->stopping)
        schedule_retry(gw);
}

static int initiate(struct gateway *gw, uint32_t reauth_of, char *err, size_t errlen);

int gw_initiate(struct gateway *gw, char *err, size_t errlen)
{
    return initiate(gw, 0, err, errlen);
}

int gw_initiate_reauth(struct gateway *gw, uint32_t old_serial, char *err, size_t errlen)
{
    return initiate(gw, old_serial, err, errlen);
}

static int initiate(struct gateway *gw, uint32_t reauth_of, char *err, size_t errlen)
{
    struct daemon *d = gw->d;
    struct vdom_rt *v = daemon_vdom(d, gw->cfg->vdom);
    struct hlog_who who = daemon_who(gw, NULL);
    if (!v) {
        snprintf(err, errlen, "VDOM %s has no sockets", gw->cfg->vdom);
        return -1;
    }
    if (gw->retiring) {
        snprintf(err, errlen, "gateway %s is retiring (removed or changed by reload)", gw->name);
        return -1;
    }
    /* HA: only the master of the vcluster owning the VDOM creates SAs. */
    if (!ha_gateway_may_start(d, gw)) {
        const struct ha_vc *vc = ha_vc_of_vdom(d, gw->vdom);
        if (vc && vc->draining)
            snprintf(err, errlen, "vcluster %u is being handed over: initiate on the next master",
                     vc->id);
        else if (vc)
            snprintf(err, errlen, "not master of vcluster %u (this node is %s): initiate on the "
                     "master", vc->id, hasync_role_name(vc->role));
        else
            snprintf(err, errlen, "HA is not running yet: no vcluster is active here");
        return -1;
    }
    struct gw_sa *gs = gw_sa_new(gw, v);
    if (!gs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    gs->reauth_of = reauth_of;
    struct ike_sa *sa = NULL;
    struct ike_diag diag = {0};
    /* INITIAL_CONTACT only when this is our only SA with the peer (a
     * retiring namesake's SAs are ours too until their Delete is answered). */
    bool others = gw->n_sas > 1 || (d->n_retiring && gw_retire_pending(d, gw->name));
    const struct ike_sa_cfg *cfg = others ? &gw->ike_cfg_no_ic : gw->ike_cfg;
    d->creating = gs;
    d->cur_gw = gw;
    d->cur_vdom = v;
    enum ike_status st = ike_sa_initiate(&d->ike_ctx, cfg, &sa, &diag);
    d->creating = NULL;
    d->cur_gw = NULL;
    d->cur_vdom = NULL;
    if (st != IKE_OK || !sa) {
        snprintf(err, errlen, "cannot initiate: %s%s%s", ike_status_str(st),
                 diag.reason[0] ? ": " : "", diag.reason);
        hlog_write(&d->log, HLOG_IKE, IKE_LOG_ERR, &who, "%s", err);
        gs->sa = NULL; /* freed by libike */
        gw_sa_destroy(gs);
        gw->counters.ike_sa_failed++;
        return -1;
    }
    if (gw_sa_attach(gs, sa) < 0) {
        snprintf(err, errlen, "SPI collision");
        return -1;
    }
    gw_sa_after(gs);
    return 0;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct gateway *gw = arg;
    char err[256];
    if (gw->state == GW_STATE_ADMIN_DOWN || gw->d->stopping || has_live_sa(gw, false) ||
        !ha_gateway_may_start(gw->d, gw))
        return;
    if (gw_initiate(gw, err, sizeof(err)) < 0)
        gw_refresh_state(gw);
}

/* RFC 3948 §2.3: the side behind a NAT keeps its mapping open. */
static void on_keepalive(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct gateway *gw = arg;
    struct gw_sa *gs;
    TAILQ_FOREACH(gs, &gw->sas, link) {
        if (gs->dying || !gs->sa || !gs->nat_local ||
            ike_sa_state(gs->sa) != IKE_SA_STATE_ESTABLISHED)
            continue;
        if (net_send_keepalive(&gs->vdom->net, ike_sa_local_addr(gs->sa),
                               ike_sa_remote_addr(gs->sa)) == 0)
            gw->natt_keepalives_sent++;
    }
}

struct gateway *gw_create(struct daemon *d, const struct cfg_gateway *cg)
{
    struct gateway *gw = calloc(1, sizeof(*gw));
    if (!gw)
        return NULL;
    gw->d = d;
    gw->cfg = cg;
    gw->ike_cfg = &cg->sa;
    gw->ike_cfg_no_ic = cg->sa;
    gw->ike_cfg_no_ic.initial_contact = false;
    gw->name = cg->name;
    const struct vdom_rt *v = daemon_vdom(d, cg->vdom);
    gw->vdom = v ? v->index : 0;
    gw->passive = cg->passive;
    TAILQ_INIT(&gw->sas);
    TAILQ_INIT(&gw->attn);
    gw->dpd.mode = (enum gw_dpd_mode)cg->dpd;
    gw->dpd.interval_s = cg->dpd_interval_s;
    gw->dpd.retries = cg->dpd_retries;
    gw->retry_timer = evtimer_new(d->base, on_retry, gw);
    gw->keepalive_timer = event_new(d->base, -1, EV_PERSIST, on_keepalive, gw);
    if (!gw->retry_timer || !gw->keepalive_timer) {
        gw_destroy(gw);
        return NULL;
    }
    if (cg->natt != CFG_NATT_DISABLE) {
        struct timeval tv = {cg->natt_keepalive_s ? cg->natt_keepalive_s : 20, 0};
        evtimer_add(gw->keepalive_timer, &tv);
    }
    return gw;
}

void gw_destroy(struct gateway *gw)
{
    struct gw_sa *gs;
    while ((gs = TAILQ_FIRST(&gw->sas)))
        gw_sa_destroy(gs);
    if (gw->retry_timer)
        event_free(gw->retry_timer);
    if (gw->keepalive_timer)
        event_free(gw->keepalive_timer);
    if (gw->retire_timer)
        event_free(gw->retire_timer);
    free(gw);
}

void gw_start(struct gateway *gw)
{
    char err[256];
    if (gw->passive || !gw->cfg->auto_negotiate || gw->state == GW_STATE_ADMIN_DOWN)
        return;
    if (!ha_gateway_may_start(gw->d, gw))
        return; /* standby (or handing over): ha_takeover starts it (ha_takeover.c) */
    if (gw_initiate(gw, err, sizeof(err)) < 0)
        gw_refresh_state(gw);
}

/* Every live SA of gw deleted (reason for the log). */
void gw_delete_all(struct gateway *gw, const char *reason)
{
    struct gw_sa *gs;
    TAILQ_FOREACH(gs, &gw->sas, link)
        if (!gs->dying && !gs->deleting)
            gw_sa_delete(gs, reason);
}

/* ---- actions -------------------------------------------------------------- */

int gw_up(struct gateway *gw, char *err, size_t errlen)
{
    if (gw->passive) {
        snprintf(err, errlen, "gateway %s is passive (responder only): it never initiates",
                 gw->name);
        return -1;
    }
    if (gw->state == GW_STATE_ADMIN_DOWN)
        gw->state = GW_STATE_IDLE;
    if (has_live_sa(gw, false))
        return 0; /* already up or negotiating */
    if (gw->retry_timer)
        evtimer_del(gw->retry_timer);
    gw->retry_backoff_s = 0;
    return gw_initiate(gw, err, errlen);
}

int gw_down(struct gateway *gw, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    gw->state = GW_STATE_ADMIN_DOWN;
    if (gw->retry_timer)
        evtimer_del(gw->retry_timer);
    gw_delete_all(gw, "tunnel down");
    gw_sa_reap(gw->d);
    return 0;
}

/* One CHILD SA Delete; false with a log line when libike refused. */
static bool flush_one(struct gw_sa *gs, uint32_t spi_in)
{
    struct ike_diag diag = {0};
    struct hlog_who who = daemon_who(gs->gw, gs);
    enum ike_status st = ike_sa_delete_child(gs->sa, spi_in, &diag);
    hlog_write(&gs->gw->d->log, HLOG_IKE, st == IKE_OK ? IKE_LOG_INFO : IKE_LOG_WARN, &who,
               "tunnel flush: CHILD SA spi in=%08x %s%s", spi_in,
               st == IKE_OK ? "deleting" : "not deleted: ", st == IKE_OK ? "" : diag.reason);
    return st == IKE_OK;
}

int gw_flush(struct gateway *gw, char *err, size_t errlen)
{
    /* SPIs first: the Deletes may change the lists we walk. */
    struct flush_item {
        uint32_t serial, spi_in;
    } todo[64];
    size_t n = 0, failed = 0, skipped = 0;
    struct gw_sa *gs;
    TAILQ_FOREACH(gs, &gw->sas, link) {
        if (gs->dying || !gs->sa)
            continue;
        const struct dp_child *c;
        TAILQ_FOREACH(c, &gs->children, sa_link) {
            if (n < sizeof(todo) / sizeof(todo[0]))
                todo[n++] = (struct flush_item){gs->serial, c->spi_in};
            else
                skipped++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        TAILQ_FOREACH(gs, &gw->sas, link)
            if (gs->serial == todo[i].serial)
                break;
        if (!gs || !gs->sa || gs->dying)
            continue;
        if (!flush_one(gs, todo[i].spi_in))
            failed++;
        gw_sa_after(gs);
    }
    gw_sa_reap(gw->d);
    if (failed || skipped) {
        snprintf(err, errlen, "%zu CHILD SAs not deleted (%zu more than one call handles)",
                 failed, skipped);
        return -1;
    }
    return 0;
}

int gw_clear(struct gateway *gw, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    gw_delete_all(gw, "gateway clear");
    memset(&gw->counters, 0, sizeof(gw->counters));
    gw->retry_backoff_s = 0;
    gw_sa_reap(gw->d);
    gw_start(gw);
    return 0;
}

/* ---- debug filter ----------------------------------------------------------- */

int gw_debug_set(struct daemon *d, const char *gw_name, const struct ike_addr *peer, int level,
                 char *err, size_t errlen)
{
    if (gw_name && gw_name[0] && !gw_find(d, gw_name)) {
        snprintf(err, errlen, "no gateway named \"%s\"", gw_name);
        return -1;
    }
    if (level < IKE_LOG_ERR || level > IKE_LOG_DEBUG) {
        snprintf(err, errlen, "log level %d out of range 0..3", level);
        return -1;
    }
    if (peer && peer->family != IKE_AF_INET && peer->family != IKE_AF_INET6) {
        snprintf(err, errlen, "peer address of unknown family %u", peer->family);
        return -1;
    }
    hlog_set_filter(&d->log, gw_name, peer);
    hlog_set_level(&d->log, HLOG_IKE, level);
    hlog_sys(&d->log, HLOG_CTL, IKE_LOG_INFO, "debug ike: gateway %s, level %d",
             gw_name && gw_name[0] ? gw_name : "any", level);
    return 0;
}

void gw_debug_clear(struct daemon *d)
{
    hlog_set_filter(&d->log, NULL, NULL);
    hlog_set_level(&d->log, HLOG_IKE, d->cfg_ike_level);
}
