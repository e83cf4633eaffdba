/*
 * ike_loadgen command line. Proposals use haiked's own proposal parser
 * (daemon/config/proposal_parse.c, compiled in) so the benchmark speaks
 * exactly the strings the daemon's config accepts.
 */
#include "lg_opts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ike/const.h>
#include <ike/secret.h>

#include "config/proposal_parse.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: ike_loadgen --remote ADDR[:PORT] --local ADDR[,ADDR...] [options]\n"
            "  --count N            tunnels to establish (default 1000)\n"
            "  --concurrency N      exchanges in flight (default 64)\n"
            "  --ports N            source ports (sockets) per local address (default 16)\n"
            "  --proposal P         IKE proposal (default aes128-sha256-ecp256)\n"
            "  --esp P              ESP proposal of the CHILD SA (default aes128-sha256)\n"
            "  --psk-file FILE      PSK on the first line (else $IKE_LOADGEN_PSK)\n"
            "  --local-id FMT       our ID, %%u = tunnel index (default @lg%%u.bench)\n"
            "  --remote-id ID       required peer ID (default any)\n"
            "  --remote-ts CIDR     selector behind the peer (default 192.0.2.0/25)\n"
            "  --inner-net ADDR     tunnel i proposes ADDR+i/32 as its side (default 10.0.0.0)\n"
            "  --retransmit-ms MS   first retransmission (default 2000)\n"
            "  --timeout S          give up after S seconds (default 300)\n"
            "  --peer-pid PID       sample the responder's CPU and RSS per phase\n"
            "  --keep               leave the tunnels up (no Delete phase)\n"
            "  --hold S             with --keep: stay S seconds after establishing and answer\n"
            "                       the responder's exchanges (its rekeys: child_installs)\n"
            "  --churn              delete each tunnel as soon as it is up (one phase)\n"
            "  --json               one JSON object instead of key=value lines\n"
            "  --initial-contact    send INITIAL_CONTACT in every IKE_AUTH (each tunnel has\n"
            "                       its own ID, so the responder drops nothing but looks)\n"
            "IKE_LOADGEN_VERBOSE=1 prints libike's error lines (failed tunnels).\n");
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
        fprintf(stderr, "ike_loadgen: '%s' is not a number in %llu..%llu\n", s,
                (unsigned long long)min, (unsigned long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

/* "a.b.c.d", "a.b.c.d:port", "[v6]:port" or "v6". */
static int parse_addr(const char *text, uint16_t def_port, struct ike_addr *a)
{
    char buf[80];
    if (strlen(text) >= sizeof(buf))
        return -1;
    strcpy(buf, text);
    char *host = buf, *port = NULL;
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (!close)
            return -1;
        *close = '\0';
        host = buf + 1;
        if (close[1] == ':')
            port = close + 2;
        else if (close[1])
            return -1;
    } else if (strchr(buf, ':') == strrchr(buf, ':') && strchr(buf, ':')) {
        port = strchr(buf, ':');
        *port++ = '\0';
    }
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, host, a->addr) == 1)
        a->family = IKE_AF_INET;
    else if (inet_pton(AF_INET6, host, a->addr) == 1)
        a->family = IKE_AF_INET6;
    else
        return -1;
    uint64_t p = def_port;
    if (port && parse_u64(port, 0, 65535, &p) < 0)
        return -1;
    a->port = (uint16_t)p;
    return 0;
}

static int parse_locals(char *list, struct lg_opts *o)
{
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (o->n_local == LG_MAX_LOCAL || parse_addr(tok, 0, &o->local[o->n_local]) < 0) {
            fprintf(stderr, "ike_loadgen: bad or too many --local address '%s'\n", tok);
            return -1;
        }
        o->n_local++;
    }
    return 0;
}

/* An IPv4 prefix "a.b.c.d/len" as an address range selector. */
static int parse_cidr4(const char *text, struct ike_ts *ts)
{
    char buf[40];
    const char *slash = strchr(text, '/');
    uint64_t bits = 32;
    if (strlen(text) >= sizeof(buf))
        return -1;
    strcpy(buf, text);
    if (slash) {
        buf[slash - text] = '\0';
        if (parse_u64(slash + 1, 0, 32, &bits) < 0)
            return -1;
    }
    struct in_addr in;
    if (inet_pton(AF_INET, buf, &in) != 1)
        return -1;
    uint32_t a = ntohl(in.s_addr);
    uint32_t mask = bits ? ~0u << (32 - bits) : 0;
    uint32_t lo = htonl(a & mask), hi = htonl((a & mask) | ~mask);
    memset(ts, 0, sizeof(*ts));
    ts->type = IKE_TS_IPV4_ADDR_RANGE;
    ts->end_port = 65535;
    memcpy(ts->start_addr, &lo, 4);
    memcpy(ts->end_addr, &hi, 4);
    return 0;
}

static int read_psk(const char *path, struct lg_opts *o)
{
    char line[512];
    const char *text = getenv("IKE_LOADGEN_PSK");
    if (path) {
        FILE *f = fopen(path, "r");
        if (!f) {
            fprintf(stderr, "ike_loadgen: %s: %s\n", path, strerror(errno));
            return -1;
        }
        text = fgets(line, sizeof(line), f);
        fclose(f);
        if (text)
            line[strcspn(line, "\r\n")] = '\0';
    }
    if (!text || !*text) {
        fprintf(stderr, "ike_loadgen: no PSK (--psk-file or $IKE_LOADGEN_PSK)\n");
        return -1;
    }
    struct ike_secret *psk = NULL;
    enum ike_status st = ike_secret_from((const uint8_t *)text, strlen(text), &psk);
    memset(line, 0, sizeof(line));
    if (st != IKE_OK)
        return -1;
    o->tmpl.psk = psk;
    return 0;
}

static int parse_proposals(const char *text, enum cfg_prop_kind kind, struct ike_cfg_proposal *out,
                           size_t *n)
{
    char err[256];
    /* The text is echoed into the JSON report unescaped. */
    if (strpbrk(text, "\"\\")) {
        fprintf(stderr, "ike_loadgen: proposal '%s' has quotes\n", text);
        return -1;
    }
    if (cfg_proposals_parse(text, kind, NULL, 0, out, n, err, sizeof(err)) < 0) {
        fprintf(stderr, "ike_loadgen: %s proposal '%s': %s\n", kind == CFG_PROP_IKE ? "IKE" : "ESP",
                text, err);
        return -1;
    }
    return 0;
}

static void defaults(struct lg_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->ports_per_addr = 16;
    o->count = 1000;
    o->concurrency = 64;
    o->timeout_s = 300;
    o->retransmit_ms = 2000;
    o->local_id_fmt = "@lg%u.bench";
    o->inner_base = 0x0a000000; /* 10.0.0.0 */
    parse_cidr4("192.0.2.0/25", &o->remote_ts);
    snprintf(o->ike_proposal_text, sizeof(o->ike_proposal_text), "aes128-sha256-ecp256");
    snprintf(o->esp_proposal_text, sizeof(o->esp_proposal_text), "aes128-sha256");
}

enum {
    OPT_REMOTE = 256,
    OPT_LOCAL,
    OPT_COUNT,
    OPT_CONC,
    OPT_PORTS,
    OPT_PROP,
    OPT_ESP,
    OPT_PSKF,
    OPT_LID,
    OPT_RID,
    OPT_RTS,
    OPT_INNER,
    OPT_RETR,
    OPT_TIMEOUT,
    OPT_PID,
    OPT_KEEP,
    OPT_HOLD,
    OPT_CHURN,
    OPT_JSON,
    OPT_IC
};

static const struct option longopts[] = {
    {"remote", required_argument, NULL, OPT_REMOTE},
    {"local", required_argument, NULL, OPT_LOCAL},
    {"count", required_argument, NULL, OPT_COUNT},
    {"concurrency", required_argument, NULL, OPT_CONC},
    {"ports", required_argument, NULL, OPT_PORTS},
    {"proposal", required_argument, NULL, OPT_PROP},
    {"esp", required_argument, NULL, OPT_ESP},
    {"psk-file", required_argument, NULL, OPT_PSKF},
    {"local-id", required_argument, NULL, OPT_LID},
    {"remote-id", required_argument, NULL, OPT_RID},
    {"remote-ts", required_argument, NULL, OPT_RTS},
    {"inner-net", required_argument, NULL, OPT_INNER},
    {"retransmit-ms", required_argument, NULL, OPT_RETR},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"peer-pid", required_argument, NULL, OPT_PID},
    {"keep", no_argument, NULL, OPT_KEEP},
    {"hold", required_argument, NULL, OPT_HOLD},
    {"churn", no_argument, NULL, OPT_CHURN},
    {"json", no_argument, NULL, OPT_JSON},
    {"initial-contact", no_argument, NULL, OPT_IC},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* One option; 0, or -1 after printing why. */
static int apply(int c, char *arg, struct lg_opts *o, const char **pskf, bool *have_remote)
{
    uint64_t v = 0;
    struct in_addr in;
    switch (c) {
    case OPT_REMOTE:
        *have_remote = parse_addr(arg, IKE_PORT, &o->remote) == 0;
        return *have_remote ? 0 : (fprintf(stderr, "ike_loadgen: bad --remote\n"), -1);
    case OPT_LOCAL: return parse_locals(arg, o);
    case OPT_COUNT: return parse_u64(arg, 1, 100000000, &o->count);
    case OPT_CONC:
        if (parse_u64(arg, 1, 100000, &v) < 0)
            return -1;
        o->concurrency = (unsigned)v;
        return 0;
    case OPT_PORTS:
        if (parse_u64(arg, 1, 4096, &v) < 0)
            return -1;
        o->ports_per_addr = (unsigned)v;
        return 0;
    case OPT_PROP:
    case OPT_ESP: {
        char *dst = c == OPT_PROP ? o->ike_proposal_text : o->esp_proposal_text;
        if (strlen(arg) >= sizeof(o->ike_proposal_text)) {
            fprintf(stderr, "ike_loadgen: proposal longer than %zu characters\n",
                    sizeof(o->ike_proposal_text) - 1);
            return -1;
        }
        strcpy(dst, arg);
        return 0;
    }
    case OPT_PSKF: *pskf = arg; return 0;
    case OPT_LID: o->local_id_fmt = arg; return 0;
    case OPT_RID: o->remote_id = arg; return 0;
    case OPT_RTS:
        return parse_cidr4(arg, &o->remote_ts) == 0
                   ? 0
                   : (fprintf(stderr, "ike_loadgen: bad --remote-ts '%s'\n", arg), -1);
    case OPT_INNER:
        if (inet_pton(AF_INET, arg, &in) != 1) {
            fprintf(stderr, "ike_loadgen: bad --inner-net '%s'\n", arg);
            return -1;
        }
        o->inner_base = ntohl(in.s_addr);
        return 0;
    case OPT_RETR:
        if (parse_u64(arg, 10, 60000, &v) < 0)
            return -1;
        o->retransmit_ms = (uint32_t)v;
        return 0;
    case OPT_TIMEOUT:
        if (parse_u64(arg, 1, 86400, &v) < 0)
            return -1;
        o->timeout_s = (unsigned)v;
        return 0;
    case OPT_PID:
        if (parse_u64(arg, 1, 1u << 30, &v) < 0)
            return -1;
        o->peer_pid = (int)v;
        return 0;
    case OPT_KEEP: o->keep = true; return 0;
    case OPT_HOLD:
        if (parse_u64(arg, 1, 86400, &v) < 0)
            return -1;
        o->hold_s = (unsigned)v;
        return 0;
    case OPT_CHURN: o->churn = true; return 0;
    case OPT_JSON: o->json = true; return 0;
    case OPT_IC: o->initial_contact = true; return 0;
    default: usage(); return -1;
    }
}

static int build_tmpl(struct lg_opts *o)
{
    struct ike_sa_cfg *t = &o->tmpl;
    struct ike_cfg_child *ch = &o->child;
    t->name = "loadgen";
    t->remote = o->remote;
    t->fragmentation = false;
    /* Off by default: many tunnels may share an ID (--local-id without
     * %u), and the responder would drop all but the newest. */
    t->initial_contact = o->initial_contact;
    t->dpd = IKE_DPD_OFF;
    if (parse_proposals(o->ike_proposal_text, CFG_PROP_IKE, t->proposals, &t->n_proposals) < 0 ||
        parse_proposals(o->esp_proposal_text, CFG_PROP_ESP, ch->proposals, &ch->n_proposals) < 0)
        return -1;
    ch->name = "bench";
    ch->remote_ts[0] = o->remote_ts;
    ch->n_remote_ts = 1;
    ch->n_local_ts = 1; /* filled per tunnel */
    if (o->remote_id && lg_id_make(o->remote_id, 0, &t->remote_id) < 0) {
        fprintf(stderr, "ike_loadgen: bad --remote-id '%s'\n", o->remote_id);
        return -1;
    }
    struct ike_cfg_id probe; /* the longest index fits, so every one does */
    if (lg_id_make(o->local_id_fmt, (unsigned)(o->count - 1), &probe) < 0) {
        fprintf(stderr, "ike_loadgen: bad --local-id '%s'\n", o->local_id_fmt);
        return -1;
    }
    return 0;
}

int lg_opts_parse(int argc, char **argv, struct lg_opts *o)
{
    defaults(o);
    const char *pskf = NULL;
    bool have_remote = false;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
        if (apply(c, optarg, o, &pskf, &have_remote) < 0)
            return -1;
    if (optind < argc || !have_remote || o->n_local == 0) {
        usage();
        return -1;
    }
    if (o->hold_s && (!o->keep || o->churn)) {
        fprintf(stderr, "ike_loadgen: --hold needs --keep (and no --churn)\n");
        return -1;
    }
    for (size_t i = 0; i < o->n_local; i++)
        if (o->local[i].family != o->remote.family) {
            fprintf(stderr, "ike_loadgen: --local and --remote differ in address family\n");
            return -1;
        }
    if (build_tmpl(o) < 0)
        return -1;
    return read_psk(pskf, o);
}

void lg_opts_free(struct lg_opts *o)
{
    ike_secret_free((struct ike_secret *)o->tmpl.psk);
    o->tmpl.psk = NULL;
}

int lg_id_make(const char *fmt, unsigned index, struct ike_cfg_id *out)
{
    char text[IKE_CFG_MAX_ID + 1];
    size_t n = 0;
    for (const char *p = fmt; *p; p++) {
        int w;
        if (p[0] == '%' && p[1] == 'u') {
            w = snprintf(text + n, sizeof(text) - n, "%u", index);
            p++;
        } else {
            w = snprintf(text + n, sizeof(text) - n, "%c", *p);
        }
        if (w < 0 || (size_t)w >= sizeof(text) - n)
            return -1;
        n += (size_t)w;
    }
    memset(out, 0, sizeof(*out));
    if (n == 0)
        return -1;
    if (inet_pton(AF_INET, text, out->data) == 1) {
        out->type = IKE_ID_IPV4_ADDR;
        out->len = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, text, out->data) == 1) {
        out->type = IKE_ID_IPV6_ADDR;
        out->len = 16;
        return 0;
    }
    const char *body = text;
    out->type = IKE_ID_FQDN;
    if (text[0] == '@')
        body++;
    else if (strchr(text, '@'))
        out->type = IKE_ID_RFC822_ADDR;
    out->len = strlen(body);
    if (out->len == 0)
        return -1;
    memcpy(out->data, body, out->len);
    return 0;
}

void lg_cfg_for(const struct lg_opts *o, uint64_t index, struct ike_sa_cfg *cfg,
                struct ike_cfg_child *child)
{
    *cfg = o->tmpl;
    *child = o->child;
    /* Cannot fail: build_tmpl tried the longest index. */
    (void)lg_id_make(o->local_id_fmt, (unsigned)index, &cfg->local_id);
    uint32_t inner = htonl(o->inner_base + (uint32_t)index);
    struct ike_ts *ts = &child->local_ts[0];
    memset(ts, 0, sizeof(*ts));
    ts->type = IKE_TS_IPV4_ADDR_RANGE;
    ts->end_port = 65535;
    memcpy(ts->start_addr, &inner, 4);
    memcpy(ts->end_addr, &inner, 4);
    child->n_local_ts = 1;
    cfg->children = child;
    cfg->n_children = 1;
}
