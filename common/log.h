/* Logging to stderr, human or JSON lines, with secret redaction: every
 * registered secret is replaced by "***" in every line written, whatever
 * path the text took (messages, errors, libcurl traces). */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_HUMAN, LOG_JSON };

#define LOG_REDACTED "***"

/* task: the program name shown on every line. */
void log_setup(const char *task, enum log_format format, enum log_level level);
/* Parse "human"/"json" and "debug"/"info"/"warn"/"error"; false if unknown. */
bool log_parse_format(const char *s, enum log_format *out);
bool log_parse_level(const char *s, enum log_level *out);

/* Register a secret (copied). Values shorter than LOG_SECRET_MIN are too
 * common to redact without destroying the log, and are refused by the
 * param layer instead of being silently shown. */
#define LOG_SECRET_MIN 3
void log_secret(const char *secret);
/* Forget every registered secret (tests). */
void log_forget_secrets(void);

/* A fresh copy of text with every registered secret replaced. */
char *log_redact(const char *text);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
bool log_enabled(enum log_level level);

/* A structured line: msg plus the members of fields (a JSON object,
 * borrowed), merged into the JSON line, or " key=value" pairs after msg
 * in human format. Redacted like every line (servers' access logs). */
void log_fields(enum log_level level, const char *msg, const json_t *fields);

/* Where lines go (stderr by default; tests capture into a memstream). */
void log_set_stream(FILE *f);

#endif
