/*
 * Per-exchange payload rules (RFC 7296 §1.2-1.5, §2.x, RFC 6023, RFC
 * 7383), kept as data: one table per message kind. Private; the public
 * entry point is ike_msg_check_rules() in <ike/message.h>.
 */
#ifndef IKE_MSG_RULES_H
#define IKE_MSG_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IKE_RULE_MANY 0xffff

struct ike_pld_rule {
    uint8_t type;
    uint16_t min;      /* waived in error responses, see below */
    uint16_t max;
    bool inside_sk;    /* must be inside SK (true) or outside it (false) */
};

enum ike_rule_group_kind {
    IKE_GROUP_ALL_OR_NONE, /* e.g. SA, TSi, TSr: a Child SA or none (RFC 6023) */
    IKE_GROUP_EXACTLY_ONE, /* e.g. SK or SKF */
};

#define IKE_RULE_GROUP_MAX 3

struct ike_rule_group {
    enum ike_rule_group_kind kind;
    size_t n_types;
    uint8_t types[IKE_RULE_GROUP_MAX];
};

struct ike_msg_rules {
    uint8_t exchange;
    bool response;
    const char *name;                    /* "IKE_SA_INIT response" */
    const struct ike_pld_rule *plds;     /* a type not listed is not allowed */
    size_t n_plds;
    const struct ike_rule_group *groups;
    size_t n_groups;
    /* Minimum counts do not apply to an error response: one carrying an
     * error Notify, or (IKE_SA_INIT) the status Notify waive_notify. */
    bool waive_on_error;
    uint16_t waive_notify;
};

/* NULL if there is no table for the exchange. */
const struct ike_msg_rules *ike_msg_rules_find(uint8_t exchange, bool response);

#endif
