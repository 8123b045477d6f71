/* bom: the software bill of materials of an image or a source tree. The
 * inventory (common/inventory: dpkg, apk, npm, Python, os-release and the
 * libraries our static binaries embed) is built from a registry image or
 * an OCI layout, layers streamed and never unpacked, or from a directory;
 * it is written as CycloneDX 1.5 or SPDX 2.3 JSON. va-scan builds the same
 * inventory from the same inputs, so the BOM and the scan agree. */
#include <libgen.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "inventory.h"
#include "log.h"
#include "task.h"
#include "xalloc.h"

static const struct param_spec params[] = {
	{ "source", PARAM_STRING, NULL, false, false,
	  "a directory: a source tree (lockfiles, dist-info) or a root filesystem" },
	{ "image", PARAM_STRING, NULL, false, false, "an image in a registry: registry/repo[:tag|@digest]" },
	{ "oci-layout", PARAM_STRING, NULL, false, false,
	  "an OCI layout directory or oci-archive file: oci:<dir>[:tag], oci-archive:<file>[:tag], or a path" },
	{ "output", PARAM_STRING, "bom.json", false, false, "where to write the BOM (- for stdout)" },
	{ "format", PARAM_STRING, "cyclonedx", false, false, "cyclonedx (CycloneDX 1.5 JSON) or spdx (SPDX 2.3 JSON)" },
	{ "registry-creds", PARAM_STRING, NULL, false, true, "user:password for the registry (default: authfile)" },
	{ "authfile", PARAM_STRING, NULL, false, false,
	  "Docker config.json / containers auth.json with registry credentials" },
	{ "insecure", PARAM_BOOL, "false", false, false, "skip TLS verification and allow plain http for the registry" },
	{ "ca-file", PARAM_STRING, NULL, false, false, "PEM bundle of CAs to trust for the registry" },
	{ "client-cert", PARAM_STRING, NULL, false, false, "PEM client certificate for registries that want mutual TLS" },
	{ "client-key", PARAM_STRING, NULL, false, false, "PEM private key of client-cert" },
	{ "retries", PARAM_INT, "3", false, false, "retries on connection errors, 429 and 5xx (with backoff)" },
	{ "platform", PARAM_STRING, NULL, false, false, "os/arch[/variant] to take from an index (default: this host)" },
	{ NULL },
};

static const struct result_spec results[] = {
	{ "bom-file", "path of the BOM written" },
	{ "component-count", "number of components (packages) in the BOM" },
	{ NULL },
};

static const struct task_spec spec = {
	"bom",
	"Write the CycloneDX or SPDX bill of materials of an image or a source tree, offline.",
	params,
	results,
};

static err_t *write_output(const char *output, const json_t *doc)
{
	_cleanup_free_ char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text)
		return err_new(EXIT_FAILED, "cannot serialise the BOM");
	size_t len = strlen(text);
	text[len] = '\n';
	if (!strcmp(output, "-"))
		return fs_write_all(STDOUT_FILENO, text, len + 1, "stdout");
	_cleanup_free_ char *d = xstrdup(output), *b = xstrdup(output);
	return fs_write_atomic(dirname(d), basename(b), text, len + 1, 0644);
}

static err_t *run(const struct params *p, struct results *r)
{
	const char *format = params_str(p, "format");
	if (strcmp(format, "cyclonedx") && strcmp(format, "spdx"))
		return err_new(EXIT_USAGE, "--format \"%s\": use cyclonedx or spdx", format);
	struct inventory_source src = {
		.source_dir = params_str(p, "source"),
		.image = params_str(p, "image"),
		.oci_layout = params_str(p, "oci-layout"),
		.platform = params_str(p, "platform"),
		.registry = { .creds = params_str(p, "registry-creds"),
			      .authfile = params_str(p, "authfile"),
			      .insecure = params_bool(p, "insecure"),
			      .http = { .retries = (int)params_int(p, "retries"),
					.ca_file = params_str(p, "ca-file"),
					.client_cert = params_str(p, "client-cert"),
					.client_key = params_str(p, "client-key") } },
	};
	struct inventory inv;
	inventory_init(&inv);
	err_t *e = inventory_build(&src, &inv);
	json_t *doc = NULL;
	if (!e) {
		doc = !strcmp(format, "spdx") ? inventory_to_spdx(&inv, NULL) : inventory_to_cyclonedx(&inv, NULL);
		e = write_output(params_str(p, "output"), doc);
	}
	if (!e) {
		_cleanup_free_ char *count = xasprintf("%zu", inv.n);
		results_sets(r, "bom-file", params_str(p, "output"));
		results_sets(r, "component-count", count);
		log_info("%s: %zu components%s, %s written to %s", inv.subject, inv.n,
			 inv.warnings ? " (malformed records skipped: see the warnings)" : "", format,
			 params_str(p, "output"));
	}
	json_decref(doc);
	inventory_free(&inv);
	return e;
}

int main(int argc, char **argv)
{
	return task_main(&spec, argc, argv, run);
}
