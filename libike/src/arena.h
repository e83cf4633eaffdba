/*
 * Region allocator for decoded and built messages.
 *
 * A message owns one arena; every list, array and byte copy hanging off the
 * message comes from it, so freeing the message is one ike_arena_free()
 * and nothing can dangle or leak on an error path half-way through a
 * decode. The arena has a hard byte limit: a peer cannot make us allocate
 * more than that for one message whatever its counts claim. Memory is
 * wiped before it is returned to the system (messages carry nonces, keys
 * material in KE/AUTH, and decrypted payloads).
 */
#ifndef IKE_ARENA_H
#define IKE_ARENA_H

#include <stddef.h>

struct ike_arena;

/* NULL on allocation failure. limit caps the total bytes handed out. */
struct ike_arena *ike_arena_new(size_t limit);
void ike_arena_free(struct ike_arena *a);

/* Zeroed, aligned for any type. NULL when out of memory or over the limit;
 * size 0 yields a valid unique pointer. */
void *ike_arena_alloc(struct ike_arena *a, size_t size);
/* n * size with overflow check. */
void *ike_arena_array(struct ike_arena *a, size_t n, size_t size);
/* Copy of n octets (n may be 0: returns a valid pointer). */
void *ike_arena_dup(struct ike_arena *a, const void *p, size_t n);

size_t ike_arena_used(const struct ike_arena *a);

#endif
