/* Text for log lines: datagram summaries in the seed's style, selectors,
 * algorithms. Pure functions (unit-tested). */
#ifndef HAIKED_IKE_NAMES_H
#define HAIKED_IKE_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include <ike/ctx.h>
#include <ike/export.h>

/* "SA_INIT", "AUTH", "CREATE_CHILD", "INFORMATIONAL", or the number. */
const char *ike_names_exchange(uint8_t exchange, char *buf, size_t size);
/* "(AUTH): 203.0.113.1:500->203.0.113.2:500, len=288,
 * id=0123456789abcdef/fedcba9876543210:00000001" (remote->local for
 * received ones: pass them in that order); "(undecodable)" when the header
 * does not parse. Returns buf. */
char *ike_names_describe_dgram(const uint8_t *data, size_t len, const struct ike_addr *from,
                               const struct ike_addr *to, char *buf, size_t size);
/* "192.0.2.0/25" or "192.0.2.1-192.0.2.9", with "[proto/port-port]" when
 * not any. */
char *ike_names_ts(const struct ike_ts_export *ts, char *buf, size_t size);
/* "192.0.2.0/25 === 192.0.2.128/25" (several joined with ","). */
char *ike_names_ts_pair(const struct ike_child_export *ex, char *buf, size_t size);
/* "aes256/sha512" or "aes256gcm16"; a static buffer per call site is not
 * needed: the result is static (thread-unsafe, single-threaded daemon). */
const char *ike_names_esp_alg(uint16_t encr_id, uint16_t key_bits, uint16_t integ_id);
/* 16 hex digits. */
char *ike_names_spi(const uint8_t spi[IKE_SPI_LEN], char out[2 * IKE_SPI_LEN + 1]);

#endif
