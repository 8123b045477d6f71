/* A container as an OCI runtime bundle's config.json, for crun: what
 * pipeline-run gives a step and deploy --target=local gives an app's
 * container. The image's root (imageroot.h) is mounted read-only (it is a
 * shared cache entry); new PID, mount, IPC and UTS namespaces, the host's
 * network (container ports answer on loopback) and its /etc/hosts and
 * /etc/resolv.conf; the capabilities containerd and Docker give, minus
 * the dropped, plus the added; no new privileges unless allowed; Docker's
 * default seccomp deny list for RuntimeDefault; Docker's masked and
 * read-only /proc paths; run by a non-root user, a user namespace mapping
 * the container's uid to ours (rootless crun). */
#ifndef COMMON_OCIBUNDLE_H
#define COMMON_OCIBUNDLE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "error.h"

/* What a container gets when its image sets no PATH (Docker, containerd). */
#define OCI_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct oci_mount {
	const char *dest; /* in the container */
	const char *host; /* the directory or file bound there */
	bool read_only;
};

struct oci_container {
	const char *root;     /* the root filesystem (mounted read-only) */
	const char *hostname; /* at most 63 bytes are used */
	char *const *argv;    /* NULL-terminated, argv[0] set */
	char *const *image_env; /* the image config's NAME=value, NULL-terminated (may be NULL) */
	char *const *env;       /* the container's NAME=value after them, NULL-terminated (may be NULL) */
	const char *cwd;
	long long uid, gid;
	char *const *cap_drop; /* names with or without CAP_, any case; "ALL" */
	size_t ncap_drop;
	char *const *cap_add;
	size_t ncap_add;
	bool allow_privilege_escalation;
	bool seccomp_runtime_default;
	bool read_only_root; /* false: a writable tmpfs on /tmp (the root stays read-only) */
	const struct oci_mount *mounts;
	size_t nmounts;
};

/* The bundle's config.json for c. */
json_t *oci_bundle_config(const struct oci_container *c);

/* The uid and gid a container runs as: run_as_user / run_as_group when
 * not negative, else the image's USER ("uid[:gid]", "" root); a name
 * cannot be looked up here: EXIT_USAGE asking for runAsUser. With
 * non_root, uid 0 is EXIT_USAGE (the kubelet refuses it). what names the
 * container in messages ("step build", "container app"). */
err_t *oci_user(const char *image_user, long long run_as_user, long long run_as_group, bool non_root,
		const char *what, long long *uid, long long *gid);

/* crun finds "hybrid" cgroups (v1 controllers with a cgroup2 mount at
 * /sys/fs/cgroup/unified) unusable even with cgroups disabled; run it
 * as root, oci_hide_unified (in the child, before exec) gives it a private
 * mount namespace without that mount (pure v1). 0 or -1. */
bool oci_hybrid_cgroups(void);
int oci_hide_unified(void);

#endif
