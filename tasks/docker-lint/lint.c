/* Dockerfile rules (see lint.h). Each DL rule keeps hadolint's ID and
 * meaning; the table below maps every ID to its published description. */
#include "lint.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shell.h"
#include "strbuf.h"
#include "xalloc.h"

#define WIKI "https://github.com/hadolint/hadolint/wiki/"
#define SCWIKI "https://www.shellcheck.net/wiki/"

/* ID, default severity, and the description hadolint publishes for it. */
static const struct rule_info rules[] = {
	{ "DL3000", SEV_ERROR, "Use absolute WORKDIR", WIKI "DL3000" },
	{ "DL3001", SEV_INFO, "For some bash commands it makes no sense running them in a Docker container like ssh, vim, shutdown, service, ps, free, top, kill, mount, ifconfig", WIKI "DL3001" },
	{ "DL3002", SEV_WARNING, "Last USER should not be root", WIKI "DL3002" },
	{ "DL3003", SEV_WARNING, "Use WORKDIR to switch to a directory", WIKI "DL3003" },
	{ "DL3004", SEV_ERROR, "Do not use sudo as it leads to unpredictable behavior. Use a tool like gosu to enforce root", WIKI "DL3004" },
	{ "DL3006", SEV_WARNING, "Always tag the version of an image explicitly", WIKI "DL3006" },
	{ "DL3007", SEV_WARNING, "Using latest is prone to errors if the image will ever update. Pin the version explicitly to a release tag", WIKI "DL3007" },
	{ "DL3008", SEV_WARNING, "Pin versions in apt get install. Instead of `apt-get install <package>` use `apt-get install <package>=<version>`", WIKI "DL3008" },
	{ "DL3009", SEV_INFO, "Delete the apt-get lists after installing something", WIKI "DL3009" },
	{ "DL3010", SEV_INFO, "Use ADD for extracting archives into an image", WIKI "DL3010" },
	{ "DL3011", SEV_ERROR, "Valid UNIX ports range from 0 to 65535", WIKI "DL3011" },
	{ "DL3012", SEV_ERROR, "Multiple HEALTHCHECK instructions", WIKI "DL3012" },
	{ "DL3013", SEV_WARNING, "Pin versions in pip. Instead of `pip install <package>` use `pip install <package>==<version>` or `pip install --requirement <requirements file>`", WIKI "DL3013" },
	{ "DL3014", SEV_WARNING, "Use the `-y` switch to avoid manual input `apt-get -y install <package>`", WIKI "DL3014" },
	{ "DL3015", SEV_INFO, "Avoid additional packages by specifying `--no-install-recommends`", WIKI "DL3015" },
	{ "DL3016", SEV_WARNING, "Pin versions in npm. Instead of `npm install <package>` use `npm install <package>@<version>`", WIKI "DL3016" },
	{ "DL3018", SEV_WARNING, "Pin versions in apk add. Instead of `apk add <package>` use `apk add <package>=<version>`", WIKI "DL3018" },
	{ "DL3019", SEV_INFO, "Use the `--no-cache` switch to avoid the need to use `--update` and remove `/var/cache/apk/*` when done installing packages", WIKI "DL3019" },
	{ "DL3020", SEV_ERROR, "Use COPY instead of ADD for files and folders", WIKI "DL3020" },
	{ "DL3021", SEV_ERROR, "COPY with more than 2 arguments requires the last argument to end with /", WIKI "DL3021" },
	{ "DL3022", SEV_WARNING, "COPY --from should reference a previously defined FROM alias", WIKI "DL3022" },
	{ "DL3023", SEV_ERROR, "COPY --from cannot reference its own FROM alias", WIKI "DL3023" },
	{ "DL3024", SEV_ERROR, "FROM aliases (stage names) must be unique", WIKI "DL3024" },
	{ "DL3025", SEV_WARNING, "Use arguments JSON notation for CMD and ENTRYPOINT arguments", WIKI "DL3025" },
	{ "DL3026", SEV_ERROR, "Use only an allowed registry in the FROM image", WIKI "DL3026" },
	{ "DL3027", SEV_WARNING, "Do not use apt as it is meant to be an end-user tool, use apt-get or apt-cache instead", WIKI "DL3027" },
	{ "DL3028", SEV_WARNING, "Pin versions in gem install. Instead of `gem install <gem>` use `gem install <gem>:<version>`", WIKI "DL3028" },
	{ "DL3029", SEV_WARNING, "Do not use --platform flag with FROM", WIKI "DL3029" },
	{ "DL3030", SEV_WARNING, "Use the -y switch to avoid manual input `yum install -y <package>`", WIKI "DL3030" },
	{ "DL3032", SEV_WARNING, "`yum clean all` missing after yum command", WIKI "DL3032" },
	{ "DL3033", SEV_WARNING, "Specify version with `yum install -y <package>-<version>`", WIKI "DL3033" },
	{ "DL3034", SEV_WARNING, "Non-interactive switch missing from `zypper` command: `zypper install -y`", WIKI "DL3034" },
	{ "DL3035", SEV_WARNING, "Do not use `zypper dist-upgrade`", WIKI "DL3035" },
	{ "DL3036", SEV_WARNING, "`zypper clean` missing after zypper use", WIKI "DL3036" },
	{ "DL3037", SEV_WARNING, "Specify version with `zypper install -y <package>=<version>`", WIKI "DL3037" },
	{ "DL3038", SEV_WARNING, "Use the -y switch to avoid manual input `dnf install -y <package>`", WIKI "DL3038" },
	{ "DL3040", SEV_WARNING, "`dnf clean all` missing after dnf command", WIKI "DL3040" },
	{ "DL3041", SEV_WARNING, "Specify version with `dnf install -y <package>-<version>`", WIKI "DL3041" },
	{ "DL3042", SEV_WARNING, "Avoid use of cache directory with pip. Use `pip install --no-cache-dir <package>`", WIKI "DL3042" },
	{ "DL3043", SEV_ERROR, "`ONBUILD`, `FROM` or `MAINTAINER` triggered from within `ONBUILD` instruction", WIKI "DL3043" },
	{ "DL3044", SEV_ERROR, "Do not refer to an environment variable within the same `ENV` statement where it is defined", WIKI "DL3044" },
	{ "DL3045", SEV_WARNING, "`COPY` to a relative destination without `WORKDIR` set", WIKI "DL3045" },
	{ "DL3046", SEV_WARNING, "`useradd` without flag `-l` and high UID will result in excessively large Image", WIKI "DL3046" },
	{ "DL3047", SEV_INFO, "`wget` without flag `--progress` will result in excessively bloated build logs when downloading larger files", WIKI "DL3047" },
	{ "DL3048", SEV_STYLE, "Invalid label key", WIKI "DL3048" },
	{ "DL3049", SEV_INFO, "Label is missing", WIKI "DL3049" },
	{ "DL3050", SEV_INFO, "Superfluous label(s) present", WIKI "DL3050" },
	{ "DL3051", SEV_WARNING, "Label is empty", WIKI "DL3051" },
	{ "DL3052", SEV_WARNING, "Label is not a valid URL", WIKI "DL3052" },
	{ "DL3053", SEV_WARNING, "Label is not a valid time format - must conform to RFC3339", WIKI "DL3053" },
	{ "DL3054", SEV_WARNING, "Label is not a valid SPDX license identifier", WIKI "DL3054" },
	{ "DL3055", SEV_WARNING, "Label is not a valid git hash", WIKI "DL3055" },
	{ "DL3056", SEV_WARNING, "Label does not conform to semantic versioning", WIKI "DL3056" },
	{ "DL3057", SEV_IGNORE, "HEALTHCHECK instruction missing", WIKI "DL3057" },
	{ "DL3058", SEV_WARNING, "Label is not a valid email format - must conform to RFC5322", WIKI "DL3058" },
	{ "DL3059", SEV_INFO, "Multiple consecutive `RUN` instructions. Consider consolidation", WIKI "DL3059" },
	{ "DL3060", SEV_INFO, "`yarn cache clean` missing after `yarn install` was run", WIKI "DL3060" },
	{ "DL3061", SEV_ERROR, "Invalid instruction order. Dockerfile must begin with `FROM`, `ARG` or comment", WIKI "DL3061" },
	{ "DL3062", SEV_WARNING, "Pin versions in go install. Instead of `go install <package>` use `go install <package>@<version>`", WIKI "DL3062" },
	{ "DL4000", SEV_ERROR, "MAINTAINER is deprecated", WIKI "DL4000" },
	{ "DL4001", SEV_WARNING, "Either use Wget or Curl but not both", WIKI "DL4001" },
	{ "DL4003", SEV_WARNING, "Multiple `CMD` instructions found. If you list more than one `CMD` then only the last `CMD` will take effect", WIKI "DL4003" },
	{ "DL4004", SEV_ERROR, "Multiple `ENTRYPOINT` instructions found. If you list more than one `ENTRYPOINT` then only the last `ENTRYPOINT` will take effect", WIKI "DL4004" },
	{ "DL4005", SEV_WARNING, "Use SHELL to change the default shell", WIKI "DL4005" },
	{ "DL4006", SEV_WARNING, "Set the SHELL option -o pipefail before RUN with a pipe in it. If you are using /bin/sh in an alpine image or if your shell is symlinked to busybox then consider explicitly setting your SHELL to /bin/ash, or disable this check", WIKI "DL4006" },
	{ "SC2002", SEV_STYLE, "Useless cat. Consider `cmd < file | ..` or `cmd file | ..` instead", SCWIKI "SC2002" },
	{ "SC2046", SEV_WARNING, "Quote this to prevent word splitting", SCWIKI "SC2046" },
	{ "SC2086", SEV_INFO, "Double quote to prevent globbing and word splitting", SCWIKI "SC2086" },
	{ "SC2164", SEV_WARNING, "Use `cd ... || exit` in case cd fails", SCWIKI "SC2164" },
};
#define NRULES (sizeof rules / sizeof *rules)

const struct rule_info *lint_rules(size_t *n)
{
	*n = NRULES;
	return rules;
}

int lint_rule_index(const char *id)
{
	return rule_info_find(rules, NRULES, id);
}

void lint_config_init(struct lint_config *c)
{
	memset(c, 0, sizeof *c);
	c->severity = rule_severities_new(rules, NRULES);
}

void lint_config_release(struct lint_config *c)
{
	free(c->severity);
	for (size_t i = 0; i < c->ntrusted; i++)
		free(c->trusted[i]);
	free(c->trusted);
	for (size_t i = 0; i < c->nlabels; i++)
		free(c->labels[i].name);
	free(c->labels);
	memset(c, 0, sizeof *c);
}

bool label_type_parse(const char *s, enum label_type *out)
{
	static const char *const names[] = { "text", "url", "semver", "hash", "rfc3339", "spdx", "email" };
	for (int i = 0; i < 7; i++)
		if (!strcasecmp(s, names[i])) {
			*out = (enum label_type)i;
			return true;
		}
	return false;
}

/* ---- context -------------------------------------------------------- */

struct ctx {
	const struct df_file *f;
	const char *file;
	const struct lint_config *cfg;
	struct findings *out;
	char **pragma;  /* ids ignored for the current instruction */
	char **global;  /* ids ignored in the whole file */
	bool *fired_once; /* per rule, for once-per-file rules */
};

static bool id_in(char **ids, const char *id)
{
	for (char **p = ids; p && *p; p++)
		if (!strcasecmp(*p, id))
			return true;
	return false;
}

static void emit(struct ctx *c, const char *id, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void emit(struct ctx *c, const char *id, int line, const char *fmt, ...)
{
	int i = lint_rule_index(id);
	if (i < 0)
		return;
	enum severity sev = c->cfg->severity[i];
	if (sev == SEV_IGNORE || id_in(c->pragma, id) || id_in(c->global, id))
		return;
	struct strbuf msg = STRBUF_INIT;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		sb_vaddf(&msg, fmt, ap);
		va_end(ap);
	} else {
		sb_adds(&msg, rules[i].title);
	}
	findings_add(c->out, rules[i].id, sev, c->file, line, 1, NULL, NULL, "%s", sb_str(&msg));
	sb_release(&msg);
}

#define FIRE(c, id, line) emit(c, id, line, NULL)

/* "hadolint ignore=DL3008,DL3015" -> ids appended to *ids */
static void parse_pragma(const char *text, const char *prefix, char ***ids)
{
	const char *p = text;
	if (strncasecmp(p, "hadolint", 8))
		return;
	p += 8;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t pl = strlen(prefix);
	if (strncasecmp(p, prefix, pl))
		return;
	p += pl;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '=')
		return;
	p++;
	size_t n = 0;
	while (*ids && (*ids)[n])
		n++;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *s = p;
		while (*p && *p != ',' && *p != ' ' && *p != '\t')
			p++;
		if (p > s) {
			*ids = xrealloc(*ids, (n + 2) * sizeof **ids);
			(*ids)[n++] = xstrndup(s, (size_t)(p - s));
			(*ids)[n] = NULL;
		}
	}
}

static void free_ids(char **ids)
{
	for (char **p = ids; p && *p; p++)
		free(*p);
	free(ids);
}

/* The "# hadolint ignore=" ids for instruction idx: pragmas in the comment
 * lines between the previous instruction and this one. */
static void load_pragmas(struct ctx *c, size_t idx)
{
	free_ids(c->pragma);
	c->pragma = NULL;
	if (c->cfg->disable_pragmas)
		return;
	const struct df_instr *in = &c->f->instrs[idx];
	int after = idx ? c->f->instrs[idx - 1].end_line : 0;
	for (size_t i = 0; i < c->f->ncomments; i++) {
		int l = c->f->comments[i].line;
		if (l > after && l < in->start_line)
			parse_pragma(c->f->comments[i].text, "ignore", &c->pragma);
	}
}

/* ---- helpers -------------------------------------------------------- */

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

static bool one_of(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

/* Unquote a Dockerfile word (variables kept). */
static char *unquote(const char *w, char esc)
{
	char *out = NULL;
	err_t *e = df_expand_word(w, esc, NULL, NULL, &out);
	if (e) {
		err_free(e);
		return xstrdup(w);
	}
	return out;
}

static bool is_windows_abs(const char *p)
{
	return isalpha((unsigned char)p[0]) && p[1] == ':' && (p[2] == '\\' || p[2] == '/' || p[2] == '\0');
}

/* A RUN's shell text: the heredoc script, the shell form string, or the
 * -c argument of an exec form running a shell. NULL when none. */
static const char *run_script(const struct df_instr *in)
{
	if (in->nheredocs && in->nargs == 1 && !in->json) {
		const char *a = in->args[0];
		while (*a == ' ')
			a++;
		if (a[0] == '<' && a[1] == '<' && !strchr(a, ' '))
			return in->heredocs[0].body;
	}
	if (!in->json)
		return in->nargs ? in->args[0] : NULL;
	if (in->nargs >= 3 && !strcmp(in->args[in->nargs - 2], "-c"))
		return in->args[in->nargs - 1];
	return NULL;
}

static bool has_cache_mount(const struct df_instr *in, const char *dir)
{
	for (size_t i = 0; i < in->nflags; i++) {
		if (strcmp(in->flags[i].name, "mount") || !in->flags[i].value)
			continue;
		const char *v = in->flags[i].value;
		if (!strstr(v, "type=cache"))
			continue;
		const char *t = strstr(v, "target=");
		if (!t)
			t = strstr(v, "dst=");
		if (!t)
			t = strstr(v, "destination=");
		if (t && strstr(t, dir))
			return true;
	}
	return false;
}

static bool cmd_is(const struct sh_cmd *c, const char *name)
{
	return !strcmp(sh_name(c), name);
}

/* The first positional argument (the subcommand) of a command. */
static const char *subcommand(const struct sh_cmd *c, const char *const *with_value)
{
	size_t n = 0;
	const char **pos = sh_positionals(c, with_value, &n);
	const char *s = n ? pos[0] : NULL;
	free(pos);
	return s;
}

static bool script_has(const struct sh_script *s, const char *name, const char *arg1, const char *arg2)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct sh_cmd *c = &s->cmds[i];
		if (!cmd_is(c, name))
			continue;
		bool a1 = !arg1, a2 = !arg2;
		for (size_t j = 0; j < sh_nargs(c); j++) {
			const char *a = sh_arg(c, j);
			if (arg1 && !strcmp(a, arg1))
				a1 = true;
			if (arg2 && !strcmp(a, arg2))
				a2 = true;
		}
		if (a1 && a2)
			return true;
	}
	return false;
}

/* rm -rf <path-prefix...> anywhere in the script */
static bool script_removes(const struct sh_script *s, const char *prefix)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct sh_cmd *c = &s->cmds[i];
		if (!cmd_is(c, "rm"))
			continue;
		for (size_t j = 0; j < sh_nargs(c); j++)
			if (starts_with(sh_arg(c, j), prefix))
				return true;
	}
	return false;
}

/* ---- package manager rules ------------------------------------------ */

static const char *const apt_with_value[] = { "-o", "-c", "-t", "--target-release", "--option", "--config-file", NULL };
static const char *const apk_with_value[] = { "-t", "--virtual", "-X", "--repository", "-p", "--root", "--arch",
					      "--keys-dir", "--repositories-file", "--cache-dir", NULL };
static const char *const yum_with_value[] = { "-c", "--config", "-x", "--exclude", "--enablerepo", "--disablerepo",
					      "--installroot", "--releasever", "--setopt", NULL };
static const char *const pip_with_value[] = { "-r", "--requirement", "-c", "--constraint", "-e", "--editable",
					      "-i", "--index-url", "--extra-index-url", "-f", "--find-links",
					      "-t", "--target", "--prefix", "--root", "--trusted-host", "--platform",
					      "--python-version", "--implementation", "--abi", "--src",
					      "--upgrade-strategy", "--progress-bar", "--cache-dir", "--log", "--proxy",
					      "--retries", "--timeout", "--exists-action", "--no-binary",
					      "--only-binary", NULL };
static const char *const npm_with_value[] = { "--prefix", "--registry", "--cache", "--tag", "-w", "--workspace",
					      "--loglevel", NULL };
static const char *const gem_with_value[] = { "-i", "--install-dir", "-n", "--bindir", "--source", "-s", "-P",
					      "--platform", "-v", "--version", NULL };
static const char *const go_with_value[] = { "-ldflags", "-gcflags", "-tags", "-o", "-mod", "-modfile", "-p", NULL };

/* Packages named after "install"-like subcommands. */
static const char **packages_after(const struct sh_cmd *c, const char *const *with_value, const char *const *subs,
				   size_t *n)
{
	size_t np = 0;
	const char **pos = sh_positionals(c, with_value, &np);
	if (np == 0 || !one_of(pos[0], subs)) {
		free(pos);
		*n = 0;
		return NULL;
	}
	memmove(pos, pos + 1, np * sizeof *pos);
	*n = np - 1;
	return pos;
}

static bool is_pip(const struct sh_cmd *c, size_t *skip)
{
	const char *n = sh_name(c);
	*skip = 0;
	if (!strcmp(n, "pip") || !strncmp(n, "pip3", 4) || !strncmp(n, "pip2", 4))
		return true;
	if (!strncmp(n, "python", 6) && sh_nargs(c) >= 2 && !strcmp(sh_arg(c, 0), "-m") &&
	    !strncmp(sh_arg(c, 1), "pip", 3)) {
		*skip = 2;
		return true;
	}
	return false;
}

static bool version_has_digit_after_dash(const char *p)
{
	for (const char *d = strchr(p, '-'); d; d = strchr(d + 1, '-'))
		if (isdigit((unsigned char)d[1]))
			return true;
	return false;
}

/* npm: name@version, a git URL with #ref, a tarball, or a folder. */
static bool npm_pinned(const char *p)
{
	static const char *const git[] = { "git://", "git+ssh://", "git+http://", "git+https://", NULL };
	static const char *const folders[] = { "/", "./", "../", "~/", NULL };
	for (const char *const *g = git; *g; g++)
		if (starts_with(p, *g))
			return strchr(p, '#') != NULL;
	if (ends_with(p, ".tar") || ends_with(p, ".tar.gz") || ends_with(p, ".tgz"))
		return true;
	for (const char *const *d = folders; *d; d++)
		if (starts_with(p, *d))
			return true;
	if (p[0] == '@') { /* @scope/name@version */
		const char *slash = strchr(p, '/');
		return slash && strchr(slash, '@');
	}
	return strchr(p, '@') != NULL;
}

/* pip: a version specifier, a VCS URL with @ref, a wheel/sdist, a path. */
static bool pip_pinned(const char *p)
{
	static const char *const ops[] = { "==", ">=", "<=", ">", "<", "!=", "~=", NULL };
	for (const char *const *o = ops; *o; o++)
		if (strstr(p, *o))
			return true;
	const char *scheme = strstr(p, "://");
	bool vcs = scheme && (starts_with(p, "git") || starts_with(p, "hg") || starts_with(p, "svn") ||
			      starts_with(p, "bzr"));
	if (vcs)
		return strchr(scheme + 3, '@') != NULL;
	if (ends_with(p, ".whl") || ends_with(p, ".tar.gz") || ends_with(p, ".zip"))
		return true;
	return strchr(p, '/') != NULL || p[0] == '$';
}

struct stage_state {
	const char *name;
	size_t index;
	bool workdir;
	int healthchecks, cmds, entrypoints;
	bool pipefail;  /* SHELL with -o pipefail, or a non-POSIX shell */
	bool pip_no_cache; /* ENV PIP_NO_CACHE_DIR */
	char **defined; /* ENV/ARG names defined so far */
	size_t ndefined;
};

static bool stage_defines(const struct stage_state *st, const char *name)
{
	for (size_t i = 0; i < st->ndefined; i++)
		if (!strcmp(st->defined[i], name))
			return true;
	return false;
}

static void stage_define(struct stage_state *st, const char *name)
{
	st->defined = xrealloc(st->defined, (st->ndefined + 1) * sizeof *st->defined);
	st->defined[st->ndefined++] = xstrdup(name);
}

static void stage_clear(struct stage_state *st)
{
	for (size_t i = 0; i < st->ndefined; i++)
		free(st->defined[i]);
	free(st->defined);
	memset(st, 0, sizeof *st);
}

struct file_state {
	bool curl, wget; /* seen in this stage (DL4001) */
	size_t run_commands; /* commands in this RUN (DL3059) */
};

static void check_packages(struct ctx *c, const struct df_instr *in, const struct sh_script *s,
			   const struct stage_state *st)
{
	static const char *const install[] = { "install", NULL };
	static const char *const yum_install[] = { "install", "groupinstall", "localinstall", "reinstall", NULL };
	static const char *const zypper_install[] = { "install", "in", NULL };
	static const char *const zypper_nonint[] = { "install", "in", "remove", "rm", "source-install", "si", "patch", NULL };
	static const char *const npm_install[] = { "install", "i", "add", NULL };
	static const char *const apk_add[] = { "add", NULL };
	int line = in->start_line;
	bool dl3008 = false, dl3014 = false, dl3015 = false, dl3018 = false, dl3019 = false, dl3013 = false,
	     dl3042 = false, dl3016 = false, dl3028 = false, dl3062 = false, dl3030 = false, dl3033 = false,
	     dl3034 = false, dl3037 = false, dl3038 = false, dl3041 = false, dl3035 = false;
	bool yum_used = false, dnf_used = false, zypper_used = false, yarn_install = false;
	for (size_t i = 0; i < s->n; i++) {
		const struct sh_cmd *k = &s->cmds[i];
		const char *name = sh_name(k);
		size_t np = 0;
		const char **pk = NULL;
		if (!strcmp(name, "apt-get") && (pk = packages_after(k, apt_with_value, install, &np))) {
			for (size_t j = 0; j < np; j++)
				if (!strchr(pk[j], '=') && !ends_with(pk[j], ".deb"))
					dl3008 = true;
			static const char *const yes[] = { "--yes", "--assume-yes", "--quiet=2", NULL };
			int q = 0;
			for (size_t j = 0; j < sh_nargs(k); j++) {
				const char *a = sh_arg(k, j);
				if (a[0] == '-' && a[1] != '-')
					for (const char *p = a + 1; *p; p++)
						q += *p == 'q';
				if (!strcmp(a, "-q=2"))
					q += 2;
			}
			if (!sh_has_opt(k, "y", yes) && q < 2)
				dl3014 = true;
			bool norec = sh_has_opt(k, NULL, (const char *const[]){ "--no-install-recommends", NULL });
			for (size_t j = 0; j < sh_nargs(k); j++)
				if (strstr(sh_arg(k, j), "APT::Install-Recommends=false") ||
				    strstr(sh_arg(k, j), "APT::Install-Recommends=0"))
					norec = true;
			if (!norec)
				dl3015 = true;
		} else if (!strcmp(name, "apk") && (pk = packages_after(k, apk_with_value, apk_add, &np))) {
			for (size_t j = 0; j < np; j++)
				if (!strchr(pk[j], '=') && !ends_with(pk[j], ".apk"))
					dl3018 = true;
			if (!sh_has_opt(k, NULL, (const char *const[]){ "--no-cache", NULL }) &&
			    !has_cache_mount(in, "/var/cache/apk"))
				dl3019 = true;
		} else if (!strcmp(name, "npm") && (pk = packages_after(k, npm_with_value, npm_install, &np))) {
			for (size_t j = 0; j < np; j++)
				if (!npm_pinned(pk[j]))
					dl3016 = true;
		} else if (!strcmp(name, "gem") && (pk = packages_after(k, gem_with_value, install, &np))) {
			if (!sh_has_opt(k, "v", (const char *const[]){ "--version", NULL }))
				for (size_t j = 0; j < np; j++)
					if (!strchr(pk[j], ':') && !ends_with(pk[j], ".gem"))
						dl3028 = true;
		} else if (!strcmp(name, "go") && (pk = packages_after(k, go_with_value, install, &np))) {
			for (size_t j = 0; j < np; j++) {
				const char *at = strchr(pk[j], '@');
				if (!at || !strcmp(at, "@latest"))
					dl3062 = true;
			}
		} else if (!strcmp(name, "yum")) {
			yum_used = true;
			if ((pk = packages_after(k, yum_with_value, yum_install, &np))) {
				if (!sh_has_opt(k, "y", (const char *const[]){ "--assumeyes", NULL }))
					dl3030 = true;
				for (size_t j = 0; j < np; j++)
					if (!version_has_digit_after_dash(pk[j]) && !ends_with(pk[j], ".rpm"))
						dl3033 = true;
			}
		} else if (!strcmp(name, "dnf") || !strcmp(name, "microdnf")) {
			dnf_used = true;
			if ((pk = packages_after(k, yum_with_value, yum_install, &np))) {
				if (!sh_has_opt(k, "y", (const char *const[]){ "--assumeyes", NULL }))
					dl3038 = true;
				for (size_t j = 0; j < np; j++)
					if (!version_has_digit_after_dash(pk[j]) && !ends_with(pk[j], ".rpm"))
						dl3041 = true;
			}
		} else if (!strcmp(name, "zypper")) {
			const char *sub = subcommand(k, NULL);
			if (sub && one_of(sub, zypper_nonint)) {
				zypper_used = true;
				if (!sh_has_opt(k, "ny", (const char *const[]){ "--non-interactive", "--no-confirm", NULL }))
					dl3034 = true;
			}
			if (sub && (!strcmp(sub, "dist-upgrade") || !strcmp(sub, "dup")))
				dl3035 = true;
			if ((pk = packages_after(k, NULL, zypper_install, &np)))
				for (size_t j = 0; j < np; j++)
					if (!strpbrk(pk[j], "=<>") && !ends_with(pk[j], ".rpm"))
						dl3037 = true;
		} else if (!strcmp(name, "yarn")) {
			const char *sub = subcommand(k, NULL);
			if (sub && !strcmp(sub, "install"))
				yarn_install = true;
		} else {
			size_t skip = 0;
			if (is_pip(k, &skip)) {
				size_t npos = 0;
				const char **pos = sh_positionals(k, pip_with_value, &npos);
				size_t from = skip; /* "python -m pip": positionals start with "pip" */
				if (from && npos && !strncmp(pos[0], "pip", 3))
					from = 1;
				else
					from = 0;
				if (npos > from && !strcmp(pos[from], "install")) {
					/* requirements, constraints or the local project: pinned elsewhere */
					bool elsewhere = sh_has_opt(k, "rc", (const char *const[]){ "--requirement", "--constraint", NULL });
					for (size_t j = from + 1; j < npos; j++)
						if (!strcmp(pos[j], "."))
							elsewhere = true;
					for (size_t j = from + 1; j < npos && !elsewhere; j++)
						if (!pip_pinned(pos[j]))
							dl3013 = true;
					if (!sh_has_opt(k, NULL, (const char *const[]){ "--no-cache-dir", NULL }) &&
					    !st->pip_no_cache && !has_cache_mount(in, ".cache/pip"))
						dl3042 = true;
				}
				free(pos);
			}
		}
		free(pk);
	}
	if (dl3008)
		FIRE(c, "DL3008", line);
	if (dl3014)
		FIRE(c, "DL3014", line);
	if (dl3015)
		FIRE(c, "DL3015", line);
	if (dl3018)
		FIRE(c, "DL3018", line);
	if (dl3019)
		FIRE(c, "DL3019", line);
	if (dl3013)
		FIRE(c, "DL3013", line);
	if (dl3042)
		FIRE(c, "DL3042", line);
	if (dl3016)
		FIRE(c, "DL3016", line);
	if (dl3028)
		FIRE(c, "DL3028", line);
	if (dl3062)
		FIRE(c, "DL3062", line);
	if (dl3030)
		FIRE(c, "DL3030", line);
	if (dl3033)
		FIRE(c, "DL3033", line);
	if (dl3038)
		FIRE(c, "DL3038", line);
	if (dl3041)
		FIRE(c, "DL3041", line);
	if (dl3034)
		FIRE(c, "DL3034", line);
	if (dl3035)
		FIRE(c, "DL3035", line);
	if (dl3037)
		FIRE(c, "DL3037", line);
	if (yum_used && sh_uses(s, "yum", "install") && !script_has(s, "yum", "clean", "all") &&
	    !script_removes(s, "/var/cache/yum") && !has_cache_mount(in, "/var/cache/yum"))
		FIRE(c, "DL3032", line);
	if (dnf_used && (sh_uses(s, "dnf", "install") || sh_uses(s, "microdnf", "install")) &&
	    !script_has(s, "dnf", "clean", "all") && !script_has(s, "microdnf", "clean", "all") &&
	    !script_removes(s, "/var/cache/dnf") && !script_removes(s, "/var/cache/yum") &&
	    !has_cache_mount(in, "/var/cache/dnf"))
		FIRE(c, "DL3040", line);
	if (zypper_used && (sh_uses(s, "zypper", "install") || sh_uses(s, "zypper", "in")) &&
	    !script_has(s, "zypper", "clean", NULL) && !script_has(s, "zypper", "cc", NULL) &&
	    !has_cache_mount(in, "/var/cache/zypp"))
		FIRE(c, "DL3036", line);
	if (yarn_install && !script_has(s, "yarn", "cache", "clean") && !has_cache_mount(in, "yarn"))
		FIRE(c, "DL3060", line);
}

/* ---- other RUN rules ------------------------------------------------ */

static void check_run_commands(struct ctx *c, const struct df_instr *in, const struct sh_script *s,
			       const struct stage_state *st, struct file_state *fs)
{
	static const char *const pointless[] = { "ssh", "vim", "shutdown", "service", "ps", "free", "top", "kill",
						 "mount", "ifconfig", "nano", NULL };
	int line = in->start_line;
	bool dl3001 = false, dl3003 = false, dl3004 = false, dl3027 = false, dl3046 = false, dl3047 = false,
	     dl4005 = false, pipe = false, set_pipefail = false, sc2002 = false, sc2046 = false, sc2086 = false,
	     sc2164 = false, uses_fetcher = false;
	for (size_t i = 0; i < s->n; i++) {
		const struct sh_cmd *k = &s->cmds[i];
		const char *name = sh_name(k);
		if (one_of(name, pointless))
			dl3001 = true;
		if (!strcmp(name, "cd")) {
			dl3003 = true;
			if (k->sep == SH_SEMI || k->sep == SH_PIPE || k->sep == SH_BG)
				sc2164 = true;
		}
		if (!strcmp(name, "sudo"))
			dl3004 = true;
		if (!strcmp(name, "apt"))
			dl3027 = true;
		if (!strcmp(name, "curl"))
			fs->curl = uses_fetcher = true;
		if (!strcmp(name, "wget")) {
			fs->wget = uses_fetcher = true;
			static const char *const quiet[] = { "--progress", "--quiet", "--no-verbose", "--output-file",
							     "--append-output", NULL };
			if (!sh_has_opt(k, "qoa", quiet) &&
			    !sh_has_opt(k, NULL, (const char *const[]){ "-nv", NULL }))
				dl3047 = true;
			for (size_t j = 0; j < sh_nargs(k); j++)
				if (!strcmp(sh_arg(k, j), "-nv"))
					dl3047 = false;
		}
		if (!strcmp(name, "useradd")) {
			bool l = sh_has_opt(k, "l", (const char *const[]){ "--no-log-init", NULL });
			for (size_t j = 0; j + 1 < sh_nargs(k); j++) {
				const char *a = sh_arg(k, j);
				if (!strcmp(a, "-u") || !strcmp(a, "--uid")) {
					const char *uid = sh_arg(k, j + 1);
					if (strlen(uid) > 5 && strspn(uid, "0123456789") == strlen(uid) && !l)
						dl3046 = true;
				}
			}
		}
		if (!strcmp(name, "ln"))
			for (size_t j = 0; j < sh_nargs(k); j++)
				if (!strcmp(sh_arg(k, j), "/bin/sh"))
					dl4005 = true;
		if (k->sep == SH_PIPE)
			pipe = true;
		if (!strcmp(name, "set") && !pipe) {
			for (size_t j = 0; j + 1 < sh_nargs(k); j++)
				if (sh_arg(k, j)[0] == '-' && strchr(sh_arg(k, j), 'o') &&
				    !strcmp(sh_arg(k, j + 1), "pipefail"))
					set_pipefail = true;
		}
		if (!strcmp(name, "cat") && k->sep == SH_PIPE && k->prev != SH_PIPE) {
			size_t np = 0;
			const char **pos = sh_positionals(k, NULL, &np);
			if (np == 1 && sh_nargs(k) == 1)
				sc2002 = true;
			free(pos);
		}
		if (strcmp(name, "[[")) {
			for (size_t j = k->name; j < k->nwords; j++) {
				const struct sh_word *w = &k->words[j];
				if (w->unquoted_subst)
					sc2046 = true;
				if (w->unquoted_var)
					sc2086 = true;
			}
		}
	}
	if (dl3001)
		FIRE(c, "DL3001", line);
	if (dl3003)
		FIRE(c, "DL3003", line);
	if (dl3004)
		FIRE(c, "DL3004", line);
	if (dl3027)
		FIRE(c, "DL3027", line);
	if (dl3046)
		FIRE(c, "DL3046", line);
	if (dl3047)
		FIRE(c, "DL3047", line);
	if (dl4005)
		FIRE(c, "DL4005", line);
	if (pipe && !set_pipefail && !st->pipefail)
		FIRE(c, "DL4006", line);
	if (sc2002)
		FIRE(c, "SC2002", line);
	if (sc2046)
		FIRE(c, "SC2046", line);
	if (sc2086)
		FIRE(c, "SC2086", line);
	if (sc2164)
		FIRE(c, "SC2164", line);
	if (uses_fetcher && fs->curl && fs->wget)
		FIRE(c, "DL4001", line);
	fs->run_commands = 0;
	for (size_t i = 0; i < s->n; i++)
		fs->run_commands += *sh_name(&s->cmds[i]) != '\0';
}

/* ---- labels --------------------------------------------------------- */

static bool valid_label_key(const char *k)
{
	size_t n = strlen(k);
	if (!n || !(k[0] >= 'a' && k[0] <= 'z'))
		return false;
	char last = k[n - 1];
	if (!((last >= 'a' && last <= 'z') || (last >= '0' && last <= '9')))
		return false;
	for (const char *p = k; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			return false;
	if (strstr(k, "..") || strstr(k, "--"))
		return false;
	return !starts_with(k, "com.docker.") && !starts_with(k, "io.docker.") && !starts_with(k, "org.dockerproject.");
}

static bool valid_url(const char *v)
{
	const char *p = strstr(v, "://");
	if (!p || p == v)
		return false;
	for (const char *s = v; s < p; s++)
		if (!(isalnum((unsigned char)*s) || *s == '+' || *s == '-' || *s == '.'))
			return false;
	if (!isalpha((unsigned char)v[0]))
		return false;
	p += 3;
	if (!*p || *p == '/')
		return false;
	for (; *p; p++)
		if (isspace((unsigned char)*p))
			return false;
	return true;
}

static bool digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool valid_rfc3339(const char *v)
{
	/* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
	if (strlen(v) < 20 || !digits(v, 4) || v[4] != '-' || !digits(v + 5, 2) || v[7] != '-' || !digits(v + 8, 2) ||
	    (v[10] != 'T' && v[10] != 't' && v[10] != ' ') || !digits(v + 11, 2) || v[13] != ':' || !digits(v + 14, 2) ||
	    v[16] != ':' || !digits(v + 17, 2))
		return false;
	int mo = atoi(v + 5), d = atoi(v + 8), h = atoi(v + 11), mi = atoi(v + 14), s = atoi(v + 17);
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		return false;
	const char *p = v + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if ((*p == 'Z' || *p == 'z') && !p[1])
		return true;
	return (*p == '+' || *p == '-') && strlen(p) == 6 && digits(p + 1, 2) && p[3] == ':' && digits(p + 4, 2);
}

static bool valid_semver(const char *v)
{
	const char *p = v;
	for (int part = 0; part < 3; part++) {
		if (!isdigit((unsigned char)*p))
			return false;
		if (*p == '0' && isdigit((unsigned char)p[1]))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
		if (part < 2) {
			if (*p != '.')
				return false;
			p++;
		}
	}
	if (*p == '-') {
		p++;
		if (!*p || *p == '.' || *p == '+')
			return false;
		while (*p && *p != '+') {
			if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '.'))
				return false;
			if (*p == '.' && (p[1] == '.' || p[1] == '\0' || p[1] == '+'))
				return false;
			p++;
		}
	}
	if (*p == '+') {
		p++;
		if (!*p)
			return false;
		for (; *p; p++)
			if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '.'))
				return false;
	}
	return *p == '\0';
}

static bool valid_hash(const char *v)
{
	size_t n = strlen(v);
	if (n != 40 && n != 7 && n != 64)
		return false;
	for (const char *p = v; *p; p++)
		if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
			return false;
	return true;
}

static bool valid_spdx(const char *v)
{
	static const char *const ids[] = {
		"0BSD", "AFL-3.0", "AGPL-3.0", "AGPL-3.0-only", "AGPL-3.0-or-later", "Apache-1.1", "Apache-2.0",
		"APSL-2.0", "Artistic-2.0", "BSD-1-Clause", "BSD-2-Clause", "BSD-3-Clause", "BSD-4-Clause", "BSL-1.0",
		"CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "CDDL-1.0", "CDDL-1.1", "EPL-1.0", "EPL-2.0", "EUPL-1.1",
		"EUPL-1.2", "GPL-1.0-only", "GPL-2.0", "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0", "GPL-3.0-only",
		"GPL-3.0-or-later", "ISC", "LGPL-2.0-only", "LGPL-2.1", "LGPL-2.1-only", "LGPL-2.1-or-later", "LGPL-3.0",
		"LGPL-3.0-only", "LGPL-3.0-or-later", "MIT", "MIT-0", "MPL-1.1", "MPL-2.0", "MS-PL", "MS-RL", "NCSA",
		"OFL-1.1", "OpenSSL", "OSL-3.0", "PHP-3.01", "PostgreSQL", "PSF-2.0", "Python-2.0", "Ruby", "Unlicense",
		"UPL-1.0", "Vim", "W3C", "WTFPL", "X11", "Zlib", "ZPL-2.1", NULL,
	};
	/* compound expressions: every identifier must be known */
	char *copy = xstrdup(v);
	bool ok = true, any = false;
	for (char *save = NULL, *t = strtok_r(copy, " ()", &save); t; t = strtok_r(NULL, " ()", &save)) {
		if (!strcmp(t, "AND") || !strcmp(t, "OR") || !strcmp(t, "WITH"))
			continue;
		size_t n = strlen(t);
		if (n && t[n - 1] == '+')
			t[n - 1] = '\0';
		bool known = false;
		for (const char *const *id = ids; *id; id++)
			if (!strcasecmp(*id, t))
				known = true;
		if (!known && !starts_with(t, "LicenseRef-"))
			ok = false;
		any = true;
	}
	free(copy);
	return ok && any;
}

static bool valid_email(const char *v)
{
	const char *at = strchr(v, '@');
	if (!at || at == v || strchr(at + 1, '@'))
		return false;
	const char *dot = strrchr(at, '.');
	if (!dot || dot == at + 1 || !dot[1])
		return false;
	for (const char *p = v; *p; p++)
		if (isspace((unsigned char)*p) || *p == '<' || *p == '>' || *p == ',')
			return false;
	return true;
}

static void check_label(struct ctx *c, const struct df_instr *in)
{
	const struct lint_config *cfg = c->cfg;
	for (size_t i = 0; i < in->nkvs; i++) {
		const char *k = in->kvs[i].key;
		const char *v = in->kvs[i].value ? in->kvs[i].value : "";
		if (!valid_label_key(k))
			emit(c, "DL3048", in->start_line, "Invalid label key: %s", k);
		const struct label_rule *lr = NULL;
		for (size_t j = 0; j < cfg->nlabels; j++)
			if (!strcmp(cfg->labels[j].name, k))
				lr = &cfg->labels[j];
		if (!lr) {
			if (cfg->strict_labels && cfg->nlabels)
				emit(c, "DL3050", in->start_line, "Superfluous label present: %s", k);
			continue;
		}
		if (!*v) {
			emit(c, "DL3051", in->start_line, "Label `%s` is empty", k);
			continue;
		}
		if (strchr(v, '$'))
			continue; /* known only at build time */
		switch (lr->type) {
		case LABEL_URL:
			if (!valid_url(v))
				emit(c, "DL3052", in->start_line, "Label `%s` is not a valid URL", k);
			break;
		case LABEL_RFC3339:
			if (!valid_rfc3339(v))
				emit(c, "DL3053", in->start_line, "Label `%s` is not a valid time format - must conform to RFC3339", k);
			break;
		case LABEL_SPDX:
			if (!valid_spdx(v))
				emit(c, "DL3054", in->start_line, "Label `%s` is not a valid SPDX license identifier", k);
			break;
		case LABEL_HASH:
			if (!valid_hash(v))
				emit(c, "DL3055", in->start_line, "Label `%s` is not a valid git hash", k);
			break;
		case LABEL_SEMVER:
			if (!valid_semver(v))
				emit(c, "DL3056", in->start_line, "Label `%s` does not conform to semantic versioning", k);
			break;
		case LABEL_EMAIL:
			if (!valid_email(v))
				emit(c, "DL3058", in->start_line, "Label `%s` is not a valid email format - must conform to RFC5322", k);
			break;
		default:
			break;
		}
	}
}

/* ---- instruction rules ---------------------------------------------- */

static bool is_archive(const char *p)
{
	static const char *const exts[] = { ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tbz2", ".tb2", ".tar.xz",
					    ".txz", ".tar.lz", ".tlz", ".tar.lzma", ".tar.Z", ".tZ", ".gz", ".bz2",
					    ".xz", ".lz", ".lzma", ".Z", ".zip", NULL };
	for (const char *const *e = exts; *e; e++)
		if (ends_with(p, *e))
			return true;
	return false;
}

static bool is_url(const char *p)
{
	return starts_with(p, "http://") || starts_with(p, "https://") || starts_with(p, "git@") ||
	       starts_with(p, "git://") || ends_with(p, ".git");
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static bool port_ok(const char *s)
{
	if (!*s || strchr(s, '$'))
		return true;
	char *end = NULL;
	long v = strtol(s, &end, 10);
	if (end == s)
		return true; /* not a number: not ours to judge */
	if (*end == '-') {
		const char *b = end + 1;
		long w = strtol(b, &end, 10);
		if (end == b)
			return true;
		return v >= 0 && v <= 65535 && w >= 0 && w <= 65535 && (*end == '\0' || *end == '/');
	}
	return v >= 0 && v <= 65535;
}

static char *registry_of(const char *image)
{
	const char *slash = strchr(image, '/');
	if (!slash)
		return xstrdup("docker.io");
	size_t n = (size_t)(slash - image);
	if (memchr(image, '.', n) || memchr(image, ':', n) || (n == 9 && !strncmp(image, "localhost", 9)))
		return xstrndup(image, n);
	return xstrdup("docker.io");
}

static bool registry_trusted(const struct lint_config *cfg, const char *reg)
{
	for (size_t i = 0; i < cfg->ntrusted; i++) {
		const char *t = cfg->trusted[i];
		if (!strcasecmp(t, reg))
			return true;
		if ((!strcasecmp(t, "docker.io") || !strcasecmp(t, "index.docker.io") ||
		     !strcasecmp(t, "registry-1.docker.io")) && !strcmp(reg, "docker.io"))
			return true;
		/* "*.example.com" */
		if (t[0] == '*' && t[1] == '.' && ends_with(reg, t + 1))
			return true;
	}
	return false;
}

static bool is_root_user(const char *u)
{
	char *copy = xstrdup(u);
	char *colon = strchr(copy, ':');
	if (colon)
		*colon = '\0';
	bool root = !strcmp(copy, "root") || !strcmp(copy, "0");
	free(copy);
	return root;
}

struct stages {
	char **names; /* stage names so far (NULL entries for unnamed) */
	bool *workdir;
	bool *health;     /* a HEALTHCHECK in the stage or its parent stage (DL3057) */
	ssize_t *root_user; /* instruction of the stage's last USER if root, else -1 (DL3002) */
	size_t *from;     /* instruction index of the stage's FROM */
	size_t n;
};

static ssize_t stage_lookup(const struct stages *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->names[i] && !strcasecmp(s->names[i], name))
			return (ssize_t)i;
	return -1;
}

/* DL3044: ENV A=1 B=$A */
static void check_env_self_reference(struct ctx *c, const struct df_instr *in, const struct stage_state *st)
{
	for (size_t i = 1; i < in->nkvs; i++) {
		const char *v = in->kvs[i].raw_value;
		if (!v)
			continue;
		for (size_t j = 0; j < i; j++) {
			const char *k = in->kvs[j].key;
			if (stage_defines(st, k))
				continue;
			size_t kl = strlen(k);
			for (const char *p = strchr(v, '$'); p; p = strchr(p + 1, '$')) {
				const char *q = p + 1;
				if (*q == '{')
					q++;
				if (!strncmp(q, k, kl) && !(isalnum((unsigned char)q[kl]) || q[kl] == '_')) {
					emit(c, "DL3044", in->start_line,
					     "Do not refer to an environment variable within the same `ENV` statement where it is defined: %s",
					     k);
					goto next;
				}
			}
		}
	next:;
	}
}

struct pending_archive {
	char *base;
	int line;
	size_t stage;
	bool fired;
};

void lint_dockerfile(const struct df_file *f, const char *name, const struct lint_config *cfg, struct findings *out)
{
	struct ctx c = { .f = f, .file = name, .cfg = cfg, .out = out };
	if (!cfg->disable_pragmas)
		for (size_t i = 0; i < f->ncomments; i++)
			parse_pragma(f->comments[i].text, "global ignore", &c.global);

	struct stages stages = { 0 };
	struct stage_state st = { 0 };
	struct file_state fs = { 0 };
	struct pending_archive *arch = NULL;
	size_t narch = 0;
	bool seen_from = false, dl3061_done = false;
	int first_from_line = 0;
	const struct df_instr *prev = NULL;
	size_t prev_run_commands = 0;
	/* DL3009: RUNs with apt-get update and no cleanup, per stage */
	size_t *apt_lines = NULL; /* instruction indexes */
	size_t *apt_stage = NULL;
	size_t napt = 0;
	char **from_refs = NULL; /* stage names used as a later FROM base */
	size_t nfrom_refs = 0;

	for (size_t ii = 0; ii < f->ninstrs; ii++) {
		const struct df_instr *in = &f->instrs[ii];
		load_pragmas(&c, ii);
		int line = in->start_line;

		if (in->kw != DF_FROM && in->kw != DF_ARG && !seen_from && !dl3061_done) {
			dl3061_done = true;
			FIRE(&c, "DL3061", line);
		}

		switch (in->kw) {
		case DF_FROM: {
			if (seen_from)
				stage_clear(&st);
			seen_from = true;
			if (!first_from_line)
				first_from_line = line;
			const char *image = in->nargs ? in->args[0] : "";
			const char *alias = in->nargs == 3 ? in->args[2] : NULL;
			ssize_t parent = stage_lookup(&stages, image);
			st.index = stages.n;
			st.name = alias;
			if (parent >= 0) {
				st.workdir = stages.workdir[parent];
				from_refs = xrealloc(from_refs, (nfrom_refs + 1) * sizeof *from_refs);
				from_refs[nfrom_refs++] = stages.names[parent];
			}
			bool variable = strchr(image, '$') != NULL;
			if (parent < 0 && strcmp(image, "scratch") && !variable) {
				const char *slash = strrchr(image, '/');
				const char *tagc = strchr(slash ? slash : image, ':');
				const char *digest = strchr(image, '@');
				if (!tagc && !digest)
					emit(&c, "DL3006", line, "Always tag the version of an image explicitly: %s", image);
				else if (tagc && !digest && !strcmp(tagc + 1, "latest"))
					FIRE(&c, "DL3007", line);
				if (cfg->ntrusted) {
					char *reg = registry_of(image);
					if (!registry_trusted(cfg, reg))
						emit(&c, "DL3026", line, "Use only an allowed registry in the FROM image: %s", reg);
					free(reg);
				}
			}
			const char *platform = df_flag_get(in, "platform", NULL);
			if (platform && !strchr(platform, '$'))
				emit(&c, "DL3029", line, "Do not use --platform flag with FROM: %s", platform);
			if (alias && stage_lookup(&stages, alias) >= 0)
				emit(&c, "DL3024", line, "FROM aliases (stage names) must be unique: %s", alias);
			stages.names = xrealloc(stages.names, (stages.n + 1) * sizeof *stages.names);
			stages.workdir = xrealloc(stages.workdir, (stages.n + 1) * sizeof *stages.workdir);
			stages.health = xrealloc(stages.health, (stages.n + 1) * sizeof *stages.health);
			stages.root_user = xrealloc(stages.root_user, (stages.n + 1) * sizeof *stages.root_user);
			stages.from = xrealloc(stages.from, (stages.n + 1) * sizeof *stages.from);
			stages.names[stages.n] = alias ? xstrdup(alias) : NULL;
			stages.workdir[stages.n] = st.workdir;
			stages.health[stages.n] = parent >= 0 && stages.health[parent];
			stages.root_user[stages.n] = -1;
			stages.from[stages.n] = ii;
			stages.n++;
			fs.curl = fs.wget = false;
			break;
		}
		case DF_RUN: {
			const char *script = run_script(in);
			struct sh_script s;
			if (script)
				sh_parse(script, &s);
			else if (in->json) {
				/* exec form: one command with these words */
				struct strbuf joined = STRBUF_INIT;
				for (size_t k = 0; k < in->nargs; k++) {
					if (k)
						sb_addc(&joined, ' ');
					sb_addc(&joined, '\'');
					for (const char *p = in->args[k]; *p; p++)
						if (*p == '\'')
							sb_adds(&joined, "'\\''");
						else
							sb_addc(&joined, *p);
					sb_addc(&joined, '\'');
				}
				sh_parse(sb_str(&joined), &s);
				sb_release(&joined);
			} else {
				memset(&s, 0, sizeof s);
			}
			size_t ncommands = 0;
			for (size_t k = 0; k < s.n; k++)
				ncommands += *sh_name(&s.cmds[k]) != '\0';
			/* DL3059: consecutive RUNs with the same flags, unless either
			 * already chains more than two commands */
			if (prev && prev->kw == DF_RUN && prev->nflags == in->nflags && prev_run_commands <= 2 &&
			    ncommands <= 2) {
				bool same = true;
				for (size_t k = 0; k < in->nflags; k++)
					if (strcmp(in->flags[k].name, prev->flags[k].name) ||
					    strcmp(in->flags[k].value ? in->flags[k].value : "",
						   prev->flags[k].value ? prev->flags[k].value : ""))
						same = false;
				if (same)
					FIRE(&c, "DL3059", line);
			}
			prev_run_commands = ncommands;
			check_packages(&c, in, &s, &st);
			check_run_commands(&c, in, &s, &st, &fs);
			if (sh_uses(&s, "apt-get", "update") && !script_has(&s, "rm", "-rf", "/var/lib/apt/lists/*") &&
			    !script_removes(&s, "/var/lib/apt/lists") && !has_cache_mount(in, "/var/lib/apt/lists") &&
			    !(has_cache_mount(in, "/var/lib/apt") && has_cache_mount(in, "/var/cache/apt"))) {
				apt_lines = xrealloc(apt_lines, (napt + 1) * sizeof *apt_lines);
				apt_stage = xrealloc(apt_stage, (napt + 1) * sizeof *apt_stage);
				apt_lines[napt] = ii;
				apt_stage[napt] = st.index;
				napt++;
			}
			/* DL3010: an archive copied earlier, extracted here */
			for (size_t a = 0; a < narch; a++) {
				if (arch[a].fired || arch[a].stage != st.index)
					continue;
				for (size_t k = 0; k < s.n; k++) {
					const struct sh_cmd *kc = &s.cmds[k];
					bool extract = cmd_is(kc, "unzip") || cmd_is(kc, "gunzip") || cmd_is(kc, "bunzip2") ||
						       cmd_is(kc, "unxz");
					if (cmd_is(kc, "tar"))
						for (size_t j = 0; j < sh_nargs(kc); j++) {
							const char *a1 = sh_arg(kc, j);
							if ((a1[0] == '-' && a1[1] != '-' && strchr(a1, 'x')) ||
							    !strcmp(a1, "--extract") || (j == 0 && a1[0] != '-' && strchr(a1, 'x')))
								extract = true;
						}
					if (!extract)
						continue;
					for (size_t j = 0; j < sh_nargs(kc); j++)
						if (!strcmp(base_name(sh_arg(kc, j)), arch[a].base)) {
							arch[a].fired = true;
							int saved = line;
							(void)saved;
							FIRE(&c, "DL3010", arch[a].line);
						}
				}
			}
			sh_release(&s);
			break;
		}
		case DF_COPY:
		case DF_ADD: {
			const char *from = in->kw == DF_COPY ? df_flag_get(in, "from", NULL) : NULL;
			if (from && !strchr(from, '$')) {
				bool numeric = *from && strspn(from, "0123456789") == strlen(from);
				if (st.name && !strcasecmp(from, st.name))
					emit(&c, "DL3023", line, "COPY --from cannot reference its own FROM alias: %s", from);
				else if (numeric ? (size_t)atol(from) >= st.index
						 : (stage_lookup(&stages, from) < 0 && !strchr(from, ':') && !strchr(from, '/')))
					emit(&c, "DL3022", line, "COPY --from should reference a previously defined FROM alias: %s", from);
			}
			if (in->nheredocs || in->nargs < 2)
				break;
			char *dest = unquote(in->args[in->nargs - 1], f->escape);
			if (in->kw == DF_COPY && in->nargs > 2 && !ends_with(dest, "/") && !ends_with(dest, "\\") &&
			    !(dest[0] == '$' && !strchr(dest, '/')))
				FIRE(&c, "DL3021", line);
			if (!st.workdir && dest[0] != '/' && dest[0] != '$' && !is_windows_abs(dest) && dest[0] != '\\')
				FIRE(&c, "DL3045", line);
			if (in->kw == DF_ADD) {
				bool all_local = true;
				for (size_t k = 0; k + 1 < in->nargs; k++) {
					char *src = unquote(in->args[k], f->escape);
					if (is_url(src) || is_archive(src))
						all_local = false;
					free(src);
				}
				if (all_local)
					FIRE(&c, "DL3020", line);
			} else if (!from) {
				for (size_t k = 0; k + 1 < in->nargs; k++) {
					char *src = unquote(in->args[k], f->escape);
					if (is_archive(src) && !strpbrk(src, "*?")) {
						arch = xrealloc(arch, (narch + 1) * sizeof *arch);
						arch[narch].base = xstrdup(base_name(src));
						arch[narch].line = line;
						arch[narch].stage = st.index;
						arch[narch].fired = false;
						narch++;
					}
					free(src);
				}
			}
			free(dest);
			break;
		}
		case DF_WORKDIR: {
			char *d = unquote(in->args[0], f->escape);
			if (d[0] != '/' && d[0] != '$' && !is_windows_abs(d))
				emit(&c, "DL3000", line, "Use absolute WORKDIR: %s", d);
			free(d);
			st.workdir = true;
			if (stages.n)
				stages.workdir[stages.n - 1] = true;
			break;
		}
		case DF_USER:
			if (stages.n)
				stages.root_user[stages.n - 1] = is_root_user(in->args[0]) ? (ssize_t)ii : -1;
			break;
		case DF_EXPOSE:
			for (size_t k = 0; k < in->nargs; k++) {
				char *p = xstrdup(in->args[k]);
				char *slash = strchr(p, '/');
				if (slash)
					*slash = '\0';
				if (!port_ok(p))
					emit(&c, "DL3011", line, "Valid UNIX ports range from 0 to 65535: %s", in->args[k]);
				free(p);
			}
			break;
		case DF_HEALTHCHECK:
			if (stages.n)
				stages.health[stages.n - 1] = true;
			if (++st.healthchecks == 2)
				FIRE(&c, "DL3012", line);
			break;
		case DF_CMD:
		case DF_ENTRYPOINT:
			if (!in->json)
				FIRE(&c, "DL3025", line);
			if (in->kw == DF_CMD && ++st.cmds == 2)
				FIRE(&c, "DL4003", line);
			if (in->kw == DF_ENTRYPOINT && ++st.entrypoints == 2)
				FIRE(&c, "DL4004", line);
			break;
		case DF_SHELL: {
			st.pipefail = false;
			const char *sh = in->nargs ? base_name(in->args[0]) : "";
			if (strcmp(sh, "sh") && strcmp(sh, "bash") && strcmp(sh, "ash") && strcmp(sh, "dash") &&
			    strcmp(sh, "zsh") && strcmp(sh, "ksh") && strcmp(sh, "mksh"))
				st.pipefail = true; /* not a POSIX shell: not our business */
			for (size_t k = 1; k + 1 < in->nargs; k++)
				if (in->args[k][0] == '-' && strchr(in->args[k], 'o') && !strcmp(in->args[k + 1], "pipefail"))
					st.pipefail = true;
			break;
		}
		case DF_ENV:
			check_env_self_reference(&c, in, &st);
			for (size_t k = 0; k < in->nkvs; k++) {
				stage_define(&st, in->kvs[k].key);
				if (!strcmp(in->kvs[k].key, "PIP_NO_CACHE_DIR")) {
					const char *v = in->kvs[k].value ? in->kvs[k].value : "";
					st.pip_no_cache = strcmp(v, "0") && strcasecmp(v, "false") && strcasecmp(v, "off") &&
							  strcasecmp(v, "no");
				}
			}
			break;
		case DF_ARG:
			for (size_t k = 0; k < in->nkvs; k++)
				stage_define(&st, in->kvs[k].key);
			break;
		case DF_LABEL:
			check_label(&c, in);
			break;
		case DF_MAINTAINER:
			FIRE(&c, "DL4000", line);
			break;
		case DF_ONBUILD:
			if (in->sub && (in->sub->kw == DF_ONBUILD || in->sub->kw == DF_FROM || in->sub->kw == DF_MAINTAINER))
				FIRE(&c, "DL3043", line);
			break;
		default:
			break;
		}
		prev = in;
	}

	/* DL3002: a stage whose last USER is root */
	for (size_t i = 0; i < stages.n; i++)
		if (stages.root_user[i] >= 0) {
			load_pragmas(&c, (size_t)stages.root_user[i]);
			FIRE(&c, "DL3002", f->instrs[stages.root_user[i]].start_line);
		}
	/* DL3009: only in the final stage or a stage used as a base */
	for (size_t a = 0; a < napt; a++) {
		bool used = apt_stage[a] + 1 == stages.n;
		const char *nm = apt_stage[a] < stages.n ? stages.names[apt_stage[a]] : NULL;
		for (size_t r = 0; nm && r < nfrom_refs; r++)
			if (from_refs[r] && !strcasecmp(from_refs[r], nm))
				used = true;
		if (!used)
			continue;
		load_pragmas(&c, apt_lines[a]);
		FIRE(&c, "DL3009", f->instrs[apt_lines[a]].start_line);
	}
	/* DL3057: a stage without HEALTHCHECK (its own or its parent stage's) */
	for (size_t i = 0; i < stages.n; i++)
		if (!stages.health[i]) {
			load_pragmas(&c, stages.from[i]);
			FIRE(&c, "DL3057", f->instrs[stages.from[i]].start_line);
		}
	free_ids(c.pragma);
	c.pragma = NULL;
	/* DL3049: schema labels missing from the final stage (labels anywhere count) */
	for (size_t j = 0; j < cfg->nlabels; j++) {
		bool found = false;
		for (size_t ii = 0; ii < f->ninstrs && !found; ii++)
			if (f->instrs[ii].kw == DF_LABEL && df_kv_get(&f->instrs[ii], cfg->labels[j].name))
				found = true;
		if (!found)
			emit(&c, "DL3049", first_from_line ? first_from_line : 1, "Label `%s` is missing", cfg->labels[j].name);
	}

	stage_clear(&st);
	for (size_t i = 0; i < stages.n; i++)
		free(stages.names[i]);
	free(stages.names);
	free(stages.workdir);
	free(stages.health);
	free(stages.root_user);
	free(stages.from);
	for (size_t a = 0; a < narch; a++)
		free(arch[a].base);
	free(arch);
	free(apt_lines);
	free(apt_stage);
	free(from_refs);
	free_ids(c.global);
}
