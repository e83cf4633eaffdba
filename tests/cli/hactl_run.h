/*
 * Running hactl in tests: hactl_main() (the whole program) in a forked
 * child against a fixture's control socket while the parent runs the
 * server's loop; its exit code, stdout and stderr captured. Plus the
 * assertions the hactl tests share: a line is (not) in the output, and a
 * --json output parses (Python's json) and satisfies a Python expression.
 */
#ifndef HACTL_RUN_H
#define HACTL_RUN_H

#include <stdio.h>

#include "ctl_fixture.h"

struct run {
    int rc;
    char out[65536];
    char err[8192];
};

/* Reads f from its start into buf (NUL-terminated) and closes it. */
void slurp(FILE *f, char *buf, size_t size);
/* hactl --socket SOCK args... (args NULL-terminated). */
void hactl_run(struct ctl_fixture *fx, struct run *r, const char *const *args);

#define HACTL(fx, r, ...)                                                                          \
    do {                                                                                           \
        static const char *const a_[] = {__VA_ARGS__, NULL};                                       \
        hactl_run((fx), (r), a_);                                                                  \
    } while (0)

void assert_has(const char *hay, const char *needle);
void assert_lacks(const char *hay, const char *needle);
/* The JSON parses and the Python expression `check` (on `j`) holds. */
void assert_json(const char *json, const char *check);

#endif
