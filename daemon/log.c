/* haiked's log sink and filters (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

static const char *const subsys_names[HLOG_SUBSYS_COUNT] = {"ike", "net", "cfg", "ctl", "dp", "main", "sync"};

const char *hlog_subsys_name(enum hlog_subsys s)
{
    return (unsigned)s < HLOG_SUBSYS_COUNT ? subsys_names[s] : "?";
}

int hlog_subsys_parse(const char *name)
{
    for (int i = 0; i < HLOG_SUBSYS_COUNT; i++)
        if (!strcasecmp(name, subsys_names[i]))
            return i;
    return -1;
}

int hlog_level_parse(const char *text)
{
    static const char *const names[] = {"err", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (!strcasecmp(text, names[i]))
            return i;
    if (text[0] >= '0' && text[0] <= '3' && text[1] == '\0')
        return text[0] - '0';
    return -1;
}

void hlog_init(struct hlog *log, FILE *out, int level)
{
    memset(log, 0, sizeof(*log));
    for (int i = 0; i < HLOG_SUBSYS_COUNT; i++)
        log->level[i] = level;
    log->out = out;
    if (!out)
        openlog("haiked", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void hlog_close(struct hlog *log)
{
    if (!log->out)
        closelog();
    else
        fflush(log->out);
}

void hlog_set_level(struct hlog *log, enum hlog_subsys s, int level)
{
    if ((unsigned)s < HLOG_SUBSYS_COUNT)
        log->level[s] = level < -1 ? -1 : level > IKE_LOG_DEBUG ? IKE_LOG_DEBUG : level;
}

void hlog_set_filter(struct hlog *log, const char *gw, const struct ike_addr *peer)
{
    snprintf(log->filter_gw, sizeof(log->filter_gw), "%s", gw ? gw : "");
    log->filter_peer_set = peer != NULL;
    if (peer)
        log->filter_peer = *peer;
}

static bool peer_matches(const struct ike_addr *filter, const struct ike_addr *a)
{
    if (!a || a->family != filter->family)
        return false;
    size_t n = a->family == IKE_AF_INET ? 4 : 16;
    return memcmp(a->addr, filter->addr, n) == 0;
}

bool hlog_enabled(const struct hlog *log, enum hlog_subsys s, int level,
                  const struct hlog_who *who)
{
    if ((unsigned)s >= HLOG_SUBSYS_COUNT || level > log->level[s])
        return false;
    if (log->filter_gw[0] && (!who || !who->gw || strcmp(who->gw, log->filter_gw)))
        return false;
    if (log->filter_peer_set && (!who || !peer_matches(&log->filter_peer, who->peer)))
        return false;
    return true;
}

static int syslog_prio(int level)
{
    switch (level) {
    case IKE_LOG_ERR: return LOG_ERR;
    case IKE_LOG_WARN: return LOG_WARNING;
    case IKE_LOG_INFO: return LOG_INFO;
    default: return LOG_DEBUG;
    }
}

/* "ike 0:GW:12: " / "net 0: " */
static size_t format_prefix(char *buf, size_t size, enum hlog_subsys s, const struct hlog_who *who)
{
    int n;
    if (who && who->gw && who->serial)
        n = snprintf(buf, size, "%s %u:%s:%u: ", hlog_subsys_name(s), who->vdom, who->gw,
                     who->serial);
    else if (who && who->gw)
        n = snprintf(buf, size, "%s %u:%s: ", hlog_subsys_name(s), who->vdom, who->gw);
    else
        n = snprintf(buf, size, "%s %u: ", hlog_subsys_name(s), who ? who->vdom : 0);
    return n < 0 ? 0 : (size_t)n >= size ? size - 1 : (size_t)n;
}

void hlog_write(struct hlog *log, enum hlog_subsys s, int level, const struct hlog_who *who,
                const char *fmt, ...)
{
    if (!hlog_enabled(log, s, level, who)) {
        log->filtered++;
        return;
    }
    char line[1024];
    size_t n = format_prefix(line, sizeof(line), s, who);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    /* One event, one line: a peer-controlled string must not split it. */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    log->lines++;
    if (!log->out) {
        syslog(syslog_prio(level), "%s", line);
        return;
    }
    if (log->timestamps) {
        struct timespec ts;
        struct tm tm;
        char t[32];
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
        fprintf(log->out, "%s.%03ldZ %s\n", t, ts.tv_nsec / 1000000, line);
    } else {
        fprintf(log->out, "%s\n", line);
    }
    fflush(log->out);
}
