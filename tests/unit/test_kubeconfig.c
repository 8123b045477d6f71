/* Unit tests for common/kubeconfig: contexts, inline data decoded into
 * private files, token files, relative paths, merged $KUBECONFIG files,
 * the in-cluster service account, and the errors (exec plugins, unknown
 * names, file:line). */
#include "kubeconfig.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "strbuf.h"
#include "testing.h"
#include "xalloc.h"

static const char *CONFIG = "apiVersion: v1\n"
			    "kind: Config\n"
			    "current-context: dev\n"
			    "clusters:\n"
			    "- name: c1\n"
			    "  cluster:\n"
			    "    server: https://127.0.0.1:6443/\n"
			    "    certificate-authority-data: UEVNLUNB\n" /* "PEM-CA" */
			    "- name: c2\n"
			    "  cluster:\n"
			    "    server: https://10.0.0.1:443\n"
			    "    certificate-authority: ca/ca.pem\n"
			    "    insecure-skip-tls-verify: true\n"
			    "contexts:\n"
			    "- name: dev\n"
			    "  context: {cluster: c1, user: tok, namespace: team-a}\n"
			    "- name: prod\n"
			    "  context: {cluster: c2, user: cert}\n"
			    "- name: plug\n"
			    "  context: {cluster: c1, user: exec}\n"
			    "- name: nouser\n"
			    "  context: {cluster: c1, user: ghost}\n"
			    "users:\n"
			    "- name: tok\n"
			    "  user:\n"
			    "    token: s3cr3t-token-value\n"
			    "- name: cert\n"
			    "  user:\n"
			    "    client-certificate: /abs/c.pem\n"
			    "    client-key-data: S0VZ\n" /* "KEY" */
			    "- name: exec\n"
			    "  user:\n"
			    "    exec:\n"
			    "      command: aws-iam-authenticator\n";

static char *slurp(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	err_t *e = fs_read_file(path, 1 << 20, &sb);
	if (e) {
		err_free(e);
		sb_release(&sb);
		return NULL;
	}
	return sb_detach(&sb);
}

static void test_current_context_token_and_ca_data(void)
{
	struct kubeconfig *kc = NULL;
	err_t *e = kubeconfig_parse(CONFIG, strlen(CONFIG), "kc.yaml", "/etc/kube", NULL, &kc);
	REQUIRE(!e && kc);
	CHECK_STR(kc->context, "dev");
	CHECK_STR(kc->server, "https://127.0.0.1:6443");
	CHECK_STR(kc->namespace, "team-a");
	CHECK_STR(kc->token, "s3cr3t-token-value");
	CHECK(!kc->insecure && !kc->client_cert && !kc->client_key);
	REQUIRE(kc->ca_file && kc->tmpdir);
	char *ca = slurp(kc->ca_file);
	CHECK_STR(ca, "PEM-CA");
	free(ca);
	struct stat st;
	CHECK(stat(kc->ca_file, &st) == 0 && (st.st_mode & 077) == 0);
	CHECK(stat(kc->tmpdir, &st) == 0 && (st.st_mode & 077) == 0);
	/* the token is a secret from the moment it is read */
	char *r = log_redact("Bearer s3cr3t-token-value");
	CHECK_STR(r, "Bearer ***");
	free(r);
	char *dir = xstrdup(kc->tmpdir);
	kubeconfig_free(kc);
	CHECK(access(dir, F_OK) != 0);
	free(dir);
}

static void test_named_context_cert_and_relative_paths(void)
{
	struct kubeconfig *kc = NULL;
	err_t *e = kubeconfig_parse(CONFIG, strlen(CONFIG), "kc.yaml", "/etc/kube", "prod", &kc);
	REQUIRE(!e && kc);
	CHECK_STR(kc->server, "https://10.0.0.1:443");
	CHECK_STR(kc->ca_file, "/etc/kube/ca/ca.pem");
	CHECK(kc->insecure);
	CHECK(kc->namespace == NULL && kc->token == NULL);
	CHECK_STR(kc->client_cert, "/abs/c.pem");
	REQUIRE(kc->client_key);
	char *key = slurp(kc->client_key);
	CHECK_STR(key, "KEY");
	free(key);
	kubeconfig_free(kc);
}

/* whether e's whole chain mentions want */
static int says(const err_t *e, const char *want)
{
	if (!e)
		return 0;
	char *d = err_describe(e);
	int ok = strstr(d, want) != NULL;
	if (!ok)
		fprintf(stderr, "  error was: %s\n", d);
	free(d);
	return ok;
}

static void test_errors(void)
{
	struct kubeconfig *kc = NULL;
	err_t *e = kubeconfig_parse(CONFIG, strlen(CONFIG), "kc.yaml", NULL, "plug", &kc);
	CHECK(e && e->code == EXIT_USAGE && !kc);
	if (e) {
		char *d = err_describe(e);
		CHECK(strstr(d, "kc.yaml:34: user exec uses an exec credential plugin (aws-iam-authenticator): not supported"));
		free(d);
	}
	err_free(e);
	e = kubeconfig_parse(CONFIG, strlen(CONFIG), "kc.yaml", NULL, "nope", &kc);
	CHECK(e && e->code == EXIT_USAGE && strstr(e->msg, "no context named \"nope\""));
	err_free(e);
	e = kubeconfig_parse(CONFIG, strlen(CONFIG), "kc.yaml", NULL, "nouser", &kc);
	CHECK(e && says(e, "no user named \"ghost\""));
	err_free(e);
	const char *bad = "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n"
			  "  cluster:\n    server: ftp://h\n";
	e = kubeconfig_parse(bad, strlen(bad), "b.yaml", NULL, NULL, &kc);
	CHECK(e && says(e, "b.yaml:8: cluster c: server: 'ftp://h' is not a URL of the form http(s)://HOST[:PORT]"));
	err_free(e);
	const char *baddata = "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n"
			      "  cluster:\n    server: https://h\n    certificate-authority-data: '!!notbase64'\n";
	e = kubeconfig_parse(baddata, strlen(baddata), "d.yaml", NULL, NULL, &kc);
	CHECK(e && e->code == EXIT_USAGE && says(e, "d.yaml:9"));
	err_free(e);
	const char *nocur = "clusters: []\n";
	e = kubeconfig_parse(nocur, strlen(nocur), "n.yaml", NULL, NULL, &kc);
	CHECK(e && strstr(e->msg, "no current-context"));
	err_free(e);
	e = kubeconfig_parse("a: [", 4, "y.yaml", NULL, NULL, &kc);
	CHECK(e && e->code == EXIT_USAGE && strstr(e->msg, "y.yaml:"));
	err_free(e);
}

static char *tmpdir_new(void)
{
	char *d = xstrdup("/tmp/test_kubeconfig.XXXXXX");
	return mkdtemp(d) ? d : NULL;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	err_t *e = fs_write_atomic(dir, name, text, strlen(text), 0600);
	CHECK(!e);
	err_free(e);
}

static void test_merged_files_and_token_file(void)
{
	char *d = tmpdir_new();
	REQUIRE(d);
	write_file(d, "a", "current-context: ctx\ncontexts:\n- name: ctx\n  context: {cluster: c, user: u}\n");
	write_file(d, "b",
		   "current-context: other\nclusters:\n- name: c\n  cluster: {server: 'https://b:1'}\n"
		   "users:\n- name: u\n  user: {tokenFile: tok}\n");
	write_file(d, "tok", "file-token-123\n");
	char *env = xasprintf("%s/missing:%s/a:%s/b", d, d, d);
	setenv("KUBECONFIG", env, 1);
	struct kubeconfig *kc = NULL;
	err_t *e = kubeconfig_load(NULL, NULL, &kc);
	CHECK(!e && kc);
	if (kc) {
		CHECK_STR(kc->context, "ctx");
		CHECK_STR(kc->server, "https://b:1");
		CHECK_STR(kc->token, "file-token-123");
	}
	kubeconfig_free(kc);
	err_free(e);
	unsetenv("KUBECONFIG");
	free(env);
	fs_remove_tree(d);
	free(d);
}

static void test_in_cluster(void)
{
	char *d = tmpdir_new();
	REQUIRE(d);
	write_file(d, "token", "sa-token-xyz\n");
	write_file(d, "ca.crt", "CA");
	write_file(d, "namespace", "builds\n");
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	struct kubeconfig *kc = NULL;
	err_t *e = kubeconfig_in_cluster(d, &kc);
	CHECK(!e && kc);
	if (kc) {
		CHECK_STR(kc->server, "https://10.96.0.1:443");
		CHECK_STR(kc->token, "sa-token-xyz");
		CHECK_STR(kc->namespace, "builds");
		char *ca = xasprintf("%s/ca.crt", d);
		CHECK_STR(kc->ca_file, ca);
		free(ca);
	}
	kubeconfig_free(kc);
	err_free(e);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	kc = NULL;
	e = kubeconfig_in_cluster(d, &kc);
	CHECK(!e && kc && !strcmp(kc->server, "https://[fd00::1]:443"));
	kubeconfig_free(kc);
	err_free(e);
	unsetenv("KUBERNETES_SERVICE_HOST");
	e = kubeconfig_in_cluster(d, &kc);
	CHECK(e && strstr(e->msg, "KUBERNETES_SERVICE_HOST"));
	err_free(e);
	unsetenv("KUBERNETES_SERVICE_PORT");
	fs_remove_tree(d);
	free(d);
}

TEST_MAIN("kubeconfig", TEST(test_current_context_token_and_ca_data), TEST(test_named_context_cert_and_relative_paths),
	  TEST(test_errors), TEST(test_merged_files_and_token_file), TEST(test_in_cluster))
