/* Is the corosync ring encrypted? Read through cmap; see hasync_crypto.h. */
#include "hasync_crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corosync/cmap.h>

static void get_key(cmap_handle_t h, const char *key, char *dst, size_t size)
{
    char *v = NULL;

    dst[0] = '\0';
    if (cmap_get_string(h, key, &v) == CS_OK && v)
        snprintf(dst, size, "%s", v);
    free(v);
}

int hasync_crypto_read(struct hasync_ring_crypto *rc, char *err, size_t errlen)
{
    cmap_handle_t h;
    cs_error_t e = cmap_initialize(&h);

    memset(rc, 0, sizeof(*rc));
    if (e != CS_OK) {
        snprintf(err, errlen, "cannot reach corosync's cmap (error %d)", e);
        return -1;
    }
    get_key(h, "totem.transport", rc->transport, sizeof(rc->transport));
    get_key(h, "totem.crypto_cipher", rc->cipher, sizeof(rc->cipher));
    get_key(h, "totem.crypto_hash", rc->hash, sizeof(rc->hash));
    cmap_finalize(h);
    return 0;
}

static bool is_none(const char *v)
{
    return v[0] == '\0' || strcmp(v, "none") == 0;
}

enum hasync_crypto_verdict hasync_crypto_judge(const struct hasync_ring_crypto *rc,
                                               bool allow_plaintext, char *why, size_t len)
{
    /* Only knet encrypts (udp/udpu have no crypto in corosync 3); an absent
     * transport is corosync's default, knet. */
    bool knet = rc->transport[0] == '\0' || strcmp(rc->transport, "knet") == 0;
    bool encrypted = knet && !is_none(rc->cipher) && !is_none(rc->hash);

    if (encrypted) {
        snprintf(why, len, "corosync ring encrypted (knet, cipher %s, hash %s)", rc->cipher,
                 rc->hash);
        return HASYNC_CRYPTO_OK;
    }
    snprintf(why, len,
             "corosync ring is not encrypted (transport %s, crypto_cipher %s, crypto_hash %s)%s",
             rc->transport[0] ? rc->transport : "knet", rc->cipher[0] ? rc->cipher : "none",
             rc->hash[0] ? rc->hash : "none",
             allow_plaintext ? ": SA keys cross the sync link in the clear "
                               "(allow_plaintext_sync)"
                             : ": refusing to run HA (the sync stream carries keys; set "
                               "allow_plaintext_sync to override)");
    return allow_plaintext ? HASYNC_CRYPTO_PLAINTEXT_ALLOWED : HASYNC_CRYPTO_REFUSED;
}

enum hasync_crypto_verdict hasync_crypto_check(bool allow_plaintext, char *why, size_t len)
{
    struct hasync_ring_crypto rc;

    if (hasync_crypto_read(&rc, why, len) != 0)
        return HASYNC_CRYPTO_UNKNOWN;
    return hasync_crypto_judge(&rc, allow_plaintext, why, len);
}
