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

static void hex(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

/* Wireshark's IKEv2 decryption table (UAT). */
static void write_keys(const char *dir, const struct ike_sa_export *e)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/ikev2_decryption_table", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
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
    assert_int_equal(fclose(f), 0);
}

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
    char dir[64] = "/tmp/haiked-info-wire-XXXXXX", pcap[128];
    assert_non_null(mkdtemp(dir));
    snprintf(pcap, sizeof(pcap), "%s/x.pcap", dir);
    struct helper_wire_pcap pc;
    helper_wire_pcap_open(&pc, pcap);
    for (size_t k = 0; k < p->n_trace; k++)
        helper_wire_pcap_add(&pc, p->trace[k].from == 0, HELPER_WIRE_PORT_IKE, p->trace[k].data,
                             p->trace[k].len);
    helper_wire_pcap_close(&pc);
    write_keys(dir, &p->side[0].events[1].ike);
    expect(dir, pcap,
           "_ws.malformed || _ws.expert.severity >= 0x00600000 || "
           "isakmp.ikev2.integrity_checksum",
           "frame.number", "");
    expect(dir, pcap, "isakmp", "isakmp.exchangetype",
           "34\n34\n34\n34\n35\n35\n37\n37\n37\n37\n37\n37\n37\n37\n37\n37\n");
    expect(dir, pcap, "isakmp.exchangetype == 37", "isakmp.messageid",
           "0x00000002\n0x00000002\n0x00000000\n0x00000000\n0x00000005\n0x00000005\n"
           "0x00000001\n0x00000001\n0x00000006\n0x00000006\n");
    /* COOKIE: the stateless answer and the retry that echoes it first */
    expect(dir, pcap, "isakmp.notify.msgtype == 16390", "frame.number", "2\n3\n");
    /* decrypted: the sync notifies, the INVALID_SPI report, the Deletes */
    expect(dir, pcap, "isakmp.notify.msgtype == 16422", "frame.number", "9\n10\n");
    expect(dir, pcap, "isakmp.notify.msgtype == 16423", "frame.number", "9\n");
    expect(dir, pcap, "isakmp.notify.msgtype == 11", "isakmp.notify.data", "11112222\n");
    expect(dir, pcap, "isakmp.delete.protoid", "isakmp.delete.protoid", "3\n3\n1\n");
    if (getenv("HAIKED_WIRE_KEEP"))
        print_message("wire check files kept in %s\n", dir);
    else
        cleanup(dir);
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
