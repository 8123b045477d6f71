/* image-admission: the cluster's admission webhook. It answers the API
 * server's AdmissionReviews over HTTPS: a Pod, or a workload's pod
 * template, is admitted only when every image in it is signed by every
 * signer the policy requires (the verifier deploy and verify-signatures
 * use), and /mutate pins each admitted image to the digest that was
 * verified. It fails closed: whatever cannot be verified before the
 * deadline is denied, with the reason. SIGHUP reloads the policy and the
 * serving certificate; SIGTERM stops after the requests in progress. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "admit.h"
#include "clock.h"
#include "fsutil.h"
#include "log.h"
#include "admission_policy.h"
#include "server.h"
#include "task.h"
#include "verify.h"
#include "xalloc.h"

static const struct param_spec params[] = {
	{ "policy", PARAM_STRING, NULL, true, false, "the ImageAdmissionPolicy file (JSON, as image-policy writes it)" },
	{ "tls-cert", PARAM_STRING, NULL, true, false, "serving certificate chain (PEM); reloaded on SIGHUP" },
	{ "tls-key", PARAM_STRING, NULL, true, false, "its private key (PEM); reloaded on SIGHUP" },
	{ "listen", PARAM_STRING, "0.0.0.0:8443", false, false, "HOST:PORT to serve on (port 0: any free one)" },
	{ "port-file", PARAM_STRING, NULL, false, false, "write the port bound to this file once serving" },
	{ "notary-ca", PARAM_STRING, NULL, false, false, "CA certificate of the notary servers" },
	{ "registry-ca", PARAM_STRING, NULL, false, false, "CA certificate of the registries" },
	{ "registry-creds", PARAM_STRING, NULL, false, true, "user:password for the registries (tags, cosign)" },
	{ "authfile", PARAM_STRING, NULL, false, false, "Docker config.json with registry credentials" },
	{ "insecure-registry", PARAM_BOOL, "false", false, false, "no TLS verification / plain http for registries" },
	{ "deadline", PARAM_STRING, "8s", false, false,
	  "a review's whole budget, below the webhook's timeoutSeconds: past it, denied (fail closed)" },
	{ "trust-ttl", PARAM_STRING, "30s", false, false, "how long a repository's notary timestamp is taken as current" },
	{ "cache-ttl", PARAM_STRING, "10m", false, false, "how long a verdict is kept (also bound to the timestamp)" },
	{ "tag-ttl", PARAM_STRING, "10s", false, false,
	  "how long a tag's digest is kept once resolved (0s: resolve every review's tags)" },
	{ "cache-size", PARAM_INT, "10000", false, false, "verdicts kept at most" },
	{ "max-verifications", PARAM_INT, "64", false, false, "verifications running at once at most (more: denied)" },
	{ "workers", PARAM_INT, "8", false, false, "worker threads answering requests" },
	{ "queue", PARAM_INT, "1024", false, false, "connections waiting for a worker at most" },
	{ "max-connections", PARAM_INT, "1024", false, false, "open connections at most (more are closed)" },
	{ "max-body", PARAM_INT, "3145728", false, false, "largest request body accepted (bytes)" },
	{ "header-timeout", PARAM_STRING, "5s", false, false, "a request must arrive whole within this (slowloris)" },
	{ "idle-timeout", PARAM_STRING, "60s", false, false, "an idle keep-alive connection is closed after this" },
	{ "grace", PARAM_STRING, "10s", false, false, "on SIGTERM, how long requests in progress may finish" },
	{ NULL },
};

static const struct result_spec results[] = {
	{ NULL },
};

static const struct task_spec spec = {
	"image-admission",
	"Admission webhook: admit Pods and workloads only when every image is signed by every required signer.",
	params,
	results,
};

static err_t *duration(const struct params *p, const char *name, int64_t *out)
{
	return clock_parse_duration_ms(params_str(p, name), name, out);
}

static err_t *positive(const struct params *p, const char *name, size_t *out)
{
	long v = params_int(p, name);
	if (v < 1)
		return err_new(EXIT_USAGE, "--%s must be at least 1", name);
	*out = (size_t)v;
	return NULL;
}

/* the port, atomically (a test waits for the file) */
static err_t *write_port(const char *path, int port)
{
	char *text = xasprintf("%d", port);
	err_t *e = fs_write_path_atomic(path, text, strlen(text), 0644);
	free(text);
	return e;
}

struct reloader {
	struct admit *admit;
	struct server *server;
};

/* SIGHUP: the policy, then the certificate; a bad file keeps the old one */
static void reload(void *ctx)
{
	struct reloader *r = ctx;
	err_t *e = admit_reload(r->admit);
	if (e) {
		char *m = err_describe(e);
		log_error("%s", m);
		free(m);
		err_free(e);
	}
	e = err_context(server_reload_tls(r->server), "reloading the serving certificate (the previous one stays)");
	if (e) {
		char *m = err_describe(e);
		log_error("%s", m);
		free(m);
		err_free(e);
	} else {
		log_info("serving certificate reloaded");
	}
}

static err_t *run(const struct params *p, struct results *res)
{
	(void)res;
	struct verifier_options vo = {
		.notary_ca = params_str(p, "notary-ca"),
		.registry_ca = params_str(p, "registry-ca"),
		.registry_creds = params_str(p, "registry-creds"),
		.authfile = params_str(p, "authfile"),
		.insecure_registry = params_bool(p, "insecure-registry"),
	};
	struct server_options so = {
		.listen = params_str(p, "listen"),
		.cert = params_str(p, "tls-cert"),
		.key = params_str(p, "tls-key"),
		.handler = admit_handle,
		.on_reload = reload,
	};
	TRY(duration(p, "deadline", &vo.deadline_ms));
	TRY(duration(p, "trust-ttl", &vo.trust_ttl_ms));
	TRY(duration(p, "cache-ttl", &vo.cache_ttl_ms));
	TRY(duration(p, "tag-ttl", &vo.tag_ttl_ms));
	TRY(positive(p, "cache-size", &vo.cache_size));
	TRY(positive(p, "max-verifications", &vo.max_jobs));
	TRY(positive(p, "workers", &so.workers));
	TRY(positive(p, "queue", &so.queue));
	TRY(positive(p, "max-connections", &so.max_conns));
	TRY(positive(p, "max-body", &so.max_body));
	TRY(duration(p, "header-timeout", &so.header_timeout_ms));
	TRY(duration(p, "idle-timeout", &so.idle_timeout_ms));
	TRY(duration(p, "grace", &so.grace_ms));
	if (vo.deadline_ms < 1)
		return err_new(EXIT_USAGE, "--deadline must be above zero");
	/* room for max-connections sockets besides the verifications' */
	struct rlimit rl;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	struct admission_policy *pol;
	TRY(admission_policy_load(params_str(p, "policy"), &pol));
	log_info("policy %s: %zu repository entries, %zu exempt namespaces, %zu exempt image patterns", pol->name,
		 pol->n_rules, pol->n_exempt_namespaces, pol->n_exempt_images);
	server_block_signals(); /* before any thread: the server's signalfd takes them */
	struct verifier *v;
	TRY(verifier_new(&vo, &v));
	struct admit *a = admit_new(v, pol, params_str(p, "policy"), vo.deadline_ms);
	struct reloader rel = { a, NULL };
	so.ctx = a;
	so.reload_ctx = &rel;
	struct server *s = NULL;
	err_t *e = server_new(&so, &s);
	if (!e) {
		rel.server = s;
		admit_set_server(a, s);
		log_info("serving AdmissionReviews on %s (port %d): /validate, /mutate, /healthz, /readyz", so.listen,
			 server_port(s));
		const char *pf = params_str(p, "port-file");
		if (pf)
			e = write_port(pf, server_port(s));
	}
	if (!e)
		e = server_run(s);
	server_free(s);
	admit_free(a);
	verifier_free(v);
	if (!e)
		log_info("stopped");
	return e;
}

int main(int argc, char **argv)
{
	return task_main(&spec, argc, argv, run);
}
