#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"

#define IKE_WR_MIN_CAP 256

void ike_rd_init(struct ike_rd *rd, const uint8_t *data, size_t len)
{
    rd->data = data;
    rd->len = data ? len : 0;
    rd->off = 0;
    rd->base = 0;
}

size_t ike_rd_left(const struct ike_rd *rd)
{
    return rd->len - rd->off;
}

size_t ike_rd_abs(const struct ike_rd *rd)
{
    return rd->base + rd->off;
}

bool ike_rd_slice(struct ike_rd *rd, size_t n, const uint8_t **p)
{
    if (ike_rd_left(rd) < n)
        return false;
    *p = rd->data + rd->off;
    rd->off += n;
    return true;
}

bool ike_rd_skip(struct ike_rd *rd, size_t n)
{
    const uint8_t *p;
    return ike_rd_slice(rd, n, &p);
}

bool ike_rd_copy(struct ike_rd *rd, void *dst, size_t n)
{
    const uint8_t *p;
    if (!ike_rd_slice(rd, n, &p))
        return false;
    if (n)
        memcpy(dst, p, n);
    return true;
}

bool ike_rd_u8(struct ike_rd *rd, uint8_t *v)
{
    const uint8_t *p;
    if (!ike_rd_slice(rd, 1, &p))
        return false;
    *v = p[0];
    return true;
}

bool ike_rd_u16(struct ike_rd *rd, uint16_t *v)
{
    const uint8_t *p;
    if (!ike_rd_slice(rd, 2, &p))
        return false;
    *v = ike_get_u16(p);
    return true;
}

bool ike_rd_u32(struct ike_rd *rd, uint32_t *v)
{
    const uint8_t *p;
    if (!ike_rd_slice(rd, 4, &p))
        return false;
    *v = ike_get_u32(p);
    return true;
}

bool ike_rd_u64(struct ike_rd *rd, uint64_t *v)
{
    const uint8_t *p;
    if (!ike_rd_slice(rd, 8, &p))
        return false;
    *v = ike_get_u64(p);
    return true;
}

bool ike_rd_sub(struct ike_rd *rd, size_t n, struct ike_rd *sub)
{
    size_t start = ike_rd_abs(rd);
    const uint8_t *p;
    if (!ike_rd_slice(rd, n, &p))
        return false;
    sub->data = p;
    sub->len = n;
    sub->off = 0;
    sub->base = start;
    return true;
}

void ike_wr_init(struct ike_wr *wr, size_t max)
{
    memset(wr, 0, sizeof(*wr));
    wr->max = max;
    wr->status = IKE_OK;
}

void ike_wr_release(struct ike_wr *wr)
{
    if (wr->buf) {
        OPENSSL_cleanse(wr->buf, wr->cap);
        free(wr->buf);
    }
    wr->buf = NULL;
    wr->len = 0;
    wr->cap = 0;
}

enum ike_status ike_wr_status(const struct ike_wr *wr)
{
    return wr->status;
}

static void wr_fail(struct ike_wr *wr, enum ike_status st)
{
    if (wr->status == IKE_OK)
        wr->status = st;
}

/* Regrows by allocate-copy-wipe rather than realloc so no stale copy of
 * the content is left behind in freed memory. */
static bool wr_grow(struct ike_wr *wr, size_t need)
{
    size_t cap = wr->cap ? wr->cap : IKE_WR_MIN_CAP;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > wr->max)
        cap = wr->max;
    uint8_t *nb = malloc(cap);
    if (!nb) {
        wr_fail(wr, IKE_E_NOMEM);
        return false;
    }
    if (wr->buf) {
        memcpy(nb, wr->buf, wr->len);
        OPENSSL_cleanse(wr->buf, wr->cap);
        free(wr->buf);
    }
    wr->buf = nb;
    wr->cap = cap;
    return true;
}

/* Returns a pointer to n fresh octets at the end, or NULL on error. */
static uint8_t *wr_extend(struct ike_wr *wr, size_t n)
{
    if (wr->status != IKE_OK)
        return NULL;
    if (n > wr->max || wr->len > wr->max - n) {
        wr_fail(wr, IKE_E_TOO_BIG);
        return NULL;
    }
    size_t need = wr->len + n;
    if (need > wr->cap && !wr_grow(wr, need))
        return NULL;
    uint8_t *p = wr->buf + wr->len;
    wr->len = need;
    return p;
}

void ike_wr_bytes(struct ike_wr *wr, const void *p, size_t n)
{
    uint8_t *dst = wr_extend(wr, n);
    if (dst && n)
        memcpy(dst, p, n);
}

void ike_wr_zeros(struct ike_wr *wr, size_t n)
{
    uint8_t *dst = wr_extend(wr, n);
    if (dst && n)
        memset(dst, 0, n);
}

void ike_wr_u8(struct ike_wr *wr, uint8_t v)
{
    ike_wr_bytes(wr, &v, 1);
}

void ike_wr_u16(struct ike_wr *wr, uint16_t v)
{
    uint8_t b[2];
    ike_put_u16(b, v);
    ike_wr_bytes(wr, b, sizeof(b));
}

void ike_wr_u32(struct ike_wr *wr, uint32_t v)
{
    uint8_t b[4];
    ike_put_u32(b, v);
    ike_wr_bytes(wr, b, sizeof(b));
}

void ike_wr_u64(struct ike_wr *wr, uint64_t v)
{
    uint8_t b[8];
    ike_put_u64(b, v);
    ike_wr_bytes(wr, b, sizeof(b));
}

size_t ike_wr_reserve(struct ike_wr *wr, size_t n)
{
    size_t off = wr->len;
    ike_wr_zeros(wr, n);
    return off;
}

/* Returns where to patch n octets at off, or NULL (no-op) on error. */
static uint8_t *wr_patch_at(struct ike_wr *wr, size_t off, size_t n)
{
    if (wr->status != IKE_OK)
        return NULL;
    if (off > wr->len || wr->len - off < n) {
        wr_fail(wr, IKE_E_INVALID_ARG);
        return NULL;
    }
    return wr->buf + off;
}

void ike_wr_patch_u8(struct ike_wr *wr, size_t off, uint8_t v)
{
    uint8_t *p = wr_patch_at(wr, off, 1);
    if (p)
        *p = v;
}

void ike_wr_patch_u16(struct ike_wr *wr, size_t off, uint16_t v)
{
    uint8_t *p = wr_patch_at(wr, off, 2);
    if (p)
        ike_put_u16(p, v);
}

void ike_wr_patch_u32(struct ike_wr *wr, size_t off, uint32_t v)
{
    uint8_t *p = wr_patch_at(wr, off, 4);
    if (p)
        ike_put_u32(p, v);
}

uint8_t *ike_wr_take(struct ike_wr *wr, size_t *len)
{
    *len = 0;
    if (wr->status != IKE_OK) {
        ike_wr_release(wr);
        return NULL;
    }
    if (!wr->buf) {
        /* Empty but successful: a valid allocation keeps "NULL = error". */
        uint8_t *one = calloc(1, 1);
        return one;
    }
    uint8_t *out = wr->buf;
    *len = wr->len;
    wr->buf = NULL;
    wr->len = 0;
    wr->cap = 0;
    return out;
}

void ike_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void ike_put_u32(uint8_t *p, uint32_t v)
{
    ike_put_u16(p, (uint16_t)(v >> 16));
    ike_put_u16(p + 2, (uint16_t)v);
}

void ike_put_u64(uint8_t *p, uint64_t v)
{
    ike_put_u32(p, (uint32_t)(v >> 32));
    ike_put_u32(p + 4, (uint32_t)v);
}

uint16_t ike_get_u16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

uint32_t ike_get_u32(const uint8_t *p)
{
    return (uint32_t)ike_get_u16(p) << 16 | ike_get_u16(p + 2);
}

uint64_t ike_get_u64(const uint8_t *p)
{
    return (uint64_t)ike_get_u32(p) << 32 | ike_get_u32(p + 4);
}
