/* Every CREATE_CHILD_SA datagram we build dissects cleanly in tshark, which
 * decrypts them with the IKE SAs' keys and must find what we sent: a new
 * CHILD SA with PFS after an INVALID_KE_PAYLOAD round, a CHILD rekey
 * (REKEY_SA naming the sender's inbound SPI), an IKE SA rekey (IKE proposal
 * with the new 8-octet SPI, KE) and the Deletes that follow, and traffic
 * on the new IKE SA. Skipped when tshark is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "helper_ccs.h"
#include "helper_wire.h"
#include "helper_wire_check.h"

static void test_wire(void **state)
{
    (void)state;
    if (!helper_wire_tshark_found()) {
        print_message("tshark not found: skipping\n");
        skip();
    }
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    struct ike_diag d = {0};
    ccs_second_pair(p);
    ccs_pfs_retry(p);
    ccs_establish(c, false);     /* IKE_SA_INIT, IKE_AUTH, CCS, INVALID_KE, CCS */
    struct ike_sa_export sas[2]; /* the first IKE SA, then its rekeyed successor */
    assert_int_equal(ike_sa_export(p->side[0].sa, &sas[0], &d), IKE_OK);
    uint32_t spi = ccs_child(p->side[0].sa, 0).spi_in;
    assert_int_equal(ike_sa_child_rekey(p->side[0].sa, spi, &d), IKE_OK);
    ccs_run(c); /* CCS rekey, INFORMATIONAL Delete */
    assert_int_equal(ike_sa_rekey(p->side[1].sa, &d), IKE_OK);
    ccs_run(c); /* CCS IKE rekey, INFORMATIONAL Delete of the old SA */
    assert_int_equal(ike_sa_child_create(p->side[0].sa, 1, &d), IKE_OK);
    ccs_run(c); /* CCS on the new IKE SA */
    assert_int_equal(ike_sa_export(p->side[0].sa, &sas[1], &d), IKE_OK);
    assert_int_equal(p->n_trace, 22);

    struct helper_wire_check w;
    helper_wire_check_open(&w, "/tmp/haiked-ccs-wire-XXXXXX", p);
    helper_wire_check_keys(&w, sas, 2, HELPER_WIRE_WS_AES_CBC_256, HELPER_WIRE_WS_SHA2_256_128);
    helper_wire_check_clean(&w);
    helper_wire_check_expect(
        &w, "isakmp", "isakmp.exchangetype",
        "34\n34\n35\n35\n36\n36\n36\n36\n36\n36\n36\n36\n37\n37\n36\n36\n37\n37\n"
        "36\n36\n36\n36\n");
    /* new CHILD SA (frames 5-8): ESP proposal listing the PFS groups, KE
     * of ECP-384, INVALID_KE_PAYLOAD naming ECP-256, KE of ECP-256, the
     * chosen proposal with ECP-256, the second pair's selectors */
    helper_wire_check_expect(&w, "frame.number >= 5 && frame.number <= 8",
                             "isakmp.key_exchange.dh_group", "20\n\n19\n19\n");
    helper_wire_check_expect(&w, "frame.number >= 5 && frame.number <= 8", "isakmp.tf.id.dh",
                             "20,19\n\n20,19\n19\n");
    helper_wire_check_expect(&w, "isakmp.notify.msgtype == 17",
                             "isakmp.notify.data.accepted_dh_group", "19\n19\n19\n");
    helper_wire_check_expect(&w, "frame.number == 8", "isakmp.ts.start_ipv4",
                             "10.3.0.0,10.4.0.0\n");
    /* CHILD rekey (frames 9-12): REKEY_SA for ESP naming the rekeying
     * side's inbound SPI, i.e. the SPI it offered in IKE_AUTH (frame 3) */
    char want[64];
    snprintf(want, sizeof(want), "%08x", spi);
    char *offered = helper_wire_check_fields(&w, "frame.number == 3", "isakmp.spi");
    assert_int_equal(strncmp(offered, want, 8), 0);
    free(offered);
    helper_wire_check_expect(&w, "isakmp.notify.msgtype == 16393", "isakmp.notify.protoid",
                             "3\n3\n");
    char *rekey = helper_wire_check_fields(&w, "frame.number == 11", "isakmp.spi");
    assert_int_equal(strncmp(rekey, want, 8), 0);
    free(rekey);
    helper_wire_check_expect(&w, "frame.number == 12", "isakmp.ts.start_ipv4",
                             "10.1.0.0,10.2.0.0\n");
    /* IKE rekey (frames 15-16): IKE proposal with an 8-octet SPI, KE, no
     * TS, from the original responder */
    helper_wire_check_expect(&w, "frame.number == 15 || frame.number == 16", "isakmp.prop.protoid",
                             "1\n1\n");
    helper_wire_check_expect(&w, "frame.number == 15 || frame.number == 16", "isakmp.spisize",
                             "8\n8\n");
    helper_wire_check_expect(&w, "frame.number == 15 || frame.number == 16",
                             "isakmp.key_exchange.dh_group", "19\n19\n");
    helper_wire_check_expect(&w, "frame.number == 15", "isakmp.flag_i", "0\n");
    helper_wire_check_expect(&w, "(frame.number == 15 || frame.number == 16) && isakmp.ts.type",
                             "frame.number", "");
    /* the new IKE SA: message IDs from 0, decrypted with its own keys */
    helper_wire_check_expect(&w, "frame.number >= 19", "isakmp.messageid",
                             "0x00000000\n0x00000000\n0x00000001\n0x00000001\n");
    helper_wire_check_expect(&w, "frame.number == 22", "isakmp.ts.start_ipv4",
                             "10.3.0.0,10.4.0.0\n");
    helper_wire_check_close(&w);
    ike_export_wipe(sas, sizeof(sas));
    ccs_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
