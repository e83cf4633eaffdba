/* Runtime -> ctl.* messages (see ctl_view.h). */
#include "ctl/ctl_view.h"
#include "ctl/ctl_dataplane.h"
#include "ctl/ctl_peers.h"
#include "ctl/ctl_selectors.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ike/const.h>
#include <ike/sa.h>
#include <ike/transform.h>

#include "config/config.h"
#include "daemon.h"
#include "dataplane.h"
#include "gateway.h"
#include "net.h"

void ctl_v_refresh_counters(struct daemon *d, const struct gateway *gw)
{
    struct dp_child *c;
    TAILQ_FOREACH(c, &d->dp.children, all_link)
    if (!gw || (c->owner && c->owner->gw == gw))
        dp_child_counters(&d->dp, c); /* -1: the backend keeps them current itself */
}

char *ctl_v_addr(struct ctl_arena *a, const struct ike_addr *addr)
{
    char buf[INET6_ADDRSTRLEN];
    int af = addr->family == IKE_AF_INET6 ? AF_INET6 : AF_INET;
    if (addr->family != IKE_AF_INET && addr->family != IKE_AF_INET6)
        return ctl_arena_strdup(a, "-");
    if (!inet_ntop(af, addr->addr, buf, sizeof(buf)))
        return ctl_arena_strdup(a, "?");
    return ctl_arena_strdup(a, buf);
}

Ctl__Endpoint *ctl_v_endpoint(struct ctl_arena *a, const struct ike_addr *addr)
{
    Ctl__Endpoint *e = CTL_NEW(a, Ctl__Endpoint, endpoint);
    if (!e)
        return NULL;
    e->addr = ctl_v_addr(a, addr);
    e->has_port = true;
    e->port = addr->port;
    return e;
}

static Ctl__Selector *ts_fields(struct ctl_arena *a, uint8_t type, uint8_t proto,
                                const uint8_t *start, const uint8_t *end, uint16_t sport,
                                uint16_t eport)
{
    Ctl__Selector *s = CTL_NEW(a, Ctl__Selector, selector);
    if (!s)
        return NULL;
    struct ike_addr tmp = {.family = type == IKE_TS_IPV6_ADDR_RANGE ? IKE_AF_INET6 : IKE_AF_INET};
    memcpy(tmp.addr, start, 16);
    s->start_addr = ctl_v_addr(a, &tmp);
    memcpy(tmp.addr, end, 16);
    s->end_addr = ctl_v_addr(a, &tmp);
    s->has_ip_proto = s->has_start_port = s->has_end_port = true;
    s->ip_proto = proto;
    s->start_port = sport;
    s->end_port = eport;
    return s;
}

Ctl__Selector *ctl_v_ts_export(struct ctl_arena *a, const struct ike_ts_export *ts)
{
    return ts_fields(a, ts->type, ts->ip_proto, ts->start_addr, ts->end_addr, ts->start_port,
                     ts->end_port);
}

Ctl__Selector *ctl_v_ts(struct ctl_arena *a, const struct ike_ts *ts)
{
    return ts_fields(a, ts->type, ts->ip_proto, ts->start_addr, ts->end_addr, ts->start_port,
                     ts->end_port);
}

const char *ctl_v_vdom(const struct gateway *gw)
{
    if (gw->cfg && gw->cfg->vdom && gw->cfg->vdom[0])
        return gw->cfg->vdom;
    return CFG_ROOT_VDOM;
}

static const char *natt_name(enum cfg_natt n)
{
    switch (n) {
    case CFG_NATT_DISABLE: return "disable";
    case CFG_NATT_ENABLE: return "enable";
    case CFG_NATT_FORCED: return "forced";
    }
    return "?";
}

static const char *dpd_name(enum gw_dpd_mode m)
{
    switch (m) {
    case GW_DPD_OFF: return "off";
    case GW_DPD_ON_IDLE: return "on-idle";
    case GW_DPD_ON_DEMAND: return "on-demand";
    }
    return "?";
}

static const char *name_or(const char *name, const char *fallback)
{
    return name ? name : fallback;
}

static uint64_t secs_since(uint64_t now_ms, uint64_t then_ms)
{
    return then_ms && now_ms > then_ms ? (now_ms - then_ms) / 1000 : 0;
}

static uint64_t secs_left(uint64_t now_ms, uint64_t start_ms, uint32_t after_s)
{
    if (!start_ms || !after_s)
        return 0;
    uint64_t due = start_ms + (uint64_t)after_s * 1000;
    return due > now_ms ? (due - now_ms + 999) / 1000 : 0;
}

/* An IKE identity as text: addresses and names as such, anything else
 * (DN, key ID) as type:hex. Non-printable octets in a name become '?'
 * so a peer cannot inject control characters into hactl's output. */
static char *id_text(struct ctl_arena *a, const struct ike_id_export *id)
{
    char buf[2 * IKE_EXPORT_ID_MAX + 16];
    size_t len = id->len < IKE_EXPORT_ID_MAX ? id->len : IKE_EXPORT_ID_MAX;
    if (id->type == 0)
        return NULL;
    if ((id->type == IKE_ID_IPV4_ADDR && len == 4) || (id->type == IKE_ID_IPV6_ADDR && len == 16)) {
        int af = len == 4 ? AF_INET : AF_INET6;
        if (inet_ntop(af, id->data, buf, sizeof(buf)))
            return ctl_arena_strdup(a, buf);
    }
    if (id->type == IKE_ID_FQDN || id->type == IKE_ID_RFC822_ADDR) {
        for (size_t i = 0; i < len; i++)
            buf[i] = id->data[i] >= 0x20 && id->data[i] < 0x7f ? (char)id->data[i] : '?';
        buf[len] = '\0';
        return ctl_arena_strdup(a, buf);
    }
    int n = snprintf(buf, sizeof(buf), "%u:", id->type);
    for (size_t i = 0; i < len && (size_t)n + 2 < sizeof(buf); i++)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%02x", id->data[i]);
    return ctl_arena_strdup(a, buf);
}

/* libike's "INIT_SENT" as "init-sent" (FortiOS/strongSwan listings). */
static char *state_text(struct ctl_arena *a, const char *name)
{
    char *s = ctl_arena_strdup(a, name ? name : "?");
    for (char *p = s; p && *p; p++)
        *p = *p == '_' ? '-' : (char)tolower((unsigned char)*p);
    return s;
}

static ProtobufCBinaryData bin(struct ctl_arena *a, const void *p, size_t len)
{
    ProtobufCBinaryData b = {.len = len, .data = ctl_arena_memdup(a, p, len)};
    if (!b.data)
        b.len = 0;
    return b;
}

static ProtobufCBinaryData key_bin(struct ctl_arena *a, const struct ike_key_export *k)
{
    size_t len = k->len < IKE_EXPORT_KEY_MAX ? k->len : IKE_EXPORT_KEY_MAX;
    return bin(a, k->data, len);
}

static ProtobufCBinaryData spi32_bin(struct ctl_arena *a, uint32_t spi)
{
    uint8_t b[4] = {(uint8_t)(spi >> 24), (uint8_t)(spi >> 16), (uint8_t)(spi >> 8), (uint8_t)spi};
    return bin(a, b, sizeof(b));
}

static Ctl__IkeKeys *ike_keys(struct ctl_arena *a, const struct ike_sa_export *ex)
{
    Ctl__IkeKeys *k = CTL_NEW(a, Ctl__IkeKeys, ike_keys);
    if (!k)
        return NULL;
    k->has_sk_d = k->has_sk_ai = k->has_sk_ar = k->has_sk_ei = true;
    k->has_sk_er = k->has_sk_pi = k->has_sk_pr = true;
    k->sk_d = key_bin(a, &ex->sk_d);
    k->sk_ai = key_bin(a, &ex->sk_ai);
    k->sk_ar = key_bin(a, &ex->sk_ar);
    k->sk_ei = key_bin(a, &ex->sk_ei);
    k->sk_er = key_bin(a, &ex->sk_er);
    k->sk_pi = key_bin(a, &ex->sk_pi);
    k->sk_pr = key_bin(a, &ex->sk_pr);
    return k;
}

static Ctl__IkeStats *ike_stats(struct ctl_arena *a, const struct ike_sa_stats *st)
{
    Ctl__IkeStats *s = CTL_NEW(a, Ctl__IkeStats, ike_stats);
    if (!s || !st)
        return s;
    s->has_dropped_malformed = s->has_dropped_integrity = s->has_dropped_msgid = true;
    s->has_dropped_unhandled = s->has_retransmits_sent = s->has_responses_resent = true;
    s->dropped_malformed = st->dropped_malformed;
    s->dropped_integrity = st->dropped_integrity;
    s->dropped_msgid = st->dropped_msgid;
    s->dropped_unhandled = st->dropped_unhandled;
    s->retransmits_sent = st->retransmits_sent;
    s->responses_resent = st->responses_resent;
    return s;
}

/* The negotiated algorithms, FortiOS/strongSwan style names. */
static void ike_algs(struct ctl_arena *a, Ctl__IkeSa *m, const struct ike_sa_export *ex)
{
    struct ike_encr_info ei;
    bool aead = ike_encr_lookup(ex->encr_id, ex->encr_key_bits, &ei) == IKE_OK && ei.aead;
    m->encr = ctl_arena_strdup(a, name_or(ike_encr_name(ex->encr_id, ex->encr_key_bits), "?"));
    if (!aead)
        m->integ = ctl_arena_strdup(a, name_or(ike_integ_name(ex->integ_id), "?"));
    m->prf = ctl_arena_strdup(a, name_or(ike_prf_name(ex->prf_id), "?"));
    m->dh = ctl_arena_strdup(a, name_or(ike_dh_name(ex->dh_group), "?"));
    if (aead)
        m->proposal = ctl_arena_printf(a, "%s-%s-%s", m->encr, m->prf, m->dh);
    else
        m->proposal = ctl_arena_printf(a, "%s-%s-%s", m->encr, m->integ, m->dh);
}

/* Fields only an ESTABLISHED SA has (algorithms, IDs, keys): from the
 * export, which is then wiped. */
static void ike_established_fields(struct ctl_req *r, Ctl__IkeSa *m, const struct gw_sa *gs)
{
    struct ike_sa_export ex;
    struct ike_diag diag;
    memset(&diag, 0, sizeof(diag));
    if (ike_sa_export(gs->sa, &ex, &diag) != IKE_OK)
        return;
    ike_algs(r->arena, m, &ex);
    m->has_msgid_sent = m->has_msgid_recv = true;
    m->msgid_sent = ex.msgid_send_next;
    m->msgid_recv = ex.msgid_recv_next;
    m->nat_local = ex.nat_local;
    m->nat_remote = ex.nat_remote;
    if (ex.soft_left_ms) /* libike's own timer, jitter included */
        m->rekey_left = (ex.soft_left_ms + 999) / 1000;
    m->has_fragmentation = m->has_msgid_sync = true;
    m->fragmentation = ex.fragmentation;
    m->msgid_sync = ex.peer_msgid_sync;
    m->local_id = id_text(r->arena, &ex.local_id);
    m->remote_id = id_text(r->arena, &ex.remote_id);
    if (r->req->show_keys)
        m->keys = ike_keys(r->arena, &ex);
    ike_export_wipe(&ex, sizeof(ex));
}

Ctl__IkeSa *ctl_v_ike_sa(struct ctl_req *r, struct gw_sa *gs)
{
    struct ctl_arena *a = r->arena;
    Ctl__IkeSa *m = CTL_NEW(a, Ctl__IkeSa, ike_sa);
    if (!m)
        return NULL;
    const struct ike_sa *sa = gs->sa;
    m->has_spi_i = m->has_spi_r = m->has_initiator = m->has_serial = true;
    m->serial = gs->serial;
    m->spi_i = bin(a, ike_sa_spi_i(sa), IKE_SPI_LEN);
    m->spi_r = bin(a, ike_sa_spi_r(sa), IKE_SPI_LEN);
    m->initiator = ike_sa_is_initiator(sa);
    m->state = state_text(a, ike_sa_state_name(ike_sa_state(sa)));
    m->local = ctl_v_endpoint(a, ike_sa_local_addr(sa));
    m->remote = ctl_v_endpoint(a, ike_sa_remote_addr(sa));
    m->has_age = m->has_lifetime = m->has_rekey_left = true;
    m->age = secs_since(r->now_ms, gs->created_ms);
    const struct cfg_gateway *cfg = gs->gw ? gs->gw->cfg : NULL;
    if (cfg) {
        m->lifetime = cfg->lifetime.soft_s;
        m->rekey_left = secs_left(r->now_ms, gs->established_ms, cfg->lifetime.soft_s);
    }
    m->has_nat_local = m->has_nat_remote = true;
    m->nat_local = m->nat_remote = ike_sa_nat_detected(sa);
    m->has_msgid_sent = m->has_msgid_recv = true;
    m->msgid_sent = gs->msgid_send_next;
    m->msgid_recv = gs->msgid_recv_next;
    m->stats = ike_stats(a, ike_sa_stats(sa));
    if (ike_sa_state(sa) == IKE_SA_STATE_ESTABLISHED)
        ike_established_fields(r, m, gs);
    return m;
}

/* Where libike keeps each CHILD SA of an IKE SA (its index there), by
 * inbound SPI: each is exported once to learn its SPI, then once more to
 * be shown, instead of a walk exporting all of them per CHILD SA. */
struct child_pos {
    uint32_t spi_in;
    size_t i;
};

struct child_index {
    const struct gw_sa *gs;
    struct child_pos *pos; /* sorted by (spi_in, i) */
    size_t n;
};

static int by_spi(const void *a, const void *b)
{
    const struct child_pos *x = a, *y = b;
    if (x->spi_in != y->spi_in)
        return x->spi_in < y->spi_in ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static int child_index_init(struct ctl_arena *a, const struct gw_sa *gs, struct child_index *ci)
{
    struct ike_child_export ex;
    struct ike_diag diag;
    size_t k = gs && gs->sa ? ike_sa_child_count(gs->sa) : 0;
    ci->gs = gs;
    ci->n = 0;
    ci->pos = ctl_arena_calloc(a, k ? k : 1, sizeof(*ci->pos));
    if (!ci->pos)
        return -1;
    for (size_t i = 0; i < k; i++) {
        memset(&diag, 0, sizeof(diag));
        if (ike_sa_export_child(gs->sa, i, &ex, &diag) != IKE_OK)
            continue;
        ci->pos[ci->n++] = (struct child_pos){ex.spi_in, i};
        ike_export_wipe(&ex, sizeof(ex));
    }
    qsort(ci->pos, ci->n, sizeof(*ci->pos), by_spi);
    return 0;
}

/* libike's view of the CHILD SA with inbound SPI spi_in (lifetimes,
 * keys): the first in libike's order with that SPI; false if it has
 * none. Wipe *ex after use. */
static bool child_export(const struct child_index *ci, uint32_t spi_in,
                         struct ike_child_export *ex)
{
    struct ike_diag diag;
    size_t lo = 0, hi = ci->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ci->pos[mid].spi_in < spi_in)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < ci->n && ci->pos[lo].spi_in == spi_in; lo++) {
        memset(&diag, 0, sizeof(diag));
        if (ike_sa_export_child(ci->gs->sa, ci->pos[lo].i, ex, &diag) != IKE_OK)
            continue;
        if (ex->spi_in == spi_in)
            return true;
        ike_export_wipe(ex, sizeof(*ex));
    }
    return false;
}

static Ctl__ChildKeys *child_keys(struct ctl_arena *a, const struct ike_child_export *ex)
{
    Ctl__ChildKeys *k = CTL_NEW(a, Ctl__ChildKeys, child_keys);
    if (!k)
        return NULL;
    k->has_encr_in = k->has_integ_in = k->has_encr_out = k->has_integ_out = true;
    k->encr_in = key_bin(a, &ex->encr_in);
    k->integ_in = key_bin(a, &ex->integ_in);
    k->encr_out = key_bin(a, &ex->encr_out);
    k->integ_out = key_bin(a, &ex->integ_out);
    return k;
}

static Ctl__Counters *child_counters(struct ctl_arena *a, const struct dp_counters *c)
{
    Ctl__Counters *m = CTL_NEW(a, Ctl__Counters, counters);
    if (!m)
        return NULL;
    m->has_rx_packets = m->has_rx_bytes = m->has_rx_errors = true;
    m->has_tx_packets = m->has_tx_bytes = m->has_tx_errors = true;
    m->has_replay_errors = m->has_integrity_errors = true;
    m->rx_packets = c->packets_in;
    m->rx_bytes = c->bytes_in;
    m->rx_errors = c->dropped_replay + c->dropped_integrity + c->dropped_other;
    m->tx_packets = c->packets_out;
    m->tx_bytes = c->bytes_out;
    m->replay_errors = c->dropped_replay;
    m->integrity_errors = c->dropped_integrity;
    return m;
}

/* The first selector of gw's configuration named name, NULL if none. */
static const struct cfg_selector *selector_cfg(const struct gateway *gw,
                                               const struct ctl_selectors *sels, const char *name)
{
    size_t i = ctl_selectors_first(sels, name);
    return gw && gw->cfg && i < gw->cfg->n_selectors ? &gw->cfg->selectors[i] : NULL;
}

static int child_selectors(struct ctl_arena *a, const struct dp_child *c, Ctl__ChildSa *m)
{
    size_t nl = c->n_ts_local < IKE_EXPORT_TS_MAX ? c->n_ts_local : IKE_EXPORT_TS_MAX;
    size_t nr = c->n_ts_remote < IKE_EXPORT_TS_MAX ? c->n_ts_remote : IKE_EXPORT_TS_MAX;
    m->local_ts = ctl_arena_calloc(a, nl ? nl : 1, sizeof(*m->local_ts));
    m->remote_ts = ctl_arena_calloc(a, nr ? nr : 1, sizeof(*m->remote_ts));
    if (!m->local_ts || !m->remote_ts)
        return -1;
    for (size_t i = 0; i < nl; i++)
        if ((m->local_ts[m->n_local_ts] = ctl_v_ts_export(a, &c->ts_local[i])))
            m->n_local_ts++;
    for (size_t i = 0; i < nr; i++)
        if ((m->remote_ts[m->n_remote_ts] = ctl_v_ts_export(a, &c->ts_remote[i])))
            m->n_remote_ts++;
    return 0;
}

/* One CHILD SA, with gs's CHILD SA positions (ci) and its gateway's
 * selectors (sels) looked up once for all of them. */
static Ctl__ChildSa *child_view(struct ctl_req *r, const struct gw_sa *gs,
                                const struct dp_child *c, const struct child_index *ci,
                                const struct ctl_selectors *sels)
{
    struct ctl_arena *a = r->arena;
    Ctl__ChildSa *m = CTL_NEW(a, Ctl__ChildSa, child_sa);
    if (!m)
        return NULL;
    m->name = ctl_arena_strdup(a, c->child_name);
    m->has_spi_in = m->has_spi_out = true;
    m->spi_in = spi32_bin(a, c->spi_in);
    m->spi_out = spi32_bin(a, c->spi_out);
    m->has_ike_spi_i = m->has_ike_spi_r = true;
    m->ike_spi_i = bin(a, c->ike_spi_i, IKE_SPI_LEN);
    m->ike_spi_r = bin(a, c->ike_spi_r, IKE_SPI_LEN);
    m->mode = ctl_arena_strdup(a, c->tunnel ? "tunnel" : "transport");
    m->encr = ctl_arena_strdup(a, name_or(ike_encr_name(c->encr_id, c->encr_key_bits), "?"));
    struct ike_encr_info ei;
    if (!(ike_encr_lookup(c->encr_id, c->encr_key_bits, &ei) == IKE_OK && ei.aead))
        m->integ = ctl_arena_strdup(a, name_or(ike_integ_name(c->integ_id), "?"));
    m->has_esn = true;
    m->esn = c->esn;
    if (child_selectors(a, c, m) != 0)
        return NULL;
    m->has_age = m->has_lifetime = m->has_rekey_left = m->has_tx_seq = true;
    m->age = secs_since(r->now_ms, c->installed_ms);
    const struct cfg_selector *sel = selector_cfg(gs ? gs->gw : NULL, sels, c->child_name);
    if (sel) {
        m->lifetime = sel->lifetime.soft_s;
        m->rekey_left = secs_left(r->now_ms, c->installed_ms, sel->lifetime.soft_s);
    }
    struct ike_child_export ex;
    if (child_export(ci, c->spi_in, &ex)) {
        if (ex.soft_ms) /* libike's own timer, jitter included */
            m->rekey_left = ex.soft_ms > ex.age_ms ? (ex.soft_ms - ex.age_ms + 999) / 1000 : 0;
        if (r->req->show_keys)
            m->keys = child_keys(a, &ex);
        ike_export_wipe(&ex, sizeof(ex));
    }
    m->counters = child_counters(a, &c->ctr);
    m->tx_seq = c->ctr.seq_out;
    return m;
}

Ctl__ChildSa *ctl_v_child(struct ctl_req *r, const struct gw_sa *gs, const struct dp_child *c)
{
    struct child_index ci;
    struct ctl_selectors sels = {0};
    if (child_index_init(r->arena, gs, &ci) != 0 ||
        (gs && gs->gw && ctl_selectors_init(r->arena, gs->gw, &sels) != 0))
        return NULL;
    return child_view(r, gs, c, &ci, &sels);
}

static Ctl__Dpd *gw_dpd(struct ctl_arena *a, const struct gw_dpd *d)
{
    Ctl__Dpd *m = CTL_NEW(a, Ctl__Dpd, dpd);
    if (!m)
        return NULL;
    m->mode = ctl_arena_strdup(a, dpd_name(d->mode));
    m->has_interval = m->has_retries = m->has_sent = m->has_recv = m->has_failures = true;
    m->interval = d->interval_s;
    m->retries = d->retries;
    m->sent = d->probes_sent;
    m->recv = d->replies;
    m->failures = d->failures;
    return m;
}

/* up[i]: some CHILD SA of gw (any of its SAs) is of selector i; one pass
 * over the CHILD SAs, not one per selector. NULL when the arena ran out. */
static bool *gw_selectors_up(struct ctl_arena *a, struct gateway *gw, struct ctl_selectors *s)
{
    bool *up = ctl_selectors_init(a, gw, s) == 0 ? ctl_selectors_up_new(a, s) : NULL;
    if (!up)
        return NULL;
    for (struct gw_sa *gs = gw_sa_first(gw); gs; gs = gw_sa_next(gs))
        ctl_selectors_mark_sa(s, gs, up);
    return up;
}

static uint32_t count_up(const bool *up, size_t n)
{
    uint32_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += up[i];
    return k;
}

static Ctl__Phase2 *gw_phase2(struct ctl_arena *a, const struct cfg_selector *sel, bool up)
{
    Ctl__Phase2 *m = CTL_NEW(a, Ctl__Phase2, phase2);
    if (!m)
        return NULL;
    m->name = ctl_arena_strdup(a, name_or(sel->name, "?"));
    m->has_auto_negotiate = m->has_up = true;
    m->auto_negotiate = sel->auto_negotiate;
    m->up = up;
    m->proposal = ctl_arena_strdup(a, sel->proposal_text);
    const struct ike_cfg_child *ch = sel->child;
    if (!ch)
        return m;
    if (sel->pfs && ch->n_proposals && ch->proposals[0].n_dh) {
        m->has_pfs_group = true;
        m->pfs_group = ch->proposals[0].dh[0];
    }
    size_t nl = ch->n_local_ts < IKE_CFG_MAX_TS ? ch->n_local_ts : IKE_CFG_MAX_TS;
    size_t nr = ch->n_remote_ts < IKE_CFG_MAX_TS ? ch->n_remote_ts : IKE_CFG_MAX_TS;
    m->local_ts = ctl_arena_calloc(a, nl ? nl : 1, sizeof(*m->local_ts));
    m->remote_ts = ctl_arena_calloc(a, nr ? nr : 1, sizeof(*m->remote_ts));
    if (!m->local_ts || !m->remote_ts)
        return NULL;
    for (size_t i = 0; i < nl; i++)
        if ((m->local_ts[m->n_local_ts] = ctl_v_ts(a, &ch->local_ts[i])))
            m->n_local_ts++;
    for (size_t i = 0; i < nr; i++)
        if ((m->remote_ts[m->n_remote_ts] = ctl_v_ts(a, &ch->remote_ts[i])))
            m->n_remote_ts++;
    return m;
}

static size_t gw_child_total(struct gateway *gw)
{
    size_t n = 0;
    for (struct gw_sa *gs = gw_sa_first(gw); gs; gs = gw_sa_next(gs))
        for (const struct dp_child *c = gw_child_first(gs); c; c = gw_child_next(c))
            n++;
    return n;
}

static void counters_add(Ctl__Counters *sum, const Ctl__Counters *c)
{
    sum->rx_packets += c->rx_packets;
    sum->rx_bytes += c->rx_bytes;
    sum->rx_errors += c->rx_errors;
    sum->tx_packets += c->tx_packets;
    sum->tx_bytes += c->tx_bytes;
    sum->tx_errors += c->tx_errors;
    sum->replay_errors += c->replay_errors;
    sum->integrity_errors += c->integrity_errors;
}

static void child_counters_add(Ctl__Counters *sum, const struct dp_child *c)
{
    Ctl__Counters one = CTL__COUNTERS__INIT;
    one.rx_packets = c->ctr.packets_in;
    one.rx_bytes = c->ctr.bytes_in;
    one.rx_errors = c->ctr.dropped_replay + c->ctr.dropped_integrity + c->ctr.dropped_other;
    one.tx_packets = c->ctr.packets_out;
    one.tx_bytes = c->ctr.bytes_out;
    one.replay_errors = c->ctr.dropped_replay;
    one.integrity_errors = c->ctr.dropped_integrity;
    counters_add(sum, &one);
}

/* An all-zero sum with every field present (a stable shape for scripts). */
static Ctl__Counters *counters_zero(struct ctl_arena *a)
{
    Ctl__Counters *sum = CTL_NEW(a, Ctl__Counters, counters);
    if (!sum)
        return NULL;
    sum->has_rx_packets = sum->has_rx_bytes = sum->has_rx_errors = true;
    sum->has_tx_packets = sum->has_tx_bytes = sum->has_tx_errors = true;
    sum->has_replay_errors = sum->has_integrity_errors = true;
    return sum;
}

/* Sum of the CHILD SAs' data-plane counters. */
static Ctl__Counters *gw_counters_sum(struct ctl_arena *a, struct gateway *gw)
{
    Ctl__Counters *sum = counters_zero(a);
    if (!sum)
        return NULL;
    for (struct gw_sa *gs = gw_sa_first(gw); gs; gs = gw_sa_next(gs))
        for (const struct dp_child *c = gw_child_first(gs); c; c = gw_child_next(c))
            child_counters_add(sum, c);
    return sum;
}

/* Every drop reason with its count (zeros too: a stable shape for
 * scripts). */
static Ctl__DropCount **drops(struct ctl_arena *a, const uint64_t *counts, size_t *n)
{
    Ctl__DropCount **v = ctl_arena_calloc(a, GW_DROP_COUNT, sizeof(*v));
    *n = 0;
    if (!v)
        return NULL;
    for (unsigned i = 0; i < GW_DROP_COUNT; i++) {
        Ctl__DropCount *d = CTL_NEW(a, Ctl__DropCount, drop_count);
        if (!d)
            return NULL;
        d->reason = ctl_arena_strdup(a, gw_drop_reason_name((enum gw_drop_reason)i));
        d->has_count = true;
        d->count = counts[i];
        v[(*n)++] = d;
    }
    return v;
}

Ctl__NetStats *ctl_v_net_stats(struct ctl_arena *a, const struct net_counters *c)
{
    Ctl__NetStats *m = CTL_NEW(a, Ctl__NetStats, net_stats);
    if (!m)
        return NULL;
    m->has_dgrams_in = m->has_dgrams_out = m->has_bytes_in = m->has_bytes_out = true;
    m->has_keepalives_in = m->has_keepalives_out = m->has_esp_in = true;
    m->has_send_errors = m->has_recv_errors = true;
    m->dgrams_in = c->dgrams_in;
    m->dgrams_out = c->dgrams_out;
    m->bytes_in = c->bytes_in;
    m->bytes_out = c->bytes_out;
    m->keepalives_in = c->keepalives_in;
    m->keepalives_out = c->keepalives_out;
    m->esp_in = c->esp_in;
    m->has_ike_in = m->has_ike_out = m->has_esp_out = true;
    m->ike_in = c->ike_in;
    m->ike_out = c->ike_out;
    m->esp_out = c->esp_out;
    m->send_errors = c->send_errors;
    m->recv_errors = c->recv_errors;
    m->dropped = drops(a, c->dropped, &m->n_dropped);
    return m;
}

static Ctl__GatewayStats *gw_stats(struct ctl_arena *a, const struct gateway *gw)
{
    const struct gw_counters *c = &gw->counters;
    Ctl__GatewayStats *m = CTL_NEW(a, Ctl__GatewayStats, gateway_stats);
    if (!m)
        return NULL;
    const struct {
        protobuf_c_boolean *has;
        uint64_t *dst;
        uint64_t val;
    } f[] = {
        {&m->has_dgrams_in, &m->dgrams_in, c->dgrams_in},
        {&m->has_dgrams_out, &m->dgrams_out, c->dgrams_out},
        {&m->has_bytes_in, &m->bytes_in, c->bytes_in},
        {&m->has_bytes_out, &m->bytes_out, c->bytes_out},
        {&m->has_ike_sa_failed, &m->ike_sa_failed, c->ike_sa_failed},
        {&m->has_ike_sa_deleted, &m->ike_sa_deleted, c->ike_sa_deleted},
        {&m->has_child_deleted, &m->child_deleted, c->child_deleted},
        {&m->has_child_install_failed, &m->child_install_failed, c->child_install_failed},
        {&m->has_retransmits, &m->retransmits, c->retransmits},
        {&m->has_ike_rekeys, &m->ike_rekeys, c->ike_rekeys},
        {&m->has_reauths, &m->reauths, c->reauths},
        {&m->has_child_rekeys, &m->child_rekeys, c->child_rekeys},
        {&m->has_initial_contact_drops, &m->initial_contact_drops, c->initial_contact_drops},
        {&m->has_deletes_sent, &m->deletes_sent, c->deletes_sent},
        {&m->has_natt_keepalives_sent, &m->natt_keepalives_sent, gw->natt_keepalives_sent},
    };
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        *f[i].has = true;
        *f[i].dst = f[i].val;
    }
    m->dropped = drops(a, c->dropped, &m->n_dropped);
    return m;
}

static int gw_sas(struct ctl_req *r, struct gateway *gw, Ctl__Gateway *m)
{
    struct ctl_arena *a = r->arena;
    size_t n_ike = 0, n_child = gw_child_total(gw);
    for (struct gw_sa *gs = gw_sa_first(gw); gs; gs = gw_sa_next(gs))
        n_ike++;
    struct ctl_selectors sels;
    m->ike_sas = ctl_arena_calloc(a, n_ike ? n_ike : 1, sizeof(*m->ike_sas));
    m->child_sas = ctl_arena_calloc(a, n_child ? n_child : 1, sizeof(*m->child_sas));
    if (!m->ike_sas || !m->child_sas || ctl_selectors_init(a, gw, &sels) != 0)
        return -1;
    for (struct gw_sa *gs = gw_sa_first(gw); gs; gs = gw_sa_next(gs)) {
        if (m->n_ike_sas < n_ike && (m->ike_sas[m->n_ike_sas] = ctl_v_ike_sa(r, gs)))
            m->n_ike_sas++;
        const struct dp_child *c = gw_child_first(gs);
        struct child_index ci;
        if (c && child_index_init(a, gs, &ci) != 0)
            return -1;
        for (; c; c = gw_child_next(c))
            if (m->n_child_sas < n_child &&
                (m->child_sas[m->n_child_sas] = child_view(r, gs, c, &ci, &sels)))
                m->n_child_sas++;
    }
    return 0;
}

static int gw_phase2s(struct ctl_arena *a, struct gateway *gw, Ctl__Gateway *m)
{
    if (!gw->cfg || !gw->cfg->n_selectors)
        return 0;
    struct ctl_selectors sels;
    bool *up = gw_selectors_up(a, gw, &sels);
    m->phase2s = ctl_arena_calloc(a, gw->cfg->n_selectors, sizeof(*m->phase2s));
    if (!m->phase2s || !up)
        return -1;
    for (size_t i = 0; i < gw->cfg->n_selectors; i++)
        if ((m->phase2s[m->n_phase2s] = gw_phase2(a, &gw->cfg->selectors[i], up[i])))
            m->n_phase2s++;
    return 0;
}

static void gw_config_fields(struct ctl_arena *a, struct gateway *gw, Ctl__Gateway *m)
{
    const struct cfg_gateway *cfg = gw->cfg;
    m->has_ike_version = m->has_auto_negotiate = m->has_passive = true;
    m->passive = gw->passive;
    m->has_retiring = gw->retiring;
    m->retiring = gw->retiring;
    m->ike_version = cfg ? (uint32_t)cfg->ike_version : 2;
    m->auto_negotiate = !gw->passive && (!cfg || cfg->auto_negotiate);
    if (gw->ike_cfg) {
        m->local = ctl_v_endpoint(a, &gw->ike_cfg->local);
        m->remote = ctl_v_endpoint(a, &gw->ike_cfg->remote);
    }
    if (!cfg)
        return;
    m->nat_t = ctl_arena_strdup(a, natt_name(cfg->natt));
    m->proposal = ctl_arena_strdup(a, cfg->proposal_text);
    m->rekey_mode = ctl_arena_strdup(a, cfg->reauth ? "reauth" : "rekey");
}

Ctl__Gateway *ctl_v_gateway(struct ctl_req *r, struct gateway *gw, bool with_sas)
{
    struct ctl_arena *a = r->arena;
    Ctl__Gateway *m = CTL_NEW(a, Ctl__Gateway, gateway);
    if (!m)
        return NULL;
    m->name = ctl_arena_strdup(a, gw->name);
    m->vdom = ctl_arena_strdup(a, ctl_v_vdom(gw));
    gw_config_fields(a, gw, m);
    const struct gw_counters *c = &gw->counters;
    uint64_t negotiating = 0;
    uint64_t oldest_ms = 0;
    for (struct gw_sa *gs = gw_sa_first(gw); gs; gs = gw_sa_next(gs)) {
        if (!gs->established_ms)
            negotiating++;
        if (!oldest_ms || (gs->created_ms && gs->created_ms < oldest_ms))
            oldest_ms = gs->created_ms;
    }
    m->has_age = oldest_ms != 0;
    m->age = secs_since(r->now_ms, oldest_ms);
    m->has_ike_created = m->has_ike_established = true;
    m->has_child_created = m->has_child_established = true;
    m->ike_established = c->ike_sa_established;
    m->ike_created = c->ike_sa_established + c->ike_sa_failed + negotiating;
    m->child_established = c->child_installed;
    m->child_created = c->child_installed + c->child_install_failed;
    m->dpd = gw_dpd(a, &gw->dpd);
    m->counters = gw_counters_sum(a, gw);
    m->stats = gw_stats(a, gw);
    m->device = ctl_v_device(r, gw); /* NULL: no device (or no memory: left out) */
    if (with_sas && (gw_sas(r, gw, m) != 0 || gw_phase2s(a, gw, m) != 0))
        return NULL;
    return m;
}

Ctl__TunnelSummary *ctl_v_summary(struct ctl_req *r, struct gateway *gw)
{
    struct ctl_arena *a = r->arena;
    Ctl__TunnelSummary *m = CTL_NEW(a, Ctl__TunnelSummary, tunnel_summary);
    if (!m)
        return NULL;
    m->name = ctl_arena_strdup(a, gw->name);
    m->gateway = ctl_arena_strdup(a, gw->name);
    m->has_dialup = m->has_ike_sas = true;
    m->ike_sas = (uint32_t)gw->n_sas;
    m->vdom = ctl_arena_strdup(a, ctl_v_vdom(gw));
    m->state = ctl_arena_strdup(a, gw_state_name(gw->state));
    struct gw_sa *gs = gw_sa_first(gw);
    if (gs && gs->sa)
        m->remote = ctl_v_endpoint(a, ike_sa_remote_addr(gs->sa));
    else if (gw->ike_cfg)
        m->remote = ctl_v_endpoint(a, &gw->ike_cfg->remote);
    m->has_selectors_total = m->has_selectors_up = true;
    if (gw->cfg) {
        struct ctl_selectors sels;
        bool *up = gw_selectors_up(a, gw, &sels);
        if (!up)
            return NULL;
        m->selectors_total = (uint32_t)gw->cfg->n_selectors;
        m->selectors_up = count_up(up, sels.n);
    }
    m->counters = gw_counters_sum(a, gw);
    return m;
}

/* ---- dial-up peers --------------------------------------------------------- */

static bool is_dialup(const struct gateway *gw)
{
    return gw->cfg && gw->cfg->remote_any;
}

size_t ctl_v_summary_count(struct gateway *gw)
{
    return is_dialup(gw) && gw->n_sas ? gw->n_sas : 1;
}

/* One dial-up peer: state and counters over its SAs (ctl_peers.h). */
static Ctl__TunnelSummary *peer_summary(struct ctl_req *r, struct gateway *gw,
                                        const struct ctl_selectors *sels,
                                        const struct ctl_peer *peer, uint32_t idx)
{
    struct ctl_arena *a = r->arena;
    Ctl__TunnelSummary *m = CTL_NEW(a, Ctl__TunnelSummary, tunnel_summary);
    Ctl__Counters *sum = counters_zero(a);
    bool *sel_up = ctl_selectors_up_new(a, sels);
    if (!m || !sum || !sel_up)
        return NULL;
    m->name = ctl_arena_printf(a, "%s_%u", gw->name, idx);
    m->gateway = ctl_arena_strdup(a, gw->name);
    m->vdom = ctl_arena_strdup(a, ctl_v_vdom(gw));
    m->remote = ctl_v_endpoint(a, peer->addr);
    m->has_dialup = m->has_peer_index = m->has_ike_sas = true;
    m->dialup = true;
    m->peer_index = idx;
    m->has_selectors_total = m->has_selectors_up = true;
    bool up = false;
    for (const struct ctl_peer_sa *e = peer->first; e; e = e->next) {
        const struct gw_sa *gs = e->gs;
        m->ike_sas++;
        up = up || (gs->established_ms && !gs->deleting);
        ctl_selectors_mark_sa(sels, gs, sel_up);
        for (const struct dp_child *c = gw_child_first(gs); c; c = gw_child_next(c))
            child_counters_add(sum, c);
    }
    m->selectors_total = (uint32_t)sels->n;
    m->selectors_up = count_up(sel_up, sels->n);
    /* The gateway's own state names; an admin-down gateway says so. */
    enum gw_state st = up ? GW_STATE_UP : GW_STATE_CONNECTING;
    if (gw->state == GW_STATE_ADMIN_DOWN)
        st = GW_STATE_ADMIN_DOWN;
    m->state = ctl_arena_strdup(a, gw_state_name(st));
    m->counters = sum;
    return m;
}

int ctl_v_summaries(struct ctl_req *r, struct gateway *gw, Ctl__TunnelSummary **out, size_t cap,
                    size_t *n)
{
    size_t before = *n;
    if (is_dialup(gw)) {
        struct ctl_peers peers;
        struct ctl_selectors sels;
        if (ctl_peers_group(r->arena, gw, &peers) != 0 ||
            ctl_selectors_init(r->arena, gw, &sels) != 0)
            return -1;
        for (size_t i = 0; i < peers.n && *n < cap; i++)
            if (!(out[(*n)++] = peer_summary(r, gw, &sels, peers.list[i], (uint32_t)i)))
                return -1;
    }
    /* Static gateway, or dial-up without a peer: the gateway line. */
    if (*n == before && *n < cap && !(out[(*n)++] = ctl_v_summary(r, gw)))
        return -1;
    return 0;
}
