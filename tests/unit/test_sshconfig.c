/* git-clone's ~/.ssh/config reader (tasks/git-clone/sshconfig.c): which
 * blocks apply to a host, first value wins, IdentityFile adds up, path
 * expansion, and the refusals with their reasons. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tasks/git-clone/sshconfig.h"
#include "testing.h"

// unit-sources: tasks/git-clone/sshconfig.c

static err_t *parse(const char *text, const char *host, struct ssh_host_config *c)
{
	return sshconfig_parse(text, strlen(text), "cfg", host, "/home/t", c);
}

/* what Tekton's creds-init writes for two ssh secrets of one host, and one
 * of another */
static void test_tekton_layout(void)
{
	const char *text = "Host github.com\n"
			   "    HostName github.com\n"
			   "    Port 22\n"
			   "    IdentityFile /tekton/creds/.ssh/id_deploy\n"
			   "    IdentityFile /tekton/creds/.ssh/id_other\n"
			   "Host git.example.test\n"
			   "    HostName 10.0.0.7\n"
			   "    Port 2222\n"
			   "    IdentityFile /tekton/creds/.ssh/id_example\n";
	struct ssh_host_config c;
	REQUIRE(!parse(text, "git.example.test", &c));
	CHECK_STR(c.hostname, "10.0.0.7");
	CHECK_STR(c.port, "2222");
	CHECK(c.user == NULL);
	REQUIRE(c.nidentity == 1);
	CHECK_STR(c.identity_files[0], "/tekton/creds/.ssh/id_example");
	CHECK(c.strict == SSH_STRICT_UNSET && c.nknown_hosts == 0);
	sshconfig_free(&c);
	REQUIRE(!parse(text, "GitHub.com", &c)); /* host names match case-insensitively */
	REQUIRE(c.nidentity == 2);
	CHECK_STR(c.identity_files[1], "/tekton/creds/.ssh/id_other");
	sshconfig_free(&c);
	REQUIRE(!parse(text, "gitlab.com", &c));
	CHECK(c.hostname == NULL && c.port == NULL && c.nidentity == 0);
	sshconfig_free(&c);
}

static void test_first_value_wins_and_patterns(void)
{
	const char *text = "# comment\n"
			   "Host *.example.test !bad.example.test\n"
			   "  User=first\n"
			   "  Port = 2200\n"
			   "  StrictHostKeyChecking accept-new\n"
			   "  UserKnownHostsFile ~/kh1 \"/with space/kh2\" none\n"
			   "  IdentityFile ~/.ssh/id_%h\n"
			   "Host *\n"
			   "  User second\n"
			   "  Port 22\n"
			   "  StrictHostKeyChecking no\n"
			   "  IdentityFile %d/.ssh/id_any\n";
	struct ssh_host_config c;
	REQUIRE(!parse(text, "git.example.test", &c));
	CHECK_STR(c.user, "first");
	CHECK_STR(c.port, "2200");
	CHECK(c.strict == SSH_STRICT_ACCEPT_NEW);
	REQUIRE(c.nknown_hosts == 2);
	CHECK_STR(c.known_hosts_files[0], "/home/t/kh1");
	CHECK_STR(c.known_hosts_files[1], "/with space/kh2");
	REQUIRE(c.nidentity == 2);
	CHECK_STR(c.identity_files[0], "/home/t/.ssh/id_git.example.test");
	CHECK_STR(c.identity_files[1], "/home/t/.ssh/id_any");
	sshconfig_free(&c);
	/* negated: only the Host * block applies */
	REQUIRE(!parse(text, "bad.example.test", &c));
	CHECK_STR(c.user, "second");
	CHECK(c.strict == SSH_STRICT_NO);
	REQUIRE(c.nidentity == 1);
	sshconfig_free(&c);
}

static void test_refusals_say_why(void)
{
	static const struct {
		const char *text, *why;
	} cases[] = {
		{ "Host *\n Port 22x\n", "cfg:2: Port 22x is not a number" },
		{ "StrictHostKeyChecking maybe\n", "cfg:1: StrictHostKeyChecking maybe is not yes, accept-new or no" },
		{ "IdentityFile ~/id_%r\n", "cfg:1: the token %r in a path is not supported" },
		{ "Host a\n\nHostName \"unterminated\n", "cfg:3: HostName has an unterminated quote" },
		{ "Port\n", "cfg:1: Port has no value" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct ssh_host_config c;
		err_t *e = parse(cases[i].text, "a", &c);
		REQUIRE(e != NULL);
		char *text = err_describe(e);
		if (!strstr(text, cases[i].why))
			fprintf(stderr, "  got: %s\n  want: %s\n", text, cases[i].why);
		CHECK(strstr(text, cases[i].why) != NULL);
		CHECK(c.nidentity == 0 && c.hostname == NULL);
		free(text);
		err_free(e);
	}
}

static void test_match_blocks_are_skipped(void)
{
	struct ssh_host_config c;
	REQUIRE(!parse("Match host a\n  Port 1\nHost a\n  Port 2\n", "a", &c));
	CHECK_STR(c.port, "2");
	sshconfig_free(&c);
}

static void test_missing_file_is_empty(void)
{
	struct ssh_host_config c;
	REQUIRE(!sshconfig_read("/nonexistent/ssh/config", "a", "/home/t", &c));
	CHECK(c.hostname == NULL && c.nidentity == 0);
}

TEST_MAIN("sshconfig", TEST(test_tekton_layout), TEST(test_first_value_wins_and_patterns),
	  TEST(test_refusals_say_why), TEST(test_match_blocks_are_skipped), TEST(test_missing_file_is_empty))
