#include "evidence.h"

#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "xalloc.h"

void evidence_add(struct evidence *ev, const char *source, const void *envelope, size_t len, const char *invalid)
{
	if (ev->n == ev->cap) {
		ev->cap = ev->cap ? ev->cap * 2 : 16;
		ev->items = xrealloc(ev->items, ev->cap * sizeof(*ev->items));
	}
	struct evidence_item *it = &ev->items[ev->n++];
	memset(it, 0, sizeof(*it));
	it->source = xstrdup(source);
	it->envelope = (struct strbuf)STRBUF_INIT;
	sb_add(&it->envelope, envelope, len);
	it->invalid = invalid ? xstrdup(invalid) : NULL;
}

void evidence_verify(struct evidence *ev, const struct dsse_keys *keys, const char *digest)
{
	for (size_t i = 0; i < ev->n; i++) {
		struct evidence_item *it = &ev->items[i];
		if (it->invalid)
			continue;
		err_t *e = dsse_open(it->envelope.buf ? it->envelope.buf : "", it->envelope.len, it->source, keys, digest,
				     &it->opened);
		if (e) {
			it->invalid = err_describe(e);
			err_free(e);
		}
	}
}

void evidence_release(struct evidence *ev)
{
	for (size_t i = 0; i < ev->n; i++) {
		free(ev->items[i].source);
		free(ev->items[i].invalid);
		sb_release(&ev->items[i].envelope);
		dsse_opened_release(&ev->items[i].opened);
	}
	free(ev->items);
	memset(ev, 0, sizeof(*ev));
}

void evidence_print(const struct evidence *ev, bool json, FILE *out)
{
	json_t *arr = json ? json_array() : NULL;
	if (!json)
		fprintf(out, "%-7s  %-15s  %-12s  %-20s  %-12s  %s\n", "STATUS", "KIND", "DETAIL", "TIME", "SIGNER", "SOURCE");
	for (size_t i = 0; i < ev->n; i++) {
		const struct evidence_item *it = &ev->items[i];
		struct record_view v = { "-", "", "" };
		if (!it->invalid)
			record_view(it->opened.statement, &v);
		if (json) {
			json_t *o = json_pack("{s:b, s:s, s:s}", "valid", !it->invalid, "kind", v.kind, "source", it->source);
			if (it->invalid) {
				json_object_set_new(o, "reason", json_string(it->invalid));
			} else {
				json_object_set_new(o, "detail", json_string(v.detail));
				json_object_set_new(o, "time", json_string(v.time));
				json_object_set_new(o, "predicateType", json_string(it->opened.predicate_type));
				json_object_set_new(o, "signer", json_string(it->opened.signer));
				json_object_set(o, "statement", it->opened.statement);
			}
			json_array_append_new(arr, o);
			continue;
		}
		fprintf(out, "%-7s  %-15s  %-12s  %-20s  %-12s  %s\n", it->invalid ? "INVALID" : "VALID", v.kind,
			*v.detail ? v.detail : "-", *v.time ? v.time : "-", it->invalid ? "-" : it->opened.signer, it->source);
		if (it->invalid)
			fprintf(out, "         reason: %s\n", it->invalid);
	}
	if (json) {
		char *s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s)
			fprintf(out, "%s\n", s);
		free(s);
		json_decref(arr);
	}
}
