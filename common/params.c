#include "params.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

struct param_value {
	bool given;
	char *str;    /* scalar types; NULL when unset and no default */
	char **items; /* PARAM_LIST */
	size_t nitems;
};

struct params {
	const struct task_spec *spec;
	struct param_value *values;
};

static const char *const type_names[] = { "string", "bool", "int", "list" };

#define DEFAULT_RESULTS_DIR "/tekton/results"

static size_t param_count(const struct task_spec *spec)
{
	size_t n = 0;
	while (spec->params[n].name)
		n++;
	return n;
}

static long spec_index(const struct task_spec *spec, const char *name, size_t len)
{
	for (size_t i = 0; spec->params[i].name; i++)
		if (strlen(spec->params[i].name) == len && !strncmp(spec->params[i].name, name, len))
			return (long)i;
	return -1;
}

char *params_env_name(const char *name)
{
	char *env = xasprintf(PARAMS_ENV_PREFIX "PARAM_%s", name);
	for (char *c = env + strlen(PARAMS_ENV_PREFIX "PARAM_"); *c; c++)
		*c = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
	return env;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "1", "on" };
	static const char *const no[] = { "false", "no", "0", "off", "" };
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
		if (!strcasecmp(s, yes[i]))
			return *out = true;
	for (size_t i = 0; i < sizeof no / sizeof *no; i++)
		if (!strcasecmp(s, no[i]))
			return !(*out = false);
	return false;
}

static bool parse_int(const char *s, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return false;
	*out = v;
	return true;
}

static err_t *check_value(const struct param_spec *ps, const char *value)
{
	bool b;
	long l;
	if (ps->type == PARAM_BOOL && !parse_bool(value, &b))
		return err_new(EXIT_USAGE, "--%s: '%s' is not a boolean (use true or false)", ps->name, value);
	if (ps->type == PARAM_INT && !parse_int(value, &l))
		return err_new(EXIT_USAGE, "--%s: '%s' is not a non-negative integer", ps->name, value);
	if (ps->secret && *value && strlen(value) < LOG_SECRET_MIN)
		return err_new(EXIT_USAGE, "--%s: secret values must be at least %d characters", ps->name,
			       LOG_SECRET_MIN);
	return NULL;
}

static void set_value(struct param_value *v, const struct param_spec *ps, const char *value)
{
	if (ps->secret)
		log_secret(value);
	v->given = true;
	if (ps->type == PARAM_LIST) {
		v->items = xrealloc(v->items, (v->nitems + 1) * sizeof *v->items);
		v->items[v->nitems++] = xstrdup(value);
	} else {
		free(v->str);
		v->str = xstrdup(value);
	}
}

/* --unsupported=NAME=VALUE: NAME is a param of a drop-in Task (e.g. the
 * Tekton catalog's) that this program cannot honour; an empty VALUE (the
 * param left at its default) is accepted, anything else refused, so that a
 * run never silently does less than it was asked. --unsupported-true: NAME
 * is a bool, refused when true. */
static err_t *refuse_unsupported(const char *value, bool boolean)
{
	const char *eq = value ? strchr(value, '=') : NULL;
	bool b = false;
	if (!eq || eq == value)
		return err_new(EXIT_USAGE, "--unsupported%s needs NAME=VALUE", boolean ? "-true" : "");
	if (boolean && eq[1] && !parse_bool(eq + 1, &b))
		return err_new(EXIT_USAGE, "param %.*s: '%s' is not a bool", (int)(eq - value), value, eq + 1);
	if (!eq[1] || (boolean && !b))
		return NULL;
	return err_new(EXIT_USAGE, "param %.*s is not supported by this task (given '%s'); leave it empty",
		       (int)(eq - value), value, eq + 1);
}

/* Common options: returns true if arg was one of them. */
static err_t *common_option(const char *name, size_t len, const char *value, struct common_options *opts,
			    bool *matched)
{
	static const struct {
		const char *name;
		size_t offset;
	} strings[] = {
		{ "results-dir", offsetof(struct common_options, results_dir) },
		{ "results-overflow-dir", offsetof(struct common_options, results_overflow_dir) },
		{ "log-format", offsetof(struct common_options, log_format) },
		{ "log-level", offsetof(struct common_options, log_level) },
		{ "secrets-dir", offsetof(struct common_options, secrets_dir) },
	};
	static const struct {
		const char *name;
		size_t offset;
	} flags[] = {
		{ "help", offsetof(struct common_options, help) },
		{ "version", offsetof(struct common_options, version) },
		{ "describe", offsetof(struct common_options, describe) },
	};
	*matched = true;
	if (len == 11 && !strncmp(name, "unsupported", len))
		return refuse_unsupported(value, false);
	if (len == 16 && !strncmp(name, "unsupported-true", len))
		return refuse_unsupported(value, true);
	for (size_t i = 0; i < sizeof strings / sizeof *strings; i++) {
		if (strlen(strings[i].name) == len && !strncmp(strings[i].name, name, len)) {
			if (!value)
				return err_new(EXIT_USAGE, "--%s needs a value", strings[i].name);
			*(const char **)((char *)opts + strings[i].offset) = value;
			return NULL;
		}
	}
	for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
		if (strlen(flags[i].name) == len && !strncmp(flags[i].name, name, len)) {
			if (value)
				return err_new(EXIT_USAGE, "--%s takes no value", flags[i].name);
			*(bool *)((char *)opts + flags[i].offset) = true;
			return NULL;
		}
	}
	*matched = false;
	return NULL;
}

/* One "--name[=value]" argument; may consume argv[*i + 1]. */
static err_t *parse_flag(struct params *p, struct common_options *opts, int argc, char **argv, int *i)
{
	const char *arg = argv[*i] + 2;
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const char *value = eq ? eq + 1 : NULL;
	bool matched;

	TRY(common_option(arg, len, value, opts, &matched));
	if (matched)
		return NULL;

	long idx = spec_index(p->spec, arg, len);
	bool negated = false;
	if (idx < 0 && len > 3 && !strncmp(arg, "no-", 3)) {
		idx = spec_index(p->spec, arg + 3, len - 3);
		negated = idx >= 0 && p->spec->params[idx].type == PARAM_BOOL;
		if (!negated)
			idx = -1;
	}
	if (idx < 0)
		return err_new(EXIT_USAGE, "unknown flag --%.*s (see --help)", (int)len, arg);

	const struct param_spec *ps = &p->spec->params[idx];
	/* "--n=" is "not given": a Tekton param's "" default leaves the
	 * binary's own default in force (an optional file, URL or query
	 * given as "" is not one named "") */
	if (value && !*value && ps->type != PARAM_LIST)
		return NULL;
	/* --no-name=BOOL is name=!BOOL: a Task maps a param of the opposite
	 * sense (the catalog's SKIP_PUSH, TLSVERIFY) onto ours */
	bool b;
	if (negated && value && !parse_bool(value, &b))
		return err_new(EXIT_USAGE, "--no-%s: '%s' is not a bool (true/false, yes/no, 1/0)", ps->name, value);
	if (negated)
		value = value && !b ? "true" : "false";
	else if (!value && ps->type == PARAM_BOOL)
		value = "true";
	else if (!value) {
		if (*i + 1 >= argc)
			return err_new(EXIT_USAGE, "--%s needs a value", ps->name);
		value = argv[++*i];
	}
	TRY(check_value(ps, value));
	set_value(&p->values[idx], ps, value);
	return NULL;
}

/* PIPELINE_PARAM_<NAME>, else the param's standard variable if it has one:
 * no other variable changes what a task does. */
static err_t *apply_env(struct params *p)
{
	for (size_t i = 0; p->spec->params[i].name; i++) {
		const struct param_spec *ps = &p->spec->params[i];
		if (p->values[i].given)
			continue;
		char *env = params_env_name(ps->name);
		const char *value = getenv(env);
		free(env);
		if (!value && ps->std_env)
			value = getenv(ps->std_env);
		if (!value)
			continue;
		if (ps->type != PARAM_LIST) {
			TRY(check_value(ps, value));
			set_value(&p->values[i], ps, value);
			continue;
		}
		const char *line = value;
		while (*line) {
			const char *nl = strchrnul(line, '\n');
			if (nl > line) {
				char *item = xstrndup(line, (size_t)(nl - line));
				err_t *e = check_value(ps, item);
				if (!e)
					set_value(&p->values[i], ps, item);
				free(item);
				if (e)
					return e;
			}
			line = *nl ? nl + 1 : nl;
		}
	}
	return NULL;
}

/* One secret from DIR/<name>; a missing file is no error (*found false). */
static err_t *secret_from_file(struct params *p, size_t i, const char *dir, size_t dirlen, bool *found)
{
	const struct param_spec *ps = &p->spec->params[i];
	_cleanup_free_ char *path = xasprintf("%.*s/%s", (int)dirlen, dir, ps->name);
	struct stat st;
	*found = false;
	if (stat(path, &st) < 0 && errno == ENOENT)
		return NULL;
	struct strbuf sb = STRBUF_INIT;
	err_t *e = fs_read_file(path, 64 * 1024, &sb);
	if (!e && sb.len && sb.buf[sb.len - 1] == '\n')
		sb.buf[--sb.len] = '\0';
	if (!e && sb.len && sb.buf[sb.len - 1] == '\r')
		sb.buf[--sb.len] = '\0';
	if (!e && strlen(sb_str(&sb)) != sb.len)
		e = err_new(EXIT_USAGE, "%s holds a NUL byte", path);
	if (!e)
		e = check_value(ps, sb_str(&sb));
	if (!e) {
		set_value(&p->values[i], ps, sb_str(&sb));
		*found = true;
	}
	if (sb.buf)
		explicit_bzero(sb.buf, sb.cap);
	sb_release(&sb);
	return e ? err_wrap(e, "--secrets-dir: %s", ps->name) : NULL;
}

/* --secrets-dir=DIR[:DIR...]: a secret param given neither as a flag nor
 * in the environment is read from the first DIR/<name> that exists (a
 * Kubernetes Secret in an optional Tekton workspace; an unbound
 * workspace's path is empty, and empty entries are skipped). */
static err_t *apply_secret_files(struct params *p, const char *dirs)
{
	if (!dirs)
		return NULL;
	for (size_t i = 0; p->spec->params[i].name; i++) {
		if (!p->spec->params[i].secret || p->values[i].given)
			continue;
		bool found = false;
		for (const char *d = dirs; *d && !found;) {
			const char *end = strchrnul(d, ':');
			if (end > d)
				TRY(secret_from_file(p, i, d, (size_t)(end - d), &found));
			d = *end ? end + 1 : end;
		}
	}
	return NULL;
}

static bool value_empty(const struct param_spec *ps, const struct param_value *v)
{
	return ps->type == PARAM_LIST ? v->nitems == 0 : (!v->str || !*v->str);
}

static err_t *missing(const struct param_spec *ps)
{
	char *env = params_env_name(ps->name);
	err_t *e = err_new(EXIT_USAGE, "missing required param '%s' (--%s=... or env %s)", ps->name, ps->name, env);
	free(env);
	return e;
}

static err_t *apply_defaults(struct params *p)
{
	for (size_t i = 0; p->spec->params[i].name; i++) {
		const struct param_spec *ps = &p->spec->params[i];
		struct param_value *v = &p->values[i];
		if (value_empty(ps, v) && ps->required)
			return missing(ps);
		if (!v->given && ps->default_value && ps->type != PARAM_LIST)
			v->str = xstrdup(ps->default_value);
	}
	return NULL;
}

static void apply_common_env(struct common_options *opts)
{
	struct stat st;
	if (!opts->results_dir)
		opts->results_dir = getenv(PARAMS_ENV_PREFIX "RESULTS_DIR");
	if (!opts->results_dir && stat(DEFAULT_RESULTS_DIR, &st) == 0 && S_ISDIR(st.st_mode))
		opts->results_dir = DEFAULT_RESULTS_DIR;
	if (!opts->results_overflow_dir)
		opts->results_overflow_dir = getenv(PARAMS_ENV_PREFIX "RESULTS_OVERFLOW_DIR");
	if (!opts->log_format)
		opts->log_format = getenv(PARAMS_ENV_PREFIX "LOG_FORMAT");
	if (!opts->log_format)
		opts->log_format = "human";
	if (!opts->log_level)
		opts->log_level = getenv(PARAMS_ENV_PREFIX "LOG_LEVEL");
	if (!opts->log_level)
		opts->log_level = "info";
}

/* --items=NAME ITEM...: the rest of argv are items of the list param
 * NAME, as a Tekton array param expands ($(params.a[*]) is a whole
 * argument each); --unsupported-items=NAME ITEM...: the items of a drop-in
 * Task's array param that this program cannot honour, refused unless all
 * are empty (the catalog's defaults are [] or [""]). */
static err_t *rest_items(struct params *p, const char *flag, int n, char **items)
{
	const char *name = strchr(flag, '=') + 1;
	bool refuse = flag[2] == 'u';
	long idx = refuse ? -1 : spec_index(p->spec, name, strlen(name));
	if (!refuse && (idx < 0 || p->spec->params[idx].type != PARAM_LIST))
		return err_new(EXIT_USAGE, "--items=%s: not a list param of this task (see --help)", name);
	for (int k = 0; k < n; k++) {
		if (!*items[k])
			continue;
		if (refuse)
			return err_new(EXIT_USAGE, "param %s is not supported by this task (given '%s'); leave it empty",
				       name, items[k]);
		TRY(check_value(&p->spec->params[idx], items[k]));
		set_value(&p->values[idx], &p->spec->params[idx], items[k]);
	}
	return NULL;
}

err_t *params_parse(const struct task_spec *spec, int argc, char **argv, struct params **out,
		    struct common_options *opts)
{
	struct params *p = xcalloc(1, sizeof *p);
	p->spec = spec;
	p->values = xcalloc(param_count(spec) + 1, sizeof *p->values);
	memset(opts, 0, sizeof *opts);
	err_t *e = NULL;

	for (int i = 1; i < argc && !e; i++) {
		if (!strncmp(argv[i], "--items=", 8) || !strncmp(argv[i], "--unsupported-items=", 20)) {
			e = rest_items(p, argv[i], argc - i - 1, argv + i + 1);
			break;
		}
		if (!strcmp(argv[i], "-h"))
			opts->help = true;
		else if (!strncmp(argv[i], "--", 2) && argv[i][2])
			e = parse_flag(p, opts, argc, argv, &i);
		else
			e = err_new(EXIT_USAGE, "unexpected argument '%s': params are given as --name=value",
				    argv[i]);
	}
	if (!e)
		e = apply_env(p);
	if (!e)
		e = apply_secret_files(p, opts->secrets_dir);
	apply_common_env(opts);
	if (!e && !opts->help && !opts->version && !opts->describe)
		e = apply_defaults(p);
	if (e) {
		params_free(p);
		return e;
	}
	*out = p;
	return NULL;
}

void params_free(struct params *p)
{
	if (!p)
		return;
	for (size_t i = 0; p->spec->params[i].name; i++) {
		free(p->values[i].str);
		for (size_t j = 0; j < p->values[i].nitems; j++)
			free(p->values[i].items[j]);
		free(p->values[i].items);
	}
	free(p->values);
	free(p);
}

static const struct param_value *lookup(const struct params *p, const char *name, enum param_type want)
{
	long idx = spec_index(p->spec, name, strlen(name));
	if (idx < 0 || p->spec->params[idx].type != want) {
		fprintf(stderr, "bug: param '%s' is not declared as %s\n", name, type_names[want]);
		abort();
	}
	return &p->values[idx];
}

const char *params_str(const struct params *p, const char *name)
{
	return lookup(p, name, PARAM_STRING)->str;
}

bool params_bool(const struct params *p, const char *name)
{
	const struct param_value *v = lookup(p, name, PARAM_BOOL);
	bool b = false;
	return v->str && parse_bool(v->str, &b) && b;
}

long params_int(const struct params *p, const char *name)
{
	const struct param_value *v = lookup(p, name, PARAM_INT);
	long l = 0;
	return v->str && parse_int(v->str, &l) ? l : 0;
}

size_t params_list(const struct params *p, const char *name, const char *const **items)
{
	const struct param_value *v = lookup(p, name, PARAM_LIST);
	*items = (const char *const *)v->items;
	return v->nitems;
}

err_t *params_require(const struct params *p, const char *name)
{
	long idx = spec_index(p->spec, name, strlen(name));
	if (idx < 0)
		abort(); /* a name the spec lacks is a bug, as for the getters */
	return value_empty(&p->spec->params[idx], &p->values[idx]) ? missing(&p->spec->params[idx]) : NULL;
}

bool params_given(const struct params *p, const char *name)
{
	long idx = spec_index(p->spec, name, strlen(name));
	return idx >= 0 && p->values[idx].given;
}

char *params_usage(const struct task_spec *spec)
{
	struct strbuf sb = STRBUF_INIT;
	sb_addf(&sb, "Usage: %s [--param=value ...]\n%s\n\nParams:\n", spec->name, spec->summary);
	for (size_t i = 0; spec->params[i].name; i++) {
		const struct param_spec *ps = &spec->params[i];
		char *env = params_env_name(ps->name);
		sb_addf(&sb, "  --%s%s\n      %s\n      (%s", ps->name,
			ps->type == PARAM_BOOL ? "[=BOOL]" : ps->type == PARAM_INT ? "=N" : "=VALUE", ps->help,
			type_names[ps->type]);
		if (ps->type == PARAM_LIST)
			sb_adds(&sb, ", repeatable");
		if (ps->required)
			sb_adds(&sb, ", required");
		if (ps->default_value)
			sb_addf(&sb, ", default '%s'", ps->default_value);
		if (ps->secret)
			sb_adds(&sb, ", secret");
		sb_addf(&sb, ", env %s", env);
		if (ps->std_env)
			sb_addf(&sb, " or %s", ps->std_env);
		sb_adds(&sb, ")\n");
		free(env);
	}
	if (spec->results[0].name) {
		sb_adds(&sb, "\nResults:\n");
		for (size_t i = 0; spec->results[i].name; i++)
			sb_addf(&sb, "  %s\n      %s\n", spec->results[i].name, spec->results[i].help);
	}
	sb_adds(&sb, "\nCommon options:\n"
		     "  --results-dir=DIR   write results there (default " DEFAULT_RESULTS_DIR
		     " when it exists; env " PARAMS_ENV_PREFIX "RESULTS_DIR)\n"
		     "  --results-overflow-dir=DIR  results beyond Tekton's 4096 bytes go to DIR/<name>, the\n"
		     "      result holding \"<path> sha256:<hex>\" (env " PARAMS_ENV_PREFIX "RESULTS_OVERFLOW_DIR)\n"
		     "  --log-format=human|json, --log-level=debug|info|warn|error\n"
		     "      (env " PARAMS_ENV_PREFIX "LOG_FORMAT, " PARAMS_ENV_PREFIX "LOG_LEVEL)\n"
		     "  --secrets-dir=DIR[:DIR...]  secret params not given are read from DIR/<name>\n"
		     "  --unsupported=NAME=VALUE  a drop-in Task's param this task cannot honour:\n"
		     "      refused (exit 2) unless VALUE is empty; --unsupported-true=NAME=BOOL: unless false\n"
		     "  --items=NAME ARG...  the remaining arguments are items of the list param NAME\n"
		     "      (empty ones skipped; a Tekton array param); --unsupported-items=NAME ARG...:\n"
		     "      a drop-in Task's array param this task cannot honour: refused unless all empty\n"
		     "  --no-NAME=BOOL  a bool param given in the opposite sense\n"
		     "  --help, --version, --describe (params and results as JSON)\n"
		     "\nEnvironment: " PARAMS_ENV_PREFIX "PARAM_<NAME> (above), " PARAMS_ENV_PREFIX "RESULTS_DIR,\n"
		     PARAMS_ENV_PREFIX "LOG_FORMAT, " PARAMS_ENV_PREFIX "LOG_LEVEL, and standard variables where they\n"
		     "apply (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE, DOCKER_CONFIG,\n"
		     "REGISTRY_AUTH_FILE, KUBECONFIG, HOME, TMPDIR, SOURCE_DATE_EPOCH, NO_COLOR); no\n"
		     "other variable changes what the task does.\n"
		     "\nExit codes: 0 ok, 1 failed, 2 usage or bad input, 3 policy said no,\n"
		     "4 authentication, 5 remote unreachable after retries.\n");
	return sb_detach(&sb);
}

char *params_describe(const struct task_spec *spec, const char *version)
{
	json_t *params = json_array();
	for (size_t i = 0; spec->params[i].name; i++) {
		const struct param_spec *ps = &spec->params[i];
		char *env = params_env_name(ps->name);
		json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:s, s:s}", "name", ps->name, "type",
				      type_names[ps->type], "required", ps->required, "secret", ps->secret, "help",
				      ps->help, "env", env);
		json_object_set_new(o, "default", ps->default_value ? json_string(ps->default_value) : json_null());
		if (ps->std_env)
			json_object_set_new(o, "std_env", json_string(ps->std_env));
		json_array_append_new(params, o);
		free(env);
	}
	json_t *results = json_array();
	for (size_t i = 0; spec->results[i].name; i++)
		json_array_append_new(results, json_pack("{s:s, s:s}", "name", spec->results[i].name, "help",
							 spec->results[i].help));
	json_t *root = json_pack("{s:s, s:s, s:s, s:o, s:o}", "name", spec->name, "version", version, "summary",
				 spec->summary, "params", params, "results", results);
	char *s = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(root);
	char *out = xstrdup(s);
	free(s);
	return out;
}
