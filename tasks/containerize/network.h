/* RUN's network (issue 13): every RUN step gets a network namespace of its
 * own, as rootless buildah and podman give it:
 *
 *   default  a user-mode network stack from slirp4netns (Debian package
 *            slirp4netns): a tap0 device with 10.0.2.100/24, the gateway
 *            10.0.2.2, DNS at 10.0.2.3, outbound TCP/UDP NATed by a process
 *            of ours, so the step cannot touch the host's interfaces,
 *            routes or firewall. The host's loopback is NOT reachable
 *            through 10.0.2.2 (--disable-host-loopback: Docker's bridge
 *            cannot reach the host's 127.0.0.1 either) unless the build
 *            says slirp4netns:allow_host_loopback=true (buildah's option).
 *            slirp4netns runs with --enable-sandbox --enable-seccomp.
 *   none     the namespace with loopback only (Dockerfile RUN --network=none
 *            or the build's network=none).
 *   host     the host's namespace: only when the build asks for it
 *            (network=host, as `docker build --network=host`), logged;
 *            Dockerfile RUN --network=host needs it too (BuildKit needs the
 *            network.host entitlement).
 *
 * Why slirp4netns and not passt/pasta: Debian 12's rootless buildah (1.28) and
 * podman (4.3, before podman's pasta support) run RUN steps with
 * slirp4netns, so it is the pairing this distribution ships and tests;
 * its 1.2.0 has all we need: --ready-fd, --exit-fd,
 * --disable-host-loopback, --enable-sandbox, --enable-seccomp.
 */
#ifndef CONTAINERIZE_NETWORK_H
#define CONTAINERIZE_NETWORK_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

enum run_net { RUN_NET_SLIRP, RUN_NET_NONE, RUN_NET_HOST };

struct net_config {
	enum run_net mode;
	bool host_loopback; /* slirp4netns: 10.0.2.2 reaches the host's 127.0.0.1 */
};

/* slirp4netns's fixed addresses (its default 10.0.2.0/24 network) */
#define SLIRP_GUEST "10.0.2.100"
#define SLIRP_GATEWAY "10.0.2.2"
#define SLIRP_DNS "10.0.2.3"

/* The build's network param: default (also private, slirp4netns), none,
 * host, or slirp4netns:allow_host_loopback=true|false. */
err_t *net_parse(const char *s, struct net_config *out);

/* A RUN step's network from its --network flag (NULL when absent) and the
 * build's: none always allowed, default follows the build, host only when
 * the build's is host. */
err_t *net_for_step(const struct net_config *build, const char *flag, enum run_net *out);

/* A running slirp4netns. */
struct slirp {
	pid_t pid;   /* -1: none */
	int exit_fd; /* closing it ends slirp4netns */
};

/* Start slirp4netns for the network namespace of process target, which
 * must not be ours (it would configure the host's network: refused), and
 * return once tap0 is configured. Its output goes to log_path (its last
 * line is in the error when it fails). */
err_t *slirp_start(pid_t target, bool host_loopback, const char *log_path, struct slirp *out);

/* End slirp4netns and reap it; nothing when none runs. */
void slirp_stop(struct slirp *s);

#endif
