/* deploy --target=local's container (tasks/deploy/localspec.c) and the
 * OCI config it becomes (common/ocibundle.c): the manifest's fields
 * reach crun's config, Kubernetes' command/args rule over the image's
 * Entrypoint/Cmd, and what cannot be honoured is refused by name. */
// unit-sources: tasks/deploy/localspec.c tasks/deploy/manifests.c
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../tasks/deploy/localspec.h"
#include "../../tasks/deploy/manifests.h"
#include "ocibundle.h"
#include "testing.h"
#include "xalloc.h"

#define PINNED "registry.local/hello/app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const char app[] = "apiVersion: apps/v1\n"
			  "kind: Deployment\n"
			  "metadata: {name: web}\n"
			  "spec:\n"
			  "  template:\n"
			  "    spec:\n"
			  "      securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}\n"
			  "      containers:\n"
			  "      - name: sidecar\n"
			  "        image: registry.local/other@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n"
			  "      - name: web\n"
			  "        image: " PINNED "\n"
			  "        args: [--port, \"8080\"]\n"
			  "        env: [{name: MODE, value: prod}, {name: EMPTY}]\n"
			  "        workingDir: /srv\n"
			  "        ports: [{name: http, containerPort: 8080}]\n"
			  "        securityContext:\n"
			  "          runAsGroup: 2000\n"
			  "          allowPrivilegeEscalation: false\n"
			  "          readOnlyRootFilesystem: true\n"
			  "          capabilities: {drop: [ALL], add: [net_bind_service]}\n"
			  "        readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 2}\n";

static err_t *find(const char *yaml, struct manifests *m, struct local_spec *s)
{
	memset(m, 0, sizeof *m);
	err_t *e = manifests_parse(yaml, strlen(yaml), "app.yaml", m);
	return e ? e : local_spec_find(m, PINNED, s);
}

static void test_fields_reach_the_spec(void)
{
	struct manifests m;
	struct local_spec s;
	err_t *e = find(app, &m, &s);
	REQUIRE(!e);
	CHECK_STR(s.workload->name, "web");
	CHECK_STR(s.container, "web"); /* the pinned one, not the first */
	CHECK(s.port == 8080);
	CHECK(s.probe.kind == PROBE_HTTP && s.probe.port == 8080 && s.probe.period_ms == 2000);
	CHECK_STR(s.probe.path, "/healthz");
	CHECK(s.run_as_user == 1000 && s.run_as_group == 2000 && s.run_as_non_root);
	CHECK(s.read_only_root && !s.allow_privilege_escalation && s.seccomp_runtime_default);
	CHECK(s.ncap_drop == 1 && s.ncap_add == 1);
	CHECK_STR(s.env[0], "MODE=prod");
	CHECK_STR(s.env[1], "EMPTY=");
	CHECK_STR(s.working_dir, "/srv");
	CHECK(s.args_only);
	local_spec_free(&s);
	manifests_free(&m);
}

/* Kubernetes: command replaces Entrypoint (and Cmd), args replaces Cmd. */
static void test_command_args_over_entrypoint_cmd(void)
{
	char *ep[] = { "node", NULL }, *cmd[] = { "server.js", NULL };
	struct image_root img = { .entrypoint = ep, .cmd = cmd, .workdir = "/app", .user = "" };
	struct manifests m;
	struct local_spec s;
	REQUIRE(!find(app, &m, &s));
	REQUIRE(!local_spec_argv(&s, &img)); /* args only */
	CHECK_STR(s.argv[0], "node");
	CHECK_STR(s.argv[1], "--port");
	CHECK(s.argv[3] == NULL);
	local_spec_free(&s);
	manifests_free(&m);

	char *with_cmd = xasprintf("%s        command: [/bin/app]\n", app);
	REQUIRE(!find(with_cmd, &m, &s));
	REQUIRE(!local_spec_argv(&s, &img));
	CHECK_STR(s.argv[0], "/bin/app");
	CHECK_STR(s.argv[1], "--port");
	local_spec_free(&s);
	manifests_free(&m);
	free(with_cmd);

	static const char bare[] = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\nspec:\n  template:\n"
				   "    spec:\n      containers: [{name: b, image: \"" PINNED "\"}]\n";
	REQUIRE(!find(bare, &m, &s));
	REQUIRE(!local_spec_argv(&s, &img));
	CHECK_STR(s.argv[0], "node");
	CHECK_STR(s.argv[1], "server.js");
	local_spec_free(&s);
	REQUIRE(!local_spec_find(&m, PINNED, &s));
	struct image_root empty = { .workdir = "/", .user = "" };
	err_t *e = local_spec_argv(&s, &empty);
	CHECK(e && e->code == EXIT_USAGE && strstr(e->msg, "no command, and the image has no Entrypoint or Cmd"));
	err_free(e);
	local_spec_free(&s);
	manifests_free(&m);
}

static void expect_refused(const char *extra, const char *why)
{
	char *yaml = xasprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n"
			       "    spec:\n      containers:\n      - name: web\n        image: %s\n%s",
			       PINNED, extra);
	struct manifests m;
	struct local_spec s;
	err_t *e = find(yaml, &m, &s);
	CHECK(e && e->code == EXIT_USAGE);
	if (e && !strstr(e->msg, why))
		fprintf(stderr, "    message '%s' lacks '%s'\n", e->msg, why);
	CHECK(e && strstr(e->msg, why) && strstr(e->msg, "app.yaml:1: Deployment web, container web"));
	err_free(e);
	local_spec_free(&s);
	manifests_free(&m);
	free(yaml);
}

static void test_what_cannot_be_honoured_is_refused(void)
{
	expect_refused("        envFrom: [{configMapRef: {name: c}}]\n", "envFrom is not supported");
	expect_refused("        volumeMounts: [{name: v, mountPath: /v}]\n", "volumeMounts are not supported");
	expect_refused("        securityContext: {privileged: true}\n", "a privileged container is not run");
	expect_refused("        readinessProbe: {grpc: {port: 8080}}\n", "grpc is not supported locally");
	expect_refused("        env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: s, key: k}}}]\n",
		       "env TOKEN: valueFrom is not supported");
	struct manifests m;
	struct local_spec s;
	err_t *e = find("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n", &m, &s);
	CHECK(e && e->code == EXIT_USAGE && strstr(e->msg, "no Deployment in the manifests runs " PINNED));
	err_free(e);
	local_spec_free(&s);
	manifests_free(&m);
}

static void test_bundle_config(void)
{
	char *argv[] = { "node", "server.js", NULL }, *img_env[] = { "NODE_ENV=production", NULL },
	     *env[] = { "MODE=prod", NULL }, *all[] = { "ALL" }, *net_raw[] = { "net_raw" };
	struct oci_container c = { .root = "/cache/x/root", .hostname = "web", .argv = argv, .image_env = img_env,
				   .env = env, .cwd = "/app", .uid = 1000, .gid = 1000, .cap_drop = all, .ncap_drop = 1,
				   .read_only_root = true, .seccomp_runtime_default = true };
	json_t *j = oci_bundle_config(&c);
	REQUIRE(j);
	json_t *proc = json_object_get(j, "process");
	CHECK(json_is_true(json_object_get(json_object_get(j, "root"), "readonly")));
	CHECK(json_is_true(json_object_get(proc, "noNewPrivileges")));
	CHECK(json_array_size(json_object_get(json_object_get(proc, "capabilities"), "bounding")) == 0);
	CHECK(json_integer_value(json_object_get(json_object_get(proc, "user"), "uid")) == 1000);
	CHECK(json_object_get(json_object_get(j, "linux"), "seccomp") != NULL);
	json_t *ns;
	size_t i;
	bool net = false;
	json_array_foreach(json_object_get(json_object_get(j, "linux"), "namespaces"), i, ns)
		net |= !strcmp(json_string_value(json_object_get(ns, "type")), "network");
	CHECK(!net); /* the host's network: ports answer on loopback */
	char *text = json_dumps(json_object_get(proc, "env"), JSON_COMPACT);
	CHECK(strstr(text, "\"NODE_ENV=production\"") && strstr(text, "\"PATH=") && strstr(text, "\"MODE=prod\""));
	free(text);
	text = json_dumps(json_object_get(j, "mounts"), JSON_COMPACT);
	CHECK(!strstr(text, "\"/tmp\"")); /* read-only root: no writable /tmp either */
	free(text);
	json_decref(j);

	c.cap_drop = net_raw;
	c.read_only_root = false;
	c.allow_privilege_escalation = true;
	j = oci_bundle_config(&c);
	REQUIRE(j);
	proc = json_object_get(j, "process");
	text = json_dumps(json_object_get(json_object_get(proc, "capabilities"), "bounding"), JSON_COMPACT);
	CHECK(!strstr(text, "CAP_NET_RAW") && strstr(text, "CAP_CHOWN"));
	free(text);
	CHECK(json_is_false(json_object_get(proc, "noNewPrivileges")));
	text = json_dumps(json_object_get(j, "mounts"), JSON_COMPACT);
	CHECK(strstr(text, "\"/tmp\""));
	free(text);
	json_decref(j);
}

static void test_user(void)
{
	long long uid, gid;
	CHECK(!oci_user("1001:1002", -1, -1, false, "container a", &uid, &gid) && uid == 1001 && gid == 1002);
	CHECK(!oci_user("", -1, -1, false, "container a", &uid, &gid) && uid == 0 && gid == 0);
	CHECK(!oci_user("node", 1000, -1, true, "container a", &uid, &gid) && uid == 1000 && gid == 1000);
	err_t *e = oci_user("node", -1, -1, false, "container a", &uid, &gid);
	CHECK(e && e->code == EXIT_USAGE && strstr(e->msg, "container a: the image's user 'node' is not numeric"));
	err_free(e);
	e = oci_user("", -1, -1, true, "container a", &uid, &gid);
	CHECK(e && e->code == EXIT_USAGE && strstr(e->msg, "runAsNonRoot is set and the image will run as root"));
	err_free(e);
}

TEST_MAIN("deploy_local", TEST(test_fields_reach_the_spec), TEST(test_command_args_over_entrypoint_cmd),
	  TEST(test_what_cannot_be_honoured_is_refused), TEST(test_bundle_config), TEST(test_user))
