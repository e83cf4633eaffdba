/* Every datagram two libike SAs exchange in IKE_SA_INIT and IKE_AUTH
 * (INVALID_KE_PAYLOAD round trip, NAT-T on 4500, a retransmission
 * included) dissects cleanly in tshark, which also decrypts the SK
 * payloads with the keys of the IKE_SA_ADD event and must find the
 * payloads we sent inside. Skipped when tshark is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "helper_pair.h"
#include "helper_wire.h"
#include "helper_wire_check.h"

struct run {
    const char *name;
    uint16_t encr, key_bits, integ;
    const char *ws_encr, *ws_integ; /* Wireshark's names */
    bool nat;
};

static const struct run runs[] = {
    {"cbc", IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_256_128, "AES-CBC-256 [RFC3602]",
     "HMAC_SHA2_256_128 [RFC4868]", false},
    {"gcm-nat", IKE_ENCR_AES_GCM_16, 256, IKE_INTEG_NONE, "AES-GCM-256 with 16 octet ICV [RFC5282]",
     "NONE [RFC4306]", true},
};

/* One full exchange with a group retry and a lost IKE_AUTH response. */
static struct pair *exchange(const struct run *r)
{
    struct pair *p = pair_new();
    p->nat = r->nat;
    for (int s = 0; s < 2; s++) {
        struct ike_cfg_proposal *ike = &p->side[s].cfg.proposals[0];
        ike->encr[0] = (struct ike_cfg_encr){r->encr, r->key_bits};
        ike->n_integ = r->integ ? 1 : 0;
        ike->integ[0] = r->integ;
    }
    struct ike_cfg_proposal *i = &p->side[0].cfg.proposals[0];
    i->dh[i->n_dh++] = IKE_DH_CURVE25519;
    p->side[1].cfg.proposals[0].dh[0] = IKE_DH_CURVE25519;
    pair_start(p);
    for (int k = 0; k < 4; k++) /* INIT, INVALID_KE, INIT, response */
        pair_deliver(p, 0);
    pair_deliver(p, 0); /* IKE_AUTH request */
    pair_drop(p, 0);    /* its response is lost */
    pair_advance(p, IKE_RETRANSMIT_BASE_MS);
    pair_run(p);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    assert_int_equal(p->n_trace, 8);
    return p;
}

static void check_run(const struct run *r)
{
    struct pair *p = exchange(r);
    struct helper_wire_check w;
    helper_wire_check_open(&w, "/tmp/haiked-exch-wire-XXXXXX", p);
    helper_wire_check_keys(&w, &p->side[0].events[1].ike, 1, r->ws_encr, r->ws_integ);
    /* no malformed frame, no warning or error (a bad ICV is one) */
    helper_wire_check_clean(&w);
    helper_wire_check_expect(&w, "isakmp", "isakmp.exchangetype",
                             "34\n34\n34\n34\n35\n35\n35\n35\n");
    helper_wire_check_expect(&w, "isakmp", "isakmp.messageid",
                             "0x00000000\n0x00000000\n0x00000000\n0x00000000\n"
                             "0x00000001\n0x00000001\n0x00000001\n0x00000001\n");
    /* decrypted: both IDs, AUTH, the notifies and the CHILD SA payloads */
    helper_wire_check_expect(&w, "isakmp.exchangetype == 35", "isakmp.id.data.fqdn",
                             "left.example\nright.example\nleft.example\nright.example\n");
    helper_wire_check_expect(&w, "isakmp.exchangetype == 35 && isakmp.flag_i == 1",
                             "isakmp.notify.msgtype", "16384,16420\n16384,16420\n");
    helper_wire_check_expect(&w, "isakmp.exchangetype == 35", "isakmp.auth.method", "2\n2\n2\n2\n");
    helper_wire_check_expect(&w, "isakmp.exchangetype == 35 && isakmp.flag_r == 1",
                             "isakmp.tf.id.encr", "20\n20\n");
    /* the stateless INVALID_KE_PAYLOAD answer names curve25519 */
    helper_wire_check_expect(&w, "isakmp.notify.msgtype == 17",
                             "isakmp.notify.data.accepted_dh_group", "31\n");
    /* NAT-T: IKE_AUTH on 4500 */
    helper_wire_check_expect(&w, "isakmp.exchangetype == 35", "udp.dstport",
                             r->nat ? "4500\n4500\n4500\n4500\n" : "500\n500\n500\n500\n");
    helper_wire_check_close(&w);
    pair_free(p);
}

static void test_wire(void **state)
{
    (void)state;
    if (!helper_wire_tshark_found()) {
        print_message("tshark not found: skipping\n");
        skip();
    }
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
        check_run(&runs[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
