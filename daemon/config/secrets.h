/*
 * The secrets file (global.secrets-file, default /etc/haiked/secrets.conf):
 *
 *   secrets = (
 *       { gateway = "to-hq";                 psk = "a long random passphrase"; },
 *       { remote-id = "@branch1.example.com"; psk = "0x8f1c...";  },  # hex
 *       { remote-id = "branch2@example.com";  psk = "0sSGVsbG8=";  }   # base64
 *   );
 *
 * It must be a regular file owned by root with no group/other permission
 * bits, else it is refused (like OpenBSD iked). Values are held in struct
 * ike_secret (wiped when freed) and never appear in any message.
 */
#ifndef HAIKED_CFG_SECRETS_H
#define HAIKED_CFG_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

#include <ike/sa.h>
#include <ike/secret.h>

#include "config/config.h"

#define CFG_SECRETS_MAX_SIZE (1024 * 1024)

struct cfg_secret_entry {
    char *gateway;        /* set: this gateway's PSK */
    struct ike_cfg_id id; /* else: the PSK of peers with this remote ID */
    struct ike_secret *psk;
    char *file;
    int line;
};

struct cfg_secrets {
    struct cfg_secret_entry *v;
    size_t n;
};

/* Checks (owner, mode, type) and parses path. Returns 0, or -1 with every
 * problem in errs (out then holds what could be parsed; free it anyway). */
int cfg_secrets_load(const char *path, struct cfg_secrets *out, struct cfg_errors *errs);

/* The entry for gateway `name`, else the one for remote_id (when it is not
 * "any"); NULL if neither. */
const struct cfg_secret_entry *cfg_secrets_find(const struct cfg_secrets *s, const char *name,
                                                const struct ike_cfg_id *remote_id);

void cfg_secrets_free(struct cfg_secrets *s);

#endif
