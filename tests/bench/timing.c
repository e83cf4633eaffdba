#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timing.h"

double bench_seconds = 1.0;
int bench_mr;

int bench_parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            bench_seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--mr") == 0) {
            bench_mr = 1;
        } else {
            fprintf(stderr, "usage: %s [--seconds S] [--mr]\n", argv[0]);
            return -1;
        }
    }
    if (bench_seconds <= 0)
        bench_seconds = 1.0;
    return 0;
}

/* CPU time of this (single-threaded) process, not wall time: `openssl
 * speed`, the anchor, counts user CPU time by default, and on a shared
 * machine wall time would charge other processes' load to libike. */
static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_measure(bench_op op, void *arg)
{
    if (!op(arg))
        return -1;
    unsigned long n = 0;
    double start = bench_now(), elapsed;
    do {
        for (int i = 0; i < 16; i++)
            if (!op(arg))
                return -1;
        n += 16;
        elapsed = bench_now() - start;
    } while (elapsed < bench_seconds);
    return (double)n / elapsed;
}
