/*
 * Proposal strings to libike proposals, accepting both spellings operators
 * bring along:
 *   FortiOS:    proposal = "aes256-sha512 aes256gcm-prfsha384"; dhgrp = "21 20";
 *   strongSwan: proposal = "aes256-sha512-ecp521, aes256gcm16-prfsha512-ecp521";
 * Proposals are separated by blanks or commas, algorithms inside one by '-'.
 * An IKE proposal without a PRF takes the PRFs matching its integrity
 * algorithms (as both implementations do); one without a DH group takes
 * the dhgrp list. For ESP, DH groups are the PFS groups and esn/noesn pick
 * Extended Sequence Numbers (default noesn).
 */
#ifndef HAIKED_CFG_PROPOSAL_PARSE_H
#define HAIKED_CFG_PROPOSAL_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include <ike/sa.h>

enum cfg_prop_kind {
    CFG_PROP_IKE,
    CFG_PROP_ESP,
};

/* Parses text into out[0..*n_out) (room for IKE_CFG_MAX_PROPOSALS).
 * dhgrp/n_dhgrp fill proposals that name no group (may be empty). Returns
 * 0, or -1 with one reason naming the offending token in err. */
int cfg_proposals_parse(const char *text, enum cfg_prop_kind kind, const uint16_t *dhgrp,
                        size_t n_dhgrp, struct ike_cfg_proposal *out, size_t *n_out, char *err,
                        size_t errlen);

/* One DH group: a FortiOS number ("21") or a name ("ecp521"). Rejects
 * groups libike does not implement, with the reason. */
int cfg_dh_parse(const char *token, uint16_t *group, char *err, size_t errlen);

/* A dhgrp list "21 20" / "ecp521,ecp384" into out[0..*n) (max entries). */
int cfg_dhgrp_parse(const char *text, uint16_t *out, size_t max, size_t *n, char *err,
                    size_t errlen);

/* Adds group to list[0..*n) unless present; -1 when full (max). */
int cfg_dh_list_add(uint16_t *list, size_t *n, size_t max, uint16_t group);

#endif
