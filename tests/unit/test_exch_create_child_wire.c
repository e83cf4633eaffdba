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

static void hex(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

/* Wireshark's IKEv2 decryption table: one line per IKE SA. */
static void key_line(FILE *f, const struct ike_sa_export *e)
{
    hex(f, e->spi_i, 8);
    fputc(',', f);
    hex(f, e->spi_r, 8);
    fputc(',', f);
    hex(f, e->sk_ei.data, e->sk_ei.len);
    fputc(',', f);
    hex(f, e->sk_er.data, e->sk_er.len);
    fprintf(f, ",\"AES-CBC-256 [RFC3602]\",");
    hex(f, e->sk_ai.data, e->sk_ai.len);
    fputc(',', f);
    hex(f, e->sk_ar.data, e->sk_ar.len);
    fprintf(f, ",\"HMAC_SHA2_256_128 [RFC4868]\"\n");
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
    ccs_pfs(p, 0, IKE_DH_ECP_384);
    ccs_pfs(p, 0, IKE_DH_ECP_256);
    ccs_pfs(p, 1, IKE_DH_ECP_256);
    ccs_establish(c, false); /* IKE_SA_INIT, IKE_AUTH, CCS, INVALID_KE, CCS */
    struct ike_sa_export old, neu;
    assert_int_equal(ike_sa_export(p->side[0].sa, &old, &d), IKE_OK);
    uint32_t spi = ccs_child(p->side[0].sa, 0).spi_in;
    assert_int_equal(ike_sa_child_rekey(p->side[0].sa, spi, &d), IKE_OK);
    ccs_run(c); /* CCS rekey, INFORMATIONAL Delete */
    assert_int_equal(ike_sa_rekey(p->side[1].sa, &d), IKE_OK);
    ccs_run(c); /* CCS IKE rekey, INFORMATIONAL Delete of the old SA */
    assert_int_equal(ike_sa_child_create(p->side[0].sa, 1, &d), IKE_OK);
    ccs_run(c); /* CCS on the new IKE SA */
    assert_int_equal(ike_sa_export(p->side[0].sa, &neu, &d), IKE_OK);
    assert_int_equal(p->n_trace, 22);

    char dir[64] = "/tmp/haiked-ccs-wire-XXXXXX", pcap[128], path[160];
    assert_non_null(mkdtemp(dir));
    snprintf(pcap, sizeof(pcap), "%s/x.pcap", dir);
    struct helper_wire_pcap pc;
    helper_wire_pcap_open(&pc, pcap);
    for (size_t i = 0; i < p->n_trace; i++)
        helper_wire_pcap_add(&pc, p->trace[i].from == 0, HELPER_WIRE_PORT_IKE, p->trace[i].data,
                             p->trace[i].len);
    helper_wire_pcap_close(&pc);
    snprintf(path, sizeof(path), "%s/ikev2_decryption_table", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    key_line(f, &old);
    key_line(f, &neu);
    assert_int_equal(fclose(f), 0);

    expect(dir, pcap,
           "_ws.malformed || _ws.expert.severity >= 0x00600000 || "
           "isakmp.ikev2.integrity_checksum",
           "frame.number", "");
    expect(dir, pcap, "isakmp", "isakmp.exchangetype",
           "34\n34\n35\n35\n36\n36\n36\n36\n36\n36\n36\n36\n37\n37\n36\n36\n37\n37\n"
           "36\n36\n36\n36\n");
    /* new CHILD SA (frames 5-8): ESP proposal listing the PFS groups, KE
     * of ECP-384, INVALID_KE_PAYLOAD naming ECP-256, KE of ECP-256, the
     * chosen proposal with ECP-256, the second pair's selectors */
    expect(dir, pcap, "frame.number >= 5 && frame.number <= 8", "isakmp.key_exchange.dh_group",
           "20\n\n19\n19\n");
    expect(dir, pcap, "frame.number >= 5 && frame.number <= 8", "isakmp.tf.id.dh",
           "20,19\n\n20,19\n19\n");
    expect(dir, pcap, "isakmp.notify.msgtype == 17", "isakmp.notify.data.accepted_dh_group",
           "19\n19\n19\n");
    expect(dir, pcap, "frame.number == 8", "isakmp.ts.start_ipv4", "10.3.0.0,10.4.0.0\n");
    /* CHILD rekey (frames 9-12): REKEY_SA for ESP naming the rekeying
     * side's inbound SPI, i.e. the SPI it offered in IKE_AUTH (frame 3) */
    char want[64];
    snprintf(want, sizeof(want), "%08x", spi);
    char *offered = fields(dir, pcap, "frame.number == 3", "isakmp.spi");
    assert_int_equal(strncmp(offered, want, 8), 0);
    free(offered);
    expect(dir, pcap, "isakmp.notify.msgtype == 16393", "isakmp.notify.protoid", "3\n3\n");
    char *rekey = fields(dir, pcap, "frame.number == 11", "isakmp.spi");
    assert_int_equal(strncmp(rekey, want, 8), 0);
    free(rekey);
    expect(dir, pcap, "frame.number == 12", "isakmp.ts.start_ipv4", "10.1.0.0,10.2.0.0\n");
    /* IKE rekey (frames 15-16): IKE proposal with an 8-octet SPI, KE, no
     * TS, from the original responder */
    expect(dir, pcap, "frame.number == 15 || frame.number == 16", "isakmp.prop.protoid", "1\n1\n");
    expect(dir, pcap, "frame.number == 15 || frame.number == 16", "isakmp.spisize", "8\n8\n");
    expect(dir, pcap, "frame.number == 15 || frame.number == 16", "isakmp.key_exchange.dh_group",
           "19\n19\n");
    expect(dir, pcap, "frame.number == 15", "isakmp.flag_i", "0\n");
    expect(dir, pcap, "(frame.number == 15 || frame.number == 16) && isakmp.ts.type",
           "frame.number", "");
    /* the new IKE SA: message IDs from 0, decrypted with its own keys */
    expect(dir, pcap, "frame.number >= 19", "isakmp.messageid",
           "0x00000000\n0x00000000\n0x00000001\n0x00000001\n");
    expect(dir, pcap, "frame.number == 22", "isakmp.ts.start_ipv4", "10.3.0.0,10.4.0.0\n");
    if (getenv("HAIKED_WIRE_KEEP"))
        print_message("wire check files kept in %s\n", dir);
    else
        cleanup(dir);
    ike_export_wipe(&old, sizeof(old));
    ike_export_wipe(&neu, sizeof(neu));
    ccs_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
