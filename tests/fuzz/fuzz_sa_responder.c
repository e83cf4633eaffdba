/*
 * libFuzzer target: a responder's full message processing (the IKE SA
 * state machine, not just the decoder), reached with authentic messages.
 *
 * World: two libike sides in one process, like tests/unit/helper_pair.c
 * but without cmocka. Side 0 is a scripted initiator, side 1 the
 * responder under test; both are small "daemons" with an SA table
 * (routing by SPIs, ike_sa_respond for unknown IKE_SA_INIT requests,
 * INVALID_IKE_SPI answers, INITIAL_CONTACT and IKE-rekey hand-over), a
 * fake clock and timers. Datagrams wait in one queue.
 *
 * Determinism: libike draws nonces, SPIs, IVs and DH keys from OpenSSL's
 * RAND; a fixed-seed RAND_METHOD (reset per input) makes every run of an
 * input produce the same bytes, so the initiator's genuine, decryptable
 * messages (IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL) are reproducible
 * and a finding replays.
 *
 * Input: octet 0 = world options (OPT_*), then a script of operations
 * (octet op % OP_COUNT, then its arguments):
 *   RUN         deliver up to 32 queued datagrams as they are
 *   DELIVER     deliver the queue head
 *   MUTATE k p  deliver the head after mutation k (flip, set, truncate,
 *               insert, extend, message ID, exchange/flags) at position p
 *   DROP, DUP   the head
 *   SWAP i      head <-> queue[i] (reordering)
 *   INJECT s n  a raw datagram of n input octets to side s
 *   REPLAY i    an earlier datagram (history ring) again to its side
 *   ADVANCE a   the clock moves (small or big steps), timers fire
 *   API s a x   a public call on an SA of side s: CHILD create/rekey/
 *               delete/limit, IKE rekey/delete, DPD, INVALID_SPI report,
 *               message ID sync, activity, export+import (takeover),
 *               drop, a new initiation (with NAT-T modes for both sides)
 *
 * Invariants (abort()): states are valid enum values; per-SA stats never
 * decrease; an ESTABLISHED SA has both SPIs; no event for an SA after its
 * IKE_SA_DEL; child_delete names a CHILD SA that was installed on that
 * side. Peer input itself never aborts: ASan/UBSan find memory errors.
 *
 * Seeds: compile this file alone with -DFUZZ_SA_GEN and run it with the
 * corpus directory (see the end of the file).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OP_RUN = 0,
    OP_DELIVER,
    OP_MUTATE,
    OP_DROP,
    OP_DUP,
    OP_SWAP,
    OP_INJECT,
    OP_REPLAY,
    OP_ADVANCE,
    OP_API,
    OP_COUNT
};

enum {
    API_CHILD_CREATE = 0,
    API_CHILD_REKEY,
    API_CHILD_DELETE,
    API_CHILD_LIMIT,
    API_IKE_REKEY,
    API_IKE_DELETE,
    API_DPD,
    API_INVALID_SPI,
    API_MSGID_SYNC,
    API_ACTIVITY,
    API_TAKEOVER,
    API_DROP,
    API_INITIATE,
    API_COUNT
};

#define OPT_NAT        0x01u /* side 0 behind a NAT (198.51.100.7, port + 10000) */
#define OPT_KE_MISS    0x02u /* responder wants x25519 only: INVALID_KE round trip */
#define OPT_PFS        0x04u /* CHILD proposals with a DH group (PFS rekeys) */
#define OPT_NO_FRAG    0x08u /* responder without RFC 7383 */
#define OPT_DPD        0x10u /* DPD on idle, 10 s, both sides */
#define OPT_LIFETIME   0x20u /* short IKE/CHILD lifetimes with jitter */
#define OPT_TWO_CHILD  0x40u /* a second selector pair on both sides */
#define OPT_REAUTH_OFF 0x80u /* no ike_rekeyed callback on side 1: IKE rekeys refused */

#ifndef FUZZ_SA_GEN

#define OPENSSL_SUPPRESS_DEPRECATED /* RAND_METHOD: the only way to make RAND_* reproducible */
#include <openssl/rand.h>

#include <ike/const.h>
#include <ike/ctx.h>
#include <ike/events.h>
#include <ike/export.h>
#include <ike/message.h>
#include <ike/sa.h>
#include <ike/secret.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_REQUIRE(cond, what)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_sa_responder: invariant broken: %s\n", what);                    \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* ---- reproducible randomness ------------------------------------------- */

static uint64_t rng_state;

static int det_bytes(unsigned char *buf, int num)
{
    for (int i = 0; i < num; i++) {
        /* splitmix64, one output octet per step: cheap and good enough */
        uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        buf[i] = (unsigned char)(z ^ (z >> 31));
    }
    return 1;
}

static int det_seed(const void *buf, int num)
{
    (void)buf;
    (void)num;
    return 1;
}

static int det_add(const void *buf, int num, double entropy)
{
    (void)buf;
    (void)num;
    (void)entropy;
    return 1;
}

static int det_status(void)
{
    return 1;
}

static const RAND_METHOD det_rand = {
    .seed = det_seed,
    .bytes = det_bytes,
    .add = det_add,
    .pseudorand = det_bytes,
    .status = det_status,
};

/* ---- the world ------------------------------------------------------------- */

#define W_SAS       12 /* per side */
#define W_TIMERS    (W_SAS * IKE_TIMER_COUNT)
#define W_QUEUE     48
#define W_HISTORY   16
#define W_INSTALLED 48
#define W_DELETED   32
#define W_RUN_MAX   32
#define NAT_OFFSET  10000

struct dgram {
    int to;
    struct ike_addr local, remote; /* as the receiver sees them */
    uint8_t *data;
    size_t len;
};

struct slot {
    struct ike_sa *sa;
    struct ike_sa_stats prev;
};

struct tmr {
    struct ike_sa *sa;
    int which;
    uint64_t due;
};

struct side {
    int idx;
    struct ike_ctx ctx;
    struct ike_sa_cfg cfg;
    struct ike_sa_cfg natt_cfg[3]; /* cfg with each ike_natt_mode */
    struct ike_cfg_child child[2];
    struct slot slots[W_SAS];
    uint32_t installed[W_INSTALLED];
    size_t n_installed;
    struct ike_sa *ic_from;        /* INITIAL_CONTACT received on this SA */
    struct ike_sa *orphans[W_SAS]; /* handed over when the table was full */
    size_t n_orphans;
};

struct world {
    struct side side[2];
    struct ike_secret *psk;
    struct tmr timers[2][W_TIMERS];
    size_t n_timers[2];
    struct dgram queue[W_QUEUE];
    size_t n_queue;
    struct dgram history[W_HISTORY];
    size_t n_history, history_next;
    struct ike_sa *deleted[W_DELETED]; /* saw IKE_SA_DEL, not yet freed */
    size_t n_deleted;
    uint64_t now;
    unsigned opts;
    unsigned resp_natt; /* ike_natt_mode of side 1's new SAs */
};

static struct world W;

static struct ike_addr addr4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
    struct ike_addr x = {.family = IKE_AF_INET, .port = port};
    x.addr[0] = a;
    x.addr[1] = b;
    x.addr[2] = c;
    x.addr[3] = d;
    return x;
}

static struct ike_addr side_addr(int idx)
{
    if (idx == 1)
        return addr4(10, 0, 0, 2, IKE_PORT);
    return (W.opts & OPT_NAT) ? addr4(192, 168, 1, 10, IKE_PORT) : addr4(10, 0, 0, 1, IKE_PORT);
}

static void dgram_free(struct dgram *d)
{
    free(d->data);
    d->data = NULL;
}

/* ---- context callbacks ------------------------------------------------- */

static void cb_send(void *user, struct ike_sa *sa, const struct ike_addr *local,
                    const struct ike_addr *remote, const uint8_t *data, size_t len)
{
    struct side *s = user;
    (void)sa;
    if (W.n_queue >= W_QUEUE || len == 0)
        return; /* the network lost it */
    struct dgram d = {.to = 1 - s->idx, .local = *remote, .remote = *local};
    if ((W.opts & OPT_NAT) && s->idx == 0)
        d.remote = addr4(198, 51, 100, 7, (uint16_t)(local->port + NAT_OFFSET));
    if ((W.opts & OPT_NAT) && s->idx == 1) {
        d.local = side_addr(0);
        d.local.port = (uint16_t)(remote->port - NAT_OFFSET);
    }
    d.data = malloc(len);
    if (!d.data)
        return;
    memcpy(d.data, data, len);
    d.len = len;
    W.queue[W.n_queue++] = d;
    /* keep a copy for REPLAY */
    struct dgram *h = &W.history[W.history_next];
    dgram_free(h);
    *h = d;
    h->data = malloc(len);
    if (h->data)
        memcpy(h->data, data, len);
    else
        h->len = 0;
    W.history_next = (W.history_next + 1) % W_HISTORY;
    if (W.n_history < W_HISTORY)
        W.n_history++;
}

static struct tmr *timer_find(int side, struct ike_sa *sa, int which)
{
    for (size_t i = 0; i < W.n_timers[side]; i++)
        if (W.timers[side][i].sa == sa && W.timers[side][i].which == which)
            return &W.timers[side][i];
    return NULL;
}

static void timer_remove(int side, size_t i)
{
    W.timers[side][i] = W.timers[side][--W.n_timers[side]];
}

static void cb_timer_arm(void *user, struct ike_sa *sa, enum ike_timer which, uint32_t ms)
{
    struct side *s = user;
    FZ_REQUIRE((unsigned)which < IKE_TIMER_COUNT, "timer_arm with an unknown timer");
    struct tmr *t = timer_find(s->idx, sa, (int)which);
    if (!t) {
        FZ_REQUIRE(W.n_timers[s->idx] < W_TIMERS, "more timers than SAs can have");
        t = &W.timers[s->idx][W.n_timers[s->idx]++];
        t->sa = sa;
        t->which = (int)which;
    }
    t->due = W.now + ms;
}

static void cb_timer_cancel(void *user, struct ike_sa *sa, enum ike_timer which)
{
    struct side *s = user;
    for (size_t i = 0; i < W.n_timers[s->idx]; i++)
        if (W.timers[s->idx][i].sa == sa && W.timers[s->idx][i].which == (int)which) {
            timer_remove(s->idx, i);
            return;
        }
}

static uint64_t cb_now(void *user)
{
    (void)user;
    return W.now;
}

static void cb_log(void *user, const struct ike_sa *sa, enum ike_log_level level, const char *text)
{
    (void)user;
    (void)sa;
    FZ_REQUIRE(level <= IKE_LOG_DEBUG && text != NULL, "log line without level or text");
    if (getenv("FUZZ_SA_VERBOSE"))
        fprintf(stderr, "side %d: %s\n", ((struct side *)user)->idx, text);
}

static int cb_child_install(void *user, struct ike_sa *sa, const struct ike_child_export *c)
{
    struct side *s = user;
    (void)sa;
    if (s->n_installed >= W_INSTALLED)
        return -1; /* the data plane is full: libike must cope */
    s->installed[s->n_installed++] = c->spi_in;
    return 0;
}

static void cb_child_delete(void *user, struct ike_sa *sa, uint32_t spi_in)
{
    struct side *s = user;
    (void)sa;
    for (size_t i = 0; i < s->n_installed; i++)
        if (s->installed[i] == spi_in) {
            s->installed[i] = s->installed[--s->n_installed];
            return;
        }
    FZ_REQUIRE(false, "child_delete of a CHILD SA that is not installed");
}

static bool was_deleted(const struct ike_sa *sa)
{
    for (size_t i = 0; i < W.n_deleted; i++)
        if (W.deleted[i] == sa)
            return true;
    return false;
}

static void cb_event(void *user, const struct ike_event *ev)
{
    (void)user;
    FZ_REQUIRE(ev->type >= IKE_EV_IKE_SA_ADD && ev->type <= IKE_EV_CHILD_SA_DEL,
               "event of unknown type");
    FZ_REQUIRE(!was_deleted(ev->sa), "event for an IKE SA after its IKE_SA_DEL");
    if (ev->type == IKE_EV_IKE_SA_DEL && W.n_deleted < W_DELETED)
        W.deleted[W.n_deleted++] = ev->sa;
}

static void cb_initial_contact(void *user, struct ike_sa *sa)
{
    struct side *s = user;
    s->ic_from = sa; /* acted on after the call (re-entrancy rule) */
}

static void cb_replay_sync(void *user, struct ike_sa *sa, uint64_t delta)
{
    (void)user;
    (void)sa;
    (void)delta;
}

static void cb_ike_rekeyed(void *user, struct ike_sa *old, struct ike_sa *new_sa)
{
    struct side *s = user;
    (void)old;
    for (size_t i = 0; i < W_SAS; i++)
        if (!s->slots[i].sa) {
            s->slots[i] = (struct slot){.sa = new_sa};
            return;
        }
    if (s->n_orphans < W_SAS)
        s->orphans[s->n_orphans++] = new_sa;
    else
        FZ_REQUIRE(false, "more IKE SA hand-overs than a call can make");
}

static const struct ike_ctx_ops ops_rekey = {
    .send = cb_send,
    .timer_arm = cb_timer_arm,
    .timer_cancel = cb_timer_cancel,
    .now_ms = cb_now,
    .log = cb_log,
    .child_install = cb_child_install,
    .child_delete = cb_child_delete,
    .event = cb_event,
    .initial_contact = cb_initial_contact,
    .replay_sync = cb_replay_sync,
    .ike_rekeyed = cb_ike_rekeyed,
};

static const struct ike_ctx_ops ops_no_rekey = {
    .send = cb_send,
    .timer_arm = cb_timer_arm,
    .timer_cancel = cb_timer_cancel,
    .now_ms = cb_now,
    .log = cb_log,
    .child_install = cb_child_install,
    .child_delete = cb_child_delete,
    .event = cb_event,
    .initial_contact = cb_initial_contact,
};

/* ---- configuration ------------------------------------------------------- */

static void id_fqdn(struct ike_cfg_id *id, const char *name)
{
    id->type = IKE_ID_FQDN;
    id->len = strlen(name);
    memcpy(id->data, name, id->len);
}

static struct ike_ts ts16(uint8_t a, uint8_t b)
{
    struct ike_ts t = {.type = IKE_TS_IPV4_ADDR_RANGE, .end_port = 65535};
    t.start_addr[0] = t.end_addr[0] = a;
    t.start_addr[1] = t.end_addr[1] = b;
    t.end_addr[2] = t.end_addr[3] = 255;
    return t;
}

static void child_cfg(struct ike_cfg_child *ch, int idx, int which)
{
    memset(ch, 0, sizeof(*ch));
    ch->name = which == 0 ? "p2-a" : "p2-b";
    ch->n_proposals = 1;
    struct ike_cfg_proposal *p = &ch->proposals[0];
    if (which == 0) {
        p->encr[p->n_encr++] = (struct ike_cfg_encr){IKE_ENCR_AES_GCM_16, 256};
    } else {
        p->encr[p->n_encr++] = (struct ike_cfg_encr){IKE_ENCR_AES_CBC, 128};
        p->integ[p->n_integ++] = IKE_INTEG_HMAC_SHA2_256_128;
    }
    if (W.opts & OPT_PFS)
        p->dh[p->n_dh++] = IKE_DH_CURVE25519;
    uint8_t net = which == 0 ? 1 : 3;
    ch->local_ts[ch->n_local_ts++] = idx == 0 ? ts16(10, net) : ts16(10, (uint8_t)(net + 1));
    ch->remote_ts[ch->n_remote_ts++] = idx == 0 ? ts16(10, (uint8_t)(net + 1)) : ts16(10, net);
    if (W.opts & OPT_LIFETIME)
        ch->lifetime = (struct ike_cfg_lifetime){.soft_s = 40, .hard_s = 70, .jitter_s = 5};
}

static void side_init(int idx)
{
    struct side *s = &W.side[idx];
    s->idx = idx;
    bool rekey = idx == 0 || !(W.opts & OPT_REAUTH_OFF);
    s->ctx = (struct ike_ctx){.ops = rekey ? &ops_rekey : &ops_no_rekey,
                              .user = s,
                              .retransmit_base_ms = 200,
                              .retransmit_tries = 2,
                              .half_open_timeout_ms = 5000};
    struct ike_sa_cfg *c = &s->cfg;
    c->name = idx == 0 ? "gw-left" : "gw-right";
    c->local = side_addr(idx);
    c->remote = side_addr(1 - idx);
    c->psk = W.psk;
    id_fqdn(&c->local_id, idx == 0 ? "left.example" : "right.example");
    id_fqdn(&c->remote_id, idx == 0 ? "right.example" : "left.example");
    c->fragmentation = idx == 0 || !(W.opts & OPT_NO_FRAG);
    c->msgid_sync = true;
    c->replay_counter_sync = true;
    c->initial_contact = true;
    c->n_proposals = 1;
    struct ike_cfg_proposal *ike = &c->proposals[0];
    ike->encr[ike->n_encr++] = (struct ike_cfg_encr){IKE_ENCR_AES_CBC, 256};
    ike->integ[ike->n_integ++] = IKE_INTEG_HMAC_SHA2_256_128;
    ike->prf[ike->n_prf++] = IKE_PRF_HMAC_SHA2_256;
    if (idx == 1 && (W.opts & OPT_KE_MISS))
        ike->dh[ike->n_dh++] = IKE_DH_CURVE25519; /* not the initiator's KE guess */
    else
        ike->dh[ike->n_dh++] = IKE_DH_ECP_256;
    if (idx == 0)
        ike->dh[ike->n_dh++] = IKE_DH_CURVE25519;
    child_cfg(&s->child[0], idx, 0);
    child_cfg(&s->child[1], idx, 1);
    c->children = s->child;
    c->n_children = (W.opts & OPT_TWO_CHILD) ? 2 : 1;
    if (W.opts & OPT_DPD) {
        c->dpd = IKE_DPD_ON_IDLE;
        c->dpd_interval_s = 10;
    }
    if (W.opts & OPT_LIFETIME)
        c->lifetime = (struct ike_cfg_lifetime){.soft_s = 60, .hard_s = 100, .jitter_s = 5};
    for (int m = 0; m < 3; m++) {
        s->natt_cfg[m] = *c;
        s->natt_cfg[m].natt = (enum ike_natt_mode)m;
    }
}

/* ---- SA tables, checks after every call ----------------------------------- */

static void forget_timers(int side, const struct ike_sa *sa)
{
    for (size_t i = 0; i < W.n_timers[side];)
        if (W.timers[side][i].sa == sa)
            timer_remove(side, i);
        else
            i++;
}

static void sa_release(int side, struct ike_sa *sa)
{
    ike_sa_free(sa);
    forget_timers(side, sa);
    for (size_t i = 0; i < W.n_deleted; i++)
        if (W.deleted[i] == sa) {
            W.deleted[i] = W.deleted[--W.n_deleted];
            break;
        }
}

static bool stats_monotone(const struct ike_sa_stats *a, const struct ike_sa_stats *b)
{
    return b->dropped_malformed >= a->dropped_malformed &&
           b->dropped_integrity >= a->dropped_integrity && b->dropped_msgid >= a->dropped_msgid &&
           b->dropped_unhandled >= a->dropped_unhandled &&
           b->retransmits_sent >= a->retransmits_sent &&
           b->responses_resent >= a->responses_resent && b->dpd_sent >= a->dpd_sent &&
           b->errors_received >= a->errors_received;
}

static bool spi_zero(const uint8_t *spi)
{
    static const uint8_t zero[IKE_SPI_LEN];
    return memcmp(spi, zero, IKE_SPI_LEN) == 0;
}

static void check_sa(struct slot *sl)
{
    enum ike_sa_state st = ike_sa_state(sl->sa);
    FZ_REQUIRE(st >= IKE_SA_STATE_NEW && st <= IKE_SA_STATE_DEAD, "SA state out of range");
    FZ_REQUIRE(ike_sa_state_name(st) != NULL, "state without a name");
    const struct ike_sa_stats *now = ike_sa_stats(sl->sa);
    FZ_REQUIRE(stats_monotone(&sl->prev, now), "an SA counter went down");
    sl->prev = *now;
    if (st == IKE_SA_STATE_ESTABLISHED)
        FZ_REQUIRE(!spi_zero(ike_sa_spi_i(sl->sa)) && !spi_zero(ike_sa_spi_r(sl->sa)),
                   "ESTABLISHED SA without both SPIs");
}

/* After every call into libike: orphans, INITIAL_CONTACT, invariants,
 * DEAD SAs freed. */
static void settle(void)
{
    for (int i = 0; i < 2; i++) {
        struct side *s = &W.side[i];
        for (size_t k = 0; k < s->n_orphans; k++) {
            ike_sa_drop(s->orphans[k], "fuzz world: table full");
            sa_release(i, s->orphans[k]);
        }
        s->n_orphans = 0;
        if (s->ic_from) {
            /* drop every other SA of this gateway, as haiked does */
            for (size_t k = 0; k < W_SAS; k++) {
                struct ike_sa *o = s->slots[k].sa;
                if (o && o != s->ic_from && ike_sa_state(o) != IKE_SA_STATE_DEAD)
                    ike_sa_drop(o, "INITIAL_CONTACT");
            }
            s->ic_from = NULL;
        }
        for (size_t k = 0; k < W_SAS; k++) {
            struct slot *sl = &s->slots[k];
            if (!sl->sa)
                continue;
            check_sa(sl);
            if (ike_sa_state(sl->sa) == IKE_SA_STATE_DEAD) {
                sa_release(i, sl->sa);
                sl->sa = NULL;
            }
        }
    }
}

static struct slot *free_slot(struct side *s)
{
    for (size_t k = 0; k < W_SAS; k++)
        if (!s->slots[k].sa)
            return &s->slots[k];
    return NULL;
}

/* The SA a datagram belongs to, by its SPIs (a zero responder SPI on
 * either side matches: IKE_SA_INIT request retransmissions, responses
 * the initiator has not learned yet). */
static struct ike_sa *route(struct side *s, const uint8_t *data, size_t len)
{
    if (len < 2 * IKE_SPI_LEN)
        return NULL;
    for (size_t k = 0; k < W_SAS; k++) {
        struct ike_sa *sa = s->slots[k].sa;
        if (!sa || memcmp(ike_sa_spi_i(sa), data, IKE_SPI_LEN) != 0)
            continue;
        const uint8_t *r = data + IKE_SPI_LEN;
        if (spi_zero(r) || spi_zero(ike_sa_spi_r(sa)) ||
            memcmp(ike_sa_spi_r(sa), r, IKE_SPI_LEN) == 0)
            return sa;
    }
    return NULL;
}

static void deliver_bytes(int to, const uint8_t *data, size_t len, const struct ike_addr *local,
                          const struct ike_addr *remote)
{
    struct side *s = &W.side[to];
    struct ike_diag diag = {0};
    struct ike_sa *sa = route(s, data, len);
    if (sa) {
        (void)ike_sa_process(sa, data, len, local, remote, &diag);
    } else if (to == 1) {
        struct ike_hdr h;
        struct slot *sl = free_slot(s);
        if (ike_hdr_decode(data, len, &h, &diag) == IKE_OK && h.exchange == IKE_EXCH_IKE_SA_INIT &&
            sl) {
            struct ike_sa *n = NULL;
            if (ike_sa_respond(&s->ctx, &s->natt_cfg[W.resp_natt], data, len, local, remote, &n,
                               &diag) == IKE_OK)
                FZ_REQUIRE(n == NULL || ike_sa_state(n) == IKE_SA_STATE_INIT_DONE,
                           "ike_sa_respond kept an SA that is not INIT_DONE");
            else
                FZ_REQUIRE(n == NULL, "ike_sa_respond failed but returned an SA");
            if (n)
                *sl = (struct slot){.sa = n};
        } else {
            (void)ike_answer_invalid_ike_spi(&s->ctx, data, len, local, remote, &diag);
        }
    }
    settle();
}

static void deliver(struct dgram *d)
{
    deliver_bytes(d->to, d->data, d->len, &d->local, &d->remote);
}

static struct dgram take(size_t i)
{
    struct dgram d = W.queue[i];
    memmove(&W.queue[i], &W.queue[i + 1], (W.n_queue - i - 1) * sizeof(W.queue[0]));
    W.n_queue--;
    return d;
}

static void advance(uint64_t ms)
{
    uint64_t end = W.now + ms;
    for (int guard = 0; guard < 256; guard++) {
        int side = -1;
        size_t at = 0;
        uint64_t due = end + 1;
        for (int i = 0; i < 2; i++)
            for (size_t k = 0; k < W.n_timers[i]; k++)
                if (W.timers[i][k].due < due) {
                    due = W.timers[i][k].due;
                    side = i;
                    at = k;
                }
        if (side < 0)
            break;
        struct tmr t = W.timers[side][at];
        timer_remove(side, at);
        W.now = due;
        ike_sa_timer(t.sa, (enum ike_timer)t.which);
        settle();
    }
    if (W.now < end)
        W.now = end;
}

/* ---- the script ------------------------------------------------------------ */

struct input {
    const uint8_t *p;
    size_t left;
};

static uint8_t in_u8(struct input *in)
{
    if (!in->left)
        return 0;
    in->left--;
    return *in->p++;
}

static uint16_t in_u16(struct input *in)
{
    uint16_t hi = in_u8(in);
    return (uint16_t)(hi << 8 | in_u8(in));
}

/* The n-th live SA of a side (wrapping), NULL if none. */
static struct ike_sa *pick_sa(struct side *s, uint8_t n)
{
    struct ike_sa *live[W_SAS];
    size_t cnt = 0;
    for (size_t k = 0; k < W_SAS; k++)
        if (s->slots[k].sa)
            live[cnt++] = s->slots[k].sa;
    return cnt ? live[n % cnt] : NULL;
}

static uint32_t pick_child_spi(struct ike_sa *sa, uint8_t n)
{
    size_t cnt = ike_sa_child_count(sa);
    struct ike_child_export ex;
    struct ike_diag diag = {0};
    if (!cnt || ike_sa_export_child(sa, n % cnt, &ex, &diag) != IKE_OK)
        return (uint32_t)n * 0x01010101u; /* an unknown SPI */
    uint32_t spi = ex.spi_in;
    ike_export_wipe(&ex, sizeof(ex));
    return spi;
}

/* A standby takes the SA over: export, free, import (+ CHILD SAs),
 * activate. The data plane keeps the CHILD SAs. */
static void takeover(int side, struct slot *sl)
{
    struct side *s = &W.side[side];
    struct ike_sa_export ex;
    struct ike_diag diag = {0};
    if (ike_sa_export(sl->sa, &ex, &diag) != IKE_OK)
        return;
    size_t n = ike_sa_child_count(sl->sa);
    struct ike_child_export *ch = calloc(n ? n : 1, sizeof(*ch));
    FZ_REQUIRE(ch != NULL, "out of memory");
    size_t got = 0;
    for (size_t i = 0; i < n; i++)
        if (ike_sa_export_child(sl->sa, i, &ch[got], &diag) == IKE_OK)
            got++;
    sa_release(side, sl->sa);
    sl->sa = NULL;
    struct ike_sa *sa = NULL;
    enum ike_status st = ike_sa_import(&s->ctx, &s->cfg, &ex, &sa, &diag);
    FZ_REQUIRE(st == IKE_OK, "an exported SA does not import");
    for (size_t i = 0; i < got; i++)
        FZ_REQUIRE(ike_sa_import_child(sa, &ch[i], &diag) == IKE_OK,
                   "an exported CHILD SA does not import");
    FZ_REQUIRE(ike_sa_state(sa) == IKE_SA_STATE_ESTABLISHED, "an imported SA is not ESTABLISHED");
    ike_export_wipe(ch, (n ? n : 1) * sizeof(*ch));
    ike_export_wipe(&ex, sizeof(ex));
    free(ch);
    *sl = (struct slot){.sa = sa};
    ike_sa_activate(sa);
}

static void api(struct input *in)
{
    uint8_t a = in_u8(in), x = in_u8(in);
    int side = a & 1;
    struct side *s = &W.side[side];
    struct ike_diag diag = {0};
    unsigned call = (unsigned)(a >> 1) % API_COUNT;
    if (call == API_INITIATE) {
        struct slot *sl = free_slot(s);
        struct ike_sa *n = NULL;
        /* x picks the NAT-T modes of this initiation and of the
         * responder's next SAs (0: both IKE_NATT_ENABLE, the default) */
        if (side == 0)
            W.resp_natt = (x / 3) % 3;
        if (side == 0 && sl && ike_sa_initiate(&s->ctx, &s->natt_cfg[x % 3], &n, &diag) == IKE_OK)
            *sl = (struct slot){.sa = n};
        settle();
        return;
    }
    struct ike_sa *sa = pick_sa(s, (uint8_t)(x >> 4));
    if (!sa)
        return;
    switch (call) {
    case API_CHILD_CREATE: (void)ike_sa_child_create(sa, x & 3, &diag); break;
    case API_CHILD_REKEY: (void)ike_sa_child_rekey(sa, pick_child_spi(sa, x), &diag); break;
    case API_CHILD_DELETE: (void)ike_sa_delete_child(sa, pick_child_spi(sa, x), &diag); break;
    case API_CHILD_LIMIT:
        (void)ike_sa_child_limit(sa, pick_child_spi(sa, x), (x & 8) != 0, &diag);
        break;
    case API_IKE_REKEY: (void)ike_sa_rekey(sa, &diag); break;
    case API_IKE_DELETE: (void)ike_sa_delete(sa, &diag); break;
    case API_DPD: (void)ike_sa_dpd(sa, &diag); break;
    case API_INVALID_SPI:
        (void)ike_sa_report_invalid_spi(sa, pick_child_spi(sa, x) ^ (x & 1u), &diag);
        break;
    case API_MSGID_SYNC:
        (void)ike_sa_msgid_sync(sa, (uint32_t)(x & 0x0f) + 1, (uint32_t)(x >> 4) + 1, x & 3u,
                                &diag);
        break;
    case API_ACTIVITY: ike_sa_note_activity(sa, (x & 3u)); break;
    case API_TAKEOVER:
        for (size_t k = 0; k < W_SAS; k++)
            if (s->slots[k].sa == sa && ike_sa_state(sa) == IKE_SA_STATE_ESTABLISHED)
                takeover(side, &s->slots[k]);
        break;
    case API_DROP: ike_sa_drop(sa, "fuzz script"); break;
    default: break;
    }
    settle();
}

static void mutate_deliver(struct input *in)
{
    uint8_t kind = in_u8(in);
    uint16_t pos = in_u16(in);
    uint8_t val = in_u8(in);
    if (!W.n_queue)
        return;
    struct dgram d = take(0);
    size_t len = d.len;
    uint8_t *b = realloc(d.data, len + 17);
    if (!b) {
        dgram_free(&d);
        return;
    }
    d.data = b;
    size_t at = len ? pos % len : 0;
    switch (kind % 7) {
    case 0: /* flip a bit */
        if (len)
            b[at] ^= (uint8_t)(1u << (val & 7));
        break;
    case 1: /* set an octet */
        if (len)
            b[at] = val;
        break;
    case 2: /* truncate */ len = at; break;
    case 3: /* insert an octet */
        memmove(b + at + 1, b + at, len - at);
        b[at] = val;
        len++;
        break;
    case 4: /* extend with val % 17 octets of val */
        memset(b + len, val, val % 17u);
        len += val % 17u;
        break;
    case 5: /* message ID (header octets 20..23) */
        if (len >= 24) {
            b[20] = b[21] = 0;
            b[22] = (uint8_t)(val >> 4);
            b[23] = (uint8_t)(b[23] + (val & 0x0f));
        }
        break;
    default: /* exchange type and flags (header octets 18, 19) */
        if (len >= 20) {
            b[18] = (uint8_t)(34 + (val & 7));
            b[19] ^= (uint8_t)(val & 0x38);
        }
        break;
    }
    /* an exact-size copy so ASan sees reads past the end */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact) {
        memcpy(exact, b, len);
        deliver_bytes(d.to, exact, len, &d.local, &d.remote);
        free(exact);
    }
    dgram_free(&d);
}

static void step(struct input *in)
{
    uint8_t op = (uint8_t)(in_u8(in) % OP_COUNT);
    switch (op) {
    case OP_RUN:
        for (int n = 0; n < W_RUN_MAX && W.n_queue; n++) {
            struct dgram d = take(0);
            deliver(&d);
            dgram_free(&d);
        }
        break;
    case OP_DELIVER:
        if (W.n_queue) {
            struct dgram d = take(0);
            deliver(&d);
            dgram_free(&d);
        }
        break;
    case OP_MUTATE: mutate_deliver(in); break;
    case OP_DROP:
        if (W.n_queue) {
            struct dgram d = take(0);
            dgram_free(&d);
        }
        break;
    case OP_DUP:
        if (W.n_queue && W.n_queue < W_QUEUE) {
            struct dgram d = W.queue[0];
            d.data = malloc(d.len);
            if (d.data) {
                memcpy(d.data, W.queue[0].data, d.len);
                W.queue[W.n_queue++] = d;
            }
        }
        break;
    case OP_SWAP: {
        uint8_t i = in_u8(in);
        if (W.n_queue > 1) {
            size_t j = 1 + i % (W.n_queue - 1);
            struct dgram t = W.queue[0];
            W.queue[0] = W.queue[j];
            W.queue[j] = t;
        }
        break;
    }
    case OP_INJECT: {
        uint8_t to = in_u8(in) & 1;
        size_t n = in_u16(in);
        if (n > in->left)
            n = in->left;
        uint8_t *b = malloc(n ? n : 1);
        if (!b)
            break;
        memcpy(b, in->p, n);
        in->p += n;
        in->left -= n;
        struct ike_addr local = side_addr(to), remote = side_addr(1 - to);
        deliver_bytes(to, b, n, &local, &remote);
        free(b);
        break;
    }
    case OP_REPLAY: {
        uint8_t i = in_u8(in);
        if (W.n_history) {
            struct dgram *h = &W.history[i % W.n_history];
            if (h->data) {
                uint8_t *b = malloc(h->len);
                if (b) {
                    memcpy(b, h->data, h->len);
                    deliver_bytes(h->to, b, h->len, &h->local, &h->remote);
                    free(b);
                }
            }
        }
        break;
    }
    case OP_ADVANCE: {
        uint8_t a = in_u8(in);
        advance(a & 0x80 ? (uint64_t)(a & 0x7f) * 1000u : (uint64_t)a * 10u);
        break;
    }
    default: api(in); break;
    }
}

static void world_reset(uint8_t opts)
{
    memset(&W, 0, sizeof(W));
    W.opts = opts;
    W.now = 1000000;
    static const char psk[] = "fuzzing is believing";
    FZ_REQUIRE(ike_secret_from((const uint8_t *)psk, sizeof(psk) - 1, &W.psk) == IKE_OK, "no PSK");
    side_init(0);
    side_init(1);
}

static void world_free(void)
{
    for (int i = 0; i < 2; i++)
        for (size_t k = 0; k < W_SAS; k++)
            if (W.side[i].slots[k].sa) {
                ike_sa_free(W.side[i].slots[k].sa);
                W.side[i].slots[k].sa = NULL;
            }
    for (size_t i = 0; i < W.n_queue; i++)
        dgram_free(&W.queue[i]);
    for (size_t i = 0; i < W_HISTORY; i++)
        dgram_free(&W.history[i]);
    ike_secret_free(W.psk);
}

#define SCRIPT_MAX_STEPS 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool rand_set;
    if (!rand_set) {
        FZ_REQUIRE(RAND_set_rand_method(&det_rand) == 1, "cannot install RAND_METHOD");
        rand_set = true;
    }
    if (size < 1)
        return 0;
    rng_state = 0x6861696b6564ull; /* the same keys, SPIs and nonces every run */
    struct input in = {data + 1, size - 1};
    world_reset(data[0]);
    struct ike_diag diag = {0};
    struct ike_sa *sa = NULL;
    FZ_REQUIRE(ike_sa_initiate(&W.side[0].ctx, &W.side[0].cfg, &sa, &diag) == IKE_OK,
               "the scripted initiator cannot start");
    W.side[0].slots[0] = (struct slot){.sa = sa};
    settle();
    for (int n = 0; n < SCRIPT_MAX_STEPS && in.left; n++)
        step(&in);
    world_free();
    return 0;
}

#else /* FUZZ_SA_GEN: writes the seed scripts; needs nothing but libc.                             \
       *   cc -DFUZZ_SA_GEN -o /tmp/sa_gen tests/fuzz/fuzz_sa_responder.c                          \
       *   /tmp/sa_gen tests/fuzz/corpus/fuzz_sa_responder */

struct seed {
    const char *name;
    uint8_t b[96];
    size_t n;
};

static void put_arr(struct seed *s, const int *v, size_t n)
{
    for (size_t i = 0; i < n && s->n < sizeof(s->b); i++)
        s->b[s->n++] = (uint8_t)v[i];
}

/* Appends the octets given (counted by the compiler, not by hand). */
#define PUT(s, ...)                                                                                \
    put_arr((s), (const int[]){__VA_ARGS__}, sizeof((const int[]){__VA_ARGS__}) / sizeof(int))

#define API(side, call, x) OP_API, (((call) << 1) | (side)), (x)

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    static struct seed seeds[32];
    size_t n = 0;
    struct seed *s;
#define SEED(nm, opts)     (s = &seeds[n++], s->name = (nm), s->n = 0, PUT(s, (opts)))
    SEED("seed-establish", 0);
    PUT(s, OP_RUN);
    SEED("seed-establish-nat-2child", OPT_NAT | OPT_TWO_CHILD);
    PUT(s, OP_RUN);
    SEED("seed-invalid-ke", OPT_KE_MISS);
    PUT(s, OP_RUN);
    SEED("seed-child-rekey-pfs", OPT_PFS);
    PUT(s, OP_RUN, API(0, API_CHILD_REKEY, 0), OP_RUN, API(1, API_CHILD_REKEY, 0), OP_RUN);
    SEED("seed-ike-rekey-both", 0);
    PUT(s, OP_RUN, API(0, API_IKE_REKEY, 0), OP_RUN, API(1, API_IKE_REKEY, 0), OP_RUN);
    SEED("seed-ike-rekey-collision", 0);
    PUT(s, OP_RUN, API(0, API_IKE_REKEY, 0), API(1, API_IKE_REKEY, 0), OP_RUN);
    SEED("seed-child-rekey-collision", OPT_PFS);
    PUT(s, OP_RUN, API(0, API_CHILD_REKEY, 0), API(1, API_CHILD_REKEY, 0), OP_RUN);
    SEED("seed-child-create-delete", OPT_TWO_CHILD);
    PUT(s, OP_RUN, API(0, API_CHILD_CREATE, 1), OP_RUN, API(1, API_CHILD_DELETE, 0), OP_RUN,
        OP_RUN);
    SEED("seed-delete-ike-from-init", 0);
    PUT(s, OP_RUN, API(0, API_IKE_DELETE, 0), OP_RUN);
    SEED("seed-delete-ike-from-resp", 0);
    PUT(s, OP_RUN, API(1, API_IKE_DELETE, 0), OP_RUN);
    SEED("seed-dpd-lost", OPT_DPD);
    PUT(s, OP_RUN, API(1, API_DPD, 0), OP_DROP, OP_ADVANCE, 0x90, OP_ADVANCE, 0x90, OP_RUN);
    SEED("seed-lifetimes", OPT_LIFETIME | OPT_DPD);
    PUT(s, OP_RUN, OP_ADVANCE, 0xc0, OP_RUN, OP_ADVANCE, 0xc0, OP_RUN, OP_ADVANCE, 0xc0, OP_RUN,
        OP_ADVANCE, 0xc0);
    SEED("seed-auth-dup-reorder", 0);
    PUT(s, OP_DELIVER, OP_DELIVER, OP_DUP, OP_DELIVER, OP_DELIVER, OP_RUN, OP_RUN);
    SEED("seed-auth-lost-retransmit", 0);
    PUT(s, OP_DELIVER, OP_DELIVER, OP_DROP, OP_ADVANCE, 30, OP_RUN);
    SEED("seed-auth-bitflip", 0);
    PUT(s, OP_DELIVER, OP_DELIVER, OP_MUTATE, 0, 0, 60, 3, OP_ADVANCE, 50);
    PUT(s, OP_RUN);
    SEED("seed-init-truncated", 0);
    PUT(s, OP_MUTATE, 2, 0, 100, 0, OP_RUN);
    SEED("seed-msgid-wrong", 0);
    PUT(s, OP_RUN, API(0, API_DPD, 0), OP_MUTATE, 5, 0, 0, 0x31);
    PUT(s, OP_RUN);
    SEED("seed-replay-old", 0);
    PUT(s, OP_RUN, API(0, API_IKE_REKEY, 0), OP_RUN, OP_REPLAY, 2, OP_REPLAY, 3, OP_RUN);
    SEED("seed-takeover-resp", 0);
    PUT(s, OP_RUN, API(1, API_TAKEOVER, 0), API(1, API_MSGID_SYNC, 0x23), OP_RUN);
    PUT(s, API(0, API_CHILD_REKEY, 0), OP_RUN);
    SEED("seed-invalid-spi", 0);
    PUT(s, OP_RUN, API(1, API_INVALID_SPI, 1), OP_RUN);
    SEED("seed-initial-contact", 0);
    PUT(s, OP_RUN, API(0, API_INITIATE, 0), OP_RUN);
    SEED("seed-inject-garbage", 0);
    PUT(s, OP_RUN, OP_INJECT, 1, 0);
    PUT(s, 28);
    for (int i = 0; i < 28; i++)
        PUT(s, i < 8 ? 0x11 : (i == 17 ? 0x20 : (i == 18 ? 37 : (i == 27 ? 28 : 0))));
    SEED("seed-half-open", 0);
    PUT(s, OP_DELIVER, OP_DELIVER, OP_ADVANCE, 0x86);
    PUT(s, OP_RUN);
    SEED("seed-no-frag-no-rekey", OPT_NO_FRAG | OPT_REAUTH_OFF);
    PUT(s, OP_RUN, API(0, API_IKE_REKEY, 0), OP_RUN);
    SEED("seed-natt-forced-initiator", 0);
    PUT(s, OP_RUN, API(0, API_INITIATE, 2), OP_RUN, API(0, API_CHILD_REKEY, 0), OP_RUN);
    SEED("seed-natt-forced-responder-nat", OPT_NAT);
    PUT(s, OP_RUN, API(0, API_INITIATE, 6), OP_RUN, API(1, API_IKE_REKEY, 0), OP_RUN);
    SEED("seed-natt-disable-responder-nat", OPT_NAT);
    PUT(s, OP_RUN, API(0, API_INITIATE, 3), OP_RUN, API(1, API_DPD, 0), OP_RUN);
    SEED("seed-natt-disable-initiator", 0);
    PUT(s, OP_RUN, API(0, API_INITIATE, 1), OP_RUN, API(1, API_TAKEOVER, 0), OP_RUN);
#undef SEED
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", argv[1], seeds[i].name);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(seeds[i].b, 1, seeds[i].n, f) != seeds[i].n || fclose(f) != 0) {
            perror(path);
            return 1;
        }
    }
    printf("%zu seeds written to %s\n", n, argv[1]);
    return 0;
}

#endif
