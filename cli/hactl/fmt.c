/* Human-readable pieces of hactl's listings. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "hactl.h"

const char *hactl_str(const char *s)
{
    return s && s[0] ? s : "-";
}

void hactl_print_hex(FILE *f, const ProtobufCBinaryData *b)
{
    if (!b->len) {
        fputc('-', f);
        return;
    }
    for (size_t i = 0; i < b->len; i++)
        fprintf(f, "%02x", b->data[i]);
}

void hactl_print_key(FILE *f, const ProtobufCBinaryData *b)
{
    if (!b->len) {
        fputc('-', f);
        return;
    }
    for (size_t i = 0; i < b->len; i++) {
        if (i && i % 8 == 0)
            fputc('-', f);
        fprintf(f, "%02x", b->data[i]);
    }
}

const char *hactl_duration(uint64_t secs, char *buf, size_t size)
{
    uint64_t d = secs / 86400, h = secs / 3600 % 24, m = secs / 60 % 60, s = secs % 60;
    if (d)
        snprintf(buf, size, "%llud%02lluh%02llum", (unsigned long long)d, (unsigned long long)h,
                 (unsigned long long)m);
    else if (h)
        snprintf(buf, size, "%lluh%02llum%02llus", (unsigned long long)h, (unsigned long long)m,
                 (unsigned long long)s);
    else if (m)
        snprintf(buf, size, "%llum%02llus", (unsigned long long)m, (unsigned long long)s);
    else
        snprintf(buf, size, "%llus", (unsigned long long)s);
    return buf;
}

const char *hactl_endpoint(const Ctl__Endpoint *e, char *buf, size_t size)
{
    if (!e || !e->addr)
        snprintf(buf, size, "-");
    else if (strchr(e->addr, ':'))
        snprintf(buf, size, "[%s]:%u", e->addr, e->port);
    else
        snprintf(buf, size, "%s:%u", e->addr, e->port);
    return buf;
}

/* The prefix length if [start, end] is exactly one CIDR block, else -1. */
static int range_prefix(const char *start, const char *end)
{
    unsigned char a[16], b[16];
    int len;
    if (inet_pton(AF_INET, start, a) == 1 && inet_pton(AF_INET, end, b) == 1)
        len = 4;
    else if (inet_pton(AF_INET6, start, a) == 1 && inet_pton(AF_INET6, end, b) == 1)
        len = 16;
    else
        return -1;
    int bits = 0;
    bool in_host = false;
    for (int i = 0; i < len * 8; i++) {
        int sa = a[i / 8] >> (7 - i % 8) & 1, sb = b[i / 8] >> (7 - i % 8) & 1;
        if (!in_host && sa == sb) {
            bits++;
            continue;
        }
        in_host = true;
        if (sa != 0 || sb != 1)
            return -1;
    }
    return bits;
}

const char *hactl_selector(const Ctl__Selector *s, char *buf, size_t size)
{
    char addr[96], ports[16];
    const char *start = hactl_str(s->start_addr), *end = hactl_str(s->end_addr);
    int prefix = range_prefix(start, end);
    if (prefix >= 0)
        snprintf(addr, sizeof(addr), "%s/%d", start, prefix);
    else
        snprintf(addr, sizeof(addr), "%s-%s", start, end);
    if (s->start_port == 0 && s->end_port == 65535)
        snprintf(ports, sizeof(ports), "0");
    else if (s->start_port == s->end_port)
        snprintf(ports, sizeof(ports), "%u", s->start_port);
    else
        snprintf(ports, sizeof(ports), "%u-%u", s->start_port, s->end_port);
    snprintf(buf, size, "%u:%s:%s", s->ip_proto, addr, ports);
    return buf;
}

void hactl_print_drops(FILE *f, Ctl__DropCount **d, size_t n)
{
    bool any = false;
    for (size_t i = 0; i < n; i++)
        if (d[i]->count) {
            fprintf(f, " %s=%llu", hactl_str(d[i]->reason), (unsigned long long)d[i]->count);
            any = true;
        }
    if (!any)
        fputs(" none", f);
}
