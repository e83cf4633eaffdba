#include "lg_proc.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* utime and stime are fields 14 and 15 of /proc/PID/stat; the command
 * name (field 2) may hold blanks, so count from its closing ')'. */
static bool read_ticks(int pid, unsigned long long *ticks)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long long ut, st;
    /* after ')': state(3) ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime(14) stime(15) */
    if (!p ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return false;
    *ticks = ut + st;
    return true;
}

static long read_rss_kb(int pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

void lg_proc_sample(int pid, struct lg_proc_sample *out)
{
    memset(out, 0, sizeof(*out));
    out->rss_kb = -1;
    if (pid <= 0)
        return;
    out->ok = read_ticks(pid, &out->ticks);
    out->rss_kb = read_rss_kb(pid);
}

double lg_proc_cpu_ms(const struct lg_proc_sample *a, const struct lg_proc_sample *b)
{
    if (!a->ok || !b->ok || b->ticks < a->ticks)
        return 0;
    long hz = sysconf(_SC_CLK_TCK);
    return (double)(b->ticks - a->ticks) * 1000.0 / (double)(hz > 0 ? hz : 100);
}
