/* Content checks of the decrypted captured messages beyond nonces, KE and
 * SPIs (kat_messages.c): each message's header against index.txt and
 * values.txt; IDi/IDr, TSi/TSr and the Delete payloads against what the
 * initiator's charon logged; the Child SA proposals against the suite. */
#include <stdio.h>
#include <string.h>

#include <ike/const.h>

#include "kat_log.h"
#include "kat_msgs.h"

static void check(struct kat_ctx *k, bool ok, const char *label, const char *why)
{
    if (ok)
        kat_ok(k, label);
    else
        kat_fail(k, label, "%s", why);
}

static bool value_u32(struct kat_ctx *k, const char *key, uint32_t *v)
{
    const struct kat_value *val = kat_need(k, key);
    if (!val || !val->bytes || val->len != 4)
        return false;
    *v = (uint32_t)val->bytes[0] << 24 | (uint32_t)val->bytes[1] << 16 |
         (uint32_t)val->bytes[2] << 8 | val->bytes[3];
    return true;
}

static void check_header(struct kat_ctx *k, const struct kat_msg *m)
{
    char label[160];
    const struct ike_hdr *h = &m->msg.hdr;
    snprintf(label, sizeof(label), "%s Message ID %u and SPIr as in index.txt/values.txt",
             m->file, m->message_id);
    const struct kat_value *spi_r = kat_need(k, "spi_r");
    static const uint8_t zero[IKE_SPI_LEN];
    bool first = h->exchange == IKE_EXCH_IKE_SA_INIT && !ike_msg_is_response(&m->msg);
    const uint8_t *want = first ? zero : spi_r ? spi_r->bytes : NULL;
    bool from_i = (h->flags & IKE_FLAG_INITIATOR) != 0;
    check(k, want && h->message_id == m->message_id &&
                 memcmp(h->spi_r, want, IKE_SPI_LEN) == 0 && from_i == m->from_initiator,
          label, "Message ID, SPIr or Initiator flag differs");
}

static void check_id(struct kat_ctx *k, const struct kat_msg *m, uint8_t type, const char *want)
{
    const struct ike_pld *id = ike_msg_find(&m->msg, type);
    char label[200];
    snprintf(label, sizeof(label), "%s %s == FQDN '%s' (log)", m->file, ike_payload_name(type),
             want);
    check(k, id && id->id.type == IKE_ID_FQDN && id->id.data.len == strlen(want) &&
                 memcmp(id->id.data.ptr, want, id->id.data.len) == 0,
          label, id ? "identity differs" : "payload missing");
}

static bool ts_is(const struct ike_pld *p, const struct kat_log_ts *want)
{
    if (!p || p->ts.n_ts != 1)
        return false;
    const struct ike_ts *t = &p->ts.ts[0];
    size_t len = want->ipv6 ? 16 : 4;
    return t->type == (want->ipv6 ? IKE_TS_IPV6_ADDR_RANGE : IKE_TS_IPV4_ADDR_RANGE) &&
           t->ip_proto == 0 && t->start_port == 0 && t->end_port == 65535 &&
           memcmp(t->start_addr, want->start, len) == 0 && memcmp(t->end_addr, want->end, len) == 0;
}

/* TSi is always the exchange initiator's side, here the IKE initiator's. */
static void check_ts(struct kat_ctx *k, const struct kat_msg *m, const struct kat_log *log)
{
    char label[160];
    snprintf(label, sizeof(label), "%s TSi/TSr == the logged CHILD_SA selectors", m->file);
    check(k, ts_is(ike_msg_find(&m->msg, IKE_PLD_TSI), &log->ts_local) &&
                 ts_is(ike_msg_find(&m->msg, IKE_PLD_TSR), &log->ts_remote),
          label, "selectors differ");
}

static bool has_transform(const struct ike_proposal *p, uint8_t type, uint16_t id, uint16_t bits)
{
    for (size_t i = 0; i < p->n_transforms; i++)
        if (p->transforms[i].type == type && p->transforms[i].id == id &&
            (bits == 0 || p->transforms[i].key_bits == bits))
            return true;
    return false;
}

/* The fixtures' ESP proposal is the IKE suite's ciphers (fixture README),
 * with the suite's DH group for the PFS rekey. */
static void check_proposal(struct kat_ctx *k, const struct kat_msg *m, bool pfs)
{
    const struct ike_pld *sa = ike_msg_find(&m->msg, IKE_PLD_SA);
    char label[160];
    snprintf(label, sizeof(label), "%s first proposal is ESP with the suite's transforms%s",
             m->file, pfs ? " and DH" : "");
    const struct ike_proposal *p = sa && sa->sa.n_proposals ? &sa->sa.proposals[0] : NULL;
    bool ok = p && p->protocol == IKE_PROTO_ESP && p->spi_len == 4 &&
              has_transform(p, IKE_TRANS_ENCR, k->suite.encr_id, k->suite.encr_key_bits) &&
              (k->suite.integ_id == IKE_INTEG_NONE ||
               has_transform(p, IKE_TRANS_INTEG, k->suite.integ_id, 0)) &&
              (!pfs || has_transform(p, IKE_TRANS_DH, k->suite.dh_id, 0));
    check(k, ok, label, p ? "transforms differ" : "no SA proposal");
    if (!pfs || !ok)
        return;
    const struct ike_pld *ke = ike_msg_find(&m->msg, IKE_PLD_KE);
    snprintf(label, sizeof(label), "%s KE group == suite DH %u", m->file, k->suite.dh_id);
    check(k, ke && ke->ke.group == k->suite.dh_id, label, "KE group differs");
}

/* INFORMATIONAL: the initiator deletes the rekeyed CHILD_SA (its inbound
 * SPI, as logged), the responder answers with its own, then the initiator
 * deletes the IKE SA and gets an empty response. */
static void check_informational(struct kat_ctx *k, const struct kat_msg *m,
                                const struct kat_log *log, unsigned *seen)
{
    const struct ike_pld *d = ike_msg_find(&m->msg, IKE_PLD_DELETE);
    bool resp = ike_msg_is_response(&m->msg);
    char label[160];
    uint32_t want = 0;
    if (!d) {
        snprintf(label, sizeof(label), "%s is the empty answer to the IKE SA Delete", m->file);
        check(k, resp && m->msg.n_payloads == 1 && seen[2] == 1, label,
              "empty message that does not answer the IKE SA Delete");
        seen[3]++;
        return;
    }
    if (d->del.protocol == IKE_PROTO_IKE) {
        snprintf(label, sizeof(label), "%s deletes the IKE SA (log: sent DELETE for IKE_SA)",
                 m->file);
        check(k, !resp && log->deleted_ike && d->del.n_spis == 0, label, "unexpected IKE Delete");
        seen[2]++;
        return;
    }
    const char *key = resp ? "auth_child_spi_r" : "auth_child_spi_i";
    snprintf(label, sizeof(label), "%s deletes ESP SPI %s%s", m->file, key,
             resp ? "" : " (as logged)");
    bool ok = d->del.protocol == IKE_PROTO_ESP && d->del.n_spis == 1 && value_u32(k, key, &want) &&
              d->del.spis[0] == want && (resp || d->del.spis[0] == log->deleted_esp_spi);
    check(k, ok, label, "Delete payload differs");
    seen[resp ? 1 : 0]++;
}

void kat_check_details(struct kat_ctx *k, const struct kat_msgs *ms)
{
    struct kat_log log;
    if (kat_log_load(k->dir, &log) != 0) {
        kat_fail(k, "initiator.log", "cannot read the identities, selectors or deletes");
        return;
    }
    uint32_t spi_i = 0, spi_r = 0;
    check(k, value_u32(k, "auth_child_spi_i", &spi_i) && value_u32(k, "auth_child_spi_r", &spi_r) &&
                 log.child_spi_in == spi_i && log.child_spi_out == spi_r,
          "log's first CHILD_SA SPIs == auth_child_spi_i/_r", "SPIs differ");
    unsigned informational[4] = {0};
    for (size_t i = 0; i < ms->n; i++) {
        const struct kat_msg *m = &ms->m[i];
        if (!m->decoded)
            continue;
        check_header(k, m);
        bool req = !ike_msg_is_response(&m->msg);
        switch (m->msg.hdr.exchange) {
        case IKE_EXCH_IKE_AUTH:
            check_id(k, m, req ? IKE_PLD_IDI : IKE_PLD_IDR, req ? log.id_i : log.id_r);
            if (req && ike_msg_find(&m->msg, IKE_PLD_IDR))
                check_id(k, m, IKE_PLD_IDR, log.id_r);
            check_ts(k, m, &log);
            check_proposal(k, m, false);
            break;
        case IKE_EXCH_CREATE_CHILD_SA:
            check_ts(k, m, &log);
            check_proposal(k, m, true);
            break;
        case IKE_EXCH_INFORMATIONAL: check_informational(k, m, &log, informational); break;
        default: break;
        }
    }
    check(k,
          informational[0] == 1 && informational[1] == 1 && informational[2] == 1 &&
              informational[3] == 1,
          "INFORMATIONAL: one ESP Delete each way, one IKE Delete and its empty answer",
          "other INFORMATIONAL messages than expected");
}
