/* va-scan: match what is installed (a CycloneDX BOM, a source tree, an
 * image or an OCI layout, inventoried by common/inventory as bom does)
 * against OSV advisories, offline, with each ecosystem's exact version
 * ordering; report as a table, JSON, SARIF or CycloneDX, and fail (exit 3)
 * when findings reach the fail-on severity and are not ignored or
 * declared not_affected by VEX. `va-scan update-db` fetches advisories over
 * HTTPS and swaps a new index in (update.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "fsutil.h"
#include "inventory.h"
#include "log.h"
#include "match.h"
#include "policy.h"
#include "report.h"
#include "scan.h"
#include "task.h"
#include "update.h"
#include "xalloc.h"

static const struct param_spec params[] = {
	{ "db", PARAM_STRING, NULL, true, false,
	  "advisories: a compiled index, an OSV JSON file, an <Ecosystem>/all.zip, or a directory of them" },
	{ "index-file", PARAM_STRING, NULL, false, false,
	  "write the index compiled from --db here (alone: only compile it, no scan)" },
	{ "bom", PARAM_STRING, NULL, false, false, "scan this CycloneDX JSON BOM" },
	{ "source", PARAM_STRING, NULL, false, false, "scan a source tree or unpacked root filesystem" },
	{ "image", PARAM_STRING, NULL, false, false, "scan an image in a registry (name[:tag][@digest])" },
	{ "oci-layout", PARAM_STRING, NULL, false, false,
	  "scan an image in an OCI layout (DIR, oci:DIR[:tag], oci-archive:FILE[:tag])" },
	{ "platform", PARAM_STRING, NULL, false, false, "os/arch[/variant] to take from an index (default: this host)" },
	{ "registry-creds", PARAM_STRING, NULL, false, true, "user:password for the registry (default: auth file)" },
	{ "authfile", PARAM_STRING, NULL, false, false, "registry auth file (default: the Docker/Podman locations)" },
	{ "insecure", PARAM_BOOL, "false", false, false, "registry without TLS verification (or plain http)" },
	{ "ca-file", PARAM_STRING, NULL, false, false, "PEM bundle of CAs to trust for the registry" },
	{ "retries", PARAM_INT, "3", false, false, "retries on connection errors, 429 and 5xx (with backoff)" },
	{ "fail-on", PARAM_STRING, "high", false, false,
	  "fail (exit 3) on findings at or above: critical, high, medium, low, any (also findings without a "
	  "rating, which rank below low), none" },
	{ "fail-on-scanned-issues", PARAM_BOOL, "true", false, false,
	  "fail the task when findings reach fail-on (false: report only)" },
	{ "ignore-file", PARAM_STRING, NULL, false, false,
	  "YAML list of ignored advisories (id, package, reason, expires)" },
	{ "vex", PARAM_LIST, NULL, false, false, "OpenVEX document whose not_affected statements apply (repeatable)" },
	{ "report-file", PARAM_STRING, NULL, false, false, "write the report here" },
	{ "report-format", PARAM_STRING, "json", false, false, "report-file format: json, sarif, cyclonedx" },
	{ NULL },
};

static const struct result_spec results[] = {
	{ "scan-status", "pass, or fail when findings reached fail-on" },
	{ "scan-report-file", "the report file written (empty without --report-file)" },
	{ "findings", "number of findings (suppressed ones included)" },
	{ "critical-count", "findings rated critical (not suppressed)" },
	{ "high-count", "findings rated high (not suppressed)" },
	{ "medium-count", "findings rated medium (not suppressed)" },
	{ "low-count", "findings rated low (not suppressed)" },
	{ "unknown-count", "findings without a rating, or undecided (not suppressed)" },
	{ NULL },
};

static const struct task_spec spec = {
	"va-scan",
	"Scan an inventory (BOM, source tree, image) for known vulnerabilities in OSV advisories, offline.",
	params,
	results,
};

/* set and not empty (Tekton passes unset string params as "") */
static const char *opt(const struct params *p, const char *name)
{
	const char *v = params_str(p, name);
	return v && *v ? v : NULL;
}

static err_t *load_inventory(const struct params *p, struct inventory *inv)
{
	const char *bom = opt(p, "bom");
	struct inventory_source src = {
		.source_dir = opt(p, "source"),
		.image = opt(p, "image"),
		.oci_layout = opt(p, "oci-layout"),
		.platform = opt(p, "platform"),
		.registry = { .creds = params_str(p, "registry-creds"),
			      .authfile = opt(p, "authfile"),
			      .insecure = params_bool(p, "insecure"),
			      .http = { .retries = (int)params_int(p, "retries"), .ca_file = opt(p, "ca-file") } },
	};
	if (bom)
		return va_inventory_from_bom(bom, inv);
	return inventory_build(&src, inv);
}

static err_t *load_policy(const struct params *p, struct va_policy *pol)
{
	const char *ignore = opt(p, "ignore-file");
	struct strbuf sb = STRBUF_INIT;
	err_t *e = NULL;
	if (ignore && !(e = fs_read_file(ignore, 1 << 20, &sb)))
		e = va_policy_load_ignore(pol, sb_str(&sb), sb.len, ignore);
	const char *const *vex;
	size_t n = params_list(p, "vex", &vex);
	for (size_t i = 0; !e && i < n; i++) {
		sb_reset(&sb);
		if (!(e = fs_read_file(vex[i], 16 << 20, &sb)))
			e = va_policy_load_vex(pol, sb_str(&sb), sb.len, vex[i]);
	}
	sb_release(&sb);
	return e;
}

static void set_counts(const struct va_findings *fs, struct results *r)
{
	static const char *const names[] = { [VA_CRITICAL] = "critical-count", [VA_HIGH] = "high-count",
					     [VA_MEDIUM] = "medium-count", [VA_LOW] = "low-count",
					     [VA_UNKNOWN] = "unknown-count" };
	size_t count[VA_CRITICAL + 1] = { 0 };
	for (size_t i = 0; i < fs->n; i++)
		if (!fs->f[i].suppressed)
			count[fs->f[i].error ? VA_UNKNOWN : va_severity_of(fs->f[i].severity)]++;
	for (int s = VA_UNKNOWN; s <= VA_CRITICAL; s++) {
		char v[32];
		snprintf(v, sizeof v, "%zu", count[s]);
		results_sets(r, names[s], v);
	}
	char v[32];
	snprintf(v, sizeof v, "%zu", fs->n);
	results_sets(r, "findings", v);
}

static err_t *write_report(const struct params *p, enum va_report_format fmt, const struct va_report *rep)
{
	const char *path = opt(p, "report-file");
	va_report_table(rep, stdout);
	fflush(stdout);
	if (!path)
		return NULL;
	json_t *doc = fmt == VA_REPORT_SARIF ? va_report_sarif(rep)
		      : fmt == VA_REPORT_CYCLONEDX ? va_report_cyclonedx(rep)
						   : va_report_json(rep);
	err_t *e = va_write_json(path, doc);
	json_decref(doc);
	return e;
}

static err_t *run(const struct params *p, struct results *r)
{
	enum va_severity threshold;
	enum va_report_format fmt;
	TRY(va_threshold_param(params_str(p, "fail-on"), &threshold));
	TRY(va_report_format_param(params_str(p, "report-format"), &fmt));
	int inputs = !!opt(p, "bom") + !!opt(p, "source") + !!opt(p, "image") + !!opt(p, "oci-layout");
	const char *index_file = opt(p, "index-file");
	if (inputs > 1 || (!inputs && !index_file))
		return err_new(EXIT_USAGE, "give one of --bom, --source, --image, --oci-layout (or only --index-file)");

	struct va_db db;
	TRY(va_db_load(params_str(p, "db"), index_file, &db));
	if (!inputs) {
		va_db_release(&db);
		return NULL;
	}
	struct va_policy *pol = va_policy_new(time(NULL));
	struct inventory inv;
	inventory_init(&inv);
	struct va_findings fs = { 0 };
	err_t *e = load_policy(p, pol);
	if (!e)
		e = load_inventory(p, &inv);
	if (!e)
		e = match_inventory(db.db, &inv, &fs);
	size_t failing = 0;
	if (!e) {
		va_policy_apply(pol, &fs);
		failing = params_bool(p, "fail-on-scanned-issues") ? va_policy_failing(&fs, threshold) : 0;
		struct va_report rep = { &inv, &fs, params_str(p, "db"), vulndb_records(db.db),
					 failing ? "fail" : "pass", params_str(p, "fail-on") };
		e = write_report(p, fmt, &rep);
	}
	if (!e) {
		results_sets(r, "scan-status", failing ? "fail" : "pass");
		results_sets(r, "scan-report-file", opt(p, "report-file") ?: "");
		set_counts(&fs, r);
		results_mark_verdict(r);
		if (failing)
			e = err_new(EXIT_POLICY, "%zu finding%s at or above fail-on '%s' (or undecided)", failing,
				    failing == 1 ? "" : "s", params_str(p, "fail-on"));
		else
			log_info("%zu finding%s, none failing at '%s'", fs.n, fs.n == 1 ? "" : "s",
				 params_str(p, "fail-on"));
	}
	va_findings_release(&fs);
	inventory_free(&inv);
	va_policy_free(pol);
	va_db_release(&db);
	return e;
}

/* ---- va-scan update-db ---------------------------------------------------- */

static const struct param_spec update_params[] = {
	{ "url", PARAM_LIST, NULL, true, false,
	  "an advisory zip (an OSV <Ecosystem>/all.zip) or OSV JSON file to fetch (repeatable)" },
	{ "digest", PARAM_LIST, NULL, false, false, "sha256:<hex> each --url must have, in the same order" },
	{ "db", PARAM_STRING, NULL, true, false, "the index file to replace (atomically; kept as it was on failure)" },
	{ "ca-file", PARAM_STRING, NULL, false, false, "PEM bundle of CAs to trust for the server" },
	{ "retries", PARAM_INT, "3", false, false, "retries on connection errors, 429 and 5xx (with backoff)" },
	{ NULL },
};

static const struct result_spec update_results[] = {
	{ "advisories", "advisories in the new index" },
	{ NULL },
};

static const struct task_spec update_spec = {
	"va-scan update-db",
	"Fetch OSV advisories over HTTPS and replace the va-scan index with one compiled from them.",
	update_params,
	update_results,
};

static err_t *run_update(const struct params *p, struct results *r)
{
	struct va_update u = { .index_path = params_str(p, "db"),
			       .http = { .retries = (int)params_int(p, "retries"), .ca_file = opt(p, "ca-file") } };
	u.n = params_list(p, "url", &u.urls);
	u.ndigests = params_list(p, "digest", &u.digests);
	size_t records = 0;
	TRY(va_update_db(&u, &records));
	char v[32];
	snprintf(v, sizeof v, "%zu", records);
	results_sets(r, "advisories", v);
	log_info("%s: %zu advisories", u.index_path, records);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "update-db"))
		return task_main(&update_spec, argc - 1, argv + 1, run_update);
	return task_main(&spec, argc, argv, run);
}
