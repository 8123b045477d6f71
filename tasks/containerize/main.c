/* containerize: build a Dockerfile into an image inside an unprivileged
 * pipeline step (no daemon, no privileges), then push it and/or write it
 * as an OCI layout. Results name the image by digest. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder.h"
#include "cache.h"
#include "cleanup.h"
#include "fsutil.h"
#include "imageref.h"
#include "kanikoargs.h"
#include "log.h"
#include "output.h"
#include "runner.h"
#include "statedir.h"
#include "strbuf.h"
#include "task.h"
#include "userns.h"
#include "workdir.h"
#include "xalloc.h"

static const struct param_spec params[] = {
	{ "image", PARAM_STRING, NULL, false, false, "repository to push to, e.g. registry:5000/team/app (a :tag there is the main tag)" },
	{ "context", PARAM_STRING, ".", false, false, "build context directory" },
	{ "dockerfile", PARAM_STRING, NULL, false, false, "Dockerfile path (default: <context>/Dockerfile)" },
	{ "target", PARAM_STRING, NULL, false, false, "stage to build (default: the last)" },
	{ "build-args", PARAM_LIST, NULL, false, false, "NAME=value build argument (repeatable; NAME alone: from the environment)" },
	{ "tag", PARAM_STRING, NULL, false, false, "main tag (default: <build-number>-<git-branch>-<commit8>-<timestamp>, or latest)" },
	{ "additional-tags", PARAM_LIST, NULL, false, false, "more tags for the same image (repeatable)" },
	{ "build-number", PARAM_STRING, NULL, false, false, "pipeline build number, for the default tag" },
	{ "git-branch", PARAM_STRING, NULL, false, false, "git branch, for the default tag" },
	{ "git-commit", PARAM_STRING, NULL, false, false, "git commit id, for the default tag (first 8 characters)" },
	{ "timestamp", PARAM_STRING, NULL, false, false, "timestamp for the default tag (default: now, or SOURCE_DATE_EPOCH, as YYYYMMDDhhmmss)" },
	{ "platform", PARAM_STRING, NULL, false, false, "os/arch[/variant] of the image (default: this machine)" },
	{ "compression", PARAM_STRING, "gzip", false, false, "layer compression: gzip, zstd or none" },
	{ "compression-level", PARAM_INT, "0", false, false, "compression level (0: default)" },
	{ "threads", PARAM_INT, "0", false, false, "compression threads (0: one per core)" },
	{ "cache-dir", PARAM_STRING, NULL, false, false, "local layer cache directory (kept between builds)" },
	{ "cache-repo", PARAM_STRING, NULL, false, false, "registry repository holding the layer cache" },
	{ "push", PARAM_BOOL, "true", false, false, "push to image (false: only oci-layout)" },
	{ "oci-layout", PARAM_STRING, NULL, false, false, "also write the image to this OCI layout (dir, oci:dir or oci-archive:file)" },
	{ "insecure-registry", PARAM_BOOL, "false", false, false, "skip TLS verification / allow plain http for the registries" },
	{ "registry-creds", PARAM_STRING, NULL, false, true, "user:password for the registries (default: auth file)" },
	{ "authfile", PARAM_STRING, NULL, false, false, "Docker config.json / containers auth.json with credentials" },
	{ "ca-file", PARAM_STRING, NULL, false, false, "PEM bundle of CAs to trust for the registries, or a directory of *.crt files (as buildah's --cert-dir)" },
	{ "retries", PARAM_INT, "3", false, false, "retries of failed registry requests" },
	{ "format", PARAM_STRING, "oci", false, false, "manifest format: oci (buildah's --format=docker is refused: Docker v2 schema 2 manifests are not written)" },
	{ "labels", PARAM_LIST, NULL, false, false, "key=value label added to the image (repeatable)" },
	{ "kaniko-args", PARAM_LIST, NULL, false, false, "kaniko executor flags (a kaniko drop-in's EXTRA_ARGS): --build-arg, --label, --target, "
	  "--cache-repo, --registry-certificate=REG=CA (one; trusted for every registry), --skip-tls-verify, --insecure, "
	  "--no-push; --cache, --reproducible accepted; any other flag is refused" },
	{ "isolation", PARAM_STRING, "namespace", false, false, "RUN isolation: namespace (user, mount, pid, uts, ipc, network namespaces; as root too) or chroot (no namespaces: RUN "
	  "sees host processes and can signal those of its uid, shares the host network, IPC and hostname; as root: "
	  "host root with fewer capabilities, no_new_privs, seccomp; trusted Dockerfiles only)" },
	{ "network", PARAM_STRING, "default", false, false, "RUN's network (as docker build --network): default (each step in a "
	  "network namespace of its own with slirp4netns: outbound access, not the host's 127.0.0.1), none (loopback only), "
	  "host (the host's network; also allows RUN --network=host), or slirp4netns:allow_host_loopback=true (10.0.2.2 "
	  "reaches the host's 127.0.0.1). default needs slirp4netns and /dev/net/tun (a pod without it: host, i.e. the pod's "
	  "network). isolation=chroot always shares the host's" },
	{ "work-dir", PARAM_STRING, NULL, false, false, "scratch directory for stage roots (default: a temp dir)" },
	{ "source-date-epoch", PARAM_STRING, NULL, false, false, "timestamp (seconds) for reproducible output: file times and config dates", "SOURCE_DATE_EPOCH" },
	{ NULL },
};

static const struct result_spec results[] = {
	{ "image-repository", "registry/repository the image was pushed to" },
	{ "image-tags", "tags written, comma-separated" },
	{ "image-digest", "manifest digest (sha256:...)" },
	{ "image-ref", "the image by digest: registry/repository@sha256:..." },
	{ "IMAGE_URL", "registry/repository:tag, the first tag, without digest (Tekton Chains joins IMAGE_DIGEST)" },
	{ "IMAGE_DIGEST", "manifest digest (Tekton Chains)" },
	{ "ARTIFACT_OUTPUTS", "the pushed image for Tekton Chains v2: {\"uri\": repository, \"digest\": sha256:...}" },
	{ NULL },
};

static const struct task_spec spec = {
	"containerize",
	"Build a Dockerfile into an image without a daemon or privileges, push it, and publish its digest.",
	params,
	results,
};

static char *sanitize_tag(const char *s)
{
	char *t = xstrdup(s);
	for (char *p = t; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '.' || *p == '-'))
			*p = '-';
	return t;
}

/* The seed's tag scheme: <build>-<branch>-<commit8>-<timestamp>. */
static char *default_tag(const struct params *p, int64_t sde)
{
	const char *build = params_str(p, "build-number");
	const char *branch = params_str(p, "git-branch");
	const char *commit = params_str(p, "git-commit");
	if (!(build && *build) && !(branch && *branch) && !(commit && *commit))
		return xstrdup("latest");
	char ts[32];
	const char *given = params_str(p, "timestamp");
	if (given && *given) {
		snprintf(ts, sizeof ts, "%s", given);
	} else {
		time_t t = sde >= 0 ? (time_t)sde : time(NULL);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(ts, sizeof ts, "%Y%m%d%H%M%S", &tm);
	}
	char c8[9] = { 0 };
	snprintf(c8, sizeof c8, "%s", commit ? commit : "");
	_cleanup_free_ char *raw = xasprintf("%s-%s-%s-%s", build && *build ? build : "0", branch && *branch ? branch : "main",
					     c8[0] ? c8 : "unknown", ts);
	char *tag = sanitize_tag(raw);
	if (strlen(tag) > 128)
		tag[128] = '\0';
	return tag;
}

static err_t *parse_compression(const char *s, enum layer_compression *out)
{
	if (!s || strcmp(s, "gzip") == 0)
		*out = LAYER_GZIP;
	else if (strcmp(s, "zstd") == 0)
		*out = LAYER_ZSTD;
	else if (strcmp(s, "none") == 0 || strcmp(s, "uncompressed") == 0)
		*out = LAYER_PLAIN;
	else
		return err_new(EXIT_USAGE, "compression %s: use gzip, zstd or none", s);
	return NULL;
}

/* Only OCI manifests are written; buildah's (and its catalog Task's)
 * FORMAT=docker asks for Docker v2 schema 2, which a drop-in must not
 * silently replace with something else. */
static err_t *check_manifest_format(const char *s)
{
	if (s && *s && strcmp(s, "oci") != 0)
		return err_new(EXIT_USAGE, "format %s: only oci manifests are written (docker v2s2 is not supported)", s);
	return NULL;
}

static err_t *parse_epoch(const char *s, int64_t *out)
{
	*out = -1;
	if (!s || !*s)
		return NULL;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*end || errno || v < 0)
		return err_new(EXIT_USAGE, "source-date-epoch %s: expected seconds since 1970", s);
	*out = v;
	return NULL;
}

struct run_state {
	struct workdir workdir;
	struct oci_layout *store;
	struct cache *cache;
	struct build_result result;
	struct image_ref ref;
	bool have_ref;
	char **tags;
	size_t ntags;
	struct run_userns userns; /* started as root: the RUN steps' */
	struct kaniko_args kaniko;
	const char **build_args, **labels; /* params' then kaniko's */
};

static void run_state_release(struct run_state *st)
{
	build_result_release(&st->result);
	kaniko_args_release(&st->kaniko);
	free(st->build_args);
	free(st->labels);
	userns_release(&st->userns);
	cache_close(st->cache);
	oci_layout_close(st->store);
	workdir_close(&st->workdir);
	if (st->have_ref)
		imageref_free(&st->ref);
	for (size_t i = 0; i < st->ntags; i++)
		free(st->tags[i]);
	free(st->tags);
}

static void add_tag(struct run_state *st, const char *t)
{
	for (size_t i = 0; i < st->ntags; i++)
		if (strcmp(st->tags[i], t) == 0)
			return;
	st->tags = xrealloc(st->tags, (st->ntags + 1) * sizeof *st->tags);
	st->tags[st->ntags++] = xstrdup(t);
}

/* the list param NAME followed by more items: a new array */
static size_t list_with(const struct params *p, const char *name, const char *const *more, size_t nmore,
			const char ***out)
{
	const char *const *items;
	size_t n = params_list(p, name, &items);
	*out = xcalloc(n + nmore + 1, sizeof **out);
	for (size_t i = 0; i < n; i++)
		(*out)[i] = items[i];
	for (size_t i = 0; i < nmore; i++)
		(*out)[n + i] = more[i];
	return n + nmore;
}

static err_t *build_and_ship(const struct params *p, struct results *res, struct run_state *st)
{
	const char *const *items;
	size_t nkaniko = params_list(p, "kaniko-args", &items);
	TRY(kaniko_args_parse(items, nkaniko, &st->kaniko));
	TRY(check_manifest_format(params_str(p, "format")));
	const struct kaniko_args *k = &st->kaniko;
	const char *image = params_str(p, "image");
	bool push = params_bool(p, "push") && !k->no_push;
	const char *layout = params_str(p, "oci-layout");
	if (push && !(image && *image))
		return err_new(EXIT_USAGE, "image is required when push is true (or set push=false and oci-layout)");
	if (!push && !(layout && *layout))
		log_warn("push is false and no oci-layout is given: the image is built, then discarded");

	struct build_options o = { 0 };
	o.context = params_str(p, "context");
	_cleanup_free_ char *dockerfile = NULL;
	const char *df = params_str(p, "dockerfile");
	dockerfile = df && *df ? xstrdup(df) : xasprintf("%s/Dockerfile", o.context);
	o.dockerfile = dockerfile;
	o.target = k->target ? k->target : params_str(p, "target");
	o.platform = params_str(p, "platform");
	if (o.platform && !*o.platform)
		o.platform = NULL;
	o.nbuild_args = list_with(p, "build-args", k->build_args, k->nbuild_args, &st->build_args);
	o.build_args = st->build_args;
	o.nlabels = list_with(p, "labels", k->labels, k->nlabels, &st->labels);
	o.labels = st->labels;
	TRY(parse_compression(params_str(p, "compression"), &o.compression));
	o.compression_level = (int)params_int(p, "compression-level");
	o.threads = (int)params_int(p, "threads");
	if (o.threads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		o.threads = n > 0 ? (int)n : 1;
	}
	TRY(parse_epoch(params_str(p, "source-date-epoch"), &o.source_date_epoch));
	TRY(runner_parse_isolation(params_str(p, "isolation"), &o.isolation));
	TRY(net_parse(params_str(p, "network"), &o.network));
	if (o.network.mode == RUN_NET_HOST)
		log_warn("network=host: RUN steps share the host's network namespace (its interfaces, its 127.0.0.1 "
			 "services, abstract unix sockets), without privileges over it");
	else if (o.network.host_loopback)
		log_warn("network=slirp4netns:allow_host_loopback=true: RUN steps reach the host's 127.0.0.1 services "
			 "at " SLIRP_GATEWAY);

	struct registry_options ro = { 0 };
	ro.creds = params_str(p, "registry-creds");
	ro.authfile = params_str(p, "authfile");
	ro.insecure = params_bool(p, "insecure-registry") || k->insecure;
	ro.http.ca_file = k->ca_file ? k->ca_file : params_str(p, "ca-file");
	ro.http.retries = (int)params_int(p, "retries");
	o.registry = &ro;

	if (image && *image) {
		TRY(imageref_parse(image, &st->ref));
		st->have_ref = true;
	}

	/* rootless: become root of our own user namespace before any work;
	 * as root: stay root, and make the user namespace of the RUN steps */
	if (o.isolation == ISOLATION_NAMESPACE && geteuid() != 0) {
		bool all;
		TRY(userns_enter(&all));
		o.only_root_mapped = !all;
	} else if (o.isolation == ISOLATION_NAMESPACE) {
		TRY(userns_for_runs(&st->userns));
		o.userns = st->userns.fd >= 0 ? &st->userns : NULL;
	} else {
		log_warn("isolation=chroot: RUN steps get no namespaces: they see the host's processes (and can "
			 "signal those of their uid), share its network (host loopback services, abstract unix "
			 "sockets), IPC and hostname; as root they run as the host's root with fewer capabilities, "
			 "no_new_privs and a seccomp filter. Build only trusted Dockerfiles this way");
	}

	/* a temp work dir is removed even when the build is killed */
	TRY(workdir_open(params_str(p, "work-dir"), &st->workdir));
	o.workdir = st->workdir.path;

	const char *cache_dir = params_str(p, "cache-dir");
	int cache_fd = statedir_open(cache_dir, "cache-dir", true);
	if (cache_fd < 0) /* none, or not safe (warned): the blobs stay in the work dir */
		cache_dir = NULL;
	else
		close(cache_fd);
	_cleanup_free_ char *store_dir = cache_dir && *cache_dir ? xstrdup(cache_dir) : xasprintf("%s/store", o.workdir);
	TRY(oci_layout_open(store_dir, OCI_LAYOUT_WRITE, &st->store));
	o.store = st->store;
	const char *cache_repo = k->cache_repo ? k->cache_repo : params_str(p, "cache-repo");
	if ((cache_dir && *cache_dir) || (cache_repo && *cache_repo))
		TRY(cache_open(cache_dir, cache_repo, &ro, st->store, &st->cache));
	o.cache = st->cache;

	TRY(builder_build(&o, &st->result));
	log_info("built %s (%zu layers, cache: %zu hits, %zu misses)", st->result.manifest_digest,
		 st->result.nlayers, st->result.cache_hits, st->result.cache_misses);

	/* tags: the one in image, or tag, or the default scheme; then more */
	const char *tag = params_str(p, "tag");
	if (tag && *tag)
		add_tag(st, tag);
	else if (st->have_ref && !st->ref.tag_implied && st->ref.tag)
		add_tag(st, st->ref.tag);
	else {
		_cleanup_free_ char *t = default_tag(p, o.source_date_epoch);
		add_tag(st, t);
	}
	size_t nextra = params_list(p, "additional-tags", &items);
	for (size_t i = 0; i < nextra; i++) {
		if (!imageref_valid_tag(items[i]))
			return err_new(EXIT_USAGE, "additional tag %s is not a valid tag", items[i]);
		add_tag(st, items[i]);
	}
	for (size_t i = 0; i < st->ntags; i++)
		if (!imageref_valid_tag(st->tags[i]))
			return err_new(EXIT_USAGE, "tag %s is not a valid tag", st->tags[i]);

	if (layout && *layout)
		TRY(output_oci_layout(st->store, layout, &st->result, (const char *const *)st->tags, st->ntags));
	if (push)
		TRY(output_push(st->store, &st->ref, &ro, &st->result, (const char *const *)st->tags, st->ntags));

	struct strbuf tags = STRBUF_INIT;
	for (size_t i = 0; i < st->ntags; i++) {
		if (i)
			sb_addc(&tags, ',');
		sb_adds(&tags, st->tags[i]);
	}
	results_sets(res, "image-tags", sb_str(&tags));
	sb_release(&tags);
	results_sets(res, "image-digest", st->result.manifest_digest);
	results_sets(res, "IMAGE_DIGEST", st->result.manifest_digest);
	if (st->have_ref) {
		_cleanup_free_ char *name = imageref_name(&st->ref);
		_cleanup_free_ char *pinned = imageref_pinned(&st->ref, st->result.manifest_digest);
		_cleanup_free_ char *url = imageref_tagged(&st->ref, st->tags[0]);
		results_sets(res, "image-repository", name);
		results_sets(res, "image-ref", pinned);
		results_sets(res, "IMAGE_URL", url);
		results_set_artifact(res, name, st->result.manifest_digest);
		printf("%s\n", pinned);
	} else {
		printf("%s\n", st->result.manifest_digest);
	}
	return NULL;
}

static err_t *run(const struct params *p, struct results *res)
{
	struct run_state st = { .userns.fd = -1, .workdir = { .lock_fd = -1 } };
	err_t *e = build_and_ship(p, res, &st);
	run_state_release(&st);
	return e;
}

int main(int argc, char **argv)
{
	/* a pipe whose reader went away is an error to report, not a signal */
	signal(SIGPIPE, SIG_IGN);
	return task_main(&spec, argc, argv, run);
}
