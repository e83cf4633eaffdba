/*
 * Received IKE datagrams -> the IKE SA they belong to: by SPIs through the
 * SA table; an IKE_SA_INIT request of no known SA -> ike_sa_respond() with
 * the gateway the config matches for (local, remote), after the half-open
 * limits. Every drop is counted (per gateway when one is known, else per
 * VDOM socket set) and logged with its reason.
 */
#include <inttypes.h>
#include <string.h>

#include <ike/message.h>
#include <ike/sa.h>

#include "daemon.h"
#include "gw_internal.h"
#include "gw_sa.h"
#include "ha/ha.h"
#include "ike_names.h"

#define IKE_HDR_LEN 28

/* A received datagram's one-line description for log lines, formatted on
 * first use: most datagrams only meet lines at a level nobody listens to. */
struct dgram {
    const uint8_t *data;
    size_t len;
    const struct ike_addr *local, *remote;
    bool described;
    char desc[192];
};

static const char *dgram_desc(struct dgram *g)
{
    if (!g->described) {
        ike_names_describe_dgram(g->data, g->len, g->remote, g->local, g->desc, sizeof(g->desc));
        g->described = true;
    }
    return g->desc;
}

static bool spi_zero(const uint8_t spi[IKE_SPI_LEN])
{
    static const uint8_t z[IKE_SPI_LEN];
    return !memcmp(spi, z, IKE_SPI_LEN);
}

static void drop_net(struct vdom_rt *v, enum gw_drop_reason why, int level,
                     const struct ike_addr *remote, struct dgram *g, const char *reason)
{
    struct daemon *d = v->d;
    v->net.ctr.dropped[why]++;
    struct hlog_who who = {.vdom = v->index, .peer = remote};
    if (hlog_enabled(&d->log, HLOG_NET, level, &who))
        hlog_write(&d->log, HLOG_NET, level, &who, "dropped IKE msg %s: %s (%s)", dgram_desc(g),
                   reason, gw_drop_reason_name(why));
}

static void deliver(struct gw_sa *gs, const uint8_t *data, size_t len,
                    const struct ike_addr *local, const struct ike_addr *remote, struct dgram *g)
{
    struct gateway *gw = gs->gw;
    struct daemon *d = gw->d;
    struct hlog_who who = daemon_who(gw, gs);
    who.peer = remote;
    gw->counters.dgrams_in++;
    gw->counters.bytes_in += len;
    gs->dgrams_in++;
    /* HA: a passive (mirrored) SA never answers; only the master of the
     * vcluster owning its VDOM does (DESIGN.md §3, the seed's bug). */
    if (!ha_gateway_active(d, gw)) {
        const struct ha_vc *vc = ha_vc_of_vdom(d, gw->vdom);
        gw->counters.dropped[GW_DROP_OTHER]++;
        hlog_write(&d->log, HLOG_IKE, IKE_LOG_INFO, &who,
                   "ignoring message on HA synced IKE_SA %s: vcluster %u is %s on this node",
                   dgram_desc(g), vc ? vc->id : 0,
                   vc ? hasync_role_name(vc->role) : "not running");
        return;
    }
    gw->dpd.last_rx_ms = daemon_now_ms();
    if (hlog_enabled(&d->log, HLOG_IKE, IKE_LOG_DEBUG, &who))
        hlog_write(&d->log, HLOG_IKE, IKE_LOG_DEBUG, &who, "recv IKE msg %s", dgram_desc(g));
    struct ike_diag diag = {0};
    enum ike_status st = ike_sa_process(gs->sa, data, len, local, remote, &diag);
    if (st == IKE_E_AUTH)
        gw->counters.dropped[GW_DROP_AUTH]++;
    if (st != IKE_OK && hlog_enabled(&d->log, HLOG_NET, IKE_LOG_DEBUG, &who))
        hlog_write(&d->log, HLOG_NET, IKE_LOG_DEBUG, &who, "IKE msg %s not taken: %s%s%s",
                   dgram_desc(g), ike_status_str(st), diag.reason[0] ? ": " : "", diag.reason);
    gw_sa_after(gs);
}

static bool half_open_admits(struct daemon *d, const struct ike_addr *remote, char *why,
                             size_t whylen)
{
    const struct cfg_global *g = &d->cfg->global;
    if (g->half_open_max && d->sat.half_open >= g->half_open_max) {
        snprintf(why, whylen, "%zu half-open IKE SAs, limit %u", d->sat.half_open,
                 g->half_open_max);
        return false;
    }
    size_t peer = sat_half_open_peer(&d->sat, remote);
    if (g->half_open_per_peer && peer >= g->half_open_per_peer) {
        snprintf(why, whylen, "%zu half-open IKE SAs from this peer, limit %u", peer,
                 g->half_open_per_peer);
        return false;
    }
    return true;
}

static void respond(struct vdom_rt *v, struct gateway *gw, const uint8_t *data, size_t len,
                    const struct ike_addr *local, const struct ike_addr *remote, struct dgram *g)
{
    struct daemon *d = v->d;
    struct hlog_who who = daemon_who(gw, NULL);
    who.peer = remote;
    gw->counters.dgrams_in++;
    gw->counters.bytes_in += len;
    if (hlog_enabled(&d->log, HLOG_IKE, IKE_LOG_DEBUG, &who))
        hlog_write(&d->log, HLOG_IKE, IKE_LOG_DEBUG, &who, "recv IKE msg %s", dgram_desc(g));
    struct gw_sa *gs = gw_sa_new(gw, v);
    if (!gs) {
        gw->counters.dropped[GW_DROP_OTHER]++;
        return;
    }
    struct ike_sa *sa = NULL;
    struct ike_diag diag = {0};
    d->creating = gs;
    d->cur_gw = gw;
    d->cur_vdom = v;
    /* RFC 7296 §2.6: past the threshold, prove the address first. */
    d->ike_ctx.require_cookie = d->sat.half_open >= d->cfg->global.cookie_threshold;
    enum ike_status st = ike_sa_respond(&d->ike_ctx, gw->ike_cfg, data, len, local, remote, &sa,
                                        &diag);
    d->creating = NULL;
    d->cur_gw = NULL;
    d->cur_vdom = NULL;
    if (st != IKE_OK || !sa) {
        /* libike freed any SA it had begun: forget a pointer a callback gave us. */
        gs->sa = NULL;
        gw_sa_destroy(gs);
        if (st == IKE_OK) {
            d->ctr.stateless_replies++;
            return;
        }
        gw->counters.dropped[st == IKE_E_INTEGRITY ? GW_DROP_INTEGRITY : GW_DROP_MALFORMED]++;
        hlog_write(&d->log, HLOG_IKE, IKE_LOG_WARN, &who, "IKE_SA_INIT request %s dropped: %s%s%s",
                   dgram_desc(g), ike_status_str(st), diag.reason[0] ? ": " : "", diag.reason);
        return;
    }
    if (gw_sa_attach(gs, sa) == 0)
        gw_sa_after(gs);
}

static void init_request(struct vdom_rt *v, const struct ike_hdr *hdr, const uint8_t *data,
                         size_t len, const struct ike_addr *local, const struct ike_addr *remote,
                         struct dgram *g)
{
    struct daemon *d = v->d;
    /* A retransmitted request: the SA answers it from its cache. */
    struct gw_sa *gs = sat_lookup_init(&d->sat, hdr->spi_i, remote);
    if (gs && !gs->dying) {
        deliver(gs, data, len, local, remote, g);
        return;
    }
    struct cfg_gateway *cg = cfg_gateway_match(d->cfg, v->name, local, remote);
    struct gateway *gw = cg ? gw_find_cfg(d, cg) : NULL;
    char la[IKE_ADDR_STR_MAX], why[128];
    if (!gw) {
        snprintf(why, sizeof(why), "no gateway configured for this peer on %s",
                 ike_addr_str(local, la, sizeof(la)));
        drop_net(v, GW_DROP_NO_GATEWAY, IKE_LOG_WARN, remote, g, why);
        return;
    }
    struct hlog_who who = daemon_who(gw, NULL);
    who.peer = remote;
    if (gw->state == GW_STATE_ADMIN_DOWN) {
        gw->counters.dropped[GW_DROP_OTHER]++;
        hlog_write(&d->log, HLOG_IKE, IKE_LOG_INFO, &who,
                   "IKE_SA_INIT request %s refused: gateway is down (hactl tunnel up)",
                   dgram_desc(g));
        return;
    }
    /* A standby must not create SAs; nor a master handing over (a half-open
     * SA is never synced: the peer's retry reaches the next master). */
    if (!ha_gateway_may_start(d, gw)) {
        const struct ha_vc *vc = ha_vc_of_vdom(d, gw->vdom);
        gw->counters.dropped[GW_DROP_OTHER]++;
        hlog_write(&d->log, HLOG_IKE, IKE_LOG_INFO, &who,
                   "IKE_SA_INIT request %s refused: vcluster %u is %s on this node", dgram_desc(g),
                   vc ? vc->id : 0,
                   !vc            ? "not running"
                   : vc->draining ? "being handed over"
                                  : hasync_role_name(vc->role));
        return;
    }
    if (!half_open_admits(d, remote, why, sizeof(why))) {
        gw->counters.dropped[GW_DROP_HALF_OPEN]++;
        hlog_write(&d->log, HLOG_IKE, IKE_LOG_WARN, &who, "IKE_SA_INIT request %s dropped: %s",
                   dgram_desc(g), why);
        return;
    }
    respond(v, gw, data, len, local, remote, g);
}

/* RFC 7296 §2.21.4: a request for an SA we do not know gets an
 * unprotected INVALID_IKE_SPI, at most INVALID_SPI_PER_S a second per VDOM
 * (it is unauthenticated: never an amplifier). */
#define INVALID_SPI_PER_S 10u

static void answer_invalid_spi(struct vdom_rt *v, const uint8_t *data, size_t len,
                               const struct ike_addr *local, const struct ike_addr *remote)
{
    struct daemon *d = v->d;
    uint64_t sec = daemon_now_ms() / 1000;
    if (sec != v->invalid_spi_sec) {
        v->invalid_spi_sec = sec;
        v->invalid_spi_sent = 0;
    }
    if (v->invalid_spi_sent >= INVALID_SPI_PER_S)
        return;
    struct ike_diag diag = {0};
    d->cur_vdom = v;
    if (ike_answer_invalid_ike_spi(&d->ike_ctx, data, len, local, remote, &diag) == IKE_OK)
        v->invalid_spi_sent++;
    d->cur_vdom = NULL;
}

void daemon_ike_input(struct vdom_rt *v, const uint8_t *data, size_t len,
                      const struct ike_addr *local, const struct ike_addr *remote)
{
    struct daemon *d = v->d;
    struct dgram g = {.data = data, .len = len, .local = local, .remote = remote};
    if (len < IKE_HDR_LEN) {
        char why[64];
        snprintf(why, sizeof(why), "%zu octets < IKE header %d", len, IKE_HDR_LEN);
        drop_net(v, GW_DROP_TRUNCATED, IKE_LOG_WARN, remote, &g, why);
        return;
    }
    struct ike_hdr hdr;
    struct ike_diag diag = {0};
    if (ike_hdr_decode(data, len, &hdr, &diag) != IKE_OK) {
        bool short_len = len >= IKE_HDR_LEN &&
                         ((uint32_t)data[24] << 24 | (uint32_t)data[25] << 16 |
                          (uint32_t)data[26] << 8 | data[27]) > len;
        drop_net(v, short_len ? GW_DROP_TRUNCATED : GW_DROP_MALFORMED, IKE_LOG_WARN, remote, &g,
                 diag.reason);
        return;
    }
    if (hdr.exchange == IKE_EXCH_IKE_SA_INIT && !(hdr.flags & IKE_FLAG_RESPONSE) &&
        spi_zero(hdr.spi_r)) {
        init_request(v, &hdr, data, len, local, remote, &g);
        return;
    }
    struct gw_sa *gs = sat_lookup(&d->sat, &hdr);
    if (!gs || gs->dying || !gs->sa) {
        drop_net(v, GW_DROP_UNKNOWN_SPI, IKE_LOG_WARN, remote, &g, "no IKE SA with these SPIs");
        answer_invalid_spi(v, data, len, local, remote);
        return;
    }
    deliver(gs, data, len, local, remote, &g);
}
