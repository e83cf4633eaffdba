/*
 * ESP that arrives before its SA is installed here. A responder installs
 * its new CHILD SA and may send on it before its IKE_AUTH (or
 * CREATE_CHILD_SA) response has reached us: strongSwan does, so a make-
 * before-break replacement (a reload's new gateway, a reauthentication)
 * lost the peer's packets sent in that round trip. A few such packets are
 * held, keyed by SPI, for at most ESP_EARLY_MS, and go through the normal
 * input path once a CHILD SA with that inbound SPI is installed; nothing
 * held is trusted (they are authenticated then, like any packet).
 */
#ifndef HAIKED_ESP_EARLY_H
#define HAIKED_ESP_EARLY_H

#include <stddef.h>
#include <stdint.h>

#define ESP_EARLY_SLOTS 16u
#define ESP_EARLY_LEN 2048u /* longer packets are not held */
#define ESP_EARLY_MS 500u

struct esp_early_pkt {
    uint32_t spi;    /* 0: free */
    uint64_t at_ms;
    size_t len;
    uint8_t data[ESP_EARLY_LEN];
};

struct esp_early {
    struct esp_early_pkt slot[ESP_EARLY_SLOTS];
    unsigned next;   /* the slot the next packet takes (the oldest) */
    unsigned n_held;
    uint64_t held, delivered;
};

/* Keeps a copy of pkt (ESP, SPI first) for spi; the oldest goes when full. */
void esp_early_hold(struct esp_early *e, uint32_t spi, const uint8_t *pkt, size_t len,
                    uint64_t now_ms);
/* Each held packet whose SPI installed(arg, spi) says is there now, oldest
 * first, to deliver(arg, ...), then forgotten; packets older than
 * ESP_EARLY_MS are forgotten too. Returns how many were delivered. */
size_t esp_early_release(struct esp_early *e, uint64_t now_ms,
                         int (*installed)(void *arg, uint32_t spi),
                         void (*deliver)(void *arg, const uint8_t *pkt, size_t len), void *arg);

#endif
