/* The data plane's CHILD SA index by inbound SPI (dataplane.c): it must
 * find exactly what the list holds across rebuilds (1024 buckets, then
 * doubling), deletes and refused duplicates. tests/bench/ike.sh found the
 * list walk it replaces making 10^4 tunnels quadratic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <ike/const.h>
#include <ike/export.h>

#include "dtest_util.h"

#define N_CHILDREN 5000u /* past three rebuilds: 1024 -> 2048 -> 4096 -> 8192 */

static uint32_t spi_of(uint32_t i)
{
    /* Spread over the SPI space; never 0, distinct for i < 2^31. */
    return (i * 2654435761u) | 0x80000000u;
}

static void test_index_tracks_installs_and_deletes(void **state)
{
    (void)state;
    struct dp dp;
    char err[128];
    assert_int_equal(dp_open(&dp, "record", NULL, err, sizeof(err)), 0);
    struct dp_child **c = calloc(N_CHILDREN, sizeof(*c));
    assert_non_null(c);
    for (uint32_t i = 0; i < N_CHILDREN; i++) {
        c[i] = dtest_install_spi(&dp, spi_of(i));
        assert_non_null(c[i]);
    }
    assert_int_equal(dp.n_children, N_CHILDREN);
    assert_true(dp.spi_index_size >= N_CHILDREN);
    for (uint32_t i = 0; i < N_CHILDREN; i++)
        assert_ptr_equal(dp_child_find(&dp, spi_of(i)), c[i]);
    assert_null(dp_child_find(&dp, 0x1234));
    /* a duplicate inbound SPI is refused, however large the table */
    assert_null(dtest_install_spi(&dp, spi_of(N_CHILDREN / 2)));
    assert_int_equal(dp.install_failures, 1);
    /* delete every other one: gone from the index, the rest still found */
    for (uint32_t i = 0; i < N_CHILDREN; i += 2)
        dp_child_delete(&dp, c[i]);
    for (uint32_t i = 0; i < N_CHILDREN; i++) {
        if (i % 2)
            assert_ptr_equal(dp_child_find(&dp, spi_of(i)), c[i]);
        else
            assert_null(dp_child_find(&dp, spi_of(i)));
    }
    /* a deleted SPI can be installed again */
    struct dp_child *again = dtest_install_spi(&dp, spi_of(0));
    assert_non_null(again);
    assert_ptr_equal(dp_child_find(&dp, spi_of(0)), again);
    dp_close(&dp);
    assert_null(dp.spi_index);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_tracks_installs_and_deletes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
