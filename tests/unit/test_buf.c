/* Bounded reader, growable writer and the message arena. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "buf.h"

static void test_rd_reads_big_endian(void **state)
{
    (void)state;
    const uint8_t d[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    struct ike_rd rd;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    ike_rd_init(&rd, d, sizeof(d));
    assert_true(ike_rd_u8(&rd, &u8));
    assert_int_equal(u8, 1);
    assert_true(ike_rd_u16(&rd, &u16));
    assert_int_equal(u16, 0x0203);
    assert_true(ike_rd_u32(&rd, &u32));
    assert_int_equal(u32, 0x04050607);
    assert_true(ike_rd_u64(&rd, &u64));
    assert_true(u64 == 0x08090a0b0c0d0e0fULL);
    assert_int_equal(ike_rd_left(&rd), 0);
    assert_false(ike_rd_u8(&rd, &u8));
}

static void test_rd_short_read_does_not_move(void **state)
{
    (void)state;
    const uint8_t d[] = {0xaa, 0xbb, 0xcc};
    struct ike_rd rd;
    uint32_t u32;
    uint8_t buf[4];
    const uint8_t *p;
    ike_rd_init(&rd, d, sizeof(d));
    assert_false(ike_rd_u32(&rd, &u32));
    assert_false(ike_rd_copy(&rd, buf, 4));
    assert_false(ike_rd_slice(&rd, 4, &p));
    assert_false(ike_rd_skip(&rd, SIZE_MAX));
    assert_int_equal(ike_rd_left(&rd), 3);
    assert_true(ike_rd_skip(&rd, 3));
    assert_int_equal(ike_rd_left(&rd), 0);
}

static void test_rd_sub_is_bounded(void **state)
{
    (void)state;
    const uint8_t d[] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct ike_rd rd, sub, subsub;
    uint16_t v;
    ike_rd_init(&rd, d, sizeof(d));
    assert_true(ike_rd_skip(&rd, 2));
    assert_true(ike_rd_sub(&rd, 4, &sub));
    assert_int_equal(ike_rd_left(&rd), 2);
    assert_int_equal(ike_rd_abs(&sub), 2);
    assert_true(ike_rd_u16(&sub, &v));
    assert_int_equal(v, 0x0304);
    assert_true(ike_rd_sub(&sub, 2, &subsub));
    assert_int_equal(ike_rd_abs(&subsub), 4);
    /* The sub-reader cannot see its parent's remaining octets. */
    assert_false(ike_rd_u16(&sub, &v));
    assert_false(ike_rd_sub(&rd, 3, &sub));
    assert_true(ike_rd_u16(&rd, &v));
    assert_int_equal(v, 0x0708);
}

static void test_rd_null_is_empty(void **state)
{
    (void)state;
    struct ike_rd rd;
    uint8_t v;
    ike_rd_init(&rd, NULL, 100);
    assert_int_equal(ike_rd_left(&rd), 0);
    assert_false(ike_rd_u8(&rd, &v));
}

static void test_wr_grows_and_patches(void **state)
{
    (void)state;
    struct ike_wr wr;
    size_t len;
    ike_wr_init(&wr, 100000);
    size_t off = ike_wr_reserve(&wr, 2);
    ike_wr_u8(&wr, 0x11);
    ike_wr_u16(&wr, 0x2233);
    ike_wr_u32(&wr, 0x44556677);
    ike_wr_u64(&wr, 0x8899aabbccddeeffULL);
    for (int i = 0; i < 1000; i++) /* forces several regrowths */
        ike_wr_u8(&wr, (uint8_t)i);
    ike_wr_patch_u16(&wr, off, 0xbeef);
    assert_int_equal(ike_wr_status(&wr), IKE_OK);
    uint8_t *b = ike_wr_take(&wr, &len);
    assert_non_null(b);
    assert_int_equal(len, 2 + 1 + 2 + 4 + 8 + 1000);
    const uint8_t want[] = {0xbe, 0xef, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                            0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x01};
    assert_memory_equal(b, want, sizeof(want));
    assert_int_equal(b[len - 1], (uint8_t)999);
    free(b);
    assert_null(wr.buf);
}

static void test_wr_max_is_sticky(void **state)
{
    (void)state;
    struct ike_wr wr;
    size_t len = 99;
    ike_wr_init(&wr, 8);
    ike_wr_u32(&wr, 1);
    ike_wr_u32(&wr, 2);
    assert_int_equal(ike_wr_status(&wr), IKE_OK);
    ike_wr_u8(&wr, 3);
    assert_int_equal(ike_wr_status(&wr), IKE_E_TOO_BIG);
    ike_wr_zeros(&wr, 0); /* no-op after the error, status unchanged */
    assert_int_equal(wr.len, 8);
    assert_int_equal(ike_wr_status(&wr), IKE_E_TOO_BIG);
    assert_null(ike_wr_take(&wr, &len));
    assert_int_equal(len, 0);
    assert_null(wr.buf);
}

static void test_wr_bad_patch(void **state)
{
    (void)state;
    struct ike_wr wr;
    ike_wr_init(&wr, 64);
    ike_wr_u16(&wr, 0);
    ike_wr_patch_u32(&wr, 0, 1);
    assert_int_equal(ike_wr_status(&wr), IKE_E_INVALID_ARG);
    ike_wr_release(&wr);
    ike_wr_init(&wr, 64);
    ike_wr_u16(&wr, 0);
    ike_wr_patch_u8(&wr, SIZE_MAX, 1);
    assert_int_equal(ike_wr_status(&wr), IKE_E_INVALID_ARG);
    ike_wr_release(&wr);
}

static void test_wr_empty_take(void **state)
{
    (void)state;
    struct ike_wr wr;
    size_t len = 5;
    ike_wr_init(&wr, 0);
    uint8_t *b = ike_wr_take(&wr, &len);
    assert_non_null(b);
    assert_int_equal(len, 0);
    free(b);
}

static void test_be_helpers(void **state)
{
    (void)state;
    uint8_t b[8];
    ike_put_u64(b, 0x0102030405060708ULL);
    assert_int_equal(ike_get_u16(b + 6), 0x0708);
    assert_int_equal(ike_get_u32(b), 0x01020304);
    assert_true(ike_get_u64(b) == 0x0102030405060708ULL);
}

static void test_arena_limit_and_zeroing(void **state)
{
    (void)state;
    struct ike_arena *a = ike_arena_new(10000);
    assert_non_null(a);
    uint8_t *p = ike_arena_alloc(a, 100);
    assert_non_null(p);
    for (int i = 0; i < 100; i++)
        assert_int_equal(p[i], 0);
    assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
    void *big = ike_arena_alloc(a, 9000); /* a dedicated chunk */
    assert_non_null(big);
    void *small = ike_arena_alloc(a, 8); /* still served by the first chunk */
    assert_non_null(small);
    assert_null(ike_arena_alloc(a, 2000)); /* over the limit */
    assert_null(ike_arena_array(a, SIZE_MAX / 2, 4)); /* overflow */
    assert_null(ike_arena_alloc(a, SIZE_MAX));
    void *z1 = ike_arena_alloc(a, 0);
    void *z2 = ike_arena_alloc(a, 0);
    assert_non_null(z1);
    assert_ptr_not_equal(z1, z2);
    const char s[] = "hello";
    char *d = ike_arena_dup(a, s, sizeof(s));
    assert_string_equal(d, "hello");
    assert_true(ike_arena_used(a) <= 10000);
    ike_arena_free(a);
    ike_arena_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rd_reads_big_endian),
        cmocka_unit_test(test_rd_short_read_does_not_move),
        cmocka_unit_test(test_rd_sub_is_bounded),
        cmocka_unit_test(test_rd_null_is_empty),
        cmocka_unit_test(test_wr_grows_and_patches),
        cmocka_unit_test(test_wr_max_is_sticky),
        cmocka_unit_test(test_wr_bad_patch),
        cmocka_unit_test(test_wr_empty_take),
        cmocka_unit_test(test_be_helpers),
        cmocka_unit_test(test_arena_limit_and_zeroing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
