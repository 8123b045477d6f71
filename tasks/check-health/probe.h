/* check-health's HTTP probe: what a healthy answer looks like (status
 * list or ranges, body substring, body regex, a jq query's value), one
 * attempt judged against it, and the attempts with backoff until healthy
 * or out of time. */
#ifndef CHECK_HEALTH_PROBE_H
#define CHECK_HEALTH_PROBE_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "http.h"
#include "jq_program.h"

struct status_range {
	long lo, hi;
};

struct probe_expect {
	struct status_range *statuses;
	size_t nstatuses;
	const char *body_contains; /* NULL: no check */
	bool has_regex;
	regex_t regex;
	struct jq_program *jq; /* NULL: no check */
	const char *jq_expr;
	const char *json_expect; /* NULL: the query must yield something neither null nor false */
};

/* "200", "200,204", "200-299", "200-299,304": EXIT_USAGE when malformed. */
err_t *probe_parse_statuses(const char *spec, struct probe_expect *x);
/* POSIX extended regex; EXIT_USAGE when it does not compile. */
err_t *probe_set_regex(struct probe_expect *x, const char *re);
err_t *probe_set_jq(struct probe_expect *x, const char *expr, const char *expect);
void probe_expect_release(struct probe_expect *x);

/* Whether an answer is healthy; *why (caller frees) says what failed. */
bool probe_judge(const struct probe_expect *x, long status, const char *body, size_t len, char **why);

struct probe_run {
	const char *url;
	const char *const *headers; /* NULL-terminated */
	int64_t deadline_ms;        /* clock_monotonic_ms() deadline */
	int64_t request_timeout_ms; /* per attempt */
	int64_t backoff_ms, backoff_max_ms;
	long max_attempts;          /* 0: until the deadline */
};

struct probe_outcome {
	long status;          /* last answer's status (0: none) */
	int64_t response_us;  /* the healthy attempt's time */
	int attempts;
};

/* Attempt until healthy (NULL), or: EXIT_FAILED "unhealthy" with the
 * last status, what failed and a body excerpt, when the server answered;
 * EXIT_UNREACHABLE when it never did; TLS verification or client
 * certificate problems at once, as common/http classifies them. */
err_t *probe_until_healthy(struct http_client *c, const struct probe_run *run, const struct probe_expect *x,
			   struct probe_outcome *out);

#endif
