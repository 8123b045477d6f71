/* image-copy: copy an image between registries, OCI layout directories and
 * oci-archive files, verified blob by blob, and publish where it landed,
 * pinned by digest. */
#include <string.h>

#include "cleanup.h"
#include "copy.h"
#include "endpoint.h"
#include "log.h"
#include "registry.h"
#include "task.h"
#include "xalloc.h"

static const struct param_spec params[] = {
	{ "src", PARAM_STRING, NULL, true, false,
	  "image to copy: docker://registry/repo[:tag|@digest], oci:<dir>[:<tag>], oci-archive:<file>[:<tag>]" },
	{ "dest", PARAM_STRING, NULL, true, false, "where to copy it (same forms as src)" },
	{ "src-creds", PARAM_STRING, NULL, false, true, "user:password for the source registry" },
	{ "dest-creds", PARAM_STRING, NULL, false, true, "user:password for the destination registry" },
	{ "authfile", PARAM_STRING, NULL, false, false,
	  "Docker config.json / containers auth.json with registry credentials" },
	{ "insecure", PARAM_BOOL, "false", false, false,
	  "skip TLS verification and allow plain http for the registries" },
	{ "ca-file", PARAM_STRING, NULL, false, false, "PEM bundle of CAs to trust for the registries, or a directory of *.crt files (as buildah's --cert-dir)" },
	{ "client-cert", PARAM_STRING, NULL, false, false, "PEM client certificate for registries that want mutual TLS" },
	{ "client-key", PARAM_STRING, NULL, false, false, "PEM private key of client-cert" },
	{ "retries", PARAM_INT, "3", false, false, "retries on connection errors, 429 and 5xx (with backoff)" },
	{ "platform", PARAM_STRING, NULL, false, false, "os/arch[/variant] to take from an index (default: this host)" },
	{ "all", PARAM_BOOL, "false", false, false, "copy a whole index with the images of every platform" },
	{ "keep-format", PARAM_BOOL, "false", false, false,
	  "copy Docker manifests into an OCI layout unchanged (default: OCI media types, as skopeo)" },
	{ "upload-chunk-size", PARAM_INT, "0", false, false,
	  "MiB per upload request for big blobs (for proxies that cap request bodies); 0: one request up to 64 MiB, 16 MiB chunks above" },
	{ NULL },
};

static const struct result_spec results[] = {
	{ "image-ref", "the destination image, pinned: name@sha256:..." },
	{ "IMAGE_URL", "the destination as name[:tag], without digest (Tekton Chains joins IMAGE_DIGEST)" },
	{ "IMAGE_DIGEST", "digest of the copied manifest (or index)" },
	{ "ARTIFACT_OUTPUTS", "the copy for Tekton Chains v2: {\"uri\": IMAGE_URL, \"digest\": IMAGE_DIGEST}" },
	{ NULL },
};

static const struct task_spec spec = {
	"image-copy",
	"Copy an image between registries, OCI layouts and oci-archives, verifying every blob.",
	params,
	results,
};

static void registry_opts(const struct params *p, const char *creds_param, struct registry_options *ro)
{
	memset(ro, 0, sizeof *ro);
	ro->creds = params_str(p, creds_param);
	ro->authfile = params_str(p, "authfile");
	ro->insecure = params_bool(p, "insecure");
	ro->http.retries = (int)params_int(p, "retries");
	ro->http.ca_file = params_str(p, "ca-file");
	ro->http.client_cert = params_str(p, "client-cert");
	ro->http.client_key = params_str(p, "client-key");
	ro->chunk_size = (size_t)params_int(p, "upload-chunk-size") << 20;
}

static err_t *run(const struct params *p, struct results *r)
{
	struct registry_options src_o, dst_o;
	registry_opts(p, "src-creds", &src_o);
	registry_opts(p, "dest-creds", &dst_o);
	struct endpoint *src = NULL, *dst = NULL;
	TRY(endpoint_open(params_str(p, "src"), false, &src_o, &src));
	err_t *e = endpoint_open(params_str(p, "dest"), true, &dst_o, &dst);
	char digest[DIGEST_SIZE];
	struct copy_options co = { .platform = params_str(p, "platform"),
				   .all = params_bool(p, "all"),
				   .keep_format = params_bool(p, "keep-format") };
	if (!e)
		e = copy_image(src, dst, &co, digest);
	if (!e) {
		_cleanup_free_ char *pinned = endpoint_pinned(dst, digest);
		log_info("copied %s to %s", endpoint_name(src), pinned);
		_cleanup_free_ char *url = endpoint_url(dst);
		results_sets(r, "image-ref", pinned);
		results_sets(r, "IMAGE_URL", url);
		results_sets(r, "IMAGE_DIGEST", digest);
		results_set_artifact(r, url, digest);
	}
	endpoint_close(dst);
	endpoint_close(src);
	return e;
}

int main(int argc, char **argv)
{
	return task_main(&spec, argc, argv, run);
}
