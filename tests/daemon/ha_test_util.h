/*
 * The in-process HA cluster of the HA daemon tests (test_ha_role.c,
 * test_ha_mirror.c, test_ha_drain.c, test_ha_respcache.c): the peer A
 * (127.0.0.1) initiates to M (127.0.0.2, master of vcluster 1, priority
 * 200); S (127.0.0.3, priority 100) is its standby. All three run on one
 * event_base, M and S joined over the in-process CPG bus (../hasync/
 * fake_cpg.h, included here: one program includes it once). Each node logs
 * to a temp file; HA_TEST_LOGS=1 prints the three logs at hat_free().
 */
#ifndef HA_TEST_UTIL_H
#define HA_TEST_UTIL_H

#include "dtest_util.h"

#include "../hasync/fake_cpg.h"

#include <ike/mirror.h>
#include <ike/sa.h>

#include "gw_internal.h"
#include "gw_sa.h"
#include "ha/ha.h"

#define HAT_PSK "unit-test-psk-not-secret"

struct hat {
    struct dtest_dir dir;
    struct event_base *base;
    struct daemon a, m, s;
    bool a_up, m_up, s_up;
    FILE *log_a, *log_m, *log_s;
    uint32_t node_m, node_s; /* CPG node IDs, for the tests that read the wire */
};

/* What differs between the tests' node configs (every one a list of
 * options, "" for none). */
struct hat_conf {
    const char *ike;   /* global ike = { ... } */
    const char *gw;    /* of every node's gateway */
    const char *group; /* the HA group */
    const char *ha;    /* of the ha section, before vclusters */
};

static inline struct hat *hat_new(void)
{
    struct hat *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    dtest_dir_make(&c->dir);
    c->base = event_base_new();
    assert_non_null(c->base);
    c->log_a = tmpfile();
    c->log_m = tmpfile();
    c->log_s = tmpfile();
    assert_true(c->log_a && c->log_m && c->log_s);
    return c;
}

/* Runs the daemon of NAME.conf with its log in log, and its HA when the
 * config has an ha section. */
static inline void hat_start(struct hat *c, struct daemon *d, const char *name, FILE *log, bool *up)
{
    char err[256], path[128], file[32];
    snprintf(file, sizeof(file), "%s.conf", name);
    snprintf(path, sizeof(path), "%s/%s", c->dir.path, file);
    assert_int_equal(
        daemon_init(d, c->base, dtest_load(&c->dir, file), path, log, err, sizeof(err)), 0);
    if (daemon_start(d, err, sizeof(err)) < 0)
        fail_msg("daemon_start: %s", err);
    if (d->cfg->ha.enabled && !d->ha && ha_start(d, err, sizeof(err)) < 0)
        fail_msg("ha_start: %s", err);
    *up = true;
}

static inline void hat_stop(struct daemon *d, bool *up)
{
    if (!*up)
        return;
    ha_stop(d);
    daemon_free(d);
    *up = false;
}

/* The whole log so far (the caller frees it). */
static inline char *hat_slurp_log(FILE *f)
{
    fflush(f);
    long end = ftell(f);
    char *buf = calloc(1, (size_t)end + 1);
    assert_non_null(buf);
    rewind(f);
    size_t n = fread(buf, 1, (size_t)end, f);
    buf[n] = 0;
    fseek(f, 0, SEEK_END);
    return buf;
}

/* Offset of needle in the log (-1 when absent). */
static inline long hat_log_pos(FILE *f, const char *needle)
{
    char *buf = hat_slurp_log(f);
    char *at = strstr(buf, needle);
    long r = at ? (long)(at - buf) : -1;
    free(buf);
    return r;
}

static inline bool hat_log_has(FILE *f, const char *needle)
{
    return hat_log_pos(f, needle) >= 0;
}

/* Stops what runs, prints the logs when HA_TEST_LOGS is set, frees c. */
static inline void hat_free(struct hat *c)
{
    if (getenv("HA_TEST_LOGS")) {
        FILE *logs[] = {c->log_a, c->log_m, c->log_s};
        for (size_t i = 0; i < 3; i++) {
            char *b = hat_slurp_log(logs[i]);
            fprintf(stderr, "---- log of %c ----\n%s", "AMS"[i], b);
            free(b);
        }
    }
    hat_stop(&c->a, &c->a_up);
    hat_stop(&c->m, &c->m_up);
    hat_stop(&c->s, &c->s_up);
    fcpg_wire_clear();
    event_base_free(c->base);
    fclose(c->log_a);
    fclose(c->log_m);
    fclose(c->log_s);
    dtest_dir_remove(&c->dir);
    free(c);
}

/* A cmocka teardown for a test whose state is a struct hat (or NULL). */
static inline int hat_teardown(void **state)
{
    if (*state)
        hat_free(*state);
    *state = NULL;
    return 0;
}

#define HAT_CONF_FMT                                                                               \
    "global = { control-socket = \"%s/%s.sock\"; secrets-file = \"%s.secrets\";\n"                 \
    "  dataplane = \"record\"; log = { target = \"stderr\"; level = \"debug\"; };\n"               \
    "  ike = { %s }; };\n"                                                                         \
    "gateways = ( { name = \"%s\"; local-gw = \"%s\"; remote-gw = \"%s\";\n"                       \
    "  proposal = \"aes256-sha256-ecp256\"; %s %s\n"                                               \
    "  local-id = \"@%s.test\"; remote-id = \"@%s.test\";\n"                                       \
    "  selectors = ( { name = \"net\"; local-subnet = \"%s\"; remote-subnet = \"%s\";\n"           \
    "    proposal = \"aes256gcm16\"; } ); } );\n%s"

#define HAT_HA_FMT                                                                                 \
    "ha = { group = \"%s\"; allow-plaintext-sync = true; %s\n"                                     \
    "  vclusters = ( { id = 1; priority = %d; } ); };\n"

/* NAME.conf and NAME.secrets: gateway gw from local to remote with the
 * options extra, IDs @me.test / @peer.test, one selector lnet <-> rnet;
 * an ha section with vcluster 1 at prio unless prio is 0. */
static inline void hat_write_node(struct hat *c, const struct hat_conf *cf, const char *name,
                                  const char *gw, const char *local, const char *remote,
                                  const char *extra, const char *me, const char *peer,
                                  const char *lnet, const char *rnet, int prio)
{
    char file[32], ha[512] = "";
    if (prio)
        snprintf(ha, sizeof(ha), HAT_HA_FMT, cf->group, cf->ha, prio);
    snprintf(file, sizeof(file), "%s.conf", name);
    dtest_write(&c->dir, file, 0644, HAT_CONF_FMT, c->dir.path, name, name, cf->ike, gw, local,
                remote, extra, cf->gw, me, peer, lnet, rnet, ha);
    snprintf(file, sizeof(file), "%s.secrets", name);
    dtest_write(&c->dir, file, 0600, "secrets = ( { gateway = \"%s\"; psk = \"%s\"; } );\n", gw,
                HAT_PSK);
}

/* a.conf (gwA, initiates), m.conf (gwB, priority 200), s.conf (gwB,
 * priority 100; M and S passive responders). */
static inline void hat_write_nodes(struct hat *c, const struct hat_conf *cf)
{
    hat_write_node(c, cf, "a", "gwA", "127.0.0.1", "127.0.0.2", "auto-negotiate = true;", "a", "b",
                   "10.0.1.0/24", "10.0.2.0/24", 0);
    hat_write_node(c, cf, "m", "gwB", "127.0.0.2", "127.0.0.1", "passive = true;", "b", "a",
                   "10.0.2.0/24", "10.0.1.0/24", 200);
    hat_write_node(c, cf, "s", "gwB", "127.0.0.3", "127.0.0.1", "passive = true;", "b", "a",
                   "10.0.2.0/24", "10.0.1.0/24", 100);
}

/* ---- SAs ------------------------------------------------------------------ */

/* The gateway's first established IKE SA not dying (active or passive). */
static inline struct gw_sa *hat_live_sa(struct daemon *d, const char *gw_name)
{
    struct gw_sa *gs;
    TAILQ_FOREACH(gs, &gw_find(d, gw_name)->sas, link)
    if (gs->sa && !gs->dying && ike_sa_state(gs->sa) == IKE_SA_STATE_ESTABLISHED)
        return gs;
    return NULL;
}

static inline size_t hat_n_children(struct gw_sa *gs)
{
    size_t n = 0;
    for (const struct dp_child *ch = gw_child_first(gs); ch; ch = TAILQ_NEXT(ch, sa_link))
        n++;
    return n;
}

static inline bool hat_has_child_in(struct gw_sa *gs, uint32_t spi_in)
{
    for (const struct dp_child *ch = gw_child_first(gs); ch; ch = TAILQ_NEXT(ch, sa_link))
        if (ch->spi_in == spi_in)
            return true;
    return false;
}

/* Every CHILD SA of x pairs with one of y (x's inbound is y's outbound). */
static inline bool hat_children_pair(struct gw_sa *x, struct gw_sa *y)
{
    if (hat_n_children(x) != hat_n_children(y))
        return false;
    for (const struct dp_child *a = gw_child_first(x); a; a = TAILQ_NEXT(a, sa_link)) {
        bool found = false;
        for (const struct dp_child *b = gw_child_first(y); b && !found; b = TAILQ_NEXT(b, sa_link))
            found = a->spi_in == b->spi_out && a->spi_out == b->spi_in;
        if (!found)
            return false;
    }
    return true;
}

/* ---- what the tests wait for (arg: the struct hat) ----------------------- */

/* M masters vcluster 1; S is in sync and holds a passive copy of gwB's IKE
 * SA with its one CHILD SA. */
static inline bool hat_mirrored_one(void *arg)
{
    struct hat *c = arg;
    struct gw_sa *gs = hat_live_sa(&c->s, "gwB");
    return c->m.ha->vcs[0].active && c->s.ha->vcs[0].sync == HA_SYNC_IN_SYNC && gs &&
           ike_sa_is_passive(gs->sa) && hat_n_children(gs) == 1;
}

/* S took vcluster 1 over. */
static inline bool hat_s_active(void *arg)
{
    struct hat *c = arg;
    return c->s.ha->vcs[0].active;
}

#endif
