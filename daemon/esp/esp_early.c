/* ESP held until its SA is installed (see esp_early.h). */
#include "esp_early.h"

#include <stdbool.h>
#include <string.h>

void esp_early_hold(struct esp_early *e, uint32_t spi, const uint8_t *pkt, size_t len,
                    uint64_t now_ms)
{
    if (!spi || len > ESP_EARLY_LEN)
        return;
    struct esp_early_pkt *s = &e->slot[e->next];
    e->next = (e->next + 1) % ESP_EARLY_SLOTS;
    if (!s->spi)
        e->n_held++;
    s->spi = spi;
    s->at_ms = now_ms;
    s->len = len;
    memcpy(s->data, pkt, len);
    e->held++;
}

size_t esp_early_release(struct esp_early *e, uint64_t now_ms,
                         int (*installed)(void *arg, uint32_t spi),
                         void (*deliver)(void *arg, const uint8_t *pkt, size_t len), void *arg)
{
    size_t n = 0;
    /* from the oldest slot round to the newest: arrival order */
    for (unsigned k = 0; k < ESP_EARLY_SLOTS && e->n_held; k++) {
        struct esp_early_pkt *s = &e->slot[(e->next + k) % ESP_EARLY_SLOTS];
        if (!s->spi)
            continue;
        bool stale = now_ms - s->at_ms > ESP_EARLY_MS;
        if (!stale && !installed(arg, s->spi))
            continue;
        if (!stale) {
            deliver(arg, s->data, s->len);
            n++;
        }
        s->spi = 0;
        e->n_held--;
    }
    e->delivered += n;
    return n;
}
