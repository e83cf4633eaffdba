/*
 * Private state of the INFORMATIONAL exchange, lifetimes, DPD and RFC 6311
 * message-ID sync, embedded in struct ike_sa (sa_internal.h). Kept apart so
 * those files can grow without touching the core struct.
 */
#ifndef IKE_SA_INFO_H
#define IKE_SA_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IKE_SA_SYNC_NONCE_LEN 4

/* Liveness and lifetimes (sa_lifetime.c). Times on the ctx clock. */
struct ike_sa_live {
    bool passive;                      /* imported: no timers until ike_sa_activate() */
    bool draining;                     /* HA handover: no new exchange starts (sa_drain.c) */
    bool deleting;                     /* our Delete of the IKE SA is queued or out */
    bool ike_soft_done;                /* soft lifetime fired (rekey/reauth requested) */
    uint64_t last_rx_ms;               /* last authentic message or inbound traffic */
    uint64_t ike_soft_at, ike_hard_at; /* 0 = none */
    bool invalid_spi_sent;             /* invalid_spi_at is valid */
    uint64_t invalid_spi_at;           /* last N(INVALID_SPI) report queued */
};

/* RFC 6311 (sa_msgid_sync.c). */
struct ike_sa_sync {
    bool peer_replay; /* peer sent IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED */
    bool outstanding; /* our IKEV2_MESSAGE_ID_SYNC request (ID 0) is out */
    uint8_t nonce[IKE_SA_SYNC_NONCE_LEN];
    /* The last sync request answered, for its retransmissions: kept apart
     * from the normal responder cache, which ID 0 must not overwrite. */
    bool cache_valid;
    uint8_t cache_hash[32];
    uint8_t *cache_buf;
    size_t cache_len;
};

#endif
