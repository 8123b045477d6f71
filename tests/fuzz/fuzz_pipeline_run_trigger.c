/* libFuzzer target for pipeline-run's webhook replay (trigger.c): an event
 * payload and its headers (untrusted: anyone who can send a webhook) run
 * through Triggers resources (from the repository: also untrusted). The
 * input is "Header: value" lines, a blank line, the payload; when it holds
 * a line "=====" the text after it replaces the built-in Triggers YAML
 * (GitHub and GitLab interceptors, bindings from body and headers, a
 * template with defaults and generateName). Any bytes: no crash, no leak;
 * a resolved run names its trigger and pipeline, its name is one the API
 * server and Tekton accept (runname.h: no path from it leaves its
 * directory) and every param is NAME=VALUE with a non-empty name. */
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../tasks/pipeline-run/runname.h"
#include "../../tasks/pipeline-run/trigger.h"
#include "log.h"

// fuzz-sources: tasks/pipeline-run/trigger.c tasks/pipeline-run/interceptor.c tasks/pipeline-run/secret.c tasks/pipeline-run/runname.c tasks/pipeline-run/taskdef.c tasks/pipeline-run/subst.c
// fuzz-libs: -lyaml

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char triggers[] =
	"apiVersion: triggers.tekton.dev/v1beta1\n"
	"kind: TriggerBinding\n"
	"metadata: {name: gh-push}\n"
	"spec:\n"
	"  params:\n"
	"    - {name: repo-url, value: $(body.repository.clone_url)}\n"
	"    - {name: revision, value: $(body.after)}\n"
	"    - {name: delivery, value: $(header.X-GitHub-Delivery)}\n"
	"    - {name: head, value: \"$(body.head_commit.id)@$(body.repository.default_branch)\"}\n"
	"---\n"
	"apiVersion: triggers.tekton.dev/v1beta1\n"
	"kind: TriggerBinding\n"
	"metadata: {name: gh-pr}\n"
	"spec:\n"
	"  params:\n"
	"    - {name: repo-url, value: $(body.pull_request.base.repo.clone_url)}\n"
	"    - {name: revision, value: $(body.pull_request.head.sha)}\n"
	"    - {name: labels, value: $(body.pull_request.labels)}\n"
	"---\n"
	"apiVersion: triggers.tekton.dev/v1beta1\n"
	"kind: TriggerBinding\n"
	"metadata: {name: gl-push}\n"
	"spec:\n"
	"  params:\n"
	"    - {name: repo-url, value: $(body.project.git_http_url)}\n"
	"    - {name: revision, value: $(body.checkout_sha)}\n"
	"---\n"
	"apiVersion: triggers.tekton.dev/v1beta1\n"
	"kind: TriggerBinding\n"
	"metadata: {name: gl-mr}\n"
	"spec:\n"
	"  params:\n"
	"    - {name: repo-url, value: $(body.project.git_http_url)}\n"
	"    - {name: mr, value: $(body.object_attributes.last_commit.id)}\n"
	"    - {name: head, value: \"$(body.object_attributes.source_branch)->$(body.object_attributes.target_branch)\"}\n"
	"---\n"
	"apiVersion: triggers.tekton.dev/v1beta1\n"
	"kind: TriggerTemplate\n"
	"metadata: {name: run}\n"
	"spec:\n"
	"  params:\n"
	"    - name: repo-url\n"
	"    - {name: revision, default: main}\n"
	"    - {name: delivery, default: none}\n"
	"    - {name: head, default: \"\"}\n"
	"    - {name: labels, default: \"[]\"}\n"
	"    - {name: mr, default: \"\"}\n"
	"  resourcetemplates:\n"
	"    - apiVersion: tekton.dev/v1\n"
	"      kind: PipelineRun\n"
	"      metadata: {generateName: ci-run-}\n"
	"      spec:\n"
	"        pipelineRef: {name: ci-pipeline}\n"
	"        params:\n"
	"          - {name: repo-url, value: $(tt.params.repo-url)}\n"
	"          - {name: revision, value: \"$(tt.params.revision) $(uid)\"}\n"
	"          - {name: meta, value: \"$(tt.params.delivery)/$(tt.params.head)/$(tt.params.labels)/$(tt.params.mr)\"}\n"
	"---\n"
	"apiVersion: triggers.tekton.dev/v1beta1\n"
	"kind: EventListener\n"
	"metadata: {name: fuzz}\n"
	"spec:\n"
	"  triggers:\n"
	"    - name: github-push\n"
	"      interceptors:\n"
	"        - ref: {name: github}\n"
	"          params: [{name: eventTypes, value: [push]}]\n"
	"      bindings: [{ref: gh-push}]\n"
	"      template: {ref: run}\n"
	"    - name: github-pr\n"
	"      interceptors:\n"
	"        - ref: {name: github}\n"
	"          params: [{name: eventTypes, value: [pull_request]}]\n"
	"      bindings: [{ref: gh-pr}]\n"
	"      template: {ref: run}\n"
	"    - name: gitlab-push\n"
	"      interceptors:\n"
	"        - ref: {name: gitlab}\n"
	"          params: [{name: eventTypes, value: [Push Hook]}]\n"
	"      bindings: [{ref: gl-push}]\n"
	"      template: {ref: run}\n"
	"    - name: gitlab-merge-request\n"
	"      interceptors:\n"
	"        - ref: {name: gitlab}\n"
	"          params: [{name: eventTypes, value: [Merge Request Hook]}]\n"
	"      bindings: [{ref: gl-mr}]\n"
	"      template: {ref: run}\n"
	"    - name: github-signed\n"
	"      interceptors:\n"
	"        - ref: {name: github}\n"
	"          params:\n"
	"            - {name: secretRef, value: {secretName: webhook-secret, secretKey: token}}\n"
	"            - {name: eventTypes, value: [release]}\n"
	"      bindings: [{ref: gh-push}]\n"
	"      template: {ref: run}\n"
	"    - name: gitlab-signed\n"
	"      interceptors:\n"
	"        - ref: {name: gitlab}\n"
	"          params:\n"
	"            - {name: secretRef, value: {secretName: webhook-secret, secretKey: token}}\n"
	"            - {name: eventTypes, value: [Tag Push Hook]}\n"
	"      bindings: [{ref: gl-push}]\n"
	"      template: {ref: run}\n";

#define MAX_HEADERS 16

/* The Secret webhook-secret, key token = "fuzz-webhook-secret" (no newline): a
 * payload signed with it (X-Hub-Signature-256) or carrying it
 * (X-Gitlab-Token) passes the secretRef interceptors below. */
static char secret_path[64];
static char secret_dirname[] = "/tmp/fuzz-trigger-secret.XXXXXX";

static void secret_remove(void)
{
	unlink(secret_path);
	rmdir(secret_dirname);
}

static char *secret_dir(void)
{
	char *dir = secret_dirname;
	if (!mkdtemp(dir))
		abort();
	atexit(secret_remove);
	char *path = secret_path;
	snprintf(path, sizeof secret_path, "%s/token", dir);
	FILE *f = fopen(path, "w");
	if (!f || fputs("fuzz-webhook-secret", f) < 0 || fclose(f) != 0)
		abort();
	return dir;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	static struct tr_binding secret = { (char *)"webhook-secret", NULL, true };
	if (!quiet++) {
		log_setup("fuzz_pipeline_run_trigger", LOG_HUMAN, LOG_ERROR); /* a replay warns each time */
		secret.dir = secret_dir();
	}
	char *in = malloc(size + 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	const char *yaml = triggers;
	size_t yaml_len = sizeof triggers - 1;
	char *sep = strstr(in, "\n=====\n");
	size_t end = size;
	if (sep) {
		*sep = '\0';
		yaml = sep + 7;
		yaml_len = size - (size_t)(yaml - in);
		end = (size_t)(sep - in);
	}
	/* headers up to the first blank line; the rest is the payload */
	const char *headers[MAX_HEADERS];
	size_t nheaders = 0, pos = 0;
	while (pos < end) {
		char *nl = memchr(in + pos, '\n', end - pos);
		if (!nl || nl == in + pos) {
			pos = nl ? pos + 1 : pos;
			break;
		}
		*nl = '\0';
		if (nheaders < MAX_HEADERS)
			headers[nheaders++] = in + pos;
		pos = (size_t)(nl - in) + 1;
	}
	struct trigger_run run;
	struct trigger_event ev = { in + pos, end - pos, headers, nheaders, &secret, 1 };
	err_t *e = trigger_resolve_text("triggers.yaml", yaml, yaml_len, "fuzz", "event.json", &ev, &run);
	if (!e) {
		if (!run.trigger || !run.pipeline || !run.name || runname_problem(run.name))
			abort();
		for (size_t i = 0; i < run.nparams; i++) {
			const char *eq = strchr(run.params[i], '=');
			if (!eq || eq == run.params[i])
				abort();
		}
		trigger_run_free(&run);
	}
	err_free(e);
	free(in);
	return 0;
}
