/*
 * The sync stream carries keys, so HA refuses to run over a corosync ring
 * that is not encrypted (DESIGN.md §3) unless the operator said
 * allow_plaintext_sync. The facts come from the running corosync through
 * cmap (totem.transport, totem.crypto_cipher, totem.crypto_hash).
 */
#ifndef HASYNC_CRYPTO_H
#define HASYNC_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

/* What corosync runs with; "" for a key it does not have (its defaults:
 * transport knet, cipher and hash none). */
struct hasync_ring_crypto {
    char transport[32];
    char cipher[32];
    char hash[32];
};

enum hasync_crypto_verdict {
    HASYNC_CRYPTO_OK,                /* knet with a cipher and a hash */
    HASYNC_CRYPTO_PLAINTEXT_ALLOWED, /* not encrypted, but allowed: warn */
    HASYNC_CRYPTO_REFUSED,           /* not encrypted: do not start HA */
    HASYNC_CRYPTO_UNKNOWN,           /* cmap not reachable (corosync not running) */
};

/* Reads the ring's settings from the local corosync; -1 (reason in err) if
 * cmap cannot be reached. */
int hasync_crypto_read(struct hasync_ring_crypto *rc, char *err, size_t errlen);

/* The decision on rc, with a one-line explanation in why. */
enum hasync_crypto_verdict hasync_crypto_judge(const struct hasync_ring_crypto *rc,
                                               bool allow_plaintext, char *why, size_t len);

/* Both steps; UNKNOWN when corosync is not there. */
enum hasync_crypto_verdict hasync_crypto_check(bool allow_plaintext, char *why, size_t len);

#endif
