/* check-health: prove the deployed app is up. Optionally wait until the
 * Deployment has rolled out and its pods are Ready (through the Kubernetes
 * API, by watch), then probe the app's URL with retries and backoff until
 * it answers as a healthy app does (status, body, a JSON value) or the
 * time is up. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "clock.h"
#include "http.h"
#include "kubeapi.h"
#include "kubeconfig.h"
#include "log.h"
#include "probe.h"
#include "rollout.h"
#include "task.h"
#include "xalloc.h"

static const struct param_spec params[] = {
	{ "url", PARAM_STRING, NULL, false, false, "the app's health URL (http or https); required unless --deployment" },
	{ "timeout", PARAM_STRING, "60s", false, false, "give up after this long: seconds, or 500ms, 90s, 2m, 1h30m" },
	{ "request-timeout", PARAM_STRING, "10s", false, false, "one attempt's limit (connect and answer)" },
	{ "backoff", PARAM_STRING, "500ms", false, false, "first wait between attempts; doubles each time" },
	{ "backoff-max", PARAM_STRING, "5s", false, false, "longest wait between attempts" },
	{ "max-attempts", PARAM_INT, "0", false, false, "stop after this many attempts (0: until the timeout)" },
	{ "expect-status", PARAM_STRING, "200-299", false, false, "healthy statuses: a list or ranges (200,204 or 200-299)" },
	{ "body-contains", PARAM_STRING, NULL, false, false, "the body must contain this text" },
	{ "body-regex", PARAM_STRING, NULL, false, false, "the body must match this POSIX extended regex" },
	{ "json-query", PARAM_STRING, NULL, false, false,
	  "jq expression over the JSON body; healthy when it yields --json-expect (or anything but null/false)" },
	{ "json-expect", PARAM_STRING, NULL, false, false, "what --json-query must yield (jq -r -c output)" },
	{ "header", PARAM_LIST, NULL, false, false,
	  "extra request header \"Name: value\" (repeatable); values of auth/token/key/cookie headers are redacted" },
	{ "ca-file", PARAM_STRING, NULL, false, false, "PEM CA bundle to trust for an https URL" },
	{ "client-cert", PARAM_STRING, NULL, false, false, "PEM client certificate (mutual TLS)" },
	{ "client-key", PARAM_STRING, NULL, false, false, "PEM key of --client-cert" },
	{ "insecure", PARAM_BOOL, "false", false, false, "do not verify the URL's TLS certificate" },
	{ "kubeconfig", PARAM_STRING, NULL, false, false,
	  "kubeconfig for --deployment (default: KUBECONFIG, ~/.kube/config, or the in-cluster service account)" },
	{ "context", PARAM_STRING, NULL, false, false, "kubeconfig context (default: its current-context)" },
	{ "deployment", PARAM_STRING, NULL, false, false, "first wait until this Deployment's pods are Ready" },
	{ "namespace", PARAM_STRING, NULL, false, false, "the Deployment's namespace (default: the context's, else default)" },
	{ NULL },
};

static const struct result_spec results[] = {
	{ "health-status", "healthy (the task fails otherwise)" },
	{ "response-time-ms", "how long the healthy answer took, in milliseconds" },
	{ "checked-url", "the URL that answered healthy (empty when only the Deployment was checked)" },
	{ NULL },
};

static const struct task_spec spec = {
	"check-health",
	"Wait for a Deployment's pods to be Ready, then probe the app's URL until it answers healthy.",
	params,
	results,
};

static err_t *duration(const struct params *p, const char *name, int64_t *out)
{
	return clock_parse_duration_ms(params_str(p, name), name, out);
}

static err_t *expectations(const struct params *p, struct probe_expect *x)
{
	TRY(probe_parse_statuses(params_str(p, "expect-status"), x));
	x->body_contains = params_str(p, "body-contains");
	if (params_str(p, "body-regex"))
		TRY(probe_set_regex(x, params_str(p, "body-regex")));
	if (params_str(p, "json-expect") && !params_str(p, "json-query"))
		return err_new(EXIT_USAGE, "--json-expect needs --json-query");
	if (params_str(p, "json-query"))
		TRY(probe_set_jq(x, params_str(p, "json-query"), params_str(p, "json-expect")));
	return NULL;
}

/* "Name: value" headers checked, with secret-looking values registered
 * for redaction before anything can log them. */
static err_t *request_headers(const struct params *p, const char ***out)
{
	static const char *const secretish[] = { "auth", "token", "key", "secret", "cookie", "password", "session" };
	const char *const *h;
	size_t n = params_list(p, "header", &h);
	const char **list = xcalloc(n + 1, sizeof *list);
	for (size_t i = 0; i < n; i++) {
		const char *colon = strchr(h[i], ':');
		if (!colon || colon == h[i] || strchr(h[i], '\n') || strchr(h[i], '\r')) {
			free(list);
			return err_new(EXIT_USAGE, "--header \"%s\" is not \"Name: value\"", h[i]);
		}
		_cleanup_free_ char *name = xstrndup(h[i], (size_t)(colon - h[i]));
		const char *value = colon + 1 + strspn(colon + 1, " \t");
		for (size_t j = 0; j < sizeof secretish / sizeof *secretish; j++)
			if (strcasestr(name, secretish[j]) && strlen(value) >= LOG_SECRET_MIN)
				log_secret(value);
		list[i] = h[i];
	}
	*out = list;
	return NULL;
}

static err_t *wait_deployment(const struct params *p, int64_t deadline)
{
	struct kubeconfig *kc = NULL;
	TRY(kubeconfig_resolve(params_str(p, "kubeconfig"), params_str(p, "context"), &kc));
	const char *ns = params_str(p, "namespace") ? params_str(p, "namespace")
						     : kc->namespace ? kc->namespace : "default";
	const char *name = params_str(p, "deployment");
	struct kubeapi *k = NULL;
	struct kubeapi_options ko = { .retries = 3 };
	_cleanup_free_ char *revision = NULL;
	err_t *e = kubeapi_new(kc, &ko, &k);
	if (!e) {
		log_info("waiting for deployment %s/%s on %s", ns, name, kc->server);
		e = rollout_wait(k, "Deployment", ns, name, (long)(deadline - clock_monotonic_ms()), &revision);
	}
	if (!e)
		e = rollout_wait_pods_ready(k, ns, name, (long)(deadline - clock_monotonic_ms()));
	if (!e)
		log_info("deployment %s/%s: revision %s rolled out, pods Ready", ns, name, revision);
	kubeapi_free(k);
	kubeconfig_free(kc);
	return e;
}

static err_t *run(const struct params *p, struct results *r)
{
	const char *url = params_str(p, "url");
	if (!url && !params_str(p, "deployment"))
		return err_new(EXIT_USAGE, "give --url, --deployment, or both");
	if (url)
		TRY(http_check_url(url, "http,https", "--url"));
	struct probe_run run = { .url = url, .max_attempts = params_int(p, "max-attempts") };
	int64_t timeout, request_timeout;
	TRY(duration(p, "timeout", &timeout));
	TRY(duration(p, "request-timeout", &request_timeout));
	TRY(duration(p, "backoff", &run.backoff_ms));
	TRY(duration(p, "backoff-max", &run.backoff_max_ms));
	run.deadline_ms = clock_monotonic_ms() + timeout;

	struct probe_expect x = { 0 };
	const char **headers = NULL;
	struct http_client *c = NULL;
	err_t *e = expectations(p, &x);
	if (!e)
		e = request_headers(p, &headers);
	if (!e && params_str(p, "deployment"))
		e = wait_deployment(p, run.deadline_ms);
	if (!e && url) {
		_cleanup_free_ char *host = NULL;
		struct http_options o = { .connect_timeout_ms = request_timeout, .total_timeout_ms = request_timeout,
					  .ca_file = params_str(p, "ca-file"), .client_cert = params_str(p, "client-cert"),
					  .client_key = params_str(p, "client-key") };
		e = http_client_new(&o, &c);
		if (!e && params_bool(p, "insecure")) {
			const char *h = strstr(url, "://") + 3;
			host = xstrndup(h, strcspn(h, "/?#"));
			http_client_add_insecure_host(c, host);
		}
		run.headers = headers;
		struct probe_outcome out;
		if (!e)
			e = probe_until_healthy(c, &run, &x, &out);
		if (!e) {
			_cleanup_free_ char *ms = xasprintf("%lld", (long long)((out.response_us + 500) / 1000));
			results_sets(r, "response-time-ms", ms);
			log_info("%s: healthy (HTTP %ld in %s ms, attempt %d)", url, out.status, ms, out.attempts);
			printf("HEALTHY %s HTTP %ld %s ms\n", url, out.status, ms);
		}
	}
	if (!e) {
		results_sets(r, "health-status", "healthy");
		results_sets(r, "checked-url", url ? url : "");
		if (!url)
			results_sets(r, "response-time-ms", "0");
	}
	http_client_free(c);
	free(headers);
	probe_expect_release(&x);
	return e;
}

int main(int argc, char **argv)
{
	return task_main(&spec, argc, argv, run);
}
