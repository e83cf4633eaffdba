/*
 * haiked: options, daemonizing, sd_notify readiness, signals on the event
 * loop (SIGTERM/SIGINT: clean shutdown; SIGHUP: reload), then the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "cleanup.h"
#include "config/config.h"
#include "ctl/ctl_server.h"
#include "daemon.h"
#include "signals.h"

struct options {
    const char *config;
    const char *check;
    const char *pidfile;
    bool foreground;
    bool cleanup;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: haiked [--config FILE] [--foreground] [--pidfile FILE]\n"
            "       haiked --check-config FILE\n"
            "       haiked --cleanup [--config FILE] [--pidfile FILE]\n"
            "       haiked --version\n"
            "  --config FILE        configuration (default " CFG_DEFAULT_PATH ")\n"
            "  --foreground, -f     stay in the foreground, log to stderr\n"
            "  --pidfile FILE       write the daemon's PID there\n"
            "  --check-config FILE  print every error as file:line: reason and exit\n"
            "  --cleanup            remove what a dead haiked left (VIPs, kernel XFRM states,\n"
            "                       policies, routes, VTI devices); refused while it runs\n");
}

/* 0: run; 1: exit 0 (done); -1: exit 2 (usage). */
static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},   {"foreground", no_argument, NULL, 'f'},
        {"check-config", required_argument, NULL, 'C'}, {"version", no_argument, NULL, 'V'},
        {"pidfile", required_argument, NULL, 'p'},  {"help", no_argument, NULL, 'h'},
        {"cleanup", no_argument, NULL, 'K'},
        {NULL, 0, NULL, 0}};
    o->config = CFG_DEFAULT_PATH;
    int c;
    while ((c = getopt_long(argc, argv, "c:fp:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'f': o->foreground = true; break;
        case 'C': o->check = optarg; break;
        case 'p': o->pidfile = optarg; break;
        case 'K': o->cleanup = true; break;
        case 'V': printf("haiked %s\n", HAIKED_VERSION); return 1;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "haiked: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    return 0;
}

static int write_pidfile(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    ssize_t w = write(fd, buf, (size_t)n);
    close(fd);
    return w == n ? 0 : -1;
}

static int daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    if (setsid() < 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    if (chdir("/") < 0)
        return -1;
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2)
        close(fd);
    return 0;
}

static struct cfg *load_config(const char *path)
{
    struct cfg *cfg = NULL;
    struct cfg_errors errs = {0};
    if (cfg_load(path, &cfg, &errs) < 0) {
        cfg_errors_print(&errs, stderr);
        fprintf(stderr, "haiked: %s: configuration refused\n", path);
        cfg_errors_clear(&errs);
        return NULL;
    }
    cfg_errors_clear(&errs);
    return cfg;
}

static int run(const struct options *o)
{
    struct cfg *cfg = load_config(o->config);
    if (!cfg)
        return 1;
    if (!o->foreground && daemonize() < 0) {
        perror("haiked: daemonize");
        cfg_free(cfg);
        return 1;
    }
    if (o->pidfile && write_pidfile(o->pidfile) < 0) {
        fprintf(stderr, "haiked: pidfile %s: %s\n", o->pidfile, strerror(errno));
        cfg_free(cfg);
        return 1;
    }
    struct event_base *base = event_base_new();
    /* Two priorities: the HA sync channel (hasync_cpg.c) is served before
     * new IKE and ESP work, so acks release held IKE datagrams at once
     * instead of after the next datagram batch; everything else keeps the
     * default (1). */
    if (base && event_base_priority_init(base, 2) < 0) {
        event_base_free(base);
        base = NULL;
    }
    if (!base) {
        fprintf(stderr, "haiked: cannot create the event loop\n");
        cfg_free(cfg);
        return 1;
    }
    struct daemon d;
    char err[512];
    int rc = 1;
    /* Foreground: stderr (under systemd journald reads it and stamps the
     * lines itself); a daemon has no stderr left: syslog. */
    FILE *logf = o->foreground && cfg->global.log_target == CFG_LOG_TARGET_STDERR ? stderr : NULL;
    int ir = daemon_init(&d, base, cfg, o->config, logf, err, sizeof(err));
    d.log.timestamps = logf && !getenv("JOURNAL_STREAM");
    if (ir < 0 || daemon_start(&d, err, sizeof(err)) < 0) {
        fprintf(stderr, "haiked: %s\n", err);
        hlog_sys(&d.log, HLOG_MAIN, IKE_LOG_ERR, "cannot start: %s", err);
        goto out;
    }
    struct ctl_server_opts co = {.d = &d, .log = &d.log, .version = HAIKED_VERSION,
                                 .started_ms = d.started_ms};
    d.ctl = ctl_server_start(base, d.cfg->global.ctl_socket, &co, err, sizeof(err));
    if (!d.ctl) {
        fprintf(stderr, "haiked: control socket: %s\n", err);
        hlog_sys(&d.log, HLOG_MAIN, IKE_LOG_ERR, "control socket: %s", err);
        goto out;
    }
    struct signals sig;
    if (signals_init(&sig, &d) < 0) {
        fprintf(stderr, "haiked: cannot set up signal handling\n");
        goto out;
    }
    sd_notify(0, "READY=1\nSTATUS=running");
    event_base_dispatch(base);
    signals_fini(&sig);
    rc = sig.exit_code;
out:
    ctl_server_stop(d.ctl);
    daemon_free(&d);
    event_base_free(base);
    if (o->pidfile)
        unlink(o->pidfile);
    return rc;
}

int main(int argc, char **argv)
{
    struct options o = {0};
    int r = parse_options(argc, argv, &o);
    if (r != 0)
        return r > 0 ? 0 : 2;
    if (o.check)
        return cfg_check_main(o.check, stdout, stderr);
    if (o.cleanup)
        return cleanup_main(o.config, o.pidfile, stdout, stderr);
    /* A peer closing a socket must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    return run(&o);
}
