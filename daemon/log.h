/*
 * haiked's log: one line per event, in the style of the seed's FortiOS
 * debug output ("ike 0:FWEXT-VPN:1234: sent IKE msg (AUTH): ..."), i.e.
 * subsystem, VDOM, gateway name and the IKE SA's serial, then the text.
 * Levels are libike's (ERR, WARN, INFO, DEBUG) and set per subsystem;
 * filters by gateway name and peer address drop lines that do not match
 * (`hactl debug ike`). Secrets are never passed here.
 *
 * Sinks: a FILE (stderr in foreground; journald reads it under systemd)
 * or syslog when daemonized.
 */
#ifndef HAIKED_LOG_H
#define HAIKED_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <ike/ctx.h>

enum hlog_subsys {
    HLOG_IKE = 0, /* IKE SAs: libike's own lines and the daemon's about them */
    HLOG_NET,     /* sockets, datagrams in/out, drops */
    HLOG_CFG,     /* configuration load/reload */
    HLOG_CTL,     /* control socket */
    HLOG_DP,      /* data plane */
    HLOG_MAIN,    /* startup, signals, reload */
    HLOG_SYNC,    /* HA sync (later issues) */
    HLOG_SUBSYS_COUNT
};

#define HLOG_GW_NAME_MAX 64

/* Who a line is about; any field may be empty (NULL / 0). */
struct hlog_who {
    unsigned vdom;
    const char *gw;              /* gateway name */
    uint32_t serial;             /* IKE SA serial, 0 = none */
    const struct ike_addr *peer; /* for the peer filter */
};

struct hlog {
    int level[HLOG_SUBSYS_COUNT]; /* lines above their subsystem's level are dropped; -1 = off */
    FILE *out;                    /* NULL: syslog */
    bool timestamps;              /* prefix wall-clock time (foreground on a terminal/file) */
    /* `hactl debug` filters */
    char filter_gw[HLOG_GW_NAME_MAX]; /* "" = any */
    bool filter_peer_set;
    struct ike_addr filter_peer;  /* port ignored */
    uint64_t lines, filtered;
};

/* Every subsystem at `level`, output to out (NULL = syslog, opened as
 * "haiked"). */
void hlog_init(struct hlog *log, FILE *out, int level);
void hlog_close(struct hlog *log);
const char *hlog_subsys_name(enum hlog_subsys s);
/* "ike" -> HLOG_IKE; -1 if unknown. */
int hlog_subsys_parse(const char *name);
/* "err"/"warn"/"info"/"debug" or "0".."3"; -1 if unknown. */
int hlog_level_parse(const char *text);
void hlog_set_level(struct hlog *log, enum hlog_subsys s, int level);
void hlog_set_filter(struct hlog *log, const char *gw, const struct ike_addr *peer);
/* Would a line pass? (cheap: call before formatting expensive text) */
bool hlog_enabled(const struct hlog *log, enum hlog_subsys s, int level,
                  const struct hlog_who *who);

void hlog_write(struct hlog *log, enum hlog_subsys s, int level, const struct hlog_who *who,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Shorthand for lines about no gateway. */
#define hlog_sys(log, s, level, ...) hlog_write((log), (s), (level), NULL, __VA_ARGS__)

#endif
