/* The records publish-doi writes, each an in-toto Statement v1 whose one
 * subject is the image digest, with the predicate for its kind:
 *
 *  build       SLSA provenance v1 (https://slsa.dev/provenance/v1):
 *              buildDefinition {buildType, externalParameters {buildNumber,
 *              repository, branch, jobUrl, appName}, resolvedDependencies:
 *              the git commit ("git+<repo>@refs/heads/<branch>",
 *              digest.gitCommit) and each base image ("oci://<name>",
 *              digest.sha256)}, runDetails {builder.id, metadata
 *              {invocationId, finishedOn}}
 *  test        in-toto test-result v0.1
 *              (https://in-toto.io/attestation/test-result/v0.1) for the
 *              file types unittest, fvt, code (JUnit XML), lint, cis (the
 *              JSON report of docker-lint / cis-check: one finding a test;
 *              errors fail, warnings warn); configuration[0] is the report
 *              file (name, sha256) with annotations testType, the counts
 *              (tests, failures, errors, skipped; or error, warning, info,
 *              style) and finishedOn
 *  test of filetype vulnerabilityadvisor: cosign's vulnerability predicate
 *              (https://cosign.sigstore.dev/attestation/vuln/v1), from
 *              va-scan's JSON report (findings; suppressed ones not
 *              counted) or its CycloneDX one (vulnerabilities[].ratings),
 *              a Trivy, Grype or {"vulnerabilities":[{id,severity,package}]}
 *              JSON report; scanner.result.summary counts each severity
 *  test of filetype bom: the CycloneDX JSON document itself
 *              (https://cyclonedx.org/bom)
 *  deploy      ours, https://secure-pipeline.dev/attestation/deploy/v1:
 *              {environment, cluster, namespace, status, appName, jobUrl,
 *               deployedOn}
 *  deployable  ours, https://secure-pipeline.dev/attestation/deployable/v1:
 *              "this digest runs there": the same fields as deploy
 * Every predicate of ours carries its time (finishedOn / deployedOn /
 * scanFinishedOn, RFC 3339 UTC): the gate reads the latest record of a
 * kind. */
#ifndef PUBLISH_DOI_RECORD_H
#define PUBLISH_DOI_RECORD_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

#define PT_SLSA_V1 "https://slsa.dev/provenance/v1"
#define PT_TEST_RESULT "https://in-toto.io/attestation/test-result/v0.1"
#define PT_VULN "https://cosign.sigstore.dev/attestation/vuln/v1"
#define PT_CYCLONEDX "https://cyclonedx.org/bom"
#define PT_DEPLOY "https://secure-pipeline.dev/attestation/deploy/v1"
#define PT_DEPLOYABLE "https://secure-pipeline.dev/attestation/deployable/v1"

/* a report read for a record: at most this many bytes */
#define RECORD_REPORT_MAX (16 * 1024 * 1024)

struct record_input {
	const char *kind;   /* build, test, deploy, deployable */
	const char *name;   /* image name (registry/repository), the subject's name */
	const char *digest; /* sha256:<hex> */
	const char *build_number, *git_repo, *git_branch, *git_commit, *job_url, *app_name;
	const char *builder_id, *build_type;
	const char *const *base_images; /* name@sha256:... */
	size_t n_base_images;
	const char *file, *filetype; /* test records */
	const char *environment, *cluster, *namespace, *status; /* deploy records */
	const char *time; /* RFC 3339 UTC */
};

/* The statement for in (files read and parsed: a malformed report is
 * EXIT_USAGE naming it). */
err_t *record_statement(const struct record_input *in, json_t **out);

/* The predicate body of a test record made from a report's text, for
 * filetype (the parsers of untrusted reports, fuzzed). */
err_t *record_test_predicate(const char *filetype, const char *text, size_t len, const char *file,
			     const char *job_url, const char *time, const char **predicate_type, json_t **out);

/* What a verified statement is, for listings and the gate: kind ("build",
 * "test", "vulnerabilities", "bom", "deploy", "deployable" or "other"),
 * detail (test type, environment, branch...; "" when none) and time ("" when
 * none); pointers into the statement. */
struct record_view {
	const char *kind, *detail, *time;
};
void record_view(const json_t *statement, struct record_view *v);

#endif
