/* What charon's log of the initiator says about the exchange, beyond the
 * key material of values.txt: the identities, the CHILD_SA's traffic
 * selectors and SPIs, and the Delete payloads it sent. The KAT compares
 * the decrypted messages with these. */
#ifndef KAT_LOG_H
#define KAT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KAT_LOG_ID_MAX 128

struct kat_log_ts {      /* one "a.b.c.d/len" selector */
    bool ipv6;
    uint8_t start[16], end[16];
};

struct kat_log {
    /* "IKE_SA gw[1] established between A[id_i]...B[id_r]" */
    char id_i[KAT_LOG_ID_MAX], id_r[KAT_LOG_ID_MAX];
    /* first "CHILD_SA net{1} established with SPIs X_i Y_o and TS L === R" */
    uint32_t child_spi_in, child_spi_out;
    struct kat_log_ts ts_local, ts_remote;
    /* "sending DELETE for ESP CHILD_SA with SPI S", "... for IKE_SA" */
    uint32_t deleted_esp_spi;
    bool deleted_esp, deleted_ike;
};

/* Reads DIR/initiator.log. -1 (with a message on stderr) when a line the
 * KAT relies on is missing or unparsable. */
int kat_log_load(const char *dir, struct kat_log *out);

#endif
