/* check-health's probe (see probe.h). */
#include "probe.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "clock.h"
#include "json_stream.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

#define EXCERPT 200

static bool read_status(const char **p, long *out)
{
	const char *s = *p;
	long v = 0;
	int digits = 0;
	while (isdigit((unsigned char)*s) && digits < 4)
		v = v * 10 + (*s++ - '0'), digits++;
	if (digits != 3 || v < 100 || v > 599)
		return false;
	*p = s;
	*out = v;
	return true;
}

err_t *probe_parse_statuses(const char *spec, struct probe_expect *x)
{
	const char *p = spec;
	free(x->statuses);
	x->statuses = NULL;
	x->nstatuses = 0;
	for (;;) {
		while (*p == ' ')
			p++;
		struct status_range r;
		if (!read_status(&p, &r.lo))
			goto bad;
		r.hi = r.lo;
		if (*p == '-') {
			p++;
			if (!read_status(&p, &r.hi) || r.hi < r.lo)
				goto bad;
		}
		x->statuses = xrealloc(x->statuses, (x->nstatuses + 1) * sizeof *x->statuses);
		x->statuses[x->nstatuses++] = r;
		while (*p == ' ')
			p++;
		if (!*p)
			return NULL;
		if (*p++ != ',')
			goto bad;
	}
bad:
	return err_new(EXIT_USAGE, "expect-status: \"%s\" is not a list of HTTP statuses or ranges (e.g. 200,204 or "
				   "200-299)",
		       spec);
}

err_t *probe_set_regex(struct probe_expect *x, const char *re)
{
	int rc = regcomp(&x->regex, re, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char msg[256];
		regerror(rc, &x->regex, msg, sizeof msg);
		return err_new(EXIT_USAGE, "body-regex: \"%s\": %s", re, msg);
	}
	x->has_regex = true;
	return NULL;
}

err_t *probe_set_jq(struct probe_expect *x, const char *expr, const char *expect)
{
	struct jq_program_options o = { 0 };
	TRY(err_context(jq_program_compile(expr, &o, &x->jq), "json-query"));
	x->jq_expr = expr;
	x->json_expect = expect;
	return NULL;
}

void probe_expect_release(struct probe_expect *x)
{
	free(x->statuses);
	if (x->has_regex)
		regfree(&x->regex);
	jq_program_free(x->jq);
	memset(x, 0, sizeof *x);
}

struct jq_out {
	struct strbuf text;
	size_t count;
	bool falsy; /* the last output was null or false */
};

static err_t *jq_collect(const char *text, size_t len, bool is_null, void *data)
{
	struct jq_out *o = data;
	if (o->count++)
		sb_addc(&o->text, '\n');
	sb_add(&o->text, text, len);
	o->falsy = is_null || (len == 5 && !memcmp(text, "false", 5));
	return NULL;
}

static bool status_ok(const struct probe_expect *x, long status)
{
	for (size_t i = 0; i < x->nstatuses; i++)
		if (status >= x->statuses[i].lo && status <= x->statuses[i].hi)
			return true;
	return false;
}

bool probe_judge(const struct probe_expect *x, long status, const char *body, size_t len, char **why)
{
	*why = NULL;
	if (!status_ok(x, status)) {
		*why = xasprintf("status %ld is not an expected one", status);
		return false;
	}
	if (x->body_contains && !memmem(body, len, x->body_contains, strlen(x->body_contains))) {
		*why = xasprintf("the body does not contain \"%s\"", x->body_contains);
		return false;
	}
	if (x->has_regex) {
		/* the body as a C string (a NUL inside ends what the regex sees) */
		_cleanup_free_ char *s = xstrndup(body, len);
		if (regexec(&x->regex, s, 0, NULL, 0)) {
			*why = xasprintf("the body does not match the regex");
			return false;
		}
	}
	if (x->jq) {
		struct json_stream *in = json_stream_from_buffer(body, len, "response body");
		struct jq_out o = { STRBUF_INIT, 0, false };
		err_t *e = jq_program_run(x->jq, in, true, jq_collect, &o);
		json_stream_free(in);
		bool ok = false;
		if (e) {
			_cleanup_free_ char *d = err_describe(e);
			*why = xasprintf("json-query %s: %s", x->jq_expr, d);
		} else if (x->json_expect && strcmp(sb_str(&o.text), x->json_expect)) {
			*why = xasprintf("json-query %s yielded \"%s\", not \"%s\"", x->jq_expr, sb_str(&o.text),
					 x->json_expect);
		} else if (!x->json_expect && (!o.count || o.falsy)) {
			*why = xasprintf("json-query %s yielded %s", x->jq_expr, o.count ? sb_str(&o.text) : "nothing");
		} else
			ok = true;
		err_free(e);
		sb_release(&o.text);
		if (!ok)
			return false;
	}
	return true;
}

/* The body's first bytes, printable, for the unhealthy message. */
static char *excerpt(const struct strbuf *body)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	size_t n = body->len > EXCERPT ? EXCERPT : body->len;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)body->buf[i];
		sb_addc(&sb, ch < 0x20 || ch == 0x7f ? ' ' : (char)ch);
	}
	if (body->len > n)
		sb_adds(&sb, "...");
	return log_redact(sb_str(&sb));
}

err_t *probe_until_healthy(struct http_client *c, const struct probe_run *run, const struct probe_expect *x,
			   struct probe_outcome *out)
{
	memset(out, 0, sizeof *out);
	int64_t delay = run->backoff_ms;
	_cleanup_free_ char *last_why = NULL, *last_body = NULL;
	err_t *last_err = NULL;
	for (;;) {
		out->attempts++;
		struct http_request req = { .url = run->url, .headers = run->headers, .no_retry = true };
		struct http_response resp = HTTP_RESPONSE_INIT;
		int64_t t0 = clock_monotonic_us();
		err_t *e = http_do(c, &req, &resp);
		int64_t took = clock_monotonic_us() - t0;
		if (e && e->code != EXIT_UNREACHABLE) {
			http_response_release(&resp);
			err_free(last_err);
			return e; /* TLS verification, client certificate: no retry mends them */
		}
		if (e) {
			log_info("attempt %d: %s", out->attempts, e->msg);
			err_free(last_err);
			last_err = e;
		} else {
			char *why = NULL;
			out->status = resp.status;
			if (probe_judge(x, resp.status, resp.body.buf ? resp.body.buf : "", resp.body.len, &why)) {
				out->response_us = took;
				http_response_release(&resp);
				err_free(last_err);
				return NULL;
			}
			log_info("attempt %d: HTTP %ld: %s", out->attempts, resp.status, why);
			free(last_why);
			last_why = why;
			free(last_body);
			last_body = excerpt(&resp.body);
			err_free(last_err);
			last_err = NULL;
		}
		http_response_release(&resp);
		int64_t left = run->deadline_ms - clock_monotonic_ms();
		if (left <= 0 || (run->max_attempts && out->attempts >= run->max_attempts))
			break;
		clock_sleep_ms(delay < left ? delay : left);
		delay = delay * 2 > run->backoff_max_ms ? run->backoff_max_ms : delay * 2;
	}
	if (last_err) {
		err_t *e = err_wrap_as(last_err, EXIT_UNREACHABLE, ERR_KIND_NETWORK, "%s unreachable after %d attempt%s",
				       run->url, out->attempts, out->attempts == 1 ? "" : "s");
		return e;
	}
	return err_new(EXIT_FAILED, "%s is unhealthy after %d attempt%s: last answer HTTP %ld: %s; body: %s", run->url,
		       out->attempts, out->attempts == 1 ? "" : "s", out->status, last_why ? last_why : "?",
		       last_body && *last_body ? last_body : "(empty)");
}
