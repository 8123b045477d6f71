/* Evidence as publish-doi reads it back from a store: each envelope with
 * where it came from and, once verified (dsse_open), its statement; or the
 * reason it does not count. */
#ifndef PUBLISH_DOI_EVIDENCE_H
#define PUBLISH_DOI_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "dsse.h"
#include "error.h"
#include "strbuf.h"

struct evidence_item {
	char *source;          /* "store:<file>" or "registry:<layer digest>" */
	struct strbuf envelope; /* as read */
	char *invalid;         /* NULL when valid, else why it does not count */
	struct dsse_parsed parsed; /* after evidence_prepare, when intact */
	bool verified;             /* dsse_verify said yes: opened is set */
	struct dsse_opened opened; /* when verified */
};

struct evidence {
	struct evidence_item *items;
	size_t n, cap;
	const struct dsse_keys *keys; /* evidence_prepare's (not owned) */
	char *digest;
};

/* Append an envelope read from source; invalid (may be NULL): it was not
 * read intact (the reason). */
void evidence_add(struct evidence *ev, const char *source, const void *envelope, size_t len, const char *invalid);
/* Parse every intact envelope (dsse_parse; failures become their item's
 * reason) and remember keys (kept by the caller until evidence_release)
 * and digest for evidence_counts. Nothing is verified yet. */
void evidence_prepare(struct evidence *ev, const struct dsse_keys *keys, const char *digest);
/* Item i counts: verified now (once; a failure becomes its reason) or
 * before. Only a prepared item can count. */
bool evidence_counts(struct evidence *ev, size_t i);
/* evidence_prepare, then evidence_counts for every item (listings). */
void evidence_verify(struct evidence *ev, const struct dsse_keys *keys, const char *digest);
void evidence_release(struct evidence *ev);

/* A listing: one line per record (VALID/INVALID, kind, detail, time,
 * signer or reason, source), or a JSON array of {valid, kind, detail, time,
 * predicateType, signer, reason, source, statement}. */
void evidence_print(const struct evidence *ev, bool json, FILE *out);

#endif
