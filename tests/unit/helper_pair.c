/* Two IKE SAs over an in-memory transport; see helper_pair.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helper_pair.h"

#define NAT_PUBLIC_PORT_OFFSET 10000

static const char *const pair_psk_text = "correct horse battery staple";

struct ike_addr pair_addr4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
    struct ike_addr x = {.family = IKE_AF_INET, .port = port};
    x.addr[0] = a;
    x.addr[1] = b;
    x.addr[2] = c;
    x.addr[3] = d;
    return x;
}

struct ike_ts pair_ts16(uint8_t a, uint8_t b)
{
    struct ike_ts t = {.type = IKE_TS_IPV4_ADDR_RANGE, .end_port = 65535};
    t.start_addr[0] = t.end_addr[0] = a;
    t.start_addr[1] = t.end_addr[1] = b;
    t.end_addr[2] = t.end_addr[3] = 255;
    return t;
}

/* The initiator's address as configured; behind the NAT it is private. */
static struct ike_addr side_addr(const struct pair *p, int idx)
{
    if (idx == 1)
        return pair_addr4(10, 0, 0, 2, IKE_PORT);
    return p->nat ? pair_addr4(192, 168, 1, 10, IKE_PORT) : pair_addr4(10, 0, 0, 1, IKE_PORT);
}

static struct ike_addr nat_out(struct ike_addr a)
{
    struct ike_addr pub = pair_addr4(198, 51, 100, 7, (uint16_t)(a.port + NAT_PUBLIC_PORT_OFFSET));
    return pub;
}

static struct ike_addr nat_in(const struct pair *p, struct ike_addr pub)
{
    struct ike_addr priv = side_addr(p, 0);
    priv.port = (uint16_t)(pub.port - NAT_PUBLIC_PORT_OFFSET);
    return priv;
}

/* ---- context callbacks ---------------------------------------------------- */

static void cb_send(void *user, struct ike_sa *sa, const struct ike_addr *local,
                    const struct ike_addr *remote, const uint8_t *data, size_t len)
{
    struct pair_side *s = user;
    struct pair *p = s->pair;
    assert_true(p->n_queue < PAIR_QUEUE_MAX);
    struct pair_dgram *d = &p->queue[p->n_queue++];
    d->to = 1 - s->idx;
    d->sent_from = *local;
    d->sent_to = *remote;
    d->remote = *local;
    d->local = *remote;
    if (p->nat && s->idx == 0)
        d->remote = nat_out(*local);
    if (p->nat && s->idx == 1)
        d->local = nat_in(p, *remote);
    d->data = malloc(len);
    assert_non_null(d->data);
    memcpy(d->data, data, len);
    d->len = len;
    if (p->n_trace < PAIR_QUEUE_MAX) {
        struct pair_trace *t = &p->trace[p->n_trace++];
        t->from = s->idx;
        t->sent_from = *local;
        t->sent_to = *remote;
        t->data = pair_copy(d);
        t->len = len;
    }
    s->n_sent++;
    if (!sa)
        s->n_stateless++;
}

static void cb_timer_arm(void *user, struct ike_sa *sa, enum ike_timer which, uint32_t ms)
{
    struct pair_side *s = user;
    (void)sa;
    s->timer_armed[which] = true;
    s->timer_due[which] = s->pair->now + ms;
    if (s->n_timer_ms[which] < 16)
        s->timer_ms[which][s->n_timer_ms[which]++] = ms;
}

static void cb_timer_cancel(void *user, struct ike_sa *sa, enum ike_timer which)
{
    struct pair_side *s = user;
    (void)sa;
    s->timer_armed[which] = false;
}

static uint64_t cb_now(void *user)
{
    struct pair_side *s = user;
    return s->pair->now;
}

static void cb_log(void *user, const struct ike_sa *sa, enum ike_log_level level, const char *text)
{
    struct pair_side *s = user;
    (void)sa;
    int n = snprintf(s->log + s->log_len, PAIR_LOG_MAX - s->log_len, "[%d] %s\n", (int)level, text);
    if (n > 0 && s->log_len + (size_t)n < PAIR_LOG_MAX)
        s->log_len += (size_t)n;
    if (getenv("PAIR_VERBOSE"))
        fprintf(stderr, "side %d: %s\n", s->idx, text);
}

static int cb_child_install(void *user, struct ike_sa *sa, const struct ike_child_export *c)
{
    struct pair_side *s = user;
    (void)sa;
    if (s->install_fails)
        return -1;
    assert_true(s->n_installed < PAIR_CHILDREN_MAX);
    s->installed[s->n_installed++] = *c;
    return 0;
}

static void cb_child_delete(void *user, struct ike_sa *sa, uint32_t spi_in)
{
    struct pair_side *s = user;
    (void)sa;
    for (size_t i = 0; i < s->n_installed; i++)
        if (s->installed[i].spi_in == spi_in) {
            s->installed[i] = s->installed[--s->n_installed];
            return;
        }
}

static void cb_event(void *user, const struct ike_event *ev)
{
    struct pair_side *s = user;
    assert_true(s->n_events < PAIR_EVENTS_MAX);
    struct pair_event *e = &s->events[s->n_events++];
    memset(e, 0, sizeof(*e));
    e->type = ev->type;
    if (ev->type == IKE_EV_MSGID_UPDATE)
        e->msgid = ev->msgid;
    if (ev->type == IKE_EV_IKE_SA_ADD)
        e->ike = *ev->ike_add;
    if (ev->type == IKE_EV_CHILD_SA_ADD)
        e->child = *ev->child_add;
    if (ev->type == IKE_EV_CHILD_SA_DEL)
        e->child_del_spi = ev->child_del_spi_in;
}

static void cb_initial_contact(void *user, struct ike_sa *sa)
{
    struct pair_side *s = user;
    (void)sa;
    s->n_initial_contact++;
}

static void cb_replay_sync(void *user, struct ike_sa *sa, uint64_t delta)
{
    struct pair_side *s = user;
    (void)sa;
    s->replay_delta += delta;
}

static const struct ike_ctx_ops pair_ops = {
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
};

/* ---- setup ---------------------------------------------------------------- */

static void id_fqdn(struct ike_cfg_id *id, const char *name)
{
    id->type = IKE_ID_FQDN;
    id->len = strlen(name);
    memcpy(id->data, name, id->len);
}

static void side_init(struct pair *p, int idx)
{
    struct pair_side *s = &p->side[idx];
    s->pair = p;
    s->idx = idx;
    s->ctx = (struct ike_ctx){.ops = &pair_ops, .user = s};
    assert_int_equal(
        ike_secret_from((const uint8_t *)pair_psk_text, strlen(pair_psk_text), &p->psk[idx]),
        IKE_OK);
    struct ike_sa_cfg *c = &s->cfg;
    c->name = idx == 0 ? "gw-left" : "gw-right";
    c->local = side_addr(p, idx);
    c->remote = side_addr(p, 1 - idx);
    c->psk = p->psk[idx];
    id_fqdn(&c->local_id, idx == 0 ? "left.example" : "right.example");
    id_fqdn(&c->remote_id, idx == 0 ? "right.example" : "left.example");
    c->fragmentation = true;
    c->msgid_sync = true;
    c->initial_contact = true;
    c->n_proposals = 1;
    struct ike_cfg_proposal *ike = &c->proposals[0];
    ike->encr[ike->n_encr++] = (struct ike_cfg_encr){IKE_ENCR_AES_CBC, 256};
    ike->integ[ike->n_integ++] = IKE_INTEG_HMAC_SHA2_256_128;
    ike->prf[ike->n_prf++] = IKE_PRF_HMAC_SHA2_256;
    ike->dh[ike->n_dh++] = IKE_DH_ECP_256;
    struct ike_cfg_child *ch = &s->child[0];
    ch->name = idx == 0 ? "p2-left" : "p2-right";
    ch->n_proposals = 1;
    ch->proposals[0].encr[ch->proposals[0].n_encr++] =
        (struct ike_cfg_encr){IKE_ENCR_AES_GCM_16, 256};
    ch->local_ts[ch->n_local_ts++] = idx == 0 ? pair_ts16(10, 1) : pair_ts16(10, 2);
    ch->remote_ts[ch->n_remote_ts++] = idx == 0 ? pair_ts16(10, 2) : pair_ts16(10, 1);
    c->children = s->child;
    c->n_children = 1;
}

struct pair *pair_new(void)
{
    struct pair *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    side_init(p, 0);
    side_init(p, 1);
    return p;
}

void pair_free(struct pair *p)
{
    if (!p)
        return;
    for (int i = 0; i < 2; i++) {
        ike_sa_free(p->side[i].sa);
        ike_secret_free(p->psk[i]);
    }
    for (size_t i = 0; i < p->n_queue; i++)
        free(p->queue[i].data);
    for (size_t i = 0; i < p->n_trace; i++)
        free(p->trace[i].data);
    free(p);
}

void pair_start(struct pair *p)
{
    struct ike_diag d = {0};
    /* The NAT flag may have been set after pair_new: re-derive addresses. */
    p->side[0].cfg.local = side_addr(p, 0);
    assert_int_equal(ike_sa_initiate(&p->side[0].ctx, &p->side[0].cfg, &p->side[0].sa, &d), IKE_OK);
}

static struct pair_dgram take(struct pair *p, size_t i)
{
    assert_true(i < p->n_queue);
    struct pair_dgram d = p->queue[i];
    memmove(&p->queue[i], &p->queue[i + 1], (p->n_queue - i - 1) * sizeof(p->queue[0]));
    p->n_queue--;
    return d;
}

enum ike_status pair_deliver(struct pair *p, size_t i)
{
    struct pair_dgram d = take(p, i);
    struct pair_side *s = &p->side[d.to];
    struct ike_diag diag = {0};
    enum ike_status st;
    if (!s->sa && d.to == 1)
        st = ike_sa_respond(&s->ctx, &s->cfg, d.data, d.len, &d.local, &d.remote, &s->sa, &diag);
    else if (s->sa)
        st = ike_sa_process(s->sa, d.data, d.len, &d.local, &d.remote, &diag);
    else
        st = IKE_E_STATE; /* the initiator's SA is gone */
    free(d.data);
    return st;
}

void pair_drop(struct pair *p, size_t i)
{
    struct pair_dgram d = take(p, i);
    free(d.data);
}

void pair_dup(struct pair *p, size_t i)
{
    assert_true(i < p->n_queue && p->n_queue < PAIR_QUEUE_MAX);
    struct pair_dgram d = p->queue[i];
    d.data = pair_copy(&p->queue[i]);
    p->queue[p->n_queue++] = d;
}

size_t pair_run(struct pair *p)
{
    size_t n = 0;
    while (p->n_queue > 0 && n < 100) {
        (void)pair_deliver(p, 0);
        n++;
    }
    return n;
}

void pair_advance(struct pair *p, uint64_t ms)
{
    uint64_t end = p->now + ms;
    for (;;) {
        int who = -1, which = -1;
        uint64_t due = end + 1;
        for (int i = 0; i < 2; i++)
            for (int t = 0; t < IKE_TIMER_COUNT; t++)
                if (p->side[i].timer_armed[t] && p->side[i].timer_due[t] < due) {
                    due = p->side[i].timer_due[t];
                    who = i;
                    which = t;
                }
        if (who < 0)
            break;
        p->now = due;
        p->side[who].timer_armed[which] = false;
        if (p->side[who].sa)
            ike_sa_timer(p->side[who].sa, (enum ike_timer)which);
    }
    p->now = end;
}

void pair_establish(struct pair *p)
{
    pair_start(p);
    pair_run(p);
    assert_non_null(p->side[1].sa);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_ESTABLISHED);
}

struct pair *pair_established(void)
{
    struct pair *p = pair_new();
    pair_establish(p);
    p->side[0].n_events = p->side[1].n_events = 0;
    return p;
}

const char *pair_event_names(const struct pair_side *s, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < s->n_events && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? " " : "",
                              ike_event_type_name(s->events[i].type));
    return buf;
}

const char *pair_events(const struct pair_side *s)
{
    static char buf[512];
    return pair_event_names(s, buf, sizeof(buf));
}

bool pair_log_has(const struct pair_side *s, const char *needle)
{
    return strstr(s->log, needle) != NULL;
}

uint8_t *pair_copy(const struct pair_dgram *d)
{
    uint8_t *b = malloc(d->len);
    assert_non_null(b);
    memcpy(b, d->data, d->len);
    return b;
}

void pair_bytes_free(uint8_t *b)
{
    free(b);
}
