/* Bump allocator for control responses (see ctl_arena.h). */
#include "ctl/ctl_arena.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#define CTL_ARENA_CHUNK 16384u

struct ctl_arena_chunk {
    struct ctl_arena_chunk *next;
    size_t size, used;
    alignas(max_align_t) unsigned char data[];
};

void ctl_arena_init(struct ctl_arena *a, size_t limit)
{
    memset(a, 0, sizeof(*a));
    a->limit = limit;
}

static struct ctl_arena_chunk *arena_grow(struct ctl_arena *a, size_t need)
{
    size_t size = need > CTL_ARENA_CHUNK ? need : CTL_ARENA_CHUNK;
    struct ctl_arena_chunk *c = malloc(sizeof(*c) + size);
    if (!c)
        return NULL;
    c->size = size;
    c->used = 0;
    c->next = a->head;
    a->head = c;
    return c;
}

void *ctl_arena_alloc(struct ctl_arena *a, size_t size)
{
    const size_t align = alignof(max_align_t);
    if (size > SIZE_MAX / 2) {
        a->failed = 1;
        return NULL;
    }
    size_t rounded = (size + align - 1) & ~(align - 1);
    if (rounded == 0)
        rounded = align;
    if (a->limit && (a->total > a->limit || rounded > a->limit - a->total)) {
        a->failed = 1;
        return NULL;
    }
    struct ctl_arena_chunk *c = a->head;
    if (!c || c->size - c->used < rounded)
        c = arena_grow(a, rounded);
    if (!c) {
        a->failed = 1;
        return NULL;
    }
    void *p = c->data + c->used;
    c->used += rounded;
    a->total += rounded;
    memset(p, 0, size);
    return p;
}

void *ctl_arena_calloc(struct ctl_arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        a->failed = 1;
        return NULL;
    }
    return ctl_arena_alloc(a, n * size);
}

uint8_t *ctl_arena_memdup(struct ctl_arena *a, const void *p, size_t len)
{
    uint8_t *d = ctl_arena_alloc(a, len);
    if (d && len)
        memcpy(d, p, len);
    return d;
}

char *ctl_arena_strdup(struct ctl_arena *a, const char *s)
{
    if (!s)
        return NULL;
    return (char *)ctl_arena_memdup(a, s, strlen(s) + 1);
}

char *ctl_arena_printf(struct ctl_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        a->failed = 1;
        return NULL;
    }
    char *s = ctl_arena_alloc(a, (size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void ctl_arena_free(struct ctl_arena *a)
{
    struct ctl_arena_chunk *c = a->head;
    while (c) {
        struct ctl_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->total = 0;
}

void *ctl_arena_msg(struct ctl_arena *a, const struct ProtobufCMessageDescriptor *desc)
{
    void *m = ctl_arena_alloc(a, desc->sizeof_message);
    if (m)
        protobuf_c_message_init(desc, m);
    return m;
}
