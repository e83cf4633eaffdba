/* daemon_ike_ops.child_spi_taken (ike_glue.c): libike asks it before it
 * proposes an inbound CHILD SPI, so it must answer from the data plane's
 * SPI index: taken while a pair with that inbound SPI is installed, free
 * before and after (a clash used to surface only as a refused install,
 * "inbound SPI ... is already installed", and a CHILD-less IKE SA). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <ike/const.h>
#include <ike/export.h>

#include "dtest_util.h"

static void test_taken_follows_data_plane(void **state)
{
    (void)state;
    bool (*taken)(void *, uint32_t) = daemon_ike_ops.child_spi_taken;
    assert_non_null(taken);
    struct daemon *d = calloc(1, sizeof(*d));
    assert_non_null(d);
    char err[128];
    assert_int_equal(dp_open(&d->dp, "record", NULL, err, sizeof(err)), 0);
    const uint32_t a = 0xc0ffee01u, b = 0x00000100u;
    assert_false(taken(d, a));
    assert_false(taken(d, b));
    struct dp_child *ca = dtest_install_spi(&d->dp, a);
    struct dp_child *cb = dtest_install_spi(&d->dp, b);
    assert_non_null(ca);
    assert_non_null(cb);
    assert_true(taken(d, a));
    assert_true(taken(d, b));
    assert_false(taken(d, a + 1));
    /* the clash this guards against: the same inbound SPI twice is refused */
    assert_null(dtest_install_spi(&d->dp, a));
    dp_child_delete(&d->dp, ca);
    assert_false(taken(d, a));
    assert_true(taken(d, b));
    dp_close(&d->dp);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_taken_follows_data_plane),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
