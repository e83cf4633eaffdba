/* The capture / decrypt / dissect sequence the exchange wire tests share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "helper_wire.h"
#include "helper_wire_check.h"

void helper_wire_check_open(struct helper_wire_check *w, const char *tmpl, const struct pair *p)
{
    int n = snprintf(w->dir, sizeof(w->dir), "%s", tmpl);
    assert_true(n > 0 && (size_t)n < sizeof(w->dir));
    assert_non_null(mkdtemp(w->dir));
    snprintf(w->pcap, sizeof(w->pcap), "%s/x.pcap", w->dir);
    struct helper_wire_pcap pc;
    helper_wire_pcap_open(&pc, w->pcap);
    for (size_t i = 0; i < p->n_trace; i++) {
        const struct pair_trace *t = &p->trace[i];
        bool natt = t->sent_from.port == IKE_PORT_NATT || t->sent_to.port == IKE_PORT_NATT;
        uint16_t port = natt ? HELPER_WIRE_PORT_NATT : HELPER_WIRE_PORT_IKE;
        helper_wire_pcap_add(&pc, t->from == 0, port, t->data, t->len);
    }
    helper_wire_pcap_close(&pc);
}

static void hex(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

void helper_wire_check_keys(const struct helper_wire_check *w, const struct ike_sa_export *e,
                            size_t n, const char *ws_encr, const char *ws_integ)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/ikev2_decryption_table", w->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t k = 0; k < n; k++) {
        hex(f, e[k].spi_i, 8);
        fputc(',', f);
        hex(f, e[k].spi_r, 8);
        fputc(',', f);
        hex(f, e[k].sk_ei.data, e[k].sk_ei.len);
        fputc(',', f);
        hex(f, e[k].sk_er.data, e[k].sk_er.len);
        fprintf(f, ",\"%s\",", ws_encr);
        hex(f, e[k].sk_ai.data, e[k].sk_ai.len);
        fputc(',', f);
        hex(f, e[k].sk_ar.data, e[k].sk_ar.len);
        fprintf(f, ",\"%s\"\n", ws_integ);
    }
    assert_int_equal(fclose(f), 0);
}

char *helper_wire_check_fields(const struct helper_wire_check *w, const char *filter,
                               const char *field)
{
    const char *const args[] = {"-r", w->pcap, "-Y", filter, "-T", "fields", "-e", field, NULL};
    int status = -1;
    char *out = helper_wire_tshark(w->dir, args, &status);
    if (!out || status != 0)
        fail_msg("tshark -Y '%s' -e %s failed (exit %d)", filter, field, status);
    return out;
}

void helper_wire_check_expect(const struct helper_wire_check *w, const char *filter,
                              const char *field, const char *want)
{
    char *got = helper_wire_check_fields(w, filter, field);
    if (strcmp(got, want) != 0)
        fail_msg("tshark %s / %s:\n got: %s\nwant: %s", filter, field, got, want);
    free(got);
}

void helper_wire_check_clean(const struct helper_wire_check *w)
{
    helper_wire_check_expect(w,
                             "_ws.malformed || _ws.expert.severity >= 0x00600000 || "
                             "isakmp.ikev2.integrity_checksum",
                             "frame.number", "");
}

void helper_wire_check_close(const struct helper_wire_check *w)
{
    if (getenv("HAIKED_WIRE_KEEP")) {
        print_message("wire check files kept in %s\n", w->dir);
        return;
    }
    static const char *const files[] = {"x.pcap", "ikev2_decryption_table", "recent",
                                        "recent_common"};
    char path[256];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", w->dir, files[i]);
        unlink(path);
    }
    rmdir(w->dir);
}
