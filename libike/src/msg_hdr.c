/* IKE header (RFC 7296 §3.1): SPIs, next payload, version, exchange type,
 * flags, message ID, length of the whole message. */
#include <string.h>

#include "msg_codec.h"

enum ike_status ike_hdr_decode(const uint8_t *data, size_t len, struct ike_hdr *hdr,
                               struct ike_diag *diag)
{
    struct ike_rd rd;
    memset(hdr, 0, sizeof(*hdr));
    if (!data || len < IKE_HDR_LEN)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "datagram %zu octets < IKE header %d",
                             data ? len : 0, IKE_HDR_LEN);
    ike_rd_init(&rd, data, len);
    if (!ike_rd_copy(&rd, hdr->spi_i, IKE_SPI_LEN) || !ike_rd_copy(&rd, hdr->spi_r, IKE_SPI_LEN) ||
        !ike_rd_u8(&rd, &hdr->next_payload) || !ike_rd_u8(&rd, &hdr->version) ||
        !ike_rd_u8(&rd, &hdr->exchange) || !ike_rd_u8(&rd, &hdr->flags) ||
        !ike_rd_u32(&rd, &hdr->message_id) || !ike_rd_u32(&rd, &hdr->length))
        return ike_diag_fail(diag, IKE_E_MALFORMED, "IKE header truncated");
    /* The version comes first: an IKEv1 or future peer gets
     * INVALID_MAJOR_VERSION, not a length complaint. */
    if (hdr->version >> 4 != IKE_VERSION_2 >> 4)
        return ike_diag_fail(diag, IKE_E_UNSUPPORTED,
                             "major version %u (version octet 0x%02x): only 2 is supported",
                             hdr->version >> 4, hdr->version);
    if (hdr->length != len)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "header length %u != datagram length %zu",
                             hdr->length, len);
    if (len > IKE_MSG_MAX_LEN)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "message length %zu > max %u", len,
                             IKE_MSG_MAX_LEN);
    static const uint8_t zero[IKE_SPI_LEN];
    if (memcmp(hdr->spi_i, zero, IKE_SPI_LEN) == 0)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "initiator SPI is zero");
    return IKE_OK;
}

void ike_hdr_write(struct ike_wr *wr, const struct ike_hdr *hdr, uint8_t first_payload)
{
    ike_wr_bytes(wr, hdr->spi_i, IKE_SPI_LEN);
    ike_wr_bytes(wr, hdr->spi_r, IKE_SPI_LEN);
    ike_wr_u8(wr, first_payload);
    ike_wr_u8(wr, hdr->version);
    ike_wr_u8(wr, hdr->exchange);
    ike_wr_u8(wr, hdr->flags);
    ike_wr_u32(wr, hdr->message_id);
    ike_wr_u32(wr, 0); /* length, patched at IKE_HDR_LENGTH_OFF */
}
