/* A growing, always NUL-terminated byte buffer (git's strbuf, trimmed). */
#ifndef COMMON_STRBUF_H
#define COMMON_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf; /* NULL until the first append */
	size_t len;
	size_t cap;
};

#define STRBUF_INIT { NULL, 0, 0 }

void sb_grow(struct strbuf *sb, size_t extra);
void sb_add(struct strbuf *sb, const void *data, size_t len);
void sb_adds(struct strbuf *sb, const char *s);
void sb_addc(struct strbuf *sb, char c);
void sb_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* len bytes of s as a terminal shows them literally: C0 controls, DEL
 * and UTF-8 C1 controls (C2 80..9F) as \xNN (text that is not ours,
 * e.g. from a webhook or a record, on a terminal) */
void sb_add_printable(struct strbuf *sb, const char *s, size_t len);
void sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void sb_reset(struct strbuf *sb);
/* Contents as a C string; "" for an empty buffer, never NULL. */
const char *sb_str(const struct strbuf *sb);
/* Hand the buffer to the caller (never NULL) and reset sb. */
char *sb_detach(struct strbuf *sb);
void sb_release(struct strbuf *sb);

static inline void cleanup_sbp(struct strbuf *sb) { sb_release(sb); }
#define _cleanup_strbuf_ __attribute__((cleanup(cleanup_sbp)))

#endif
