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

void evidence_prepare(struct evidence *ev, const struct dsse_keys *keys, const char *digest)
{
	ev->keys = keys;
	free(ev->digest);
	ev->digest = xstrdup(digest);
	for (size_t i = 0; i < ev->n; i++) {
		struct evidence_item *it = &ev->items[i];
		if (it->invalid || it->parsed.signatures)
			continue;
		err_t *e = dsse_parse(it->envelope.buf ? it->envelope.buf : "", it->envelope.len, it->source, &it->parsed);
		if (e) {
			it->invalid = err_describe(e);
			err_free(e);
		}
	}
}

bool evidence_counts(struct evidence *ev, size_t i)
{
	struct evidence_item *it = &ev->items[i];
	if (it->verified || it->invalid)
		return it->verified;
	if (!it->parsed.signatures || !ev->keys) {
		it->invalid = xstrdup("not verified (internal: evidence_prepare was not called)");
		return false;
	}
	err_t *e = dsse_verify(&it->parsed, it->source, ev->keys, ev->digest, &it->opened);
	if (e) {
		it->invalid = err_describe(e);
		err_free(e);
		return false;
	}
	it->verified = true;
	return true;
}

void evidence_verify(struct evidence *ev, const struct dsse_keys *keys, const char *digest)
{
	evidence_prepare(ev, keys, digest);
	for (size_t i = 0; i < ev->n; i++)
		evidence_counts(ev, i);
}

void evidence_release(struct evidence *ev)
{
	for (size_t i = 0; i < ev->n; i++) {
		free(ev->items[i].source);
		free(ev->items[i].invalid);
		sb_release(&ev->items[i].envelope);
		dsse_parsed_release(&ev->items[i].parsed);
		dsse_opened_release(&ev->items[i].opened);
	}
	free(ev->items);
	free(ev->digest);
	memset(ev, 0, sizeof(*ev));
}

void evidence_print(const struct evidence *ev, bool json, FILE *out)
{
	json_t *arr = json ? json_array() : NULL;
	if (!json)
		fprintf(out, "%-7s  %-15s  %-12s  %-20s  %-12s  %s\n", "STATUS", "KIND", "DETAIL", "TIME", "SIGNER", "SOURCE");
	for (size_t i = 0; i < ev->n; i++) {
		const struct evidence_item *it = &ev->items[i];
		const char *why = it->verified ? NULL : it->invalid ? it->invalid : "not verified";
		struct record_view v = { "-", "", "" };
		if (it->verified)
			record_view(it->opened.statement, &v);
		if (json) {
			json_t *o = json_pack("{s:b, s:s, s:s}", "valid", !why, "kind", v.kind, "source", it->source);
			if (why) {
				json_object_set_new(o, "reason", json_string(why));
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
		/* a record's text, even an unsigned one's (its payloadType, a
		 * layer's digest), never reaches the terminal as control codes */
		const char *field[] = { v.kind, *v.detail ? v.detail : "-", *v.time ? v.time : "-",
			                why ? "-" : it->opened.signer, it->source, why ? why : "" };
		struct strbuf shown[6] = { STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, STRBUF_INIT };
		for (size_t f = 0; f < 6; f++)
			sb_add_printable(&shown[f], field[f], strlen(field[f]));
		fprintf(out, "%-7s  %-15s  %-12s  %-20s  %-12s  %s\n", why ? "INVALID" : "VALID", sb_str(&shown[0]),
			sb_str(&shown[1]), sb_str(&shown[2]), sb_str(&shown[3]), sb_str(&shown[4]));
		if (why)
			fprintf(out, "         reason: %s\n", sb_str(&shown[5]));
		for (size_t f = 0; f < 6; f++)
			sb_release(&shown[f]);
	}
	if (json) {
		char *s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s)
			fprintf(out, "%s\n", s);
		free(s);
		json_decref(arr);
	}
}
