/*
 * `haiked --check-config FILE`: the loader run for an operator, every
 * error listed, nothing started.
 */
#include <stdio.h>

#include "config/config.h"

int cfg_check_main(const char *path, FILE *out, FILE *err)
{
    struct cfg_errors errs = {0};
    struct cfg *cfg = NULL;
    if (cfg_load(path, &cfg, &errs) != 0) {
        cfg_errors_print(&errs, err);
        size_t n = errs.n + errs.dropped;
        fprintf(err, "%s: %zu error%s\n", path, n, n == 1 ? "" : "s");
        cfg_errors_clear(&errs);
        return 1;
    }
    size_t n_sel = 0;
    for (size_t i = 0; i < cfg->n_gateways; i++)
        n_sel += cfg->gateways[i]->n_selectors;
    fprintf(out, "%s: OK, %zu vdom%s, %zu gateway%s, %zu selector%s", path, cfg->n_vdoms,
            cfg->n_vdoms == 1 ? "" : "s", cfg->n_gateways, cfg->n_gateways == 1 ? "" : "s", n_sel,
            n_sel == 1 ? "" : "s");
    if (cfg->ha.enabled) {
        size_t n_vip = 0;
        for (size_t i = 0; i < cfg->ha.n_vclusters; i++)
            n_vip += cfg->ha.vclusters[i].n_vips;
        fprintf(out, ", HA group %s: %zu vcluster%s, %zu VIP%s", cfg->ha.group,
                cfg->ha.n_vclusters, cfg->ha.n_vclusters == 1 ? "" : "s", n_vip,
                n_vip == 1 ? "" : "s");
    }
    fputc('\n', out);
    cfg_free(cfg);
    cfg_errors_clear(&errs);
    return 0;
}
