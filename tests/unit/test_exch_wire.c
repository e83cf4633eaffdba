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

static void hex_out(FILE *f, const struct ike_key_export *k)
{
    for (size_t i = 0; i < k->len; i++)
        fprintf(f, "%02x", k->data[i]);
}

static void hex_raw(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

/* Wireshark's IKEv2 decryption table (UAT): SPIi, SPIr, SK_ei, SK_er,
 * encryption, SK_ai, SK_ar, integrity. */
static void write_keys(const char *dir, const struct run *r, const struct ike_sa_export *e)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/ikev2_decryption_table", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    hex_raw(f, e->spi_i, 8);
    fputc(',', f);
    hex_raw(f, e->spi_r, 8);
    fputc(',', f);
    hex_out(f, &e->sk_ei);
    fputc(',', f);
    hex_out(f, &e->sk_er);
    fprintf(f, ",\"%s\",", r->ws_encr);
    hex_out(f, &e->sk_ai);
    fputc(',', f);
    hex_out(f, &e->sk_ar);
    fprintf(f, ",\"%s\"\n", r->ws_integ);
    assert_int_equal(fclose(f), 0);
}

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

static void write_capture(const char *path, const struct pair *p)
{
    struct helper_wire_pcap pc;
    helper_wire_pcap_open(&pc, path);
    for (size_t i = 0; i < p->n_trace; i++) {
        const struct pair_trace *t = &p->trace[i];
        /* the capture has one port per datagram: 4500 when either end
         * uses it (the responder answers the NAT's mapped port) */
        bool natt = t->sent_from.port == IKE_PORT_NATT || t->sent_to.port == IKE_PORT_NATT;
        uint16_t port = natt ? HELPER_WIRE_PORT_NATT : HELPER_WIRE_PORT_IKE;
        helper_wire_pcap_add(&pc, t->from == 0, port, t->data, t->len);
    }
    helper_wire_pcap_close(&pc);
}

static char *fields(const char *dir, const char *pcap, const char *filter, const char *field)
{
    const char *const args[] = {"-r", pcap, "-Y", filter, "-T", "fields", "-e", field, NULL};
    int status = -1;
    char *out = helper_wire_tshark(dir, args, &status);
    if (!out || status != 0)
        fail_msg("tshark -Y '%s' -e %s failed (exit %d)", filter, field, status);
    return out;
}

static void expect(const char *dir, const char *pcap, const char *filter, const char *field,
                   const char *want)
{
    char *got = fields(dir, pcap, filter, field);
    if (strcmp(got, want) != 0)
        fail_msg("tshark %s / %s:\n got: %s\nwant: %s", filter, field, got, want);
    free(got);
}

static void cleanup(const char *dir)
{
    static const char *const files[] = {"x.pcap", "ikev2_decryption_table", "recent",
                                        "recent_common"};
    char path[256];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void check_run(const struct run *r)
{
    struct pair *p = exchange(r);
    char dir[64] = "/tmp/haiked-exch-wire-XXXXXX", pcap[128];
    assert_non_null(mkdtemp(dir));
    snprintf(pcap, sizeof(pcap), "%s/x.pcap", dir);
    write_capture(pcap, p);
    write_keys(dir, r, &p->side[0].events[1].ike);
    /* no malformed frame, no warning or error (a bad ICV is one) */
    expect(dir, pcap,
           "_ws.malformed || _ws.expert.severity >= 0x00600000 || "
           "isakmp.ikev2.integrity_checksum",
           "frame.number", "");
    expect(dir, pcap, "isakmp", "isakmp.exchangetype", "34\n34\n34\n34\n35\n35\n35\n35\n");
    expect(dir, pcap, "isakmp", "isakmp.messageid",
           "0x00000000\n0x00000000\n0x00000000\n0x00000000\n"
           "0x00000001\n0x00000001\n0x00000001\n0x00000001\n");
    /* decrypted: both IDs, AUTH, the notifies and the CHILD SA payloads */
    expect(dir, pcap, "isakmp.exchangetype == 35", "isakmp.id.data.fqdn",
           "left.example\nright.example\nleft.example\nright.example\n");
    expect(dir, pcap, "isakmp.exchangetype == 35 && isakmp.flag_i == 1", "isakmp.notify.msgtype",
           "16384,16420\n16384,16420\n");
    expect(dir, pcap, "isakmp.exchangetype == 35", "isakmp.auth.method", "2\n2\n2\n2\n");
    expect(dir, pcap, "isakmp.exchangetype == 35 && isakmp.flag_r == 1", "isakmp.tf.id.encr",
           "20\n20\n");
    /* the stateless INVALID_KE_PAYLOAD answer names curve25519 */
    expect(dir, pcap, "isakmp.notify.msgtype == 17", "isakmp.notify.data.accepted_dh_group",
           "31\n");
    /* NAT-T: IKE_AUTH on 4500 */
    expect(dir, pcap, "isakmp.exchangetype == 35", "udp.dstport",
           r->nat ? "4500\n4500\n4500\n4500\n" : "500\n500\n500\n500\n");
    if (getenv("HAIKED_WIRE_KEEP"))
        print_message("wire check files kept in %s\n", dir);
    else
        cleanup(dir);
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
