/* containerize's RUN network (tasks/containerize/network.c): the network
 * param and RUN --network, and slirp4netns never started on our own
 * network namespace (it would configure the host's). */
// unit-sources: tasks/containerize/network.c
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../tasks/containerize/network.h"
#include "testing.h"

static char *describe_and_free(err_t *e)
{
	char *msg = err_describe(e);
	err_free(e);
	return msg;
}

static void test_param(void)
{
	struct net_config c;
	CHECK(net_parse(NULL, &c) == NULL && c.mode == RUN_NET_SLIRP && !c.host_loopback);
	CHECK(net_parse("default", &c) == NULL && c.mode == RUN_NET_SLIRP && !c.host_loopback);
	CHECK(net_parse("private", &c) == NULL && c.mode == RUN_NET_SLIRP);
	CHECK(net_parse("none", &c) == NULL && c.mode == RUN_NET_NONE);
	CHECK(net_parse("host", &c) == NULL && c.mode == RUN_NET_HOST);
	CHECK(net_parse("slirp4netns:allow_host_loopback=true", &c) == NULL && c.mode == RUN_NET_SLIRP &&
	      c.host_loopback);
	CHECK(net_parse("slirp4netns:allow_host_loopback=false", &c) == NULL && !c.host_loopback);
	err_t *e = net_parse("bridge", &c);
	REQUIRE(e);
	CHECK(e->code == EXIT_USAGE);
	char *msg = describe_and_free(e);
	CHECK_STR(msg, "network bridge: use default, none, host or slirp4netns:allow_host_loopback=true");
	free(msg);
}

static void test_step_flag(void)
{
	struct net_config slirp = { RUN_NET_SLIRP, false }, host = { RUN_NET_HOST, false }, none = { RUN_NET_NONE, false };
	enum run_net n;
	CHECK(net_for_step(&slirp, NULL, &n) == NULL && n == RUN_NET_SLIRP);
	CHECK(net_for_step(&slirp, "default", &n) == NULL && n == RUN_NET_SLIRP);
	CHECK(net_for_step(&slirp, "none", &n) == NULL && n == RUN_NET_NONE);
	CHECK(net_for_step(&none, "default", &n) == NULL && n == RUN_NET_NONE);
	CHECK(net_for_step(&host, "host", &n) == NULL && n == RUN_NET_HOST);
	CHECK(net_for_step(&host, "none", &n) == NULL && n == RUN_NET_NONE);
	/* the host's network only when the build says so */
	for (int i = 0; i < 2; i++) {
		err_t *e = net_for_step(i ? &none : &slirp, "host", &n);
		REQUIRE(e);
		CHECK(e->code == EXIT_USAGE);
		char *msg = describe_and_free(e);
		CHECK(strstr(msg, "RUN --network=host shares the host's network: allowed only when the build is given "
				  "network=host") != NULL);
		free(msg);
	}
	err_t *e = net_for_step(&slirp, "bridge", &n);
	REQUIRE(e);
	char *msg = describe_and_free(e);
	CHECK_STR(msg, "RUN --network=bridge: use default, none or host");
	free(msg);
}

/* our own namespace (a process that never unshared one): refused before
 * anything runs, so no log file is even created. Checked in a child in a
 * network namespace of its own: a broken check (a mutant) then lets
 * slirp4netns configure that throwaway namespace, never the host's. */
static int own_namespace_refused(const char *path)
{
	int failed = 0;
	pid_t kid = fork();
	if (kid == 0) {
		pause();
		_exit(0);
	}
	if (kid < 0)
		return 1;
	struct slirp s = { -1, -1 };
	pid_t targets[] = { getpid(), kid };
	for (size_t i = 0; i < 2; i++) {
		err_t *e = slirp_start(targets[i], false, path, &s);
		char *msg = e ? describe_and_free(e) : NULL;
		if (!msg || !strstr(msg, "the RUN step has no network namespace of its own: slirp4netns would "
					 "configure the host's network; refused")) {
			fprintf(stderr, "  target %d: got: %s\n", (int)targets[i], msg ? msg : "(started)");
			failed++;
		}
		if (s.pid != -1 || s.exit_fd != -1) {
			failed++;
			slirp_stop(&s);
		}
		free(msg);
	}
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "  %s was created\n", path);
		failed++;
	}
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	return failed;
}

static void test_own_namespace_refused(void)
{
	char dir[] = "/tmp/test_network.XXXXXX";
	REQUIRE(mkdtemp(dir));
	char *path = NULL;
	REQUIRE(asprintf(&path, "%s/slirp.log", dir) > 0);
	fflush(NULL);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0 && unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
			perror("unshare a network namespace for the test");
			_exit(255);
		}
		_exit(own_namespace_refused(path));
	}
	int st = 0;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	unlink(path);
	rmdir(dir);
	free(path);
}

TEST_MAIN("network", TEST(test_param), TEST(test_step_flag), TEST(test_own_namespace_refused))
