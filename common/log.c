#include "log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strbuf.h"
#include "xalloc.h"

static struct {
	const char *task;
	enum log_format format;
	enum log_level level;
	FILE *stream;
	char **secrets; /* longest first, so a secret inside another is not half-redacted */
	size_t nsecrets;
} logger = { "task", LOG_HUMAN, LOG_INFO, NULL, NULL, 0 };
/* secrets may be registered by one thread while another logs */
static pthread_mutex_t secrets_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_setup(const char *task, enum log_format format, enum log_level level)
{
	logger.task = task;
	logger.format = format;
	logger.level = level;
}

void log_set_stream(FILE *f)
{
	logger.stream = f;
}

bool log_parse_format(const char *s, enum log_format *out)
{
	if (!strcmp(s, "human"))
		*out = LOG_HUMAN;
	else if (!strcmp(s, "json"))
		*out = LOG_JSON;
	else
		return false;
	return true;
}

bool log_parse_level(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof level_names / sizeof *level_names; i++) {
		if (!strcmp(s, level_names[i])) {
			*out = (enum log_level)i;
			return true;
		}
	}
	return false;
}

void log_secret(const char *secret)
{
	if (!secret || strlen(secret) < LOG_SECRET_MIN)
		return;
	pthread_mutex_lock(&secrets_lock);
	for (size_t i = 0; i < logger.nsecrets; i++)
		if (!strcmp(logger.secrets[i], secret)) {
			pthread_mutex_unlock(&secrets_lock);
			return;
		}
	logger.secrets = xrealloc(logger.secrets, (logger.nsecrets + 1) * sizeof *logger.secrets);
	size_t at = logger.nsecrets++;
	size_t len = strlen(secret);
	while (at > 0 && strlen(logger.secrets[at - 1]) < len) {
		logger.secrets[at] = logger.secrets[at - 1];
		at--;
	}
	logger.secrets[at] = xstrdup(secret);
	pthread_mutex_unlock(&secrets_lock);
}

void log_forget_secrets(void)
{
	pthread_mutex_lock(&secrets_lock);
	for (size_t i = 0; i < logger.nsecrets; i++)
		free(logger.secrets[i]);
	free(logger.secrets);
	logger.secrets = NULL;
	logger.nsecrets = 0;
	pthread_mutex_unlock(&secrets_lock);
}

/* Longest registered secret starting at s, or 0. */
static size_t secret_at(const char *s)
{
	for (size_t i = 0; i < logger.nsecrets; i++) {
		size_t len = strlen(logger.secrets[i]);
		if (!strncmp(s, logger.secrets[i], len))
			return len;
	}
	return 0;
}

char *log_redact(const char *text)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = text;
	pthread_mutex_lock(&secrets_lock);
	while (*p) {
		size_t n = logger.nsecrets ? secret_at(p) : 0;
		if (n) {
			sb_adds(&sb, LOG_REDACTED);
			p += n;
		} else {
			sb_addc(&sb, *p++);
		}
	}
	pthread_mutex_unlock(&secrets_lock);
	return sb_detach(&sb);
}

bool log_enabled(enum log_level level)
{
	return level >= logger.level;
}

static void write_line(enum log_level level, const char *msg)
{
	FILE *out = logger.stream ? logger.stream : stderr;
	if (logger.format == LOG_JSON) {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "time", ts, "level", level_names[level],
				      "task", logger.task, "msg", msg);
		char *line = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		fprintf(out, "%s\n", line ? line : msg);
		free(line);
		json_decref(o);
	} else {
		/* a message may carry text from a payload, a server or a file:
		 * on a terminal its control characters (escapes, a newline that
		 * would start a forged line) are shown as \xNN */
		struct strbuf sb = STRBUF_INIT;
		sb_add_printable(&sb, msg, strlen(msg));
		if (level == LOG_INFO)
			fprintf(out, "%s: %s\n", logger.task, sb_str(&sb));
		else
			fprintf(out, "%s: %s: %s\n", logger.task, level_names[level], sb_str(&sb));
		sb_release(&sb);
	}
	fflush(out);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	char *safe = log_redact(sb_str(&sb));
	write_line(level, safe);
	free(safe);
	sb_release(&sb);
}

void log_fields(enum log_level level, const char *msg, const json_t *fields)
{
	if (!log_enabled(level))
		return;
	FILE *out = logger.stream ? logger.stream : stderr;
	char *line;
	if (logger.format == LOG_JSON) {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
		json_t *o = json_deep_copy(fields);
		if (!json_is_object(o)) {
			json_decref(o);
			o = json_object();
		}
		json_object_set_new(o, "time", json_string(ts));
		json_object_set_new(o, "level", json_string(level_names[level]));
		json_object_set_new(o, "task", json_string(logger.task));
		json_object_set_new(o, "msg", json_string(msg));
		line = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(o);
	} else {
		struct strbuf sb = STRBUF_INIT;
		sb_addf(&sb, "%s: %s", logger.task, msg);
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)fields, k, v) {
			char *text = json_is_string(v) ? xstrdup(json_string_value(v)) : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			sb_addf(&sb, " %s=%s", k, text ? text : "?");
			free(text);
		}
		line = sb_detach(&sb);
	}
	char *safe = log_redact(line ? line : msg);
	struct strbuf shown = STRBUF_INIT;
	if (logger.format == LOG_JSON)
		sb_adds(&shown, safe);
	else
		sb_add_printable(&shown, safe, strlen(safe)); /* as write_line */
	fprintf(out, "%s\n", sb_str(&shown));
	sb_release(&shown);
	fflush(out);
	free(safe);
	free(line);
}
