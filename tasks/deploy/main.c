/* deploy: put a signed image digest on a Kubernetes cluster. Reads the
 * app's manifests, pins the app's image to the digest, refuses (exit 3,
 * before anything is sent to the cluster) a digest that lacks a required
 * signer's signature, then applies every object server-side, waits for the
 * rollout (rolling back on failure when asked) and says where the app
 * answers. --target=local runs the Deployment's pod on this machine
 * instead (local.h), after the same gate; --stop stops it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "clock.h"
#include "cluster.h"
#include "gate.h"
#include "imageref.h"
#include "kubeapi.h"
#include "kubeconfig.h"
#include "local.h"
#include "log.h"
#include "registry.h"
#include "manifests.h"
#include "rollout.h"
#include "task.h"
#include "xalloc.h"

static const struct param_spec params[] = {
	{ "manifests", PARAM_STRING, NULL, false, false, "the app's manifests: a YAML file (multi-document), a directory, or - for stdin (required unless --stop --name)" },
	{ "image", PARAM_STRING, NULL, false, false, "image to deploy: registry/name[:tag]@sha256:... (or give --digest; required unless --stop)" },
	{ "digest", PARAM_STRING, NULL, false, false, "its manifest digest (sha256:...), if image has none" },
	{ "container", PARAM_STRING, NULL, false, false, "pin the containers of this name (default: those running the image's repository)" },
	{ "namespace", PARAM_STRING, NULL, false, false, "namespace for objects that name none (default: the context's, else default)" },
	{ "signers", PARAM_LIST, NULL, false, false, "required signer: NAME or NAME=PUBLIC_KEY.pem (repeat; all must sign; required unless --stop)" },
	{ "format", PARAM_STRING, "dct", false, false, "signature format the gate checks: dct, cosign or both" },
	{ "notary-server", PARAM_STRING, NULL, false, false, "notary server URL (https://host:port)" },
	{ "notary-ca", PARAM_STRING, NULL, false, false, "CA certificate of the notary server" },
	{ "trust-data-dir", PARAM_STRING, NULL, false, false, "verify offline from this directory of role files instead" },
	{ "root-key-ids", PARAM_LIST, NULL, false, false, "pinned root key IDs (dct-init's root-key-id); any one must sign root" },
	{ "trust-state-dir", PARAM_STRING, NULL, false, false, "remembers trust data versions seen (rollback protection)" },
	{ "registry-creds", PARAM_STRING, NULL, false, true, "user:password for the registry (cosign signatures)" },
	{ "authfile", PARAM_STRING, NULL, false, false, "Docker config.json with registry credentials (cosign signatures)" },
	{ "registry-ca", PARAM_STRING, NULL, false, false, "CA certificate of the registry" },
	{ "insecure-registry", PARAM_BOOL, "false", false, false, "no TLS verification / plain http for the registry" },
	{ "pull-secret-name", PARAM_STRING, NULL, false, false, "image pull secret to create or update and reference from the pod templates" },
	{ "pull-secret-authfile", PARAM_STRING, NULL, false, false, "Docker config.json the pull secret's credentials for the image's registry come from" },
	{ "kubeconfig", PARAM_STRING, NULL, false, false, "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, else the in-cluster service account)" },
	{ "context", PARAM_STRING, NULL, false, false, "kubeconfig context (default: current-context)" },
	{ "field-manager", PARAM_STRING, "deploy", false, false, "server-side apply field manager" },
	{ "force", PARAM_BOOL, "false", false, false, "take over fields another field manager owns (server-side apply force)" },
	{ "timeout", PARAM_STRING, "300", false, false, "rollout wait: seconds, or a duration (90s, 5m)" },
	{ "on-failure", PARAM_STRING, "fail", false, false, "a failed rollout: fail, or rollback the Deployment or StatefulSet to its previous revision (exit 1 either way)" },
	{ "dry-run", PARAM_BOOL, "false", false, false, "gate and pin, then print the objects as JSON instead of applying them" },
	{ "retries", PARAM_INT, "3", false, false, "retries for unreachable servers" },
	{ "target", PARAM_STRING, "cluster", false, false, "cluster (the kubeconfig's), or local: run the Deployment's pod on this machine with crun, in the host's network" },
	{ "stop", PARAM_BOOL, "false", false, false, "with --target=local: stop and remove the local instance of --name, or of the Deployments in --manifests" },
	{ "name", PARAM_STRING, NULL, false, false, "with --stop: the Deployment to stop" },
	{ "local-state-dir", PARAM_STRING, NULL, false, false, "with --target=local: where the instances are kept (default: /run/deploy-local as root, else $XDG_RUNTIME_DIR/deploy-local); must be ours, not group/other-writable" },
	{ "image-cache-dir", PARAM_STRING, NULL, false, false, "with --target=local: unpacked images by digest (default: $XDG_CACHE_HOME/deploy/images, ~/.cache/deploy/images, /var/cache/deploy/images)" },
	{ NULL },
};

static const struct result_spec results[] = {
	{ "app-url", "where the app answers: Ingress host, LoadBalancer address, NodePort, or the Service's cluster name; local: http://127.0.0.1:<containerPort>" },
	{ "cluster-namespace", "the namespace the app was deployed to" },
	{ "deployed-digest", "the image digest deployed (sha256:...)" },
	{ "revision", "the Deployment's revision after the rollout (local: how many deploys of it succeeded)" },
	{ NULL },
};

static const struct task_spec spec = {
	"deploy",
	"Deploy a doubly-signed image digest to Kubernetes: gate, server-side apply, rollout wait; exit 3 if unsigned.",
	params,
	results,
};

static void print_objects(const struct manifests *m)
{
	for (size_t i = 0; i < m->n; i++) {
		_cleanup_free_ char *s = json_dumps(m->items[i].obj, JSON_COMPACT | JSON_SORT_KEYS);
		_cleanup_free_ char *safe = log_redact(s); /* a pull secret's data */
		puts(safe);
	}
}

/* Apply, wait for every Deployment and StatefulSet, roll back on failure if asked. */
static err_t *deploy_to_cluster(const struct params *p, struct kubeapi *k, struct manifests *m, struct results *r)
{
	struct apply_options ao = { params_str(p, "field-manager"), params_bool(p, "force") };
	int64_t timeout_ms = 0;
	TRY(clock_parse_duration_ms(params_str(p, "timeout"), "--timeout", &timeout_ms));
	TRY(cluster_discover(k, m));
	const char **nss = NULL;
	size_t nns = manifests_namespaces(m, &nss);
	json_t **live = xcalloc(m->n, sizeof *live);
	err_t *e = cluster_apply(k, &ao, nss, nns, m, live);
	_cleanup_free_ char *revision = NULL;
	for (size_t i = 0; !e && i < m->n; i++) {
		const struct kobject *o = &m->items[i];
		bool deployment = !strcmp(o->kind, "Deployment");
		if (!deployment && strcmp(o->kind, "StatefulSet"))
			continue;
		free(revision);
		revision = NULL;
		e = rollout_wait(k, o->kind, kobject_namespace(o), o->name, (long)timeout_ms, &revision);
		if (e && !strcmp(params_str(p, "on-failure"), "rollback")) {
			_cleanup_free_ char *to = NULL;
			err_t *u = rollout_undo(k, o->kind, kobject_namespace(o), o->name, &to);
			if (u)
				e = err_wrap(e, "the rollback failed too (%s)", u->msg);
			else
				e = err_wrap(e, "rolled back %s %s to revision %s", deployment ? "deployment" : "statefulset",
					     o->name, to);
			err_free(u);
		}
		if (!e)
			log_info("%s %s rolled out (revision %s)", o->kind, o->name, revision);
	}
	if (!e) {
		_cleanup_free_ char *url = cluster_app_url(k, m, live);
		printf("DEPLOYMENT SUCCEEDED%s%s\n", url ? ": " : "", url ? url : "");
		results_sets(r, "app-url", url ? url : "");
		results_sets(r, "revision", revision ? revision : "");
	}
	for (size_t i = 0; i < m->n; i++)
		json_decref(live[i]);
	free(live);
	free(nss);
	return e;
}

static struct local_options local_options(const struct params *p, int64_t timeout_ms)
{
	return (struct local_options){ params_str(p, "local-state-dir"), params_str(p, "image-cache-dir"), timeout_ms };
}

/* --stop: the local instances of --name, or of the manifests' Deployments. */
static err_t *stop_local(const struct params *p)
{
	const char *name = params_str(p, "name"), *path = params_str(p, "manifests");
	struct local_options lo = local_options(p, 0);
	struct manifests m = { 0 };
	err_t *e = NULL;
	if (name && *name)
		e = local_stop(name, &lo, &(bool){ false });
	else if (!path || !*path)
		e = err_new(EXIT_USAGE, "--stop needs --name or --manifests (the Deployments to stop)");
	else
		e = manifests_load(path, &m);
	for (size_t i = 0; !e && !(name && *name) && i < m.n; i++) {
		bool was = false;
		if (strcmp(m.items[i].kind, "Deployment"))
			continue;
		e = local_stop(m.items[i].name, &lo, &was);
		if (!e)
			log_info("%s: %s", m.items[i].name, was ? "stopped and removed" : "was not running (state removed)");
	}
	manifests_free(&m);
	return e;
}

/* Pull and run the pinned image locally. */
static err_t *deploy_local(const struct params *p, const struct image_ref *ref, const char *digest,
			   struct local_spec *ls, int64_t timeout_ms, struct results *r)
{
	struct registry_options ro = {
		.creds = params_str(p, "registry-creds"),
		.authfile = params_str(p, "authfile"),
		.insecure = params_bool(p, "insecure-registry"),
		.http = { .retries = (int)params_int(p, "retries"), .ca_file = params_str(p, "registry-ca") },
	};
	struct registry *reg = NULL;
	struct local_options lo = local_options(p, timeout_ms);
	struct local_outcome out = { 0 };
	err_t *e = registry_open_ref(ref, &ro, &reg);
	if (!e)
		e = local_deploy(ls, reg, digest, &lo, &out);
	if (!e) {
		printf("DEPLOYMENT SUCCEEDED%s%s\n", out.url ? ": " : "", out.url ? out.url : "");
		results_sets(r, "app-url", out.url ? out.url : "");
		results_sets(r, "revision", out.revision);
	}
	local_outcome_free(&out);
	registry_close(reg);
	return e;
}

static err_t *run(const struct params *p, struct results *r)
{
	const char *target = params_str(p, "target");
	bool local = !strcmp(target, "local");
	if (!local && strcmp(target, "cluster"))
		return err_new(EXIT_USAGE, "--target: '%s' is not cluster or local", target);
	if (params_bool(p, "stop"))
		return local ? stop_local(p) : err_new(EXIT_USAGE, "--stop is for --target=local");
	/* required unless --stop */
	TRY(params_require(p, "manifests"));
	TRY(params_require(p, "image"));
	TRY(params_require(p, "signers"));
	const char *on_failure = params_str(p, "on-failure");
	if (strcmp(on_failure, "fail") && strcmp(on_failure, "rollback"))
		return err_new(EXIT_USAGE, "--on-failure: '%s' is not fail or rollback", on_failure);
	int64_t timeout_ms;
	TRY(clock_parse_duration_ms(params_str(p, "timeout"), "--timeout", &timeout_ms));
	struct image_ref ref;
	TRY(imageref_parse(params_str(p, "image"), &ref));
	struct manifests m = { 0 };
	struct kubeconfig *kc = NULL;
	struct kubeapi *k = NULL;
	const char *d = params_str(p, "digest");
	const char *digest = d && *d ? d : ref.digest;
	_cleanup_free_ char *repo = imageref_name(&ref);
	_cleanup_free_ char *pinned = NULL;
	err_t *e = NULL;
	if (d && *d && ref.digest && strcmp(d, ref.digest))
		e = err_new(EXIT_USAGE, "--digest %s differs from the image's digest %s", d, ref.digest);
	else if (!digest)
		e = err_new(EXIT_USAGE, "no digest: deploy image@sha256:... or give --digest (a tag never reaches the cluster)");
	else
		pinned = imageref_pinned(&ref, digest);
	/* everything that can be checked without a server first */
	if (!e)
		e = manifests_load(params_str(p, "manifests"), &m);
	size_t count = 0;
	if (!e)
		e = manifests_pin(&m, repo, params_str(p, "container"), pinned, params_str(p, "pull-secret-name"), &count);
	struct local_spec ls = { 0 };
	if (!e && local)
		e = local_spec_find(&m, pinned, &ls);
	bool dry = params_bool(p, "dry-run");
	if (!e && !dry && !local)
		e = kubeconfig_resolve(params_str(p, "kubeconfig"), params_str(p, "context"), &kc);
	const char *ns = params_str(p, "namespace");
	if (!ns || !*ns)
		ns = kc && kc->namespace && *kc->namespace ? kc->namespace : "default";
	if (!e)
		e = manifests_set_namespace(&m, ns, params_given(p, "namespace"));
	const char *secret = params_str(p, "pull-secret-name"), *authfile = params_str(p, "pull-secret-authfile");
	if (!e && authfile && (!secret || !*secret))
		e = err_new(EXIT_USAGE, "--pull-secret-authfile needs --pull-secret-name");
	else if (!e && secret && *secret)
		e = cluster_add_pull_secrets(&m, authfile, ref.registry, secret);
	/* the gate: nothing is sent to the cluster before it passed */
	if (!e)
		e = gate_check(p, &ref, digest);
	if (!e)
		log_info("%s: every required signer signed; %zu container(s) pinned", pinned, count);
	if (!e && dry)
		print_objects(&m);
	else if (!e && local)
		e = deploy_local(p, &ref, digest, &ls, timeout_ms, r);
	else if (!e) {
		struct kubeapi_options ko = { .retries = (int)params_int(p, "retries") };
		e = kubeapi_new(kc, &ko, &k);
		if (!e)
			e = deploy_to_cluster(p, k, &m, r);
	}
	if (!e) {
		const char *app_ns = manifests_app_namespace(&m);
		results_sets(r, "cluster-namespace", app_ns ? app_ns : ns);
		results_sets(r, "deployed-digest", digest);
	}
	local_spec_free(&ls);
	kubeapi_free(k);
	kubeconfig_free(kc);
	manifests_free(&m);
	imageref_free(&ref);
	return e;
}

int main(int argc, char **argv)
{
	return task_main(&spec, argc, argv, run);
}
