/* Unit tests for common/dockerfile: every instruction, directives,
 * continuations, heredocs, errors and word expansion. */
#include "dockerfile.h"

#include <stdlib.h>
#include <string.h>

#include "testing.h"

static struct df_file *parse_ok(const char *text)
{
	struct df_file *f = NULL;
	err_t *e = df_parse(text, strlen(text), "Dockerfile", &f);
	if (e) {
		fprintf(stderr, "  unexpected error: %s\n", e->msg);
		err_free(e);
		testing_failed_ = 1;
		return NULL;
	}
	return f;
}

/* The error message, or NULL (caller frees). */
static char *parse_err(const char *text)
{
	struct df_file *f = NULL;
	err_t *e = df_parse(text, strlen(text), "Dockerfile", &f);
	if (!e) {
		df_file_free(f);
		return NULL;
	}
	CHECK(e->code == EXIT_USAGE);
	CHECK(f == NULL);
	char *m = strdup(e->msg);
	err_free(e);
	return m;
}

#define CHECK_ERR(text, want_prefix)                                                                \
	do {                                                                                        \
		char *m_ = parse_err(text);                                                         \
		if (!m_ || strncmp(m_, want_prefix, strlen(want_prefix))) {                         \
			fprintf(stderr, "  %s:%d: error '%s', want prefix '%s'\n", __FILE__, __LINE__, \
				m_ ? m_ : "(none)", want_prefix);                                   \
			testing_failed_ = 1;                                                        \
		}                                                                                   \
		free(m_);                                                                           \
	} while (0)

static void test_from(void)
{
	struct df_file *f = parse_ok("FROM --platform=linux/amd64 node:20-alpine AS build\nfrom scratch\n");
	if (!f)
		return;
	CHECK(f->ninstrs == 2);
	struct df_instr *in = &f->instrs[0];
	CHECK(in->kw == DF_FROM);
	CHECK(in->nargs == 3);
	CHECK_STR(in->args[0], "node:20-alpine");
	CHECK_STR(in->args[2], "build");
	CHECK_STR(df_flag_get(in, "platform", NULL), "linux/amd64");
	CHECK(f->instrs[1].kw == DF_FROM);
	CHECK_STR(f->instrs[1].keyword, "from");
	struct df_stage *st = NULL;
	size_t n = df_stages(f, &st);
	CHECK(n == 2);
	if (n == 2) {
		CHECK_STR(st[0].name, "build");
		CHECK_STR(st[0].platform, "linux/amd64");
		CHECK(st[1].name == NULL);
		CHECK_STR(st[1].base, "scratch");
	}
	free(st);
	df_file_free(f);
	CHECK_ERR("FROM a b\n", "Dockerfile:1: FROM requires");
	CHECK_ERR("FROM\n", "Dockerfile:1: FROM requires");
	CHECK_ERR("FROM --platfrom=x a\n", "Dockerfile:1: unknown flag --platfrom for FROM");
}

static void test_run_forms(void)
{
	struct df_file *f = parse_ok("FROM a\n"
				     "RUN --mount=type=cache,target=/root/.npm --network=none npm ci\n"
				     "RUN [\"/bin/sh\", \"-c\", \"echo hi\"]\n"
				     "run echo 'x'\n");
	if (!f)
		return;
	struct df_instr *r = &f->instrs[1];
	CHECK(r->kw == DF_RUN && !r->json && r->nargs == 1);
	CHECK_STR(r->args[0], "npm ci");
	CHECK(r->nflags == 2);
	CHECK_STR(df_flag_get(r, "mount", NULL), "type=cache,target=/root/.npm");
	CHECK_STR(df_flag_get(r, "network", NULL), "none");
	r = &f->instrs[2];
	CHECK(r->json && r->nargs == 3);
	CHECK_STR(r->args[2], "echo hi");
	CHECK_STR(f->instrs[3].args[0], "echo 'x'");
	df_file_free(f);
	/* RUN [ -f x ] is shell, not broken JSON */
	f = parse_ok("FROM a\nRUN [ -f /etc/passwd ] && echo ok\n");
	if (f) {
		CHECK(!f->instrs[1].json && f->instrs[1].json_malformed);
		df_file_free(f);
	}
	/* several mounts */
	f = parse_ok("FROM a\nRUN --mount=type=secret,id=a --mount=type=ssh make\n");
	if (f) {
		CHECK(f->instrs[1].nflags == 2);
		df_file_free(f);
	}
	CHECK_ERR("FROM a\nRUN --mountt=x y\n", "Dockerfile:2: unknown flag --mountt for RUN");
	CHECK_ERR("FROM a\nRUN --network x\n", "Dockerfile:2: missing a value on flag --network");
	CHECK_ERR("FROM a\nRUN --network=a --network=b x\n", "Dockerfile:2: duplicate flag --network");
	CHECK_ERR("FROM a\nRUN\n", "Dockerfile:2: RUN requires at least one argument");
	CHECK_ERR("FROM a\nRUN [\"a\", 1]\n", "Dockerfile:2: RUN: when using JSON array syntax");
}

static void test_continuations(void)
{
	const char *text = "FROM a\n"
			   "RUN apt-get update && \\\n"
			   "    # a comment inside\n"
			   "\n"
			   "    apt-get install -y curl \\  \n"
			   "    && rm -rf /var/lib/apt/lists/*\n"
			   "USER app\n";
	struct df_file *f = parse_ok(text);
	if (!f)
		return;
	CHECK(f->ninstrs == 3);
	struct df_instr *r = &f->instrs[1];
	CHECK(r->start_line == 2 && r->end_line == 6);
	CHECK_STR(r->args[0], "apt-get update &&     apt-get install -y curl     && rm -rf /var/lib/apt/lists/*");
	CHECK(r->empty_continuation);
	CHECK(f->ncomments == 1);
	if (f->ncomments == 1) {
		CHECK(f->comments[0].line == 3);
		CHECK_STR(f->comments[0].text, "a comment inside");
	}
	CHECK(strncmp(r->raw, "RUN apt-get update && \\\n    # a comment", 39) == 0);
	CHECK(f->instrs[2].start_line == 7);
	df_file_free(f);
	/* CRLF line endings and a BOM */
	f = parse_ok("\xEF\xBB\xBF" "FROM a\r\nRUN echo a \\\r\n  b\r\n");
	if (f) {
		CHECK(f->ninstrs == 2);
		CHECK_STR(f->instrs[1].args[0], "echo a   b");
		df_file_free(f);
	}
	/* a continuation at the end of the file */
	f = parse_ok("FROM a\nRUN echo \\\n");
	if (f) {
		CHECK_STR(f->instrs[1].args[0], "echo");
		df_file_free(f);
	}
}

static void test_escape_directive(void)
{
	const char *text = "# escape=`\n"
			   "# syntax=docker/dockerfile:1\n"
			   "# check=skip=JSONArgsRecommended\n"
			   "FROM mcr.microsoft.com/windows/servercore\n"
			   "COPY testfile.txt c:\\\n"
			   "RUN dir c:\\ `\n"
			   "    /w\n";
	struct df_file *f = parse_ok(text);
	if (!f)
		return;
	CHECK(f->escape == '`');
	CHECK_STR(f->syntax, "docker/dockerfile:1");
	CHECK_STR(f->check, "skip=JSONArgsRecommended");
	CHECK(f->ndirectives == 3);
	CHECK(f->ninstrs == 3);
	CHECK_STR(f->instrs[1].args[1], "c:\\");
	CHECK_STR(f->instrs[2].args[0], "dir c:\\     /w");
	CHECK(f->ncomments == 3 && f->comments[0].directive);
	df_file_free(f);
	/* a directive after a comment is only a comment */
	f = parse_ok("# hello\n# escape=`\nFROM a\nRUN echo \\\n");
	if (f) {
		CHECK(f->escape == '\\' && f->ndirectives == 0 && f->ncomments == 2);
		df_file_free(f);
	}
	CHECK_ERR("# escape=x\nFROM a\n", "Dockerfile:1: invalid escape token");
	CHECK_ERR("# escape=`\n# escape=\\\nFROM a\n", "Dockerfile:2: only one escape");
}

static void test_comments_and_pragmas(void)
{
	const char *text = "FROM debian\n"
			   "# hadolint ignore=DL3008,DL3015\n"
			   "RUN apt-get install -y curl\n"
			   "  # indented comment\n";
	struct df_file *f = parse_ok(text);
	if (!f)
		return;
	CHECK(f->ncomments == 2);
	CHECK(f->comments[0].line == 2);
	CHECK_STR(f->comments[0].text, "hadolint ignore=DL3008,DL3015");
	CHECK(f->comments[1].line == 4);
	CHECK(f->instrs[1].start_line == 3);
	df_file_free(f);
}

static void test_heredocs(void)
{
	const char *text = "FROM a\n"
			   "RUN <<EOF\n"
			   "echo $HOME\n"
			   "EOF\n"
			   "RUN <<-\"END\" cat >/x && cat 3<<two\n"
			   "\t\tindented\n"
			   "\tEND\n"
			   "second\n"
			   "two\n"
			   "COPY <<conf /etc/app.conf\n"
			   "key=value\n"
			   "conf\n"
			   "RUN echo \"<<NOT\" done\n";
	struct df_file *f = parse_ok(text);
	if (!f)
		return;
	CHECK(f->ninstrs == 5);
	struct df_instr *r = &f->instrs[1];
	CHECK(r->nheredocs == 1 && r->start_line == 2 && r->end_line == 4);
	if (r->nheredocs == 1) {
		CHECK_STR(r->heredocs[0].name, "EOF");
		CHECK_STR(r->heredocs[0].body, "echo $HOME\n");
		CHECK(r->heredocs[0].expand && !r->heredocs[0].chomp);
	}
	r = &f->instrs[2];
	CHECK(r->nheredocs == 2 && r->end_line == 9);
	if (r->nheredocs == 2) {
		CHECK_STR(r->heredocs[0].name, "END");
		CHECK(r->heredocs[0].chomp && !r->heredocs[0].expand);
		CHECK_STR(r->heredocs[0].body, "indented\n");
		CHECK_STR(r->heredocs[1].name, "two");
		CHECK(r->heredocs[1].fd == 3);
		CHECK_STR(r->heredocs[1].body, "second\n");
	}
	r = &f->instrs[3];
	CHECK(r->kw == DF_COPY && r->nheredocs == 1 && r->nargs == 2);
	CHECK_STR(r->args[1], "/etc/app.conf");
	CHECK(f->instrs[4].nheredocs == 0 && f->instrs[4].start_line == 13);
	df_file_free(f);
	CHECK_ERR("FROM a\nRUN <<EOF\necho\n", "Dockerfile:2: unterminated heredoc EOF");
	CHECK_ERR("FROM a\nRUN <<A <<B\nx\nA\ny\n", "Dockerfile:2: unterminated heredoc B");
	/* heredocs only on RUN, COPY, ADD */
	f = parse_ok("FROM a\nCMD cat <<EOF\n");
	if (f) {
		CHECK(f->instrs[1].nheredocs == 0);
		df_file_free(f);
	}
}

static void test_copy_add(void)
{
	const char *text = "FROM a\n"
			   "COPY --from=build --chown=node:node --chmod=0755 --link /app/dist /srv\n"
			   "COPY [\"src dir/\", \"/dest/\"]\n"
			   "ADD --checksum=sha256:abc https://example.com/x.tgz /x.tgz\n"
			   "add --link=false a b c/\n"
			   "COPY \"a b\" /c\n";
	struct df_file *f = parse_ok(text);
	if (!f)
		return;
	struct df_instr *c = &f->instrs[1];
	CHECK(c->nflags == 4 && c->nargs == 2);
	CHECK_STR(df_flag_get(c, "from", NULL), "build");
	CHECK_STR(df_flag_get(c, "chown", NULL), "node:node");
	CHECK_STR(df_flag_get(c, "chmod", NULL), "0755");
	bool present = false;
	CHECK(df_flag_get(c, "link", &present) == NULL && present);
	c = &f->instrs[2];
	CHECK(c->json && c->nargs == 2);
	CHECK_STR(c->args[0], "src dir/");
	c = &f->instrs[3];
	CHECK(c->kw == DF_ADD);
	CHECK_STR(df_flag_get(c, "checksum", NULL), "sha256:abc");
	c = &f->instrs[4];
	CHECK(c->nargs == 3);
	CHECK_STR(df_flag_get(c, "link", NULL), "false");
	CHECK_STR(f->instrs[5].args[0], "\"a b\"");
	df_file_free(f);
	CHECK_ERR("FROM a\nCOPY --checksum=x a b\n", "Dockerfile:2: unknown flag --checksum for COPY");
	CHECK_ERR("FROM a\nCOPY onlyone\n", "Dockerfile:2: COPY requires at least two arguments");
	CHECK_ERR("FROM a\nCOPY --from a b\n", "Dockerfile:2: missing a value on flag --from");
	CHECK_ERR("FROM a\nADD --link=maybe a b\n", "Dockerfile:2: expecting boolean value");
	CHECK_ERR("FROM a\nCOPY ['a', 'b']\n", "Dockerfile:2: malformed JSON form for COPY");
}

static void test_cmd_entrypoint_shell(void)
{
	const char *text = "FROM a\n"
			   "CMD [\"node\", \"server.js\"]\n"
			   "CMD node server.js\n"
			   "ENTRYPOINT [\"/tini\", \"--\"]\n"
			   "ENTRYPOINT exec node\n"
			   "SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n"
			   "CMD []\n";
	struct df_file *f = parse_ok(text);
	if (!f)
		return;
	CHECK(f->instrs[1].json && f->instrs[1].nargs == 2);
	CHECK(!f->instrs[2].json && f->instrs[2].nargs == 1);
	CHECK_STR(f->instrs[2].args[0], "node server.js");
	CHECK(f->instrs[3].json);
	CHECK(!f->instrs[4].json);
	CHECK(f->instrs[5].kw == DF_SHELL && f->instrs[5].nargs == 4);
	CHECK(f->instrs[6].json && f->instrs[6].nargs == 0);
	df_file_free(f);
	CHECK_ERR("FROM a\nSHELL /bin/bash -c\n", "Dockerfile:2: SHELL requires the arguments to be in JSON form");
	CHECK_ERR("FROM a\nCMD ['node', 'x']\n", "Dockerfile:2: malformed JSON form for CMD");
	CHECK_ERR("FROM a\nENTRYPOINT [\"a\",]\n", "Dockerfile:2: malformed JSON form for ENTRYPOINT");
	CHECK_ERR("FROM a\nCMD\n", "Dockerfile:2: CMD requires at least one argument");
	CHECK_ERR("FROM a\nCMD --x=1 a\n", "Dockerfile:2: unknown flag --x for CMD");
}

static void test_env_label_arg(void)
{
	const char *text = "ARG BASE=node:20\n"
			   "ARG VERSION\n"
			   "FROM $BASE\n"
			   "ENV NODE_ENV=production PORT=8080 MSG=\"hello world\" A=a\\ b\n"
			   "ENV LEGACY some value here\n"
			   "LABEL \"com.example.vendor\"=\"ACME Inc\" version=1.0\n"
			   "LABEL maintainer someone\n"
			   "ARG A=1 B\n";
	struct df_file *f = parse_ok(text);
	if (!f)
		return;
	struct df_instr *in = &f->instrs[0];
	CHECK(in->kw == DF_ARG && in->nkvs == 1);
	CHECK_STR(in->kvs[0].key, "BASE");
	CHECK_STR(in->kvs[0].value, "node:20");
	in = &f->instrs[1];
	CHECK(in->nkvs == 1 && in->kvs[0].value == NULL);
	in = &f->instrs[3];
	CHECK(in->nkvs == 4 && !in->legacy_kv);
	CHECK_STR(df_kv_get(in, "NODE_ENV")->value, "production");
	CHECK_STR(df_kv_get(in, "MSG")->value, "hello world");
	CHECK_STR(df_kv_get(in, "MSG")->raw_value, "\"hello world\"");
	CHECK_STR(df_kv_get(in, "A")->value, "a b");
	in = &f->instrs[4];
	CHECK(in->legacy_kv && in->nkvs == 1);
	CHECK_STR(in->kvs[0].key, "LEGACY");
	CHECK_STR(in->kvs[0].value, "some value here");
	in = &f->instrs[5];
	CHECK(in->nkvs == 2);
	CHECK_STR(in->kvs[0].key, "com.example.vendor");
	CHECK_STR(in->kvs[0].value, "ACME Inc");
	CHECK(f->instrs[6].legacy_kv);
	in = &f->instrs[7];
	CHECK(in->nkvs == 2 && in->kvs[1].value == NULL);
	df_file_free(f);
	CHECK_ERR("FROM a\nENV ONLY\n", "Dockerfile:2: ENV must have two arguments");
	CHECK_ERR("FROM a\nENV A=1 B\n", "Dockerfile:2: syntax error - can't find = in \"B\"");
	CHECK_ERR("FROM a\nLABEL =x\n", "Dockerfile:2: LABEL names cannot be blank");
	CHECK_ERR("FROM a\nARG\n", "Dockerfile:2: ARG requires at least one argument");
}

static void test_simple_instructions(void)
{
	const char *text = "FROM a\n"
			   "EXPOSE 8080 9090/udp\n"
			   "USER node:node\n"
			   "WORKDIR /usr/src/app\n"
			   "VOLUME [\"/data\", \"/logs\"]\n"
			   "VOLUME /a /b\n"
			   "STOPSIGNAL SIGTERM\n"
			   "MAINTAINER Jane <jane@example.com>\n"
			   "HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD curl -f http://localhost/ || exit 1\n"
			   "HEALTHCHECK CMD [\"/bin/check\"]\n"
			   "HEALTHCHECK NONE\n"
			   "ONBUILD RUN npm install\n"
			   "ONBUILD COPY --chown=a . /app\n";
	struct df_file *f = parse_ok(text);
	if (!f)
		return;
	CHECK(f->ninstrs == 13);
	CHECK(f->instrs[1].nargs == 2);
	CHECK_STR(f->instrs[1].args[1], "9090/udp");
	CHECK_STR(f->instrs[2].args[0], "node:node");
	CHECK_STR(f->instrs[3].args[0], "/usr/src/app");
	CHECK(f->instrs[4].json && f->instrs[4].nargs == 2);
	CHECK(!f->instrs[5].json && f->instrs[5].nargs == 2);
	CHECK_STR(f->instrs[6].args[0], "SIGTERM");
	CHECK_STR(f->instrs[7].args[0], "Jane <jane@example.com>");
	struct df_instr *h = &f->instrs[8];
	CHECK(h->kw == DF_HEALTHCHECK && h->nflags == 3 && h->nargs == 2);
	CHECK_STR(h->args[0], "CMD");
	CHECK_STR(h->args[1], "curl -f http://localhost/ || exit 1");
	CHECK_STR(df_flag_get(h, "interval", NULL), "30s");
	CHECK(f->instrs[9].json && f->instrs[9].nargs == 2);
	CHECK_STR(f->instrs[10].args[0], "NONE");
	struct df_instr *o = &f->instrs[11];
	CHECK(o->kw == DF_ONBUILD && o->sub && o->sub->kw == DF_RUN);
	if (o->sub)
		CHECK_STR(o->sub->args[0], "npm install");
	o = &f->instrs[12];
	CHECK(o->sub && o->sub->kw == DF_COPY && o->sub->nflags == 1);
	df_file_free(f);
	CHECK_ERR("FROM a\nHEALTHCHECK NONE x\n", "Dockerfile:2: HEALTHCHECK NONE takes no arguments");
	CHECK_ERR("FROM a\nHEALTHCHECK PING x\n", "Dockerfile:2: unknown type \"PING\" in HEALTHCHECK");
	CHECK_ERR("FROM a\nHEALTHCHECK --intervall=1s CMD x\n", "Dockerfile:2: unknown flag --intervall");
	CHECK_ERR("FROM a\nONBUILD FROM b\n", "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger");
	CHECK_ERR("FROM a\nONBUILD ONBUILD RUN x\n", "Dockerfile:2: ONBUILD isn't allowed");
	CHECK_ERR("FROM a\nUSER\n", "Dockerfile:2: USER requires exactly one argument");
	CHECK_ERR("FROM a\nSTOPSIGNAL 1 2\n", "Dockerfile:2: STOPSIGNAL requires exactly one argument");
	CHECK_ERR("FROM a\nVOLUME [\"\"]\n", "Dockerfile:2: VOLUME specified can not be an empty string");
	CHECK_ERR("FROM a\nEXPOSE\n", "Dockerfile:2: EXPOSE requires at least one argument");
}

static void test_structure_errors(void)
{
	CHECK_ERR("FROM a\nFROBNICATE x\n", "Dockerfile:2: unknown instruction: FROBNICATE");
	CHECK_ERR("# c\n\nRUN x\nFROM a\n", "Dockerfile:3: RUN before the first FROM");
	CHECK_ERR("ARG A\n", "Dockerfile:1: no FROM instruction");
	CHECK_ERR("", "Dockerfile:1: file with no instructions");
	CHECK_ERR("# only a comment\n\n", "Dockerfile:2: file with no instructions");
	struct df_file *f = NULL;
	err_t *e = df_parse("FROM a\0b", 8, "x", &f);
	CHECK(e && e->code == EXIT_USAGE);
	err_free(e);
	/* case-insensitive keywords */
	f = parse_ok("fRoM a\nWorkDir /x\n");
	if (f) {
		CHECK(f->instrs[1].kw == DF_WORKDIR);
		df_file_free(f);
	}
	CHECK(df_keyword_lookup("healthcheck") == DF_HEALTHCHECK);
	CHECK(df_keyword_lookup("nope") == DF_UNKNOWN);
	CHECK_STR(df_keyword_name(DF_STOPSIGNAL), "STOPSIGNAL");
}

struct env {
	const char *names[4];
	const char *values[4];
};

static const char *lookup(const char *name, void *data)
{
	struct env *env = data;
	for (int i = 0; i < 4 && env->names[i]; i++)
		if (!strcmp(env->names[i], name))
			return env->values[i];
	return NULL;
}

static struct env test_env = { { "HOME", "EMPTY", "SP", NULL }, { "/root", "", "a b", NULL } };

static void check_expand(const char *in, const char *want, int line)
{
	char *out = NULL;
	err_t *e = df_expand_word(in, '\\', lookup, &test_env, &out);
	if (e || !out || strcmp(out, want)) {
		fprintf(stderr, "  line %d: expand(%s) = '%s' (%s), want '%s'\n", line, in, out ? out : "(null)",
			e ? e->msg : "ok", want);
		testing_failed_ = 1;
	}
	err_free(e);
	free(out);
}
#define EXPAND(in, want) check_expand(in, want, __LINE__)

static void test_expand(void)
{
	EXPAND("$HOME/x", "/root/x");
	EXPAND("${HOME}x", "/rootx");
	EXPAND("$NOPE-", "-");
	EXPAND("${NOPE:-def}", "def");
	EXPAND("${EMPTY:-def}", "def");
	EXPAND("${EMPTY-def}", "");
	EXPAND("${NOPE-def}", "def");
	EXPAND("${HOME:+alt}", "alt");
	EXPAND("${EMPTY:+alt}", "");
	EXPAND("${EMPTY+alt}", "alt");
	EXPAND("${NOPE+alt}", "");
	EXPAND("${NOPE:-$HOME/y}", "/root/y");
	EXPAND("${NOPE:-'a}b'}", "a}b");
	EXPAND("'$HOME'", "$HOME");
	EXPAND("\"$HOME\"", "/root");
	EXPAND("\\$HOME", "$HOME");
	EXPAND("\"a\\\"b\\n\"", "a\"b\\n");
	EXPAND("a\\ b", "a b");
	EXPAND("$", "$");
	EXPAND("a$-b", "a$-b");
	EXPAND("${HOME:?must be set}", "/root");
	EXPAND("${SP#a}", " b");
	EXPAND("${HOME#/}", "root");
	EXPAND("${HOME%o*}", "/ro");
	EXPAND("${HOME%%o*}", "/r");
	EXPAND("${HOME##*o}", "t");
	EXPAND("${HOME#x}", "/root");
	EXPAND("${NOPE#x}", "");
	char *out = NULL;
	err_t *e = df_expand_word("${NOPE:?must be set}", '\\', lookup, &test_env, &out);
	CHECK(e && strstr(e->msg, "NOPE: must be set"));
	err_free(e);
	e = df_expand_word("${HOME", '\\', lookup, &test_env, &out);
	CHECK(e && strstr(e->msg, "missing '}'"));
	err_free(e);
	e = df_expand_word("${HOME/x/y}", '\\', lookup, &test_env, &out);
	CHECK(e && strstr(e->msg, "unsupported modifier"));
	err_free(e);
	e = df_expand_word("'abc", '\\', lookup, &test_env, &out);
	CHECK(e && strstr(e->msg, "single-quote"));
	err_free(e);
	e = df_expand_word("\"abc", '\\', lookup, &test_env, &out);
	CHECK(e && strstr(e->msg, "double-quote"));
	err_free(e);
	/* backtick as the escape char */
	e = df_expand_word("a`$HOME\\x", '`', lookup, &test_env, &out);
	CHECK(!e);
	CHECK_STR(out, "a$HOME\\x");
	free(out);
	/* no lookup: unquote only, references kept */
	e = df_expand_word("\"$HOME/${X:-y}\" 'z'", '\\', NULL, NULL, &out);
	CHECK(!e);
	CHECK_STR(out, "$HOME/${X:-y} z");
	free(out);
}

static void test_expand_words(void)
{
	char **w = NULL;
	size_t n = 0;
	err_t *e = df_expand_words("a  \"b c\" $SP '' d\\ e", '\\', lookup, &test_env, &w, &n);
	CHECK(!e && n == 6);
	if (!e && n == 6) {
		CHECK_STR(w[0], "a");
		CHECK_STR(w[1], "b c");
		CHECK_STR(w[2], "a");
		CHECK_STR(w[3], "b");
		CHECK_STR(w[4], "");
		CHECK_STR(w[5], "d e");
		CHECK(w[6] == NULL);
	}
	df_words_free(w);
	e = df_expand_words("   ", '\\', lookup, &test_env, &w, &n);
	CHECK(!e && n == 0 && w && w[0] == NULL);
	df_words_free(w);
	w = df_split_words("a 'b c' \"d\\\" e\" f\\ g", '\\', &n);
	CHECK(n == 4);
	if (n == 4) {
		CHECK_STR(w[1], "'b c'");
		CHECK_STR(w[2], "\"d\\\" e\"");
		CHECK_STR(w[3], "f\\ g");
	}
	df_words_free(w);
}

static void test_tricky(void)
{
	const char *text = "FROM a\n"
			   "RUN --mount=\"type=cache,target=/a b\" -- --not-a-flag\n"
			   "COPY --chmod=755 <<'EOF' /usr/local/bin/run\n"
			   "#!/bin/sh\n"
			   "echo $1\n"
			   "EOF\n"
			   "RUN \\\n"
			   "  \\\n"
			   "  echo one\n"
			   "ENV PATH=/opt/bin:$PATH \\\n"
			   "    # comment between pairs\n"
			   "    LANG=C.UTF-8\n"
			   "LABEL description=\"multi word \\\"quoted\\\"\"\n";
	struct df_file *f = parse_ok(text);
	if (!f)
		return;
	CHECK(f->ninstrs == 6);
	struct df_instr *r = &f->instrs[1];
	CHECK_STR(df_flag_get(r, "mount", NULL), "type=cache,target=/a b");
	CHECK_STR(r->args[0], "--not-a-flag");
	r = &f->instrs[2];
	CHECK(r->nheredocs == 1 && !r->heredocs[0].expand);
	CHECK_STR(r->heredocs[0].body, "#!/bin/sh\necho $1\n");
	CHECK_STR(df_flag_get(r, "chmod", NULL), "755");
	r = &f->instrs[3];
	CHECK(r->start_line == 7 && r->end_line == 9);
	CHECK_STR(r->args[0], "echo one");
	r = &f->instrs[4];
	CHECK(r->nkvs == 2);
	CHECK_STR(df_kv_get(r, "LANG")->value, "C.UTF-8");
	CHECK_STR(df_kv_get(r, "PATH")->raw_value, "/opt/bin:$PATH");
	CHECK_STR(f->instrs[5].kvs[0].value, "multi word \"quoted\"");
	df_file_free(f);
	/* a lone escape at the end of the file, and CRLF inside heredocs */
	f = parse_ok("FROM a\r\nRUN <<EOF\r\nx\r\nEOF\r\n");
	if (f) {
		CHECK(f->instrs[1].nheredocs == 1);
		if (f->instrs[1].nheredocs)
			CHECK_STR(f->instrs[1].heredocs[0].body, "x\n");
		df_file_free(f);
	}
	/* backtick escape: backslashes are literal, JSON keeps its own escapes */
	f = parse_ok("# escape=`\nFROM a\nCMD [\"c:\\\\app\\\\run.exe\"]\nWORKDIR c:\\app\n");
	if (f) {
		CHECK(f->instrs[1].json);
		CHECK_STR(f->instrs[1].args[0], "c:\\app\\run.exe");
		CHECK_STR(f->instrs[2].args[0], "c:\\app");
		df_file_free(f);
	}
}

TEST_MAIN("dockerfile", TEST(test_from), TEST(test_run_forms), TEST(test_continuations),
	  TEST(test_escape_directive), TEST(test_comments_and_pragmas), TEST(test_heredocs), TEST(test_copy_add),
	  TEST(test_cmd_entrypoint_shell), TEST(test_env_label_arg), TEST(test_simple_instructions),
	  TEST(test_structure_errors), TEST(test_expand), TEST(test_expand_words),
	  TEST(test_tricky))
