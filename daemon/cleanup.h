/*
 * haiked --cleanup: removes what a haiked that is no longer running left
 * in the kernel (systemd's ExecStopPost=, after any exit: crash, kill -9,
 * OOM, or an operator by hand). A dead master's VIPs would otherwise still
 * answer ARP next to the new master's, and its XFRM states and policies,
 * routes and VTI devices would keep taking the traffic.
 */
#ifndef HAIKED_CLEANUP_H
#define HAIKED_CLEANUP_H

#include <stdio.h>

/* Reads the config at path; refuses (1) while a haiked answers on its
 * control socket, or pidfile (may be NULL) names a live process; else
 * removes every configured VIP (exact address and prefix, on its
 * interface, in its VDOM's namespace) and, in the daemon's and every
 * VDOM's namespace, haiked's XFRM states, policies, routes and VTI
 * devices (esp/dp_xfrm_cleanup.h). What went is printed to out, problems
 * to errf. 0: done (also when there was nothing to do); 1: refused or
 * something could not be removed; 2: the config cannot be read. */
int cleanup_main(const char *path, const char *pidfile, FILE *out, FILE *errf);

#endif
