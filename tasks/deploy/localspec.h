/* deploy --target=local: the container of a Deployment's pod as crun will
 * run it. From the pod template's first container running the pinned
 * image: command/args over the image's Entrypoint/Cmd (Kubernetes' rule),
 * env (literal values), workingDir, the pod's and container's
 * securityContext (runAsUser/Group, runAsNonRoot, readOnlyRootFilesystem,
 * allowPrivilegeEscalation, capabilities, seccompProfile), its first
 * containerPort and its readiness probe. What a local run cannot honour
 * (env from Secrets, volumes, privileged) is an EXIT_USAGE error naming
 * the field, never silently dropped; resources.limits are only warned
 * about (no cgroup manager: crun runs with --cgroup-manager=disabled). */
#ifndef DEPLOY_LOCALSPEC_H
#define DEPLOY_LOCALSPEC_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"
#include "imageroot.h"
#include "manifests.h"
#include "ocibundle.h"

enum probe_kind { PROBE_NONE, PROBE_HTTP, PROBE_TCP, PROBE_EXEC };

struct local_probe {
	enum probe_kind kind;
	char *path;     /* http: "/healthz" */
	bool https;     /* http: scheme HTTPS (certificate not verified, as the kubelet) */
	int port;       /* http, tcp */
	char **command; /* exec: NULL-terminated */
	long initial_delay_ms, period_ms, timeout_ms;
};

struct local_spec {
	const struct kobject *workload; /* the Deployment */
	const char *container;          /* its name */
	int port;                       /* first containerPort, 0: none */
	struct local_probe probe;
	/* for oci_container */
	char **argv, **env;
	bool args_only; /* argv holds args: the image's Entrypoint goes before them */
	const char *working_dir; /* NULL: the image's */
	long long run_as_user, run_as_group;
	bool run_as_non_root, read_only_root, allow_privilege_escalation, seccomp_runtime_default;
	char **cap_drop, **cap_add;
	size_t ncap_drop, ncap_add;
};

/* The first Deployment whose pod runs pinned, and that container. No such
 * Deployment, or a field a local run cannot honour: EXIT_USAGE. */
err_t *local_spec_find(const struct manifests *m, const char *pinned, struct local_spec *out);
/* argv from the image's Entrypoint/Cmd where the manifest leaves them;
 * none at all is EXIT_USAGE. */
err_t *local_spec_argv(struct local_spec *s, const struct image_root *img);
/* The OCI container for s in img (borrowing from both). */
err_t *local_spec_container(const struct local_spec *s, const struct image_root *img, struct oci_container *out);
void local_spec_free(struct local_spec *s);

#endif
