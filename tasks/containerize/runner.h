/* The RUN executor: runs one command with a stage's root filesystem as "/",
 * without privileges on the host.
 *
 * isolation "namespace" (default): new mount, PID, UTS and IPC namespaces
 * (inside the user namespace userns.h set up when we are not root; as root
 * they belong to the host's user namespace and the step enters spec->userns
 * last, seeing the stage root through an id-mapped mount), the root
 * pivoted to the stage root, a fresh /proc, a tmpfs /dev holding only
 * null, zero, full, random, urandom and tty bound from the host (plus
 * fd/stdin/stdout/stderr links and /dev/shm), /etc/resolv.conf and
 * /etc/hosts bound (writable, this step's copies) from generated files. The mount points this
 * needs are created only if missing and removed again afterwards, so they
 * never show in the layer.
 *
 * isolation "chroot": for pods where no namespace can be created: chroot
 * into the stage root, no /proc or /dev of its own (as kaniko runs in its
 * container); resolv.conf and hosts are written only where missing and
 * removed afterwards. It does not hide host processes, network, IPC or
 * hostname.
 *
 * Both: capabilities limited (caps.h), PR_SET_NO_NEW_PRIVS, the seccomp
 * filter (seccomp.h), Docker's masked and read-only /proc paths.
 *
 * Network (network.h): in isolation "namespace" every step gets a network
 * namespace of its own, created with its other namespaces (owned by the
 * host's user namespace when started as root), with loopback up and, by
 * default, slirp4netns started on it by the parent and stopped (and
 * reaped) when the step ends; the step's command runs only once tap0 is
 * configured. /etc/resolv.conf then names slirp's DNS and /etc/hosts the
 * step's address, as Docker writes them for a bridge network. network host
 * shares the host's namespace; chroot isolation always does.
 *
 * Output of the command goes to our stderr; the last lines are kept for the
 * error message when it fails. */
#ifndef CONTAINERIZE_RUNNER_H
#define CONTAINERIZE_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "network.h"
#include "userns.h"

enum isolation { ISOLATION_NAMESPACE, ISOLATION_CHROOT };

err_t *runner_parse_isolation(const char *s, enum isolation *out);

struct run_spec {
	const char *rootfs;       /* host path of the stage root */
	const char *const *argv;  /* command; argv[0] looked up in the image's PATH */
	const char *const *env;   /* image env + build args, NAME=value */
	size_t nenv;
	const char *workdir;      /* inside the root; created if missing */
	const char *user;         /* USER value; NULL or "" = root */
	enum isolation isolation;
	const struct run_userns *userns; /* started as root: the step's user namespace; NULL: rootless */
	const char *hostname;     /* NULL: "containerize" */
	enum run_net network;     /* a namespace of its own with slirp4netns, loopback only, or the host's */
	bool host_loopback;       /* slirp4netns: 10.0.2.2 reaches the host's 127.0.0.1 */
};

/* Run the command and wait for it. *status is its exit status (128+signal
 * when killed). An error only when it could not be started at all. */
err_t *runner_run(const struct run_spec *spec, int *status, char *tail, size_t tail_size);

#endif
