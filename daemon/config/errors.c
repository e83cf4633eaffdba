/*
 * Error collection for the config loader: every problem is kept (up to
 * CFG_ERRORS_MAX) so an operator fixes a file in one pass instead of one
 * error per run.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/loader.h"

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

void cfg_errors_clear(struct cfg_errors *errs)
{
    for (size_t i = 0; i < errs->n; i++) {
        free(errs->v[i].file);
        free(errs->v[i].reason);
        free(errs->v[i].text);
    }
    free(errs->v);
    memset(errs, 0, sizeof(*errs));
}

static int errors_grow(struct cfg_errors *errs)
{
    if (errs->n < errs->cap)
        return 0;
    size_t cap = errs->cap ? errs->cap * 2 : 16;
    struct cfg_error *v = realloc(errs->v, cap * sizeof(*v));
    if (!v)
        return -1;
    errs->v = v;
    errs->cap = cap;
    return 0;
}

void cfg_errors_add(struct cfg_errors *errs, const char *file, int line, const char *fmt, ...)
{
    if (errs->n >= CFG_ERRORS_MAX || errors_grow(errs) != 0) {
        errs->dropped++;
        return;
    }
    char reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);

    char text[4096 + 1024];
    if (line > 0)
        snprintf(text, sizeof(text), "%s:%d: %s", file ? file : "", line, reason);
    else
        snprintf(text, sizeof(text), "%s: %s", file ? file : "", reason);

    struct cfg_error *e = &errs->v[errs->n];
    e->file = dup_or_empty(file);
    e->line = line;
    e->reason = strdup(reason);
    e->text = strdup(text);
    if (!e->file || !e->reason || !e->text) {
        free(e->file);
        free(e->reason);
        free(e->text);
        errs->dropped++;
        return;
    }
    errs->n++;
}

void cfg_errors_print(const struct cfg_errors *errs, FILE *f)
{
    for (size_t i = 0; i < errs->n; i++)
        fprintf(f, "%s\n", errs->v[i].text);
    if (errs->dropped)
        fprintf(f, "(%zu more errors)\n", errs->dropped);
}

/* Rank of e's file: index of the first error naming the same file. */
static size_t file_rank(const struct cfg_errors *errs, size_t from, const struct cfg_error *e)
{
    for (size_t i = from; i < errs->n; i++)
        if (strcmp(errs->v[i].file, e->file) == 0)
            return i;
    return errs->n;
}

void cfg_errors_sort(struct cfg_errors *errs, size_t from)
{
    /* insertion sort: stable, and error lists are short */
    size_t n = errs->n;
    size_t *rank = calloc(n ? n : 1, sizeof(*rank));
    if (!rank)
        return;
    for (size_t i = from; i < n; i++)
        rank[i] = file_rank(errs, from, &errs->v[i]);
    for (size_t i = from + 1; i < n; i++) {
        struct cfg_error e = errs->v[i];
        size_t r = rank[i], j = i;
        while (j > from &&
               (rank[j - 1] > r || (rank[j - 1] == r && errs->v[j - 1].line > e.line))) {
            errs->v[j] = errs->v[j - 1];
            rank[j] = rank[j - 1];
            j--;
        }
        errs->v[j] = e;
        rank[j] = r;
    }
    free(rank);
}
