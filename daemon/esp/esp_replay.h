/*
 * The inbound anti-replay window of an ESP SA (RFC 4303 §3.4.3) with
 * extended sequence numbers (§3.3.3, Appendix A): 64-bit sequence numbers
 * rebuilt from the 32 low-order bits on the wire, a sliding bitmap of
 * configurable size (0 = replay protection off, as FortiOS's
 * "replay disable"; sequence numbers are still rebuilt for ESN).
 *
 * Two steps per packet, because the window must only move for authentic
 * packets: esp_replay_check() before the ICV is verified (cheap rejection
 * of old and duplicate packets), esp_replay_update() after.
 */
#ifndef HAIKED_ESP_REPLAY_H
#define HAIKED_ESP_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

/* Largest window, in packets; the bitmap is inline (no allocation). */
#define ESP_REPLAY_MAX  4096u
#define ESP_REPLAY_DEFAULT 1024u

struct esp_replay {
    uint32_t window; /* packets accepted below top; 0 = off */
    uint32_t nbits;  /* bitmap size: power of two >= window, >= 64 */
    bool esn;
    uint64_t top;    /* highest authentic sequence number (0: none yet) */
    uint64_t bits[ESP_REPLAY_MAX / 64]; /* bit (seq % nbits) set: seen */
};

/* window > ESP_REPLAY_MAX is clamped to it. */
void esp_replay_init(struct esp_replay *r, uint32_t window, bool esn);
/* The full sequence number of a packet carrying seq_lo (RFC 4303 A.2.2);
 * without ESN that is seq_lo itself. */
uint64_t esp_replay_seq(const struct esp_replay *r, uint32_t seq_lo);
/* true when seq may be accepted (not 0, not seen, not left of the window). */
bool esp_replay_check(const struct esp_replay *r, uint64_t seq);
/* Records an authentic packet (moves the window when seq > top). */
void esp_replay_update(struct esp_replay *r, uint64_t seq);
/* Takeover: everything up to and including top counts as seen. */
void esp_replay_set_top(struct esp_replay *r, uint64_t top);

#endif
