/* Per-exchange payload rules as tables, and the checker. The message
 * shapes are those of RFC 7296 §1.2-1.5 (payloads in [] are optional):
 *
 *  IKE_SA_INIT  req  SA, KE, Ni, [N+], [V+]             (N(COOKIE) on retry)
 *               resp SA, KE, Nr, [CERTREQ+], [N+], [V+]
 *                    or only N(error) / N(COOKIE)       (§1.2, §2.6)
 *  IKE_AUTH     req  SK{IDi, [CERT+], [CERTREQ+], [IDr], [AUTH], [CP],
 *                       [N+], [SA, TSi, TSr], [EAP], [V+]}
 *               resp SK{[IDr], [CERT+], [AUTH], [CP], [N+], [SA, TSi, TSr],
 *                       [EAP], [V+]}
 *    AUTH is absent when EAP is used (§2.16), later IKE_AUTH rounds carry
 *    only EAP or AUTH, and SA/TSi/TSr are absent in childless IKE_AUTH
 *    (RFC 6023) or when the Child SA failed: only "all or none" is fixed.
 *  CREATE_CHILD_SA req  SK{SA, Ni, [KEi], [TSi, TSr], [N+], [V+]}
 *               resp SK{SA, Nr, [KEr], [TSi, TSr], [N+], [V+]} or N(error)
 *    no TS when rekeying the IKE SA (§1.3.2).
 *  INFORMATIONAL req/resp SK{[N+], [D+], [CP], [V+]} (may be empty, §1.4)
 *
 * Every exchange but IKE_SA_INIT carries exactly one SK or SKF payload
 * (RFC 7383) and all other payloads inside it.
 */
#include <stdio.h>
#include <string.h>

#include <ike/message.h>

#include "msg_rules.h"

#define MANY IKE_RULE_MANY
#define IN true
#define OUT false
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct ike_pld_rule init_req[] = {
    {IKE_PLD_SA, 1, 1, OUT},
    {IKE_PLD_KE, 1, 1, OUT},
    {IKE_PLD_NONCE, 1, 1, OUT},
    {IKE_PLD_NOTIFY, 0, MANY, OUT},
    {IKE_PLD_VENDOR, 0, MANY, OUT},
};

static const struct ike_pld_rule init_resp[] = {
    {IKE_PLD_SA, 1, 1, OUT},
    {IKE_PLD_KE, 1, 1, OUT},
    {IKE_PLD_NONCE, 1, 1, OUT},
    {IKE_PLD_CERTREQ, 0, MANY, OUT},
    {IKE_PLD_NOTIFY, 0, MANY, OUT},
    {IKE_PLD_VENDOR, 0, MANY, OUT},
};

#define SK_RULES {IKE_PLD_SK, 0, 1, OUT}, {IKE_PLD_SKF, 0, 1, OUT}

static const struct ike_pld_rule auth_req[] = {
    SK_RULES,
    {IKE_PLD_IDI, 0, 1, IN},
    {IKE_PLD_CERT, 0, MANY, IN},
    {IKE_PLD_CERTREQ, 0, MANY, IN},
    {IKE_PLD_IDR, 0, 1, IN},
    {IKE_PLD_AUTH, 0, 1, IN},
    {IKE_PLD_CP, 0, 1, IN},
    {IKE_PLD_NOTIFY, 0, MANY, IN},
    {IKE_PLD_SA, 0, 1, IN},
    {IKE_PLD_TSI, 0, 1, IN},
    {IKE_PLD_TSR, 0, 1, IN},
    {IKE_PLD_EAP, 0, 1, IN},
    {IKE_PLD_VENDOR, 0, MANY, IN},
};

static const struct ike_pld_rule auth_resp[] = {
    SK_RULES,
    {IKE_PLD_IDR, 0, 1, IN},
    {IKE_PLD_CERT, 0, MANY, IN},
    {IKE_PLD_AUTH, 0, 1, IN},
    {IKE_PLD_CP, 0, 1, IN},
    {IKE_PLD_NOTIFY, 0, MANY, IN},
    {IKE_PLD_SA, 0, 1, IN},
    {IKE_PLD_TSI, 0, 1, IN},
    {IKE_PLD_TSR, 0, 1, IN},
    {IKE_PLD_EAP, 0, 1, IN},
    {IKE_PLD_VENDOR, 0, MANY, IN},
};

static const struct ike_pld_rule child[] = {
    SK_RULES,
    {IKE_PLD_SA, 1, 1, IN},
    {IKE_PLD_NONCE, 1, 1, IN},
    {IKE_PLD_KE, 0, 1, IN},
    {IKE_PLD_TSI, 0, 1, IN},
    {IKE_PLD_TSR, 0, 1, IN},
    {IKE_PLD_NOTIFY, 0, MANY, IN},
    {IKE_PLD_VENDOR, 0, MANY, IN},
};

static const struct ike_pld_rule info[] = {
    SK_RULES,
    {IKE_PLD_NOTIFY, 0, MANY, IN},
    {IKE_PLD_DELETE, 0, MANY, IN},
    {IKE_PLD_CP, 0, 1, IN},
    {IKE_PLD_VENDOR, 0, MANY, IN},
};

#define SK_GROUP {IKE_GROUP_EXACTLY_ONE, 2, {IKE_PLD_SK, IKE_PLD_SKF}}
static const struct ike_rule_group auth_groups[] = {
    SK_GROUP,
    {IKE_GROUP_ALL_OR_NONE, 3, {IKE_PLD_SA, IKE_PLD_TSI, IKE_PLD_TSR}},
};
static const struct ike_rule_group child_groups[] = {
    SK_GROUP,
    {IKE_GROUP_ALL_OR_NONE, 2, {IKE_PLD_TSI, IKE_PLD_TSR}},
};
static const struct ike_rule_group info_groups[] = {SK_GROUP};

static const struct ike_msg_rules rule_tables[] = {
    {IKE_EXCH_IKE_SA_INIT, false, "IKE_SA_INIT request", init_req, COUNT(init_req), NULL, 0,
     false, 0},
    {IKE_EXCH_IKE_SA_INIT, true, "IKE_SA_INIT response", init_resp, COUNT(init_resp), NULL, 0,
     true, IKE_N_COOKIE},
    {IKE_EXCH_IKE_AUTH, false, "IKE_AUTH request", auth_req, COUNT(auth_req), auth_groups,
     COUNT(auth_groups), false, 0},
    {IKE_EXCH_IKE_AUTH, true, "IKE_AUTH response", auth_resp, COUNT(auth_resp), auth_groups,
     COUNT(auth_groups), true, 0},
    {IKE_EXCH_CREATE_CHILD_SA, false, "CREATE_CHILD_SA request", child, COUNT(child),
     child_groups, COUNT(child_groups), false, 0},
    {IKE_EXCH_CREATE_CHILD_SA, true, "CREATE_CHILD_SA response", child, COUNT(child),
     child_groups, COUNT(child_groups), true, 0},
    {IKE_EXCH_INFORMATIONAL, false, "INFORMATIONAL request", info, COUNT(info), info_groups,
     COUNT(info_groups), false, 0},
    {IKE_EXCH_INFORMATIONAL, true, "INFORMATIONAL response", info, COUNT(info), info_groups,
     COUNT(info_groups), true, 0},
};

const struct ike_msg_rules *ike_msg_rules_find(uint8_t exchange, bool response)
{
    for (size_t i = 0; i < COUNT(rule_tables); i++)
        if (rule_tables[i].exchange == exchange && rule_tables[i].response == response)
            return &rule_tables[i];
    return NULL;
}

static const struct ike_pld_rule *rule_for(const struct ike_msg_rules *r, uint8_t type)
{
    for (size_t i = 0; i < r->n_plds; i++)
        if (r->plds[i].type == type)
            return &r->plds[i];
    return NULL;
}

/* IKE_SA_INIT is always message ID 0; its request has no responder SPI
 * yet (§3.1). */
static enum ike_status header_rules(const struct ike_msg *msg, const struct ike_msg_rules *r,
                                    struct ike_diag *diag)
{
    static const uint8_t zero[IKE_SPI_LEN];
    if (msg->hdr.exchange != IKE_EXCH_IKE_SA_INIT)
        return IKE_OK;
    if (msg->hdr.message_id != 0)
        return ike_diag_fail(diag, IKE_E_RULES, "%s: message ID %u != 0", r->name,
                             msg->hdr.message_id);
    if (!r->response && memcmp(msg->hdr.spi_r, zero, IKE_SPI_LEN) != 0)
        return ike_diag_fail(diag, IKE_E_RULES, "%s: responder SPI is not zero", r->name);
    return IKE_OK;
}

/* Every payload is allowed here and placed right; counts per type. */
static enum ike_status placement(const struct ike_msg *msg, const struct ike_msg_rules *r,
                                 uint16_t counts[256], struct ike_diag *diag)
{
    for (const struct ike_pld *p = msg->first; p; p = p->next) {
        if (p->unknown)
            continue; /* skipped per §3.2, nothing to check */
        const struct ike_pld_rule *rule = rule_for(r, p->type);
        const char *name = ike_payload_name(p->type);
        if (!rule)
            return ike_diag_fail(diag, IKE_E_RULES, "%s: %s payload not allowed", r->name, name);
        if (rule->inside_sk != p->inside_sk)
            return ike_diag_fail(diag, IKE_E_RULES, "%s: %s payload must be %s SK", r->name,
                                 name, rule->inside_sk ? "inside" : "outside");
        counts[p->type]++;
    }
    return IKE_OK;
}

static enum ike_status count_rules(const struct ike_msg_rules *r, const uint16_t counts[256],
                                   bool waived, struct ike_diag *diag)
{
    for (size_t i = 0; i < r->n_plds; i++) {
        const struct ike_pld_rule *rule = &r->plds[i];
        uint16_t n = counts[rule->type];
        const char *name = ike_payload_name(rule->type);
        if (n > rule->max)
            return ike_diag_fail(diag, IKE_E_RULES, "%s: %u %s payloads > max %u", r->name, n,
                                 name, rule->max);
        if (n < rule->min && !waived)
            return ike_diag_fail(diag, IKE_E_RULES, "%s: %s payload missing (%u < min %u)",
                                 r->name, name, n, rule->min);
    }
    return IKE_OK;
}

static enum ike_status group_rules(const struct ike_msg_rules *r, const uint16_t counts[256],
                                   struct ike_diag *diag)
{
    for (size_t g = 0; g < r->n_groups; g++) {
        const struct ike_rule_group *grp = &r->groups[g];
        size_t present = 0;
        char names[32] = "";
        for (size_t i = 0; i < grp->n_types; i++) {
            present += counts[grp->types[i]] > 0;
            snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? "/" : "",
                     ike_payload_name(grp->types[i]));
        }
        if (grp->kind == IKE_GROUP_EXACTLY_ONE && present != 1)
            return ike_diag_fail(diag, IKE_E_RULES, "%s: needs exactly one of %s, has %zu",
                                 r->name, names, present);
        if (grp->kind == IKE_GROUP_ALL_OR_NONE && present != 0 && present != grp->n_types)
            return ike_diag_fail(diag, IKE_E_RULES,
                                 "%s: %s must be all present or all absent (%zu of %zu)",
                                 r->name, names, present, grp->n_types);
    }
    return IKE_OK;
}

static bool is_error_response(const struct ike_msg *msg, const struct ike_msg_rules *r)
{
    if (!r->response)
        return false;
    if (r->waive_on_error && ike_msg_find_error(msg))
        return true;
    return r->waive_notify && ike_msg_find_notify(msg, r->waive_notify);
}

enum ike_status ike_msg_check_rules(const struct ike_msg *msg, struct ike_diag *diag)
{
    const struct ike_msg_rules *r = ike_msg_rules_find(msg->hdr.exchange, ike_msg_is_response(msg));
    if (!r)
        return ike_diag_fail(diag, IKE_E_UNSUPPORTED, "no payload rules for exchange %u (%s)",
                             msg->hdr.exchange, ike_exchange_name(msg->hdr.exchange));
    if (msg->sk && !msg->inner_decoded)
        return ike_diag_fail(diag, IKE_E_STATE, "%s: check rules after decrypting SK", r->name);
    uint16_t counts[256] = {0};
    enum ike_status st = header_rules(msg, r, diag);
    if (st == IKE_OK)
        st = placement(msg, r, counts, diag);
    if (st == IKE_OK)
        st = count_rules(r, counts, is_error_response(msg, r), diag);
    if (st == IKE_OK)
        st = group_rules(r, counts, diag);
    return st;
}
