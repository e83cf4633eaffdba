/*
 * SA lifetimes: `keylife` is when a rekey (or reauthentication) starts,
 * as in FortiOS and strongSwan's rekey_time; `hard-lifetime` is when an SA
 * that could not be replaced is deleted; `rekey-jitter` spreads rekeys of
 * many tunnels configured alike. Hard defaults to keylife + 10%.
 */
#include <stdio.h>

#include "config/loader.h"

#define BYTES_MIN   (1024u * 1024u) /* below this a busy tunnel rekeys constantly */
#define PACKETS_MIN 1000u

static const config_setting_t *setting_or(const config_setting_t *set, const char *key)
{
    const config_setting_t *s = config_setting_get_member(set, key);
    return s ? s : set;
}

static void seconds(struct cfg_loader *l, const config_setting_t *set, const char *where,
                    uint32_t default_soft_s, struct cfg_lifetime *out)
{
    uint32_t soft = default_soft_s, hard = 0, jitter = 0;
    cfgl_u32(l, set, "keylife", where, CFG_LIFETIME_MIN_S, CFG_LIFETIME_MAX_S, &soft);
    int hard_rc = cfgl_u32(l, set, "hard-lifetime", where, CFG_LIFETIME_MIN_S + 1,
                           CFG_LIFETIME_MAX_S + CFG_LIFETIME_MAX_S / 10, &hard);
    if (hard_rc != 1)
        hard = soft + soft / 10;
    int jitter_rc = cfgl_u32(l, set, "rekey-jitter", where, 0, CFG_LIFETIME_MAX_S, &jitter);
    if (jitter_rc != 1)
        jitter = soft / 10;
    if (hard_rc == 1 && hard <= soft)
        cfgl_err(l, setting_or(set, "hard-lifetime"), where,
                 "hard-lifetime (%u s) must be above keylife (%u s)", hard, soft);
    if (jitter_rc == 1 && jitter >= soft)
        cfgl_err(l, setting_or(set, "rekey-jitter"), where,
                 "rekey-jitter (%u s) must be below keylife (%u s)", jitter, soft);
    out->soft_s = soft;
    out->hard_s = hard;
    out->jitter_s = jitter;
}

/* One volume limit pair (bytes or packets): either may be given alone. */
static void volume(struct cfg_loader *l, const config_setting_t *set, const char *where,
                   const char *soft_key, const char *hard_key, uint64_t min, uint64_t *soft,
                   uint64_t *hard)
{
    uint64_t s = 0, h = 0;
    int src = cfgl_uint(l, set, soft_key, where, min, UINT64_MAX / 2, &s);
    int hrc = cfgl_uint(l, set, hard_key, where, min + 1, UINT64_MAX / 2, &h);
    if (src == 1 && hrc != 1)
        h = s + s / 10;
    else if (hrc == 1 && src != 1)
        s = h - h / 10;
    else if (src == 1 && hrc == 1 && h <= s)
        cfgl_err(l, setting_or(set, hard_key), where, "%s (%llu) must be above %s (%llu)", hard_key,
                 (unsigned long long)h, soft_key, (unsigned long long)s);
    *soft = s;
    *hard = h;
}

void cfgl_lifetime(struct cfg_loader *l, const config_setting_t *set, const char *where,
                   uint32_t default_soft_s, bool child, struct cfg_lifetime *out)
{
    *out = (struct cfg_lifetime){0};
    seconds(l, set, where, default_soft_s, out);
    if (!child)
        return;
    volume(l, set, where, "keylife-bytes", "hard-lifetime-bytes", BYTES_MIN, &out->soft_bytes,
           &out->hard_bytes);
    volume(l, set, where, "keylife-packets", "hard-lifetime-packets", PACKETS_MIN,
           &out->soft_packets, &out->hard_packets);
}
