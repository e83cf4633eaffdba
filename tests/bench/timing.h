/* What every benchmark program shares: the command line
 * ([--seconds S] [--mr]) and timing an operation for S seconds. */
#ifndef BENCH_TIMING_H
#define BENCH_TIMING_H

/* One operation; returns 0 on failure (the measurement then fails). */
typedef int (*bench_op)(void *arg);

extern double bench_seconds; /* per measurement, --seconds (default 1) */
extern int bench_mr;         /* --mr: machine-readable output */

/* Parses argv into the two options above; prints the usage and returns -1
 * on anything else. */
int bench_parse_args(int argc, char **argv);

/* Runs op once (warm-up and sanity check), then in batches of 16 until
 * bench_seconds have passed; ops per second, or -1 if op failed. */
double bench_measure(bench_op op, void *arg);

#endif
