#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "arena.h"

#define IKE_ARENA_CHUNK 4096
#define IKE_ARENA_ALIGN alignof(max_align_t)

struct ike_arena_chunk {
    struct ike_arena_chunk *next;
    size_t cap;
    size_t used;
    alignas(max_align_t) unsigned char data[];
};

struct ike_arena {
    struct ike_arena_chunk *head; /* the chunk being filled is first */
    size_t limit;
    size_t used;                  /* bytes handed out, incl. alignment */
};

struct ike_arena *ike_arena_new(size_t limit)
{
    struct ike_arena *a = calloc(1, sizeof(*a));
    if (a)
        a->limit = limit;
    return a;
}

void ike_arena_free(struct ike_arena *a)
{
    if (!a)
        return;
    struct ike_arena_chunk *c = a->head;
    while (c) {
        struct ike_arena_chunk *next = c->next;
        OPENSSL_cleanse(c->data, c->used);
        free(c);
        c = next;
    }
    free(a);
}

static size_t arena_round(size_t n)
{
    return (n + IKE_ARENA_ALIGN - 1) / IKE_ARENA_ALIGN * IKE_ARENA_ALIGN;
}

static struct ike_arena_chunk *arena_chunk(struct ike_arena *a, size_t need)
{
    size_t cap = need > IKE_ARENA_CHUNK ? need : IKE_ARENA_CHUNK;
    struct ike_arena_chunk *c = malloc(sizeof(*c) + cap);
    if (!c)
        return NULL;
    c->cap = cap;
    c->used = 0;
    /* A big one-off block goes behind the current chunk so the current
     * chunk keeps serving small allocations. */
    if (a->head && need > IKE_ARENA_CHUNK) {
        c->next = a->head->next;
        a->head->next = c;
    } else {
        c->next = a->head;
        a->head = c;
    }
    return c;
}

void *ike_arena_alloc(struct ike_arena *a, size_t size)
{
    if (size > SIZE_MAX - IKE_ARENA_ALIGN)
        return NULL;
    size_t n = arena_round(size ? size : 1);
    if (n > a->limit || a->used > a->limit - n)
        return NULL;
    struct ike_arena_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        c = arena_chunk(a, n);
        if (!c)
            return NULL;
    }
    void *p = c->data + c->used;
    c->used += n;
    a->used += n;
    memset(p, 0, n);
    return p;
}

void *ike_arena_array(struct ike_arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    return ike_arena_alloc(a, n * size);
}

void *ike_arena_dup(struct ike_arena *a, const void *p, size_t n)
{
    void *d = ike_arena_alloc(a, n);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

size_t ike_arena_used(const struct ike_arena *a)
{
    return a->used;
}
