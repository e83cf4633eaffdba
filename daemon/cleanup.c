/*
 * haiked --cleanup (cleanup.h): a mode of haiked itself, not of hactl,
 * because it must run when no daemon answers hactl, read the very config
 * the daemon ran with (its parser, its VDOM-to-namespace mapping) and use
 * the same VIP and XFRM code and markers the daemon adds them with.
 *
 * The refusal while haiked runs is the control socket answering (what
 * ctl_server.c itself checks before it binds); under systemd ExecStopPost=
 * runs only once the main process is gone.
 */
#include "cleanup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ike/ctx.h>

#include "config/config.h"
#include "esp/dp_xfrm_cleanup.h"
#include "ha/ha_role.h"

/* A daemon accepts on the control socket (a dead one's file refuses). */
static bool ctl_answers(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (!path || strlen(path) >= sizeof(sun.sun_path))
        return false;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool live = connect(fd, (const struct sockaddr *)&sun, sizeof(sun)) == 0;
    close(fd);
    return live;
}

/* The pidfile names a live haiked (not a process that reused the PID). */
static long pidfile_live(const char *pidfile)
{
    FILE *f = pidfile ? fopen(pidfile, "re") : NULL;
    long pid = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%ld", &pid) != 1 || pid <= 0 || pid == (long)getpid())
        pid = 0;
    fclose(f);
    if (!pid || (kill((pid_t)pid, 0) < 0 && errno != EPERM))
        return 0;
    char path[64], comm[32] = "";
    snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
    f = fopen(path, "re");
    if (f) {
        if (!fgets(comm, sizeof(comm), f))
            comm[0] = '\0';
        fclose(f);
    }
    return strncmp(comm, "haiked", 6) == 0 ? pid : 0;
}

/* A VDOM's namespace that is gone took everything of ours with it. */
static bool ns_present(const char *ns)
{
    char path[300];
    if (!ns[0])
        return true;
    snprintf(path, sizeof(path), "/run/netns/%s", ns);
    return access(path, F_OK) == 0;
}

static const char *vdom_netns(const struct cfg *cfg, const char *vdom)
{
    for (size_t i = 0; i < cfg->n_vdoms; i++)
        if (!strcmp(cfg->vdoms[i].name, vdom))
            return cfg->vdoms[i].netns ? cfg->vdoms[i].netns : "";
    return "";
}

static int clean_vips(const struct cfg *cfg, FILE *out, FILE *errf, size_t *removed)
{
    int rc = 0;
    for (size_t i = 0; i < cfg->ha.n_vclusters; i++) {
        const struct cfg_vcluster *vc = &cfg->ha.vclusters[i];
        for (size_t k = 0; k < vc->n_vips; k++) {
            const struct cfg_vip *v = &vc->vips[k];
            const char *ns = vdom_netns(cfg, v->vdom);
            char a[INET6_ADDRSTRLEN] = "?", err[256];
            bool gone = false;
            if (!ns_present(ns))
                continue; /* said by clean_kernel */
            inet_ntop(v->addr.family == IKE_AF_INET ? AF_INET : AF_INET6, v->addr.addr, a,
                      sizeof(a));
            if (ha_vip_del_in(ns, v, &gone, err, sizeof(err)) < 0) {
                fprintf(errf, "haiked: cleanup: VIP %s/%u on %s (vdom %s): %s\n", a, v->prefix_len,
                        v->ifname, v->vdom, err);
                rc = -1;
            } else if (gone) {
                fprintf(out, "VIP %s/%u removed from %s (vdom %s)\n", a, v->prefix_len, v->ifname,
                        v->vdom);
                (*removed)++;
            }
        }
    }
    return rc;
}

/* The daemon's namespace and each VDOM's, once each. */
static int clean_kernel(const struct cfg *cfg, FILE *out, FILE *errf, size_t *removed)
{
    int rc = 0;
    for (size_t i = 0; i < cfg->n_vdoms; i++) {
        const char *ns = cfg->vdoms[i].netns ? cfg->vdoms[i].netns : "";
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(ns, cfg->vdoms[j].netns ? cfg->vdoms[j].netns : "");
        if (seen)
            continue;
        if (!ns_present(ns)) {
            fprintf(out, "vdom %s: netns %s is gone, and everything in it\n", cfg->vdoms[i].name,
                    ns);
            continue;
        }
        struct xf_cleanup_counts n = {0};
        char err[256];
        int r = xf_cleanup_ns(ns, &n, err, sizeof(err));
        if (r < 0) {
            fprintf(errf, "haiked: cleanup: vdom %s: %s\n", cfg->vdoms[i].name, err);
            rc = -1;
        }
        size_t sum = n.states + n.policies + n.routes + n.devices;
        if (sum)
            fprintf(out,
                    "vdom %s: removed %zu XFRM state(s), %zu XFRM policy(ies), %zu route(s), "
                    "%zu VTI device(s)\n",
                    cfg->vdoms[i].name, n.states, n.policies, n.routes, n.devices);
        *removed += sum;
    }
    return rc;
}

int cleanup_main(const char *path, const char *pidfile, FILE *out, FILE *errf)
{
    struct cfg *cfg = NULL;
    struct cfg_errors errs = {0};
    if (cfg_load(path, &cfg, &errs) < 0) {
        cfg_errors_print(&errs, errf);
        fprintf(errf, "haiked: %s: configuration refused, nothing cleaned up\n", path);
        cfg_errors_clear(&errs);
        return 2;
    }
    cfg_errors_clear(&errs);
    long pid = pidfile_live(pidfile);
    if (ctl_answers(cfg->global.ctl_socket) || pid) {
        if (pid)
            fprintf(errf, "haiked: cleanup refused: haiked (pid %ld, %s) is running\n", pid,
                    pidfile);
        else
            fprintf(errf, "haiked: cleanup refused: a haiked answers on %s\n",
                    cfg->global.ctl_socket);
        cfg_free(cfg);
        return 1;
    }
    size_t removed = 0;
    int rc = clean_vips(cfg, out, errf, &removed);
    if (clean_kernel(cfg, out, errf, &removed) < 0)
        rc = -1;
    if (!removed && rc == 0)
        fprintf(out, "nothing left behind\n");
    cfg_free(cfg);
    return rc < 0 ? 1 : 0;
}
