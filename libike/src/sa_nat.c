/* NAT detection (RFC 7296 §2.23): each side sends SHA-1 over the SPIs (as
 * in the header), and the IP address and port the packet is sent from
 * (SOURCE) and to (DESTINATION); the receiver compares with what it sees.
 * The gateway's ike_natt_mode can turn this off or fake a NAT. */
#include <string.h>

#include <openssl/evp.h>

#include "sa_internal.h"

enum ike_status ike_nat_hash(const uint8_t spi_i[IKE_SPI_LEN], const uint8_t spi_r[IKE_SPI_LEN],
                             const struct ike_addr *a, uint8_t out[IKE_NAT_DETECTION_LEN])
{
    uint8_t in[2 * IKE_SPI_LEN + 16 + 2];
    size_t alen = a->family == IKE_AF_INET ? 4 : 16;
    memcpy(in, spi_i, IKE_SPI_LEN);
    memcpy(in + IKE_SPI_LEN, spi_r, IKE_SPI_LEN);
    memcpy(in + 2 * IKE_SPI_LEN, a->addr, alen);
    in[2 * IKE_SPI_LEN + alen] = (uint8_t)(a->port >> 8);
    in[2 * IKE_SPI_LEN + alen + 1] = (uint8_t)a->port;
    unsigned int n = 0;
    if (EVP_Digest(in, 2 * IKE_SPI_LEN + alen + 2, out, &n, EVP_sha1(), NULL) != 1 ||
        n != IKE_NAT_DETECTION_LEN)
        return IKE_E_CRYPTO;
    return IKE_OK;
}

enum ike_status ike_nat_add_notifies(enum ike_natt_mode mode, struct ike_msg *msg,
                                     const struct ike_addr *local, const struct ike_addr *remote)
{
    if (mode == IKE_NATT_DISABLE) /* the peer then sees no NAT-T support (§2.23) */
        return IKE_OK;
    uint8_t src[IKE_NAT_DETECTION_LEN], dst[IKE_NAT_DETECTION_LEN];
    /* Forced: hash the unspecified address and port 0 of our family, which
     * can never be where a datagram comes from, so the peer always sees a
     * NAT in front of us (strongSwan's encap=yes fakes it the same way). */
    struct ike_addr fake = {.family = local->family};
    const struct ike_addr *from = mode == IKE_NATT_FORCED ? &fake : local;
    enum ike_status st = ike_nat_hash(msg->hdr.spi_i, msg->hdr.spi_r, from, src);
    if (st == IKE_OK)
        st = ike_nat_hash(msg->hdr.spi_i, msg->hdr.spi_r, remote, dst);
    if (st != IKE_OK)
        return st;
    ike_msg_add_notify(msg, IKE_N_NAT_DETECTION_SOURCE_IP, src, sizeof(src));
    ike_msg_add_notify(msg, IKE_N_NAT_DETECTION_DESTINATION_IP, dst, sizeof(dst));
    return IKE_OK;
}

/* true when some notify of type carries hash(addr); *seen tells whether
 * any notify of that type was present. */
static bool any_match(const struct ike_msg *msg, uint16_t type, const struct ike_addr *addr,
                      bool *seen)
{
    uint8_t want[IKE_NAT_DETECTION_LEN];
    *seen = false;
    if (ike_nat_hash(msg->hdr.spi_i, msg->hdr.spi_r, addr, want) != IKE_OK)
        return false;
    for (const struct ike_pld *p = ike_msg_find(msg, IKE_PLD_NOTIFY); p;
         p = ike_msg_find_next(p, IKE_PLD_NOTIFY)) {
        if (p->notify.type != type)
            continue;
        *seen = true;
        if (p->notify.data.len == IKE_NAT_DETECTION_LEN &&
            memcmp(p->notify.data.ptr, want, IKE_NAT_DETECTION_LEN) == 0)
            return true;
    }
    return false;
}

void ike_nat_detect(enum ike_natt_mode mode, const struct ike_msg *msg,
                    const struct ike_addr *local, const struct ike_addr *remote, bool *nat_local,
                    bool *nat_remote)
{
    *nat_local = *nat_remote = false;
    if (mode == IKE_NATT_DISABLE) /* stay on 500 whatever the peer found */
        return;
    bool seen_src, seen_dst;
    bool src_ok = any_match(msg, IKE_N_NAT_DETECTION_SOURCE_IP, remote, &seen_src);
    bool dst_ok = any_match(msg, IKE_N_NAT_DETECTION_DESTINATION_IP, local, &seen_dst);
    *nat_remote = seen_src && !src_ok;
    *nat_local = seen_dst && !dst_ok;
    /* Forced: act as if we were behind a NAT, but only with a peer that
     * does NAT-T at all (it sent NAT_DETECTION notifies). */
    if (mode == IKE_NATT_FORCED && (seen_src || seen_dst))
        *nat_local = true;
}
