/*
 * A bump allocator for building one control response: every string,
 * sub-message and repeated-field array of a ctl.Response comes from one
 * arena, packed, then freed at once. Handlers never free anything and a
 * half-built response on an error path leaks nothing.
 */
#ifndef HAIKED_CTL_ARENA_H
#define HAIKED_CTL_ARENA_H

#include <stddef.h>
#include <stdint.h>

struct ctl_arena_chunk;

struct ctl_arena {
    struct ctl_arena_chunk *head;
    size_t total; /* octets handed out, for the response bound */
    size_t limit; /* 0 = none; past it every allocation fails */
    int failed;   /* an allocation returned NULL */
};

/* A zeroed struct ctl_arena is an empty arena with no limit. */
void ctl_arena_init(struct ctl_arena *a, size_t limit);
/* Zeroed memory, aligned for any type; NULL when out of memory/limit. */
void *ctl_arena_alloc(struct ctl_arena *a, size_t size);
/* n zeroed elements of size, overflow-checked. */
void *ctl_arena_calloc(struct ctl_arena *a, size_t n, size_t size);
char *ctl_arena_strdup(struct ctl_arena *a, const char *s);
char *ctl_arena_printf(struct ctl_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
uint8_t *ctl_arena_memdup(struct ctl_arena *a, const void *p, size_t len);
void ctl_arena_free(struct ctl_arena *a);

struct ProtobufCMessageDescriptor;
/* A new protobuf-c message of type desc, initialised (defaults set). */
void *ctl_arena_msg(struct ctl_arena *a, const struct ProtobufCMessageDescriptor *desc);

#endif
