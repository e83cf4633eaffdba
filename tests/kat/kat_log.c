#include "kat_log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "192.0.2.0/25" (or IPv6) as an address range. */
static int parse_ts(const char *text, struct kat_log_ts *ts)
{
    char addr[64];
    const char *slash = strchr(text, '/');
    if (!slash || (size_t)(slash - text) >= sizeof(addr))
        return -1;
    memcpy(addr, text, (size_t)(slash - text));
    addr[slash - text] = '\0';
    int bits = atoi(slash + 1);
    memset(ts, 0, sizeof(*ts));
    ts->ipv6 = strchr(addr, ':') != NULL;
    size_t len = ts->ipv6 ? 16 : 4;
    if (inet_pton(ts->ipv6 ? AF_INET6 : AF_INET, addr, ts->start) != 1 || bits < 0 ||
        (size_t)bits > 8 * len)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int keep = bits - 8 * (int)i; /* prefix bits inside this octet */
        uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
        ts->start[i] &= mask;
        ts->end[i] = (uint8_t)(ts->start[i] | (uint8_t)~mask);
    }
    return 0;
}

/* "[moon.lab.example]" following `from` in line. */
static int bracketed(const char *from, char *out, const char **after)
{
    const char *open = strchr(from, '['), *close = open ? strchr(open, ']') : NULL;
    if (!close || (size_t)(close - open - 1) >= KAT_LOG_ID_MAX)
        return -1;
    memcpy(out, open + 1, (size_t)(close - open - 1));
    out[close - open - 1] = '\0';
    *after = close + 1;
    return 0;
}

static void parse_line(const char *line, struct kat_log *log, bool *have_ike, bool *have_child)
{
    const char *p;
    if (!*have_ike && strstr(line, "IKE_SA ") &&
        (p = strstr(line, " established between ")) != NULL) {
        const char *rest;
        *have_ike = bracketed(p, log->id_i, &rest) == 0 && bracketed(rest, log->id_r, &rest) == 0;
    }
    if (!*have_child && (p = strstr(line, "established with SPIs ")) != NULL) {
        char local[64], remote[64];
        unsigned in, out;
        if (sscanf(p, "established with SPIs %x_i %x_o and TS %63s === %63s", &in, &out, local,
                   remote) == 4 &&
            parse_ts(local, &log->ts_local) == 0 && parse_ts(remote, &log->ts_remote) == 0) {
            log->child_spi_in = in;
            log->child_spi_out = out;
            *have_child = true;
        }
    }
    unsigned spi;
    if ((p = strstr(line, "sending DELETE for ESP CHILD_SA with SPI ")) != NULL &&
        sscanf(p, "sending DELETE for ESP CHILD_SA with SPI %x", &spi) == 1 && !log->deleted_esp) {
        log->deleted_esp = true;
        log->deleted_esp_spi = spi;
    }
    if (strstr(line, "sending DELETE for IKE_SA"))
        log->deleted_ike = true;
}

int kat_log_load(const char *dir, struct kat_log *out)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/initiator.log", dir);
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "kat: cannot open %s\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    bool have_ike = false, have_child = false;
    while (getline(&line, &cap, f) > 0)
        parse_line(line, out, &have_ike, &have_child);
    free(line);
    fclose(f);
    if (!have_ike || !have_child || !out->deleted_esp || !out->deleted_ike) {
        fprintf(stderr, "kat: %s lacks the IKE_SA established / CHILD_SA established / DELETE "
                        "lines\n", path);
        return -1;
    }
    return 0;
}
