/*
 * libFuzzer target for haiked's side of the HA sync stream: what a cluster
 * member sends, after hasync_codec_unpack() (unpack + validation) and the
 * sequence check, delivered to ha_node_deliver() -- the callback hasync's
 * CPG delivery calls -- so ha_apply.c, ha_bulk.c (snapshot, merge, bulk
 * request) and the real election (ha_role_announce_rx) see it.
 *
 * Two daemons are fed each input, each built afresh (same input, same run),
 * each connected to the CPG group with node 1 (a bare member of the bus) so
 * the real election runs on what arrives:
 *   standby  node 2: node 1 announced itself master, we asked for a bulk
 *            sync, three IKE SAs with a CHILD SA each came on the stream,
 *            the (empty) snapshot completed: standby, in sync, holding
 *            passive copies (so updates, deletes and CHILD adds hit
 *            existing state);
 *   master   node 3: the same, then node 1 stood by with a lower priority
 *            and we took over (BulkRequest, RoleAnnounce, a peer's offer
 *            to merge hit active SAs).
 * The SAs are real: on first use the target runs a peer, a master and a
 * standby (as tests/daemon/test_ha_mirror.c does, in a private network
 * namespace, on the in-process CPG bus ../hasync/fake_cpg.h) until the
 * tunnel is up and mirrored, and keeps the master's sync messages. Two more
 * SAs are those messages with other SPIs.
 *
 * Input: octet 0 = which daemon(s) get the records (bit 0 standby only, bit 1
 * master only, neither or both: both), then records:
 *   ctl (1 octet)  bits 0-1 sender: 0 the other node, 1 node 5, 2 node 4,
 *                  3 this node with another pid; bit 2: replace the seq
 *                  with the sender's next one (past hasync's order check);
 *                  bit 3: the sender leaves the group after the record
 *   len (2 octets, big endian), then len octets: one CPG message.
 * A record is dropped where hasync drops it (refused by the codec, stale).
 * Anything the daemon does is fine except crashing, leaking or undefined
 * behaviour (ASan + UBSan), and the mirror's bookkeeping must stay sane:
 * every passive SA is findable by its SPIs, and a vcluster is active only
 * while the election says master.
 *
 * Seeds: run with FUZZ_HA_SEEDS=DIR once; it writes the captured messages
 * (each alone, the whole stream, and sequences: add -> update -> del ->
 * CHILD add to the deleted SA, bulk request, snapshot, role announcements).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <corosync/votequorum.h>
#include <inttypes.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "../daemon/fake_votequorum.h"
#include "../hasync/fake_cpg.h"

#include <ike/mirror.h>
#include <ike/sa.h>

#include "config/config.h"
#include "daemon.h"
#include "gw_sa.h"
#include "ha/ha.h"
#include "ha/ha_internal.h"
#include "hasync_codec.h"
#include "hasync_seq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PSK       "fuzz-psk-not-secret"
#define NODE_M    1u
#define NODE_S    2u
#define N_SAS     3 /* passive SAs of the fixture */
#define MAX_CAPT  64
#define MAX_STEPS 64 /* records per daemon and input */

static FILE *die_log;

static void die(const char *what)
{
    if (die_log)
        fflush(die_log);
    fprintf(stderr, "fuzz_ha_apply: fixture: %s\n", what);
    abort();
}

/* ---- the world, made once ------------------------------------------------ */

struct capt {
    uint8_t *data;
    size_t len;
    Hasync__Envelope__BodyCase body;
};

static struct {
    bool ready;
    char dir[64];
    struct event_base *base;
    FILE *log;
    /* the master's sync messages while the tunnel came up, in order */
    struct capt msgs[MAX_CAPT];
    size_t n_msgs;
    /* the fixture's SAs: IkeSaAdd + ChildSaAdd each */
    struct capt ike[N_SAS], child[N_SAS];
} w;

static void private_netns(void)
{
    if (unshare(CLONE_NEWNET) < 0)
        die("unshare(CLONE_NEWNET) failed (needs root)");
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        die("lo");
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        die("lo up");
    close(fd);
}

static void write_file(const char *name, mode_t mode, const char *text)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", w.dir, name);
    FILE *f = fopen(p, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0 || chmod(p, mode) != 0)
        die("write config");
}

static void write_node(const char *name, const char *gw, const char *local, const char *remote,
                       const char *extra, const char *me, const char *peer, const char *lnet,
                       const char *rnet, int priority)
{
    char ha[256] = "", text[2048], file[32];
    if (priority)
        snprintf(ha, sizeof(ha),
                 "ha = { group = \"haiked-fuzz\"; allow-plaintext-sync = true;\n"
                 "  vclusters = ( { id = 1; priority = %d; } ); };\n",
                 priority);
    snprintf(text, sizeof(text),
             "global = { control-socket = \"%s/%s.sock\"; secrets-file = \"%s.secrets\";\n"
             "  dataplane = \"record\"; log = { target = \"stderr\"; level = \"debug\"; };\n"
             "  ike = { retransmit-timeout-ms = 500; retransmit-tries = 3; }; };\n"
             "gateways = ( { name = \"%s\"; local-gw = \"%s\"; remote-gw = \"%s\";\n"
             "  proposal = \"aes256-sha256-ecp256\"; %s\n"
             "  local-id = \"@%s.test\"; remote-id = \"@%s.test\";\n"
             "  selectors = ( { name = \"net\"; local-subnet = \"%s\"; remote-subnet = \"%s\";\n"
             "    proposal = \"aes256gcm16\"; } ); } );\n%s",
             w.dir, name, name, gw, local, remote, extra, me, peer, lnet, rnet, ha);
    snprintf(file, sizeof(file), "%s.conf", name);
    write_file(file, 0644, text);
    snprintf(text, sizeof(text), "secrets = ( { gateway = \"%s\"; psk = \"%s\"; } );\n", gw, PSK);
    snprintf(file, sizeof(file), "%s.secrets", name);
    write_file(file, 0600, text);
}

/* A daemon of the config NAME.conf on w.base; node: its CPG node id (HA). */
static void node_start(struct daemon *d, const char *name, uint32_t node)
{
    char err[256], path[128];
    snprintf(path, sizeof(path), "%s/%s.conf", w.dir, name);
    struct cfg *cfg = NULL;
    struct cfg_errors errs = {0};
    if (cfg_load(path, &cfg, &errs) < 0) {
        cfg_errors_print(&errs, stderr);
        die("config refused");
    }
    cfg_errors_clear(&errs);
    memset(d, 0, sizeof(*d));
    if (daemon_init(d, w.base, cfg, path, w.log, err, sizeof(err)) < 0 ||
        daemon_start(d, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        die("daemon start");
    }
    if (d->cfg->ha.enabled) {
        fcpg.next_node = node;
        if (ha_start(d, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s\n", err);
            die("ha_start");
        }
    }
}

static void node_stop(struct daemon *d)
{
    ha_stop(d);
    daemon_free(d);
}

static void run_until(bool (*pred)(void *), void *arg, unsigned ms, const char *what)
{
    uint64_t end = daemon_now_ms() + ms;
    while (!pred(arg)) {
        if (daemon_now_ms() >= end)
            die(what);
        struct timeval tv = {0, 10000};
        event_base_loopexit(w.base, &tv);
        event_base_dispatch(w.base);
    }
}

struct trio {
    struct daemon a, m, s;
};

/* hasync connects from the loop: the node id is given out then. */
static bool m_connected(void *arg)
{
    struct trio *t = arg;
    return hasync_cpg_local_node(t->m.ha->cpg) != 0;
}

static bool roles_settled(void *arg)
{
    struct trio *t = arg;
    return t->m.ha->vcs[0].active && !t->s.ha->vcs[0].active &&
           t->s.ha->vcs[0].sync == HA_SYNC_IN_SYNC;
}

static bool mirrored(void *arg)
{
    struct trio *t = arg;
    return t->s.dp.n_children >= 1 && fcpg_queued(NODE_S) == 0 && fcpg_queued(NODE_M) == 0;
}

static void capture(const uint8_t *data, size_t len, Hasync__Envelope__BodyCase body,
                    struct capt *out)
{
    out->data = malloc(len ? len : 1);
    if (!out->data)
        die("oom");
    memcpy(out->data, data, len);
    out->len = len;
    out->body = body;
}

/* The SA of a captured IkeSaAdd / ChildSaAdd with its SPIs changed (k > 0). */
static void clone_sa(const struct capt *ike, const struct capt *child, uint8_t k,
                     struct capt *ike_out, struct capt *child_out)
{
    char err[160];
    enum hasync_drop why;
    const struct capt *in[2] = {ike, child};
    struct capt *out[2] = {ike_out, child_out};
    for (int i = 0; i < 2; i++) {
        Hasync__Envelope *e = hasync_codec_unpack(in[i]->data, in[i]->len, NODE_M, &why, err,
                                                  sizeof(err));
        if (!e)
            die(err);
        uint8_t *spi_i, *spi_r;
        if (i == 0) {
            spi_i = e->ike_sa_add->spi_i.data, spi_r = e->ike_sa_add->spi_r.data;
        } else {
            spi_i = e->child_sa_add->ike_spi_i.data, spi_r = e->child_sa_add->ike_spi_r.data;
            e->child_sa_add->spi_in ^= (uint32_t)k << 24;
            e->child_sa_add->spi_out ^= (uint32_t)k << 24;
        }
        spi_i[0] ^= k, spi_r[0] ^= k;
        uint8_t *buf;
        size_t len;
        if (hasync_codec_pack(e, &buf, &len) != 0)
            die("pack");
        capture(buf, len, e->body_case, out[i]);
        free(buf);
        hasync_codec_free(e);
    }
}

static void write_seeds(const char *dir);

/* One envelope of the master's stream, kept unless it is an ack or one
 * announcement too many. */
static void capture_env(const uint8_t *data, size_t len, size_t *n_roles)
{
    char err[160];
    enum hasync_drop why;
    Hasync__Envelope *e = hasync_codec_unpack(data, len, NODE_M, &why, err, sizeof(err));
    if (e && e->body_case != HASYNC__ENVELOPE__BODY_ACK && w.n_msgs < MAX_CAPT &&
        (e->body_case != HASYNC__ENVELOPE__BODY_ROLE || ++*n_roles <= 4))
        capture(data, len, e->body_case, &w.msgs[w.n_msgs++]);
    hasync_codec_free(e);
}

/* One CPG message: a packed envelope, or hasync's batch frame (00 'HSB',
 * then per envelope a 4-octet big-endian length and the envelope). */
static void capture_cpg(const uint8_t *data, size_t len, size_t *n_roles)
{
    static const uint8_t magic[4] = {0x00, 'H', 'S', 'B'};
    if (len < sizeof(magic) || memcmp(data, magic, sizeof(magic))) {
        capture_env(data, len, n_roles);
        return;
    }
    for (size_t off = sizeof(magic); off + 4 <= len;) {
        size_t n = (size_t)data[off] << 24 | (size_t)data[off + 1] << 16 |
                   (size_t)data[off + 2] << 8 | data[off + 3];
        off += 4;
        if (n > len - off)
            break;
        capture_env(data + off, n, n_roles);
        off += n;
    }
}

/* The config dir goes with the process (libFuzzer and the replay exit). */
static void world_dir_remove(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_ha_apply: could not remove %s\n", w.dir);
}

/* Peer A, master M, standby S until the tunnel is up and mirrored; keeps
 * M's sync messages, then stops all three. */
static void world_make(void)
{
    private_netns();
    snprintf(w.dir, sizeof(w.dir), "/tmp/haiked-fuzz-XXXXXX");
    if (!mkdtemp(w.dir))
        die("mkdtemp");
    atexit(world_dir_remove);
    const char *lvl = getenv("FUZZ_HA_LOG");
    w.log = fopen(lvl ? lvl : "/dev/null", "w");
    w.base = event_base_new();
    die_log = w.log;
    if (!w.log || !w.base)
        die("log/base");
    write_node("a", "gwA", "127.0.0.1", "127.0.0.2", "auto-negotiate = true;", "a", "b",
               "10.0.1.0/24", "10.0.2.0/24", 0);
    write_node("m", "gwB", "127.0.0.2", "127.0.0.1", "passive = true;", "b", "a", "10.0.2.0/24",
               "10.0.1.0/24", 200);
    write_node("s", "gwB", "127.0.0.3", "127.0.0.1", "passive = true;", "b", "a", "10.0.2.0/24",
               "10.0.1.0/24", 100);
    static struct trio t;
    node_start(&t.m, "m", NODE_M);
    run_until(m_connected, &t, 2000, "M connected");
    node_start(&t.s, "s", NODE_S);
    run_until(roles_settled, &t, 5000, "election: M master, S standby in sync");
    node_start(&t.a, "a", 0);
    run_until(mirrored, &t, 5000, "tunnel up and mirrored");
    if (hasync_cpg_local_node(t.m.ha->cpg) != NODE_M || hasync_cpg_local_node(t.s.ha->cpg) != NODE_S)
        die("node ids");
    /* the election's announcements may repeat under load: a few are enough */
    size_t n_roles = 0;
    for (size_t i = 0; i < fcpg.n_wire; i++)
        if (fcpg.wire[i].from == NODE_M)
            capture_cpg(fcpg.wire[i].data, fcpg.wire[i].len, &n_roles);
    const struct capt *ike = NULL, *child = NULL;
    for (size_t i = 0; i < w.n_msgs; i++) {
        if (!ike && w.msgs[i].body == HASYNC__ENVELOPE__BODY_IKE_SA_ADD)
            ike = &w.msgs[i];
        if (!child && w.msgs[i].body == HASYNC__ENVELOPE__BODY_CHILD_SA_ADD)
            child = &w.msgs[i];
    }
    if (!ike || !child) {
        fprintf(stderr, "fuzz_ha_apply: %zu on the wire, %zu kept:", fcpg.n_wire, w.n_msgs);
        for (size_t i = 0; i < fcpg.n_wire; i++)
            fprintf(stderr, " from %u len %zu", fcpg.wire[i].from, fcpg.wire[i].len);
        for (size_t i = 0; i < w.n_msgs; i++)
            fprintf(stderr, " %s", hasync_body_name(w.msgs[i].body));
        fprintf(stderr, "\n");
        die("no IkeSaAdd / ChildSaAdd captured");
    }
    for (uint8_t k = 0; k < N_SAS; k++)
        clone_sa(ike, child, k, &w.ike[k], &w.child[k]);
    node_stop(&t.a);
    node_stop(&t.m);
    node_stop(&t.s);
    fcpg_wire_clear();
    const char *seeds = getenv("FUZZ_HA_SEEDS");
    if (seeds)
        write_seeds(seeds);
    w.ready = true;
}

/* ---- one daemon fed one input ---------------------------------------------- */

struct fx {
    struct daemon d;
    uint32_t self, other;
    struct hasync_rxseq rx;
    uint64_t next_seq[5]; /* per sender choice */
    cpg_handle_t other_h; /* node 1 */
};

static uint32_t sender_of(const struct fx *f, unsigned pick, uint32_t *pid)
{
    *pid = 1000;
    switch (pick & 3) {
    case 0: return f->other;
    case 1: return 5;
    case 2: return 4;
    default: *pid = 2000; return f->self;
    }
}

/* What hasync_cpg.c's on_deliver does with a message from (node, pid):
 * unpack + validate, drop stale ones, hand it to ha_node_deliver(). */
static void deliver(struct fx *f, unsigned ctl, const uint8_t *msg, size_t len)
{
    uint32_t pid, node = sender_of(f, ctl, &pid);
    char err[160];
    enum hasync_drop why;
    Hasync__Envelope *env = hasync_codec_unpack(msg, len, node, &why, err, sizeof(err));
    if (!env)
        return;
    if (env->body_case != HASYNC__ENVELOPE__BODY_ACK) {
        if (ctl & 4)
            env->seq = ++f->next_seq[ctl & 3];
        struct hasync_member from = {.node = node, .pid = pid};
        uint64_t expected;
        enum hasync_seq_verdict v = hasync_rxseq_check(&f->rx, from, env->seq, &expected);
        if (v != HASYNC_SEQ_STALE && v != HASYNC_SEQ_FULL)
            ha_node_deliver(f->d.ha, env);
        if (env->seq > f->next_seq[ctl & 3])
            f->next_seq[ctl & 3] = env->seq;
    }
    hasync_codec_free(env);
    if (ctl & 8) { /* the sender leaves the group */
        struct hasync_member left = {.node = node, .pid = pid};
        struct hasync_member me = {.node = f->self, .pid = (uint32_t)getpid()};
        hasync_rxseq_forget(&f->rx, left);
        f->next_seq[ctl & 3] = 0;
        ha_bulk_membership(f->d.ha, &left, 1);
        ha_role_membership(f->d.ha, &me, 1, &left, 1);
    }
}

/* The mirror's bookkeeping after each record: every passive SA of gwB is
 * found by its SPIs, and the standby never became active by itself. */
static void check(struct fx *f)
{
    struct gateway *gw = gw_find(&f->d, "gwB");
    struct gw_sa *gs;
    TAILQ_FOREACH(gs, &gw->sas, link) {
        if (!gs->sa || gs->dying || !ike_sa_is_passive(gs->sa))
            continue;
        struct ike_sa_export ex;
        struct ike_diag dg = {0};
        if (ike_sa_export(gs->sa, &ex, &dg) != IKE_OK)
            continue;
        struct gw_sa *found = ha_find_sa(f->d.ha, ex.spi_i, ex.spi_r);
        ike_export_wipe(&ex, sizeof(ex));
        if (found != gs)
            die("a passive SA is not found by its SPIs");
    }
    /* THE invariant: SAs are active only where the election says master */
    const struct ha_vc *vc = &f->d.ha->vcs[0];
    if (vc->active && vc->role != HASYNC_ROLE_MASTER)
        die("a vcluster active without being master");
}

/* Node 1 in the CPG group as a bare handle: a member the fixture sees, never
 * dispatched (what the fixture sends it queues until cpg_finalize). */
static cpg_handle_t other_join(void)
{
    cpg_handle_t h;
    cpg_model_v1_data_t model = {.model = CPG_MODEL_V1};
    fcpg.next_node = NODE_M;
    if (cpg_model_initialize(&h, CPG_MODEL_V1, (cpg_model_data_t *)&model, NULL) != CS_OK)
        die("other node");
    struct cpg_name g = {.length = sizeof("haiked-fuzz") - 1};
    memcpy(g.value, "haiked-fuzz", g.length);
    if (cpg_join(h, &g) != CS_OK)
        die("other node join");
    fcpg.next_node = 0;
    return h;
}

static bool sees_other(void *arg)
{
    struct fx *f = arg;
    return hasync_cpg_peer_count(f->d.ha->cpg) == 1;
}

/* The loop's pending work, without waiting. */
static void spin(bool (*pred)(void *), void *arg, const char *what)
{
    for (int i = 0; i < 200 && !pred(arg); i++)
        event_base_loop(w.base, EVLOOP_NONBLOCK);
    if (!pred(arg))
        die(what);
}

/* A body of vcluster 1 from node 1, packed and delivered (next seq). */
static void other_sends(struct fx *f, Hasync__Envelope *e)
{
    e->has_version = e->has_sender = e->has_seq = e->has_vcluster = true;
    e->version = 1;
    e->sender = NODE_M;
    e->vcluster = 1;
    e->seq = 1;
    uint8_t *buf;
    size_t len;
    if (hasync_codec_pack(e, &buf, &len) != 0)
        die("pack");
    deliver(f, 4, buf, len);
    free(buf);
}

static void other_announces(struct fx *f, Hasync__RoleAnnounce__Role role, uint32_t priority)
{
    Hasync__RoleAnnounce ra = HASYNC__ROLE_ANNOUNCE__INIT;
    ra.has_role = ra.has_priority = true;
    ra.role = role;
    ra.priority = priority;
    ra.node_name = "other";
    Hasync__Envelope e = HASYNC__ENVELOPE__INIT;
    e.body_case = HASYNC__ENVELOPE__BODY_ROLE;
    e.role = &ra;
    other_sends(f, &e);
}

/* A connected daemon in a group with node 1; the real election decides by
 * node 1's announcements: master first (we stand by, the SAs come on the
 * stream, then the bulk sync we asked for completes), and for the master
 * fixture node 1 then stands by with a lower priority (we take over). */
static void fx_start(struct fx *f, bool standby)
{
    memset(f, 0, sizeof(*f));
    f->self = standby ? NODE_S : 3;
    f->other = NODE_M;
    f->other_h = other_join();
    node_start(&f->d, standby ? "s" : "m", f->self);
    spin(sees_other, f, "the fixture joined the group");
    struct ha_vc *vc = &f->d.ha->vcs[0];
    other_announces(f, HASYNC__ROLE_ANNOUNCE__ROLE__ROLE_MASTER, 250);
    if (vc->active || vc->sync != HA_SYNC_SYNCING)
        die("the election did not make the fixture ask for a bulk sync");
    for (size_t k = 0; k < N_SAS; k++) {
        deliver(f, 4, w.ike[k].data, w.ike[k].len);
        deliver(f, 4, w.child[k].data, w.child[k].len);
    }
    if (f->d.dp.n_children != N_SAS)
        die("the fixture's SAs were not imported");
    Hasync__SnapshotDone dn = HASYNC__SNAPSHOT_DONE__INIT;
    dn.has_snapshot_id = dn.has_n_ike = dn.has_n_child = true;
    dn.snapshot_id = 1;
    Hasync__Envelope e = HASYNC__ENVELOPE__INIT;
    e.body_case = HASYNC__ENVELOPE__BODY_SNAPSHOT_DONE;
    e.snapshot_done = &dn;
    other_sends(f, &e);
    if (vc->sync != HA_SYNC_IN_SYNC || f->d.dp.n_children != N_SAS ||
        vc->role != HASYNC_ROLE_STANDBY)
        die("the fixture's bulk sync");
    if (!standby) {
        other_announces(f, HASYNC__ROLE_ANNOUNCE__ROLE__ROLE_STANDBY, 10);
        if (!vc->active || vc->role != HASYNC_ROLE_MASTER)
            die("the election did not make the fixture master");
    }
    f->d.ha->stats = (struct ha_stats){0};
}

static void fx_stop(struct fx *f)
{
    node_stop(&f->d);
    cpg_finalize(f->other_h);
    fcpg_wire_clear();
}

static void fx_run(bool standby, const uint8_t *data, size_t size)
{
    static struct fx f;
    fx_start(&f, standby);
    size_t steps = 0;
    while (size >= 3 && steps++ < MAX_STEPS) {
        unsigned ctl = data[0];
        size_t len = (size_t)data[1] << 8 | data[2];
        data += 3, size -= 3;
        if (len > size)
            len = size;
        deliver(&f, ctl, data, len);
        data += len, size -= len;
        check(&f);
    }
    fx_stop(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!w.ready)
        world_make();
    if (size < 1)
        return 0;
    unsigned which = data[0] & 3;
    if (which != 2)
        fx_run(true, data + 1, size - 1);
    if (which != 1)
        fx_run(false, data + 1, size - 1);
    return 0;
}

/* ---- seeds ------------------------------------------------------------------ */

struct seed {
    uint8_t buf[16384];
    size_t len;
};

static void seed_rec(struct seed *s, unsigned ctl, const uint8_t *msg, size_t len)
{
    if (s->len + 3 + len > sizeof(s->buf))
        return;
    s->buf[s->len++] = (uint8_t)ctl;
    s->buf[s->len++] = (uint8_t)(len >> 8);
    s->buf[s->len++] = (uint8_t)len;
    memcpy(s->buf + s->len, msg, len);
    s->len += len;
}

/* A message built here (the codec's own pack), as a record. */
static void seed_env(struct seed *s, unsigned ctl, Hasync__Envelope *e, uint32_t sender)
{
    e->has_version = e->has_sender = e->has_seq = e->has_vcluster = true;
    e->version = 1;
    e->sender = sender;
    e->vcluster = 1;
    e->seq = 1;
    uint8_t *buf;
    size_t len;
    if (hasync_codec_pack(e, &buf, &len) != 0)
        die("seed pack");
    seed_rec(s, ctl, buf, len);
    free(buf);
}

static void seed_write(const char *dir, const char *name, const struct seed *s)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(s->buf, 1, s->len, f) != s->len || fclose(f) != 0)
        die("seed write");
}

static void write_seeds(const char *dir)
{
    struct seed s;
    char name[64];
    /* each captured message alone, to both daemons, next seq */
    for (size_t i = 0; i < w.n_msgs; i++) {
        s.len = 0;
        s.buf[s.len++] = 0;
        seed_rec(&s, 4, w.msgs[i].data, w.msgs[i].len);
        snprintf(name, sizeof(name), "capture_%02zu_%s", i, hasync_body_name(w.msgs[i].body));
        seed_write(dir, name, &s);
    }
    /* the whole stream */
    s.len = 0;
    s.buf[s.len++] = 0;
    for (size_t i = 0; i < w.n_msgs; i++)
        seed_rec(&s, 4, w.msgs[i].data, w.msgs[i].len);
    seed_write(dir, "stream_all", &s);

    /* add -> update -> del -> CHILD add to the deleted SA -> add again */
    Hasync__IkeSaAdd *ia = NULL;
    char err[160];
    enum hasync_drop why;
    Hasync__Envelope *add = hasync_codec_unpack(w.ike[0].data, w.ike[0].len, NODE_M, &why, err,
                                                sizeof(err));
    if (!add)
        die("seed unpack");
    ia = add->ike_sa_add;
    s.len = 0;
    s.buf[s.len++] = 1;
    {
        struct capt fresh, fresh_child;
        clone_sa(&w.ike[0], &w.child[0], 0x40, &fresh, &fresh_child);
        seed_rec(&s, 4, fresh.data, fresh.len);
        Hasync__IkeSaUpdate up = HASYNC__IKE_SA_UPDATE__INIT;
        up.spi_i = ia->spi_i, up.spi_r = ia->spi_r;
        up.spi_i.data[0] ^= 0x40, up.spi_r.data[0] ^= 0x40;
        up.has_spi_i = up.has_spi_r = true;
        Hasync__Envelope e = HASYNC__ENVELOPE__INIT;
        e.body_case = HASYNC__ENVELOPE__BODY_IKE_SA_UPDATE;
        e.ike_sa_update = &up;
        seed_env(&s, 4, &e, NODE_M);
        Hasync__IkeSaDel del = HASYNC__IKE_SA_DEL__INIT;
        del.spi_i = up.spi_i, del.spi_r = up.spi_r;
        del.has_spi_i = del.has_spi_r = true;
        e = (Hasync__Envelope)HASYNC__ENVELOPE__INIT;
        e.body_case = HASYNC__ENVELOPE__BODY_IKE_SA_DEL;
        e.ike_sa_del = &del;
        seed_env(&s, 4, &e, NODE_M);
        seed_rec(&s, 4, fresh_child.data, fresh_child.len);
        seed_rec(&s, 4, fresh.data, fresh.len);
        seed_rec(&s, 4, fresh_child.data, fresh_child.len);
        up.spi_i.data[0] ^= 0x40, up.spi_r.data[0] ^= 0x40;
        free(fresh.data);
        free(fresh_child.data);
    }
    seed_write(dir, "seq_add_update_del_child", &s);
    hasync_codec_free(add);

    /* bulk request, then a master's announcement, then a standby's */
    s.len = 0;
    s.buf[s.len++] = 2;
    {
        Hasync__BulkRequest br = HASYNC__BULK_REQUEST__INIT;
        Hasync__Envelope e = HASYNC__ENVELOPE__INIT;
        e.body_case = HASYNC__ENVELOPE__BODY_BULK_REQUEST;
        e.bulk_request = &br;
        seed_env(&s, 4, &e, NODE_M);
        for (size_t i = 0; i < w.n_msgs; i++)
            if (w.msgs[i].body == HASYNC__ENVELOPE__BODY_ROLE)
                seed_rec(&s, 4, w.msgs[i].data, w.msgs[i].len);
    }
    seed_write(dir, "master_bulk_role", &s);

    /* the master's snapshot (chunks + done), replayed to both */
    s.len = 0;
    s.buf[s.len++] = 0;
    for (size_t i = 0; i < w.n_msgs; i++)
        if (w.msgs[i].body == HASYNC__ENVELOPE__BODY_SNAPSHOT_CHUNK ||
            w.msgs[i].body == HASYNC__ENVELOPE__BODY_SNAPSHOT_DONE ||
            w.msgs[i].body == HASYNC__ENVELOPE__BODY_ROLE)
            seed_rec(&s, 4, w.msgs[i].data, w.msgs[i].len);
    for (size_t k = 0; k < N_SAS; k++) {
        seed_rec(&s, 4, w.ike[k].data, w.ike[k].len);
        seed_rec(&s, 4, w.child[k].data, w.child[k].len);
    }
    seed_write(dir, "snapshot_and_role", &s);

    /* a peer's offer naming the fixture's first SA twice, each newer than
     * ours, with its CHILD SA, then the done: merged on both daemons */
    s.len = 0;
    s.buf[s.len++] = 0;
    {
        Hasync__Envelope *a = hasync_codec_unpack(w.ike[0].data, w.ike[0].len, NODE_M, &why, err,
                                                  sizeof(err));
        Hasync__Envelope *b = hasync_codec_unpack(w.ike[0].data, w.ike[0].len, NODE_M, &why, err,
                                                  sizeof(err));
        Hasync__Envelope *ch = hasync_codec_unpack(w.child[0].data, w.child[0].len, NODE_M, &why,
                                                   err, sizeof(err));
        if (!a || !b || !ch)
            die("seed unpack");
        a->ike_sa_add->msgid_recv_next += 1;
        b->ike_sa_add->msgid_recv_next += 2;
        Hasync__IkeSaAdd *ikes[2] = {a->ike_sa_add, b->ike_sa_add};
        Hasync__ChildSaAdd *kids[1] = {ch->child_sa_add};
        Hasync__SnapshotChunk sc = HASYNC__SNAPSHOT_CHUNK__INIT;
        sc.has_snapshot_id = true;
        sc.snapshot_id = 9;
        sc.n_ike = 2;
        sc.ike = ikes;
        sc.n_child = 1;
        sc.child = kids;
        Hasync__Envelope e = HASYNC__ENVELOPE__INIT;
        e.body_case = HASYNC__ENVELOPE__BODY_SNAPSHOT_CHUNK;
        e.snapshot_chunk = &sc;
        seed_env(&s, 4, &e, NODE_M);
        Hasync__SnapshotDone dn = HASYNC__SNAPSHOT_DONE__INIT;
        dn.has_snapshot_id = dn.has_n_ike = dn.has_n_child = true;
        dn.snapshot_id = 9;
        dn.n_ike = 2;
        dn.n_child = 1;
        e = (Hasync__Envelope)HASYNC__ENVELOPE__INIT;
        e.body_case = HASYNC__ENVELOPE__BODY_SNAPSHOT_DONE;
        e.snapshot_done = &dn;
        seed_env(&s, 4, &e, NODE_M);
        hasync_codec_free(a);
        hasync_codec_free(b);
        hasync_codec_free(ch);
    }
    seed_write(dir, "merge_offer_twice", &s);

    /* IKE rekeys: a new SA replacing the fixture's first (its CHILD SA
     * moves), and one naming itself as the SA it replaces */
    for (int self = 0; self < 2; self++) {
        s.len = 0;
        s.buf[s.len++] = 0;
        struct capt fresh, fresh_child;
        clone_sa(&w.ike[0], &w.child[0], 0x60, &fresh, &fresh_child);
        Hasync__Envelope *a = hasync_codec_unpack(fresh.data, fresh.len, NODE_M, &why, err,
                                                  sizeof(err));
        Hasync__Envelope *old = hasync_codec_unpack(w.ike[0].data, w.ike[0].len, NODE_M, &why,
                                                    err, sizeof(err));
        if (!a || !old)
            die("seed unpack");
        Hasync__IkeSaAdd *m = a->ike_sa_add;
        const Hasync__IkeSaAdd *r = self ? m : old->ike_sa_add;
        uint8_t rep_i[IKE_SPI_LEN], rep_r[IKE_SPI_LEN];
        memcpy(rep_i, r->spi_i.data, IKE_SPI_LEN);
        memcpy(rep_r, r->spi_r.data, IKE_SPI_LEN);
        ProtobufCBinaryData keep_i = m->replaces_spi_i, keep_r = m->replaces_spi_r;
        m->has_replaces_spi_i = m->has_replaces_spi_r = true;
        m->replaces_spi_i = (ProtobufCBinaryData){IKE_SPI_LEN, rep_i};
        m->replaces_spi_r = (ProtobufCBinaryData){IKE_SPI_LEN, rep_r};
        seed_env(&s, 4, a, NODE_M);
        m->replaces_spi_i = keep_i, m->replaces_spi_r = keep_r; /* ours to free */
        seed_rec(&s, 4, fresh_child.data, fresh_child.len);
        seed_write(dir, self ? "ike_rekey_replaces_itself" : "ike_rekey", &s);
        hasync_codec_free(a);
        hasync_codec_free(old);
        free(fresh.data);
        free(fresh_child.data);
    }
}
