/* ESP anti-replay window with ESN (see esp_replay.h). */
#include "esp_replay.h"

#include <string.h>

/* Window used to rebuild ESN high bits when replay protection is off: a
 * packet more than 2^31 behind is taken as the next epoch's. */
#define ESP_ESN_RECON_WINDOW 0x80000000u

void esp_replay_init(struct esp_replay *r, uint32_t window, bool esn)
{
    memset(r, 0, sizeof(*r));
    if (window > ESP_REPLAY_MAX)
        window = ESP_REPLAY_MAX;
    r->window = window;
    r->esn = esn;
    r->nbits = 64;
    while (r->nbits < window)
        r->nbits <<= 1;
}

uint64_t esp_replay_seq(const struct esp_replay *r, uint32_t seq_lo)
{
    if (!r->esn)
        return seq_lo;
    uint32_t w = r->window ? r->window : ESP_ESN_RECON_WINDOW;
    uint32_t th = (uint32_t)(r->top >> 32), tl = (uint32_t)r->top;
    uint32_t bottom = tl - w + 1; /* wraps when the window spans an epoch */
    uint32_t sh;
    if (tl >= w - 1) {
        /* window inside one epoch: below it means the next epoch */
        sh = seq_lo >= bottom ? th : th + 1;
    } else {
        /* window spans the epoch boundary: above bottom means the last one */
        sh = seq_lo >= bottom ? th - 1 : th;
        if (th == 0 && seq_lo >= bottom)
            sh = 0; /* nothing before epoch 0: the packet is new */
    }
    return (uint64_t)sh << 32 | seq_lo;
}

static bool bit_get(const struct esp_replay *r, uint64_t seq)
{
    uint64_t i = seq & (r->nbits - 1);
    return r->bits[i / 64] >> (i % 64) & 1;
}

static void bit_set(struct esp_replay *r, uint64_t seq)
{
    uint64_t i = seq & (r->nbits - 1);
    r->bits[i / 64] |= (uint64_t)1 << (i % 64);
}

bool esp_replay_check(const struct esp_replay *r, uint64_t seq)
{
    if (seq == 0)
        return false; /* never sent (RFC 4303 §3.3.3: the first is 1) */
    if (!r->window || seq > r->top)
        return true;
    if (r->top - seq >= r->window)
        return false;
    return !bit_get(r, seq);
}

void esp_replay_update(struct esp_replay *r, uint64_t seq)
{
    if (seq > r->top) {
        uint64_t diff = seq - r->top;
        if (diff >= r->nbits) {
            memset(r->bits, 0, r->nbits / 8);
        } else {
            /* clear the slots the window slides over */
            for (uint64_t s = r->top + 1; s <= seq; s++) {
                uint64_t i = s & (r->nbits - 1);
                if (i % 64 == 0 && seq - s >= 63) {
                    r->bits[i / 64] = 0;
                    s += 63;
                } else {
                    r->bits[i / 64] &= ~((uint64_t)1 << (i % 64));
                }
            }
        }
        r->top = seq;
    }
    if (r->window)
        bit_set(r, seq);
}

void esp_replay_set_top(struct esp_replay *r, uint64_t top)
{
    r->top = top;
    memset(r->bits, 0xff, r->nbits / 8);
}
