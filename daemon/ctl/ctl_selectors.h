/*
 * A gateway's configured selectors (phase 2) by name, for the listings
 * that say which are up: built once per request (sorted, in the request's
 * arena), then each CHILD SA marks its selector in O(log selectors).
 * Replaces a walk over every CHILD SA of the gateway per selector (and, in
 * `tunnel summary`, per dial-up peer: quadratic with 10^4 peers).
 */
#ifndef HAIKED_CTL_SELECTORS_H
#define HAIKED_CTL_SELECTORS_H

#include <stdbool.h>
#include <stddef.h>

#include "ctl/ctl_arena.h"

struct gateway;
struct gw_sa;

struct ctl_sel_name {
    const char *name;
    size_t index; /* in gw->cfg->selectors */
};

struct ctl_selectors {
    struct ctl_sel_name *by_name; /* sorted by name; unnamed selectors left out */
    size_t n_named;
    size_t n; /* gw->cfg->n_selectors */
};

/* gw's selectors (none without a configuration); -1 when the arena ran out. */
int ctl_selectors_init(struct ctl_arena *a, const struct gateway *gw, struct ctl_selectors *s);
/* up[i] = true for every selector i named child_name (several may share
 * a name; every one of them counts as up, as before). */
void ctl_selectors_mark(const struct ctl_selectors *s, const char *child_name, bool *up);
/* The index of the first selector (in configuration order) named name;
 * SIZE_MAX when none is. */
size_t ctl_selectors_first(const struct ctl_selectors *s, const char *name);
/* Marks what the CHILD SAs of gs make up. */
void ctl_selectors_mark_sa(const struct ctl_selectors *s, const struct gw_sa *gs, bool *up);
/* A zeroed up[] for s (at least one element); NULL when the arena ran out. */
bool *ctl_selectors_up_new(struct ctl_arena *a, const struct ctl_selectors *s);

#endif
