/* The daemon's lifetime: init, start, SIGHUP reload, shutdown (see daemon.h). */
#include "daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include <ike/cookie.h>

#include "gw_internal.h"
#include "gw_sa.h"
#include "ha/ha.h"

uint64_t daemon_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct hlog_who daemon_who(const struct gateway *gw, const struct gw_sa *gs)
{
    struct hlog_who w = {0};
    if (gw) {
        w.vdom = gw->vdom;
        w.gw = gw->name;
    }
    if (gs) {
        w.serial = gs->serial;
        if (gs->sa)
            w.peer = ike_sa_remote_addr(gs->sa);
    }
    if (!w.peer && gw && !net_addr_is_any(&gw->ike_cfg->remote))
        w.peer = &gw->ike_cfg->remote;
    return w;
}

struct vdom_rt *daemon_vdom(struct daemon *d, const char *name)
{
    for (size_t i = 0; i < d->n_vdoms; i++)
        if (!strcmp(d->vdoms[i].name, name ? name : CFG_ROOT_VDOM))
            return &d->vdoms[i];
    return NULL;
}

/* Cookies of the previous secret stay valid for one more period. */
#define COOKIE_ROTATE_S 300

static void on_cookie_rotate(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct daemon *d = arg;
    if (ike_cookie_jar_rotate(d->cookies) != IKE_OK)
        hlog_sys(&d->log, HLOG_IKE, IKE_LOG_ERR, "cannot rotate the COOKIE secret");
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    gw_sa_reap(arg);
}

void daemon_schedule_reap(struct daemon *d)
{
    if (d->reaper)
        event_active(d->reaper, EV_TIMEOUT, 0);
}

void daemon_set_observer(struct daemon *d, daemon_event_observer fn, void *arg)
{
    d->observer = fn;
    d->observer_arg = arg;
}

/* ---- sockets ------------------------------------------------------------- */

static void net_ike(void *arg, const uint8_t *data, size_t len, const struct ike_addr *local,
                    const struct ike_addr *remote)
{
    daemon_ike_input(arg, data, len, local, remote);
}

static void net_esp(void *arg, const uint8_t *data, size_t len, const struct ike_addr *local,
                    const struct ike_addr *remote)
{
    struct vdom_rt *v = arg;
    if (dp_esp_input_batch(&v->d->dp, data, len, local, remote) == 0)
        return;
    v->d->ctr.esp_dropped++;
    v->net.ctr.dropped[GW_DROP_ESP]++;
    struct hlog_who who = {.vdom = v->index, .peer = remote};
    char r[IKE_ADDR_STR_MAX];
    hlog_write(&v->d->log, HLOG_DP, IKE_LOG_DEBUG, &who,
               "ESP datagram from %s (SPI %02x%02x%02x%02x, %zu octets) dropped: data plane "
               "\"%s\" carries no ESP", ike_addr_str(remote, r, sizeof(r)), data[0], data[1],
               data[2], data[3], len, v->d->dp.ops ? v->d->dp.ops->name : "-");
}

/* The end of a run of ESP-in-UDP from one receive batch (net.h). */
static void net_esp_done(void *arg)
{
    struct vdom_rt *v = arg;
    dp_esp_flush(&v->d->dp);
}

/* The data plane's ESP-in-UDP output: the 4500 socket of the CHILD SA's
 * IKE SA's VDOM (the root VDOM once the IKE SA is gone). */
static int dp_udp_send(void *arg, const struct dp_child *c, const uint8_t *data, size_t len)
{
    struct daemon *d = arg;
    struct vdom_rt *v = c->owner && c->owner->vdom ? c->owner->vdom : d->vdoms;
    if (!v)
        return -ENOTCONN;
    return net_send_esp(&v->net, &c->local, &c->remote, data, len);
}

/* The same socket for the data plane's own batched sends (sendmmsg, UDP
 * GSO), and the verdicts on them for that VDOM's counters. */
static int dp_udp_path(void *arg, const struct dp_child *c, struct dp_udp_path *out)
{
    struct daemon *d = arg;
    struct vdom_rt *v = c->owner && c->owner->vdom ? c->owner->vdom : d->vdoms;
    if (!v)
        return -ENOTCONN;
    int fd = net_esp_sock(&v->net, &c->local, &out->pktinfo);
    if (fd < 0)
        return fd;
    out->fd = fd;
    out->owner = &v->net;
    return 0;
}

static void dp_udp_sent(void *arg, void *owner, size_t octets, int err)
{
    (void)arg;
    net_esp_sent(owner, octets, err);
}

/* The data plane's reports: traffic for DPD, byte/packet lifetimes for
 * libike to rekey (soft) or delete (hard) the CHILD SA. */
static void dp_report(void *arg, struct dp_child *c, enum dp_report what)
{
    struct daemon *d = arg;
    struct gw_sa *gs = c->owner;
    if (!gs || !gs->sa || gs->dying)
        return;
    if (!ha_gateway_active(d, gs->gw))
        return; /* HA standby: its passive copy neither rekeys nor probes */
    if (what == DP_REPORT_INBOUND || what == DP_REPORT_OUTBOUND) {
        ike_sa_note_activity(gs->sa, what == DP_REPORT_INBOUND ? IKE_ACTIVITY_INBOUND
                                                               : IKE_ACTIVITY_OUTBOUND);
        return;
    }
    bool hard = what == DP_REPORT_HARD_LIMIT;
    struct hlog_who who = daemon_who(gs->gw, gs);
    struct ike_diag diag = {0};
    uint32_t spi = c->spi_in; /* c may be gone after the call */
    enum ike_status st = ike_sa_child_limit(gs->sa, spi, hard, &diag);
    hlog_write(&d->log, HLOG_DP, st == IKE_OK ? IKE_LOG_INFO : IKE_LOG_WARN, &who,
               "CHILD SA %08" PRIx32 " reached its %s byte/packet lifetime: %s%s%s", spi,
               hard ? "hard" : "soft", st == IKE_OK ? (hard ? "deleting" : "rekeying")
               : ike_status_str(st), diag.reason[0] ? ": " : "", diag.reason);
    gw_sa_after(gs);
}

static void net_dropped(void *arg, enum gw_drop_reason why, size_t len,
                        const struct ike_addr *local, const struct ike_addr *remote)
{
    struct vdom_rt *v = arg;
    char l[IKE_ADDR_STR_MAX], r[IKE_ADDR_STR_MAX];
    struct hlog_who who = {.vdom = v->index, .peer = remote};
    hlog_write(&v->d->log, HLOG_NET, IKE_LOG_WARN, &who, "dropped datagram %s->%s, len=%zu: %s",
               ike_addr_str(remote, r, sizeof(r)), ike_addr_str(local, l, sizeof(l)), len,
               gw_drop_reason_name(why));
}

static int open_vdoms(struct daemon *d, char *err, size_t errlen)
{
    d->vdoms = calloc(d->cfg->n_vdoms, sizeof(*d->vdoms));
    if (!d->vdoms) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < d->cfg->n_vdoms; i++) {
        const struct cfg_vdom *cv = &d->cfg->vdoms[i];
        struct vdom_rt *v = &d->vdoms[i];
        v->d = d;
        v->index = (unsigned)i;
        snprintf(v->name, sizeof(v->name), "%s", cv->name);
        snprintf(v->netns, sizeof(v->netns), "%s", cv->netns ? cv->netns : "");
        struct net_handlers h = {net_ike, net_esp, net_dropped, v, net_esp_done};
        net_init(&v->net, d->base, &h, v->netns);
        v->net.esp_in_kernel = d->dp.ops == &dp_xfrm_ops; /* UDP_ENCAP on 4500 */
        v->net.freebind = d->cfg->ha.enabled; /* VIPs come and go with the role */
    }
    d->n_vdoms = d->cfg->n_vdoms;
    return 0;
}

/* Sockets for every gateway's local address in its VDOM. */
static int listen_all(struct daemon *d, char *err, size_t errlen)
{
    struct gateway *gw;
    TAILQ_FOREACH(gw, &d->gateways, link) {
        struct vdom_rt *v = daemon_vdom(d, gw->cfg->vdom);
        if (!v) {
            snprintf(err, errlen, "gateway %s: VDOM %s unknown", gw->name, gw->cfg->vdom);
            return -1;
        }
        char e[256];
        if (net_listen(&v->net, &gw->ike_cfg->local, e, sizeof(e)) < 0) {
            snprintf(err, errlen, "gateway %s: %s", gw->name, e);
            return -1;
        }
    }
    return 0;
}

/* ---- lifetime -------------------------------------------------------------- */

static void apply_log_levels(struct daemon *d)
{
    static const struct { enum cfg_log_subsys c; enum hlog_subsys h; } map[] = {
        {CFG_LOG_MAIN, HLOG_MAIN}, {CFG_LOG_CONFIG, HLOG_CFG}, {CFG_LOG_NET, HLOG_NET},
        {CFG_LOG_IKE, HLOG_IKE},   {CFG_LOG_DATAPLANE, HLOG_DP}, {CFG_LOG_CTL, HLOG_CTL},
        {CFG_LOG_SYNC, HLOG_SYNC},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        hlog_set_level(&d->log, map[i].h, (int)d->cfg->global.log_level[map[i].c]);
    d->cfg_ike_level = (int)d->cfg->global.log_level[CFG_LOG_IKE];
}

static const char *dp_backend_name(enum cfg_dataplane dp)
{
    return cfg_dataplane_name(dp);
}

int daemon_init(struct daemon *d, struct event_base *base, struct cfg *cfg,
                const char *config_path, FILE *log_out, char *err, size_t errlen)
{
    memset(d, 0, sizeof(*d));
    d->base = base;
    d->cfg = cfg;
    d->config_path = config_path ? strdup(config_path) : NULL;
    d->started_ms = daemon_now_ms();
    TAILQ_INIT(&d->gateways);
    TAILQ_INIT(&d->retiring);
    hlog_init(&d->log, log_out, IKE_LOG_INFO);
    apply_log_levels(d);
    d->ike_ctx.ops = &daemon_ike_ops;
    d->ike_ctx.user = d;
    d->ike_ctx.retransmit_base_ms = cfg->global.retransmit_timeout_ms;
    d->ike_ctx.retransmit_tries = cfg->global.retransmit_tries;
    d->reaper = event_new(base, -1, 0, on_reap, d);
    d->cookie_timer = event_new(base, -1, EV_PERSIST, on_cookie_rotate, d);
    if (!d->reaper || !d->cookie_timer || sat_init(&d->sat) < 0 ||
        peer_index_init(&d->peer_ids) < 0 ||
        ike_cookie_jar_new(&d->cookies) != IKE_OK) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct timeval rot = {COOKIE_ROTATE_S, 0};
    evtimer_add(d->cookie_timer, &rot);
    d->ike_ctx.cookies = d->cookies;
    if (dp_open(&d->dp, dp_backend_name(cfg->global.dataplane), base, err, errlen) < 0)
        return -1;
    if (open_vdoms(d, err, errlen) < 0)
        return -1;
    d->dp.udp_send = dp_udp_send;
    d->dp.udp_send_arg = d;
    d->dp.udp_path = dp_udp_path;
    d->dp.udp_sent = dp_udp_sent;
    d->dp.report = dp_report;
    d->dp.report_arg = d;
    for (size_t i = 0; i < cfg->n_gateways; i++) {
        struct gateway *gw = gw_create(d, cfg->gateways[i]);
        if (!gw) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        TAILQ_INSERT_TAIL(&d->gateways, gw, link);
        d->n_gateways++;
    }
    return 0;
}

int daemon_start(struct daemon *d, char *err, size_t errlen)
{
    if (listen_all(d, err, errlen) < 0)
        return -1;
    hlog_sys(&d->log, HLOG_MAIN, IKE_LOG_INFO,
             "haiked %s started: %zu gateways, %zu VDOMs, data plane %s", HAIKED_VERSION,
             d->n_gateways, d->n_vdoms, d->dp.ops->name);
    /* The cluster side before any gateway starts: whether one may initiate
     * depends on its virtual cluster's role (ha_gateway_active). */
    if (ha_start(d, err, errlen) < 0)
        return -1;
    struct gateway *gw;
    TAILQ_FOREACH(gw, &d->gateways, link)
        gw_start(gw);
    return 0;
}

/* A changed gateway whose new version initiates keeps its old IKE SAs
 * until the new one is up (gw_retire.c): make-before-break. */
static bool successor_initiates(const struct cfg *next, const char *name)
{
    const struct cfg_gateway *cg = cfg_gateway_find(next, name);
    return cg && !cg->passive && cg->auto_negotiate;
}

/* VDOMs must not change on reload: sockets and SAs live in them. */
static int same_vdoms(const struct cfg *a, const struct cfg *b, char *err, size_t errlen)
{
    if (a->n_vdoms != b->n_vdoms) {
        snprintf(err, errlen, "VDOMs changed (%zu -> %zu): restart haiked to apply", a->n_vdoms,
                 b->n_vdoms);
        return -1;
    }
    for (size_t i = 0; i < a->n_vdoms; i++) {
        const char *na = a->vdoms[i].netns ? a->vdoms[i].netns : "";
        const char *nb = b->vdoms[i].netns ? b->vdoms[i].netns : "";
        if (strcmp(a->vdoms[i].name, b->vdoms[i].name) || strcmp(na, nb)) {
            snprintf(err, errlen, "VDOM %s changed: restart haiked to apply", a->vdoms[i].name);
            return -1;
        }
    }
    if (a->global.dataplane != b->global.dataplane) {
        snprintf(err, errlen, "data plane changed: restart haiked to apply");
        return -1;
    }
    return 0;
}

int daemon_reload(struct daemon *d, struct cfg *next, char *err, size_t errlen)
{
    if (same_vdoms(d->cfg, next, err, errlen) < 0 || cfg_ha_adopt(next, d->cfg, err, errlen) < 0) {
        cfg_free(next);
        return -1;
    }
    struct cfg *prev = d->cfg;
    size_t kept = cfg_adopt_unchanged(next, prev);
    /* Gateways whose cfg object stayed in prev were removed or changed. */
    size_t removed = 0, added = 0;
    struct gateway *gw, *nx;
    for (gw = TAILQ_FIRST(&d->gateways); gw; gw = nx) {
        nx = TAILQ_NEXT(gw, link);
        bool adopted = false;
        for (size_t i = 0; i < next->n_gateways && !adopted; i++)
            adopted = next->gateways[i] == gw->cfg;
        if (!adopted) {
            bool changed = cfg_gateway_find(next, gw->name) != NULL;
            gw_retire(gw, prev, successor_initiates(next, gw->name),
                      changed ? "changed by reload" : "removed by reload");
            removed++;
        }
    }
    d->cfg = next;
    apply_log_levels(d);
    d->ike_ctx.retransmit_base_ms = next->global.retransmit_timeout_ms;
    d->ike_ctx.retransmit_tries = next->global.retransmit_tries;
    for (size_t i = 0; i < next->n_gateways; i++) {
        if (gw_find_cfg(d, next->gateways[i]))
            continue;
        gw = gw_create(d, next->gateways[i]);
        if (!gw) {
            snprintf(err, errlen, "out of memory creating gateway %s", next->gateways[i]->name);
            cfg_free(prev);
            return -1;
        }
        TAILQ_INSERT_TAIL(&d->gateways, gw, link);
        d->n_gateways++;
        added++;
    }
    cfg_free(prev);
    int r = listen_all(d, err, errlen);
    TAILQ_FOREACH(gw, &d->gateways, link)
        if (gw->state == GW_STATE_IDLE && TAILQ_EMPTY(&gw->sas))
            gw_start(gw);
    gw_retire_check_holds(d); /* a successor that did not start ends its namesake's hold */
    hlog_sys(&d->log, HLOG_CFG, IKE_LOG_INFO,
             "reloaded %s: %zu gateways kept, %zu removed or changed, %zu new",
             d->config_path ? d->config_path : "config", kept, removed, added);
    return r;
}

void daemon_shutdown(struct daemon *d)
{
    d->stopping = true;
    struct gateway *gw;
    TAILQ_FOREACH(gw, &d->gateways, link) {
        if (gw->retry_timer)
            evtimer_del(gw->retry_timer);
        /* HA: tunnels the peer node continues are not deleted, only freed
         * here (it takes over when we leave the group, in ha_stop). */
        if (ha_shutdown_keep(d, gw)) {
            struct gw_sa *gs;
            TAILQ_FOREACH(gs, &gw->sas, link) {
                gs->dying = true;
                gw_sa_defer(gs); /* reaped below */
            }
            continue;
        }
        gw_delete_all(gw, "shutdown");
    }
    gw_retire_shutdown(d);
    gw_sa_reap(d);
}

void daemon_free(struct daemon *d)
{
    d->stopping = true;
    ha_stop(d);
    struct gateway *gw;
    while ((gw = TAILQ_FIRST(&d->gateways))) {
        TAILQ_REMOVE(&d->gateways, gw, link);
        gw_destroy(gw);
    }
    d->n_gateways = 0;
    gw_retire_free_all(d);
    dp_close(&d->dp);
    for (size_t i = 0; i < d->n_vdoms; i++)
        net_close(&d->vdoms[i].net);
    free(d->vdoms);
    d->vdoms = NULL;
    sat_fini(&d->sat);
    peer_index_fini(&d->peer_ids);
    if (d->reaper)
        event_free(d->reaper);
    d->reaper = NULL;
    if (d->cookie_timer)
        event_free(d->cookie_timer);
    d->cookie_timer = NULL;
    ike_cookie_jar_free(d->cookies);
    d->cookies = NULL;
    cfg_free(d->cfg);
    d->cfg = NULL;
    free(d->config_path);
    hlog_close(&d->log);
}
