/* Every datagram of the exchanges added for INFORMATIONAL, COOKIE and RFC
 * 6311 dissects cleanly in tshark, which decrypts the SK payloads with the
 * keys of the IKE_SA_ADD event and must find what we sent inside: a COOKIE
 * round trip, a liveness check, a message-ID sync with replay-counter
 * delta (message ID 0), an INVALID_SPI report, a CHILD SA Delete from the
 * responder and the IKE SA Delete. Skipped when tshark is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <ike/cookie.h>

#include "helper_pair.h"
#include "helper_wire.h"
#include "helper_wire_check.h"

static struct pair *exchanges(struct ike_cookie_jar *jar)
{
    struct pair *p = pair_new();
    struct ike_diag d = {0};
    p->side[0].cfg.replay_counter_sync = p->side[1].cfg.replay_counter_sync = true;
    p->side[1].ctx.cookies = jar;
    p->side[1].ctx.require_cookie = true;
    pair_establish(p); /* INIT, COOKIE, INIT, INIT resp, AUTH, AUTH resp */
    assert_int_equal(p->n_trace, 6);
    struct ike_sa *i = p->side[0].sa, *r = p->side[1].sa;
    assert_int_equal(ike_sa_dpd(i, &d), IKE_OK);
    assert_int_equal(pair_run(p), 2);
    assert_int_equal(ike_sa_msgid_sync(i, 5, 1, 1u << 20, &d), IKE_OK);
    assert_int_equal(pair_run(p), 2);
    assert_int_equal(ike_sa_report_invalid_spi(i, 0x11112222, &d), IKE_OK);
    assert_int_equal(pair_run(p), 2);
    assert_int_equal(ike_sa_delete_child(r, p->side[1].installed[0].spi_in, &d), IKE_OK);
    assert_int_equal(pair_run(p), 2);
    assert_int_equal(ike_sa_delete(i, &d), IKE_OK);
    assert_int_equal(pair_run(p), 2);
    assert_int_equal(ike_sa_state(i), IKE_SA_STATE_DEAD);
    assert_int_equal(ike_sa_state(r), IKE_SA_STATE_DEAD);
    assert_int_equal(p->n_trace, 16);
    return p;
}

static void test_info_wire(void **state)
{
    (void)state;
    if (!helper_wire_tshark_found()) {
        print_message("tshark not found: skipping\n");
        skip();
    }
    struct ike_cookie_jar *jar = NULL;
    assert_int_equal(ike_cookie_jar_new(&jar), IKE_OK);
    struct pair *p = exchanges(jar);
    struct helper_wire_check w;
    helper_wire_check_open(&w, "/tmp/haiked-info-wire-XXXXXX", p);
    helper_wire_check_keys(&w, &p->side[0].events[1].ike, 1, HELPER_WIRE_WS_AES_CBC_256,
                           HELPER_WIRE_WS_SHA2_256_128);
    helper_wire_check_clean(&w);
    helper_wire_check_expect(&w, "isakmp", "isakmp.exchangetype",
                             "34\n34\n34\n34\n35\n35\n37\n37\n37\n37\n37\n37\n37\n37\n37\n37\n");
    helper_wire_check_expect(
        &w, "isakmp.exchangetype == 37", "isakmp.messageid",
        "0x00000002\n0x00000002\n0x00000000\n0x00000000\n0x00000005\n0x00000005\n"
        "0x00000001\n0x00000001\n0x00000006\n0x00000006\n");
    /* COOKIE: the stateless answer and the retry that echoes it first */
    helper_wire_check_expect(&w, "isakmp.notify.msgtype == 16390", "frame.number", "2\n3\n");
    /* decrypted: the sync notifies, the INVALID_SPI report, the Deletes */
    helper_wire_check_expect(&w, "isakmp.notify.msgtype == 16422", "frame.number", "9\n10\n");
    helper_wire_check_expect(&w, "isakmp.notify.msgtype == 16423", "frame.number", "9\n");
    helper_wire_check_expect(&w, "isakmp.notify.msgtype == 11", "isakmp.notify.data", "11112222\n");
    helper_wire_check_expect(&w, "isakmp.delete.protoid", "isakmp.delete.protoid", "3\n3\n1\n");
    helper_wire_check_close(&w);
    pair_free(p);
    ike_cookie_jar_free(jar);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info_wire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
