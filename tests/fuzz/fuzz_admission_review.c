/* libFuzzer target for image-admission's untrusted input: any bytes as an
 * HTTP request (httpreq.c) and, its body or the whole input, as an
 * AdmissionReview (review.c) answered with a response. Invariants: a
 * parsed request's body lies inside the input; every image path the review
 * yields is a JSON pointer that resolves to that very image string. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpreq.h"
#include "review.h"

// fuzz-sources: tasks/image-admission/httpreq.c tasks/image-admission/review.c
// fuzz-libs: -Itasks/image-admission

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const json_t *pointer(const json_t *root, const char *path)
{
	char *copy = strdup(path);
	const json_t *at = root;
	for (char *save = NULL, *tok = strtok_r(copy, "/", &save); tok && at; tok = strtok_r(NULL, "/", &save)) {
		if (json_is_array(at))
			at = json_array_get(at, strtoul(tok, NULL, 10));
		else
			at = json_object_get(at, tok);
	}
	free(copy);
	return at;
}

static void review(const char *text, size_t len)
{
	struct review r;
	err_t *e = review_parse(text, len, &r);
	if (e) {
		err_free(e);
		return;
	}
	const json_t *object = json_object_get(json_object_get(r.root, "request"), "object");
	for (size_t i = 0; i < r.n; i++)
		if (pointer(object, r.images[i].path) == NULL ||
		    strcmp(json_string_value(pointer(object, r.images[i].path)), r.images[i].image))
			abort();
	json_t *patch = json_array();
	for (size_t i = 0; i < r.n; i++)
		json_array_append_new(patch, json_pack("{s:s, s:s, s:s}", "op", "replace", "path", r.images[i].path,
							"value", "x@sha256:00"));
	char *out = review_response(r.uid, r.n % 2, r.n % 2 ? NULL : "denied", patch);
	if (!out)
		abort();
	free(out);
	json_decref(patch);
	review_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpreq req;
	if (httpreq_parse((const char *)data, size, 1 << 16, &req) == HTTPREQ_DONE) {
		if (req.body < (const char *)data || req.body + req.body_len > (const char *)data + size ||
		    req.consumed > size)
			abort();
		review(req.body, req.body_len);
	}
	review((const char *)data, size);
	return 0;
}
