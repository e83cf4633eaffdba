/*
 * CPU time and resident memory of another process from /proc, so the load
 * generator measures the responder's cost per SA itself (the numbers the
 * benchmark compares between haiked and charon).
 */
#ifndef LG_PROC_H
#define LG_PROC_H

#include <stdbool.h>

struct lg_proc_sample {
    bool ok;
    unsigned long long ticks; /* utime + stime, in clock ticks */
    long rss_kb;              /* VmRSS; -1 when unknown */
};

/* Samples pid (0: nothing, ok = false). */
void lg_proc_sample(int pid, struct lg_proc_sample *out);
/* CPU milliseconds between two samples (0 unless both are ok). */
double lg_proc_cpu_ms(const struct lg_proc_sample *a, const struct lg_proc_sample *b);

#endif
