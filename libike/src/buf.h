/*
 * Bounded reader and growable writer for wire formats.
 *
 * struct ike_rd walks a borrowed byte range. Every read checks the number of
 * octets left first (lengths are compared, never pointers) and fails without
 * moving when the range is too short. Structures are parsed by carving a
 * sub-reader of exactly the structure's length out of the parent
 * (ike_rd_sub), parsing it, and then requiring ike_rd_left(sub) == 0, so a
 * length field can never make a parser read past its own structure.
 *
 * struct ike_wr appends to a heap buffer that grows up to a hard maximum.
 * Errors are sticky: after the first failure (no memory, over the maximum,
 * bad patch offset) every later call is a no-op and ike_wr_status() reports
 * the first error, so encoders write straight-line code and check once.
 * Length fields are written by reserving them (ike_wr_reserve) and patching
 * them once the structure is complete. The buffer is wiped when released or
 * regrown because writers also carry plaintext destined for encryption.
 */
#ifndef IKE_BUF_H
#define IKE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/error.h>

#define IKE_MUST_CHECK __attribute__((warn_unused_result))

struct ike_rd {
    const uint8_t *data; /* borrowed */
    size_t len;          /* octets in this reader's range */
    size_t off;          /* octets consumed */
    size_t base;         /* absolute offset of data[0] in the outermost range */
};

void ike_rd_init(struct ike_rd *rd, const uint8_t *data, size_t len);
size_t ike_rd_left(const struct ike_rd *rd);
/* Offset of the next unread octet relative to the outermost reader. */
size_t ike_rd_abs(const struct ike_rd *rd);

IKE_MUST_CHECK bool ike_rd_u8(struct ike_rd *rd, uint8_t *v);
IKE_MUST_CHECK bool ike_rd_u16(struct ike_rd *rd, uint16_t *v);
IKE_MUST_CHECK bool ike_rd_u32(struct ike_rd *rd, uint32_t *v);
IKE_MUST_CHECK bool ike_rd_u64(struct ike_rd *rd, uint64_t *v);
IKE_MUST_CHECK bool ike_rd_copy(struct ike_rd *rd, void *dst, size_t n);
IKE_MUST_CHECK bool ike_rd_skip(struct ike_rd *rd, size_t n);
/* Borrow the next n octets (valid as long as the underlying data is). */
IKE_MUST_CHECK bool ike_rd_slice(struct ike_rd *rd, size_t n, const uint8_t **p);
/* Carve the next n octets out as a sub-reader and consume them here. */
IKE_MUST_CHECK bool ike_rd_sub(struct ike_rd *rd, size_t n, struct ike_rd *sub);

struct ike_wr {
    uint8_t *buf;
    size_t len;
    size_t cap;
    size_t max;              /* hard limit on len */
    enum ike_status status;  /* first error, sticky */
};

void ike_wr_init(struct ike_wr *wr, size_t max);
/* Wipes and frees the buffer; the writer may be initialised again. */
void ike_wr_release(struct ike_wr *wr);
enum ike_status ike_wr_status(const struct ike_wr *wr);

void ike_wr_u8(struct ike_wr *wr, uint8_t v);
void ike_wr_u16(struct ike_wr *wr, uint16_t v);
void ike_wr_u32(struct ike_wr *wr, uint32_t v);
void ike_wr_u64(struct ike_wr *wr, uint64_t v);
void ike_wr_bytes(struct ike_wr *wr, const void *p, size_t n);
void ike_wr_zeros(struct ike_wr *wr, size_t n);

/* Appends n zero octets and returns their offset, to be patched later.
 * On error the returned offset is meaningless but patching it is a no-op. */
size_t ike_wr_reserve(struct ike_wr *wr, size_t n);
void ike_wr_patch_u8(struct ike_wr *wr, size_t off, uint8_t v);
void ike_wr_patch_u16(struct ike_wr *wr, size_t off, uint16_t v);
void ike_wr_patch_u32(struct ike_wr *wr, size_t off, uint32_t v);

/* Hands the buffer over to the caller (free() it) and resets the writer.
 * Returns NULL (and releases the buffer) if the writer is in error; a
 * successful empty writer returns a valid 1-octet allocation. */
uint8_t *ike_wr_take(struct ike_wr *wr, size_t *len);

/* Big-endian helpers for fixed buffers (no bounds: callers pass arrays). */
void ike_put_u16(uint8_t *p, uint16_t v);
void ike_put_u32(uint8_t *p, uint32_t v);
void ike_put_u64(uint8_t *p, uint64_t v);
uint16_t ike_get_u16(const uint8_t *p);
uint32_t ike_get_u32(const uint8_t *p);
uint64_t ike_get_u64(const uint8_t *p);

#endif
