/* Configured selectors by name (see ctl_selectors.h). */
#include "ctl/ctl_selectors.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "dataplane.h"
#include "gateway.h"

static int by_name(const void *a, const void *b)
{
    const struct ctl_sel_name *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

int ctl_selectors_init(struct ctl_arena *a, const struct gateway *gw, struct ctl_selectors *s)
{
    memset(s, 0, sizeof(*s));
    if (!gw->cfg || !gw->cfg->n_selectors)
        return 0;
    s->n = gw->cfg->n_selectors;
    s->by_name = ctl_arena_calloc(a, s->n, sizeof(*s->by_name));
    if (!s->by_name)
        return -1;
    for (size_t i = 0; i < s->n; i++)
        if (gw->cfg->selectors[i].name)
            s->by_name[s->n_named++] = (struct ctl_sel_name){gw->cfg->selectors[i].name, i};
    qsort(s->by_name, s->n_named, sizeof(*s->by_name), by_name);
    return 0;
}

/* The first entry not below name (equal names: lowest index first). */
static size_t lower_bound(const struct ctl_selectors *s, const char *name)
{
    size_t lo = 0, hi = s->n_named;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(s->by_name[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t ctl_selectors_first(const struct ctl_selectors *s, const char *name)
{
    size_t i = lower_bound(s, name);
    return i < s->n_named && strcmp(s->by_name[i].name, name) == 0 ? s->by_name[i].index : SIZE_MAX;
}

void ctl_selectors_mark(const struct ctl_selectors *s, const char *child_name, bool *up)
{
    for (size_t i = lower_bound(s, child_name);
         i < s->n_named && strcmp(s->by_name[i].name, child_name) == 0; i++)
        up[s->by_name[i].index] = true;
}

void ctl_selectors_mark_sa(const struct ctl_selectors *s, const struct gw_sa *gs, bool *up)
{
    for (const struct dp_child *c = gw_child_first(gs); c; c = gw_child_next(c))
        ctl_selectors_mark(s, c->child_name, up);
}

bool *ctl_selectors_up_new(struct ctl_arena *a, const struct ctl_selectors *s)
{
    return ctl_arena_calloc(a, s->n ? s->n : 1, sizeof(bool));
}
