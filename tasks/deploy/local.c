/* deploy --target=local (see local.h). */
#include "local.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "clock.h"
#include "fsutil.h"
#include "http.h"
#include "imagepull.h"
#include "k8sname.h"
#include "localspec.h"
#include "log.h"
#include "ocibundle.h"
#include "statedir.h"
#include "subprocess.h"
#include "xalloc.h"

#define STOP_GRACE_MS 10000
#define LOG_TAIL_LINES 10

char *local_state_dir_default(void)
{
	if (geteuid() == 0)
		return xstrdup("/run/deploy-local");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && *xdg == '/')
		return xasprintf("%s/deploy-local", xdg);
	return xasprintf("/tmp/deploy-local-%u", (unsigned)geteuid());
}

char *local_cache_dir_default(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (xdg && *xdg == '/')
		return xasprintf("%s/deploy/images", xdg);
	if (home && *home == '/' && geteuid() != 0)
		return xasprintf("%s/.cache/deploy/images", home);
	return xstrdup("/var/cache/deploy/images");
}

void local_outcome_free(struct local_outcome *out)
{
	free(out->url);
	free(out->revision);
	memset(out, 0, sizeof *out);
}

/* One instance: the state dir's paths for a Deployment name. */
struct instance {
	const char *name;
	char *state;  /* the state dir */
	char *dir;    /* <state>/<name> */
	char *crun;   /* the crun program */
	char *root;   /* --root=<state>/crun */
	char *id;     /* crun's container id */
	int sfd, ifd; /* the state dir and the instance's, checked (statedir.h) */
};

static void instance_close(struct instance *in)
{
	free(in->state);
	free(in->dir);
	free(in->crun);
	free(in->root);
	free(in->id);
	if (in->sfd >= 0)
		close(in->sfd);
	if (in->ifd >= 0)
		close(in->ifd);
}

static err_t *instance_open(const char *name, const struct local_options *o, struct instance *in)
{
	*in = (struct instance){ .name = name, .sfd = -1, .ifd = -1 };
	/* Kubernetes: a Deployment name is a DNS-1123 subdomain (safe as a file name) */
	if (!k8s_dns1123_subdomain(name))
		return err_new(EXIT_USAGE, "Deployment name '%s' is not a DNS-1123 name", name);
	in->state = o->state_dir && *o->state_dir ? xstrdup(o->state_dir) : local_state_dir_default();
	TRY(subprocess_find("crun", NULL, &in->crun));
	in->sfd = statedir_open(in->state, "local state dir", true);
	if (in->sfd < 0)
		return err_new(EXIT_USAGE,
			       "local state dir %s is not usable (it must be a directory of ours that group and others cannot "
			       "write: see the warning): nothing was run",
			       in->state);
	in->dir = xasprintf("%s/%s", in->state, name);
	_cleanup_free_ char *crun_state = xasprintf("%s/crun", in->state);
	int cfd = statedir_open_sub(in->sfd, "crun", crun_state, "crun state dir", true);
	in->ifd = statedir_open_sub(in->sfd, name, in->dir, "local instance dir", true);
	if (cfd < 0 || in->ifd < 0) {
		if (cfd >= 0)
			close(cfd);
		return err_new(EXIT_USAGE, "local state dir %s: %s is not usable (see the warning): nothing was run",
			       in->state, cfd < 0 ? crun_state : in->dir);
	}
	close(cfd);
	in->root = xasprintf("--root=%s", crun_state);
	in->id = xasprintf("deploy-%s", name);
	return NULL;
}

static int crun_pre_exec(void)
{
	return oci_hide_unified();
}

/* crun ARGS... for the instance; its exit code. out_fd: its output. */
static err_t *crun(const struct instance *in, int out_fd, int *code, const char *const *args)
{
	const char *argv[16] = { in->crun, "--cgroup-manager=disabled", in->root };
	size_t n = 3;
	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return subprocess_run((char *const *)argv, NULL, out_fd, NULL,
			      geteuid() == 0 && oci_hybrid_cgroups() ? crun_pre_exec : NULL, code);
}

/* crun for what may fail harmlessly (delete of nothing): output dropped. */
static void crun_quiet(const struct instance *in, const char *const *args)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC), code = 0;
	err_free(crun(in, null >= 0 ? null : 2, &code, args));
	if (null >= 0)
		close(null);
}

/* Stop what runs under the instance: the supervisor holds lock until the
 * container ended; TERM, then KILL after the grace period; then crun's
 * state is deleted. */
static err_t *instance_stop(const struct instance *in, bool *was_running)
{
	*was_running = false;
	int lock = openat(in->ifd, "lock", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) < 0) {
		*was_running = true;
		log_info("stopping the local %s (crun %s)", in->name, in->id);
		crun_quiet(in, (const char *[]){ "kill", in->id, "TERM", NULL });
		int64_t until = clock_monotonic_ms() + STOP_GRACE_MS;
		while (flock(lock, LOCK_EX | LOCK_NB) < 0 && clock_monotonic_ms() < until)
			clock_sleep_ms(50);
		if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
			log_warn("%s did not stop within %d s of SIGTERM: killing it", in->id, STOP_GRACE_MS / 1000);
			crun_quiet(in, (const char *[]){ "kill", in->id, "KILL", NULL });
			if (flock(lock, LOCK_EX) < 0) {
				err_t *e = err_errno(EXIT_FAILED, "waiting for %s to stop", in->id);
				close(lock);
				return e;
			}
		}
	}
	if (lock >= 0)
		close(lock);
	/* a container whose supervisor was killed, or half created */
	crun_quiet(in, (const char *[]){ "delete", "--force", in->id, NULL });
	return NULL;
}

/* The last lines of the container's log. */
static char *log_tail(const struct instance *in)
{
	struct strbuf sb = STRBUF_INIT;
	int fd = openat(in->ifd, "log", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		off_t size = lseek(fd, 0, SEEK_END);
		lseek(fd, size > 4096 ? size - 4096 : 0, SEEK_SET);
		err_free(fs_read_fd(fd, 4096, "log", &sb));
		close(fd);
	}
	const char *s = sb_str(&sb), *start = s + sb.len;
	size_t lines = 0;
	while (start > s && sb.len && start[-1] == '\n')
		start--;
	const char *end = start;
	while (start > s && lines < LOG_TAIL_LINES) {
		start--;
		if (*start == '\n' && ++lines == LOG_TAIL_LINES) {
			start++;
			break;
		}
	}
	char *tail = end > start ? xasprintf("%.*s", (int)(end - start), start) : xstrdup("(empty)");
	sb_release(&sb);
	char *safe = log_redact(tail);
	free(tail);
	return safe;
}

/* Decimal without stdio: the supervisor is a fork of a threaded process. */
static size_t utoa(unsigned v, char *buf)
{
	char tmp[12];
	size_t n = 0, k = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		buf[k++] = tmp[--n];
	buf[k++] = '\n';
	return k;
}

/* The supervisor (the forked child): in its own session, stdio on
 * /dev/null, holding lock; runs crun (its stdout and stderr to log), then
 * writes its exit status to <dir>/exit and to report. Only
 * async-signal-safe calls: deploy may have had threads. */
static _Noreturn void supervise(char *const argv[], bool hide, int lock, int ifd, int report, int logfd, int null)
{
	int keep[] = { lock, ifd, report, logfd, null }, high[5];
	for (int i = 0; i < 5; i++)
		high[i] = fcntl(keep[i], F_DUPFD, 1000);
	close_range(3, 999, 0);
	for (int i = 0; i < 5; i++)
		if (high[i] < 0 || dup2(high[i], 3 + i) < 0)
			_exit(127);
	close_range(1000, ~0U, 0);
	/* 3 lock, 4 instance dir, 5 report, 6 log, 7 /dev/null */
	if (setsid() < 0 || dup2(7, 0) < 0 || dup2(7, 1) < 0 || dup2(7, 2) < 0 || chdir("/") < 0)
		_exit(127);
	signal(SIGPIPE, SIG_IGN);
	pid_t pid = fork();
	if (pid == 0) {
		if (dup2(6, 1) < 0 || dup2(6, 2) < 0 || (hide && oci_hide_unified() < 0))
			_exit(127);
		close_range(3, ~0U, 0);
		execve(argv[0], argv, environ);
		_exit(127);
	}
	int status = 0, code = 127;
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (pid > 0)
		code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	char buf[16];
	size_t n = utoa((unsigned)code, buf);
	int fd = openat(4, "exit", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		ssize_t w = write(fd, buf, n);
		(void)w;
		close(fd);
	}
	ssize_t w = write(5, &code, sizeof code);
	(void)w;
	_exit(0);
}

/* Write the bundle and start the supervisor; *report: the pipe end that
 * becomes readable (the exit status) when the container ended. */
static err_t *instance_start(const struct instance *in, const struct oci_container *c, int *report)
{
	if (mkdirat(in->ifd, "bundle", 0700) < 0 && errno != EEXIST)
		return err_errno(EXIT_FAILED, "cannot create %s/bundle", in->dir);
	int bfd = statedir_open_sub(in->ifd, "bundle", in->dir, "local bundle dir", false);
	if (bfd < 0)
		return err_new(EXIT_FAILED, "%s/bundle is not usable (see the warning)", in->dir);
	json_t *config = oci_bundle_config(c);
	char *text = config ? json_dumps(config, JSON_COMPACT) : NULL;
	json_decref(config);
	_cleanup_free_ char *bundle = xasprintf("%s/bundle", in->dir);
	err_t *e = text ? statedir_write(bfd, bundle, "config.json", text, strlen(text), false)
			: err_new(EXIT_FAILED, "cannot build the OCI config of %s", in->name);
	if (text)
		explicit_bzero(text, strlen(text));
	free(text);
	close(bfd);
	TRY(e);
	unlinkat(in->ifd, "exit", 0);
	int lock = openat(in->ifd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	int logfd = openat(in->ifd, "log", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int pfd[2] = { -1, -1 };
	if (lock < 0 || logfd < 0 || null < 0 || pipe2(pfd, O_CLOEXEC) < 0)
		e = err_errno(EXIT_FAILED, "cannot prepare %s", in->dir);
	else if (flock(lock, LOCK_EX | LOCK_NB) < 0)
		e = err_new(EXIT_FAILED, "%s is still running after it was stopped", in->id);
	_cleanup_free_ char *bundle_opt = xasprintf("--bundle=%s", bundle);
	char *argv[] = { in->crun, "--cgroup-manager=disabled", in->root, "run", bundle_opt, in->id, NULL };
	bool hide = geteuid() == 0 && oci_hybrid_cgroups();
	pid_t pid = e ? -1 : fork();
	if (!e && pid < 0)
		e = err_errno(EXIT_FAILED, "fork");
	if (pid == 0)
		supervise(argv, hide, lock, in->ifd, pfd[1], logfd, null);
	/* the supervisor holds the lock (the same open file) from here on */
	if (lock >= 0)
		close(lock);
	if (logfd >= 0)
		close(logfd);
	if (null >= 0)
		close(null);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (e && pfd[0] >= 0)
		close(pfd[0]);
	*report = e ? -1 : pfd[0];
	if (!e)
		log_info("container %s started: crun %s %s, supervisor pid %d, log %s/log", in->name, in->root + 2, in->id,
			 (int)pid, in->dir);
	return e;
}

/* ---- readiness ---- */

static bool probe_http(const struct local_probe *p, char **why)
{
	_cleanup_free_ char *url = xasprintf("%s://127.0.0.1:%d%s", p->https ? "https" : "http", p->port, p->path);
	_cleanup_free_ char *host = xasprintf("127.0.0.1:%d", p->port);
	const char *insecure[] = { host };
	struct http_options ho = { .connect_timeout_ms = p->timeout_ms,
				   .total_timeout_ms = p->timeout_ms,
				   .insecure_hosts = insecure,
				   .n_insecure_hosts = 1 };
	struct http_client *c = NULL;
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct http_request req = { .url = url, .no_retry = true, .max_body = 64 << 10 };
	err_t *e = http_client_new(&ho, &c);
	if (!e)
		e = http_do(c, &req, &resp);
	bool ok = !e && resp.status >= 200 && resp.status < 400;
	free(*why);
	*why = e ? xasprintf("GET %s: %s", url, e->msg) : xasprintf("GET %s: HTTP %ld", url, resp.status);
	err_free(e);
	http_response_release(&resp);
	http_client_free(c);
	return ok;
}

static bool probe_tcp(const struct local_probe *p, char **why)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p->port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	free(*why);
	*why = ok ? NULL : xasprintf("connect 127.0.0.1:%d: %s", p->port, strerror(errno));
	if (fd >= 0)
		close(fd);
	return ok;
}

static bool probe_exec(const struct instance *in, const struct local_probe *p, char **why)
{
	size_t n = 0;
	while (p->command[n])
		n++;
	const char **args = xcalloc(n + 3, sizeof *args);
	args[0] = "exec";
	args[1] = in->id;
	for (size_t i = 0; i < n && i < 10; i++)
		args[2 + i] = p->command[i];
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC), code = -1;
	err_t *e = crun(in, null >= 0 ? null : 2, &code, args);
	if (null >= 0)
		close(null);
	free(args);
	free(*why);
	*why = e ? xstrdup(e->msg) : xasprintf("exec %s: exit %d", p->command[0], code);
	err_free(e);
	return code == 0;
}

static bool probe(const struct instance *in, const struct local_spec *s, char **why)
{
	switch (s->probe.kind) {
	case PROBE_HTTP:
		return probe_http(&s->probe, why);
	case PROBE_TCP:
		return probe_tcp(&s->probe, why);
	case PROBE_EXEC:
		return probe_exec(in, &s->probe, why);
	case PROBE_NONE:
		break;
	}
	return true; /* no probe: ready once it runs */
}

/* Ports the container will serve must be free once our own instance is
 * stopped: a readiness probe answered by another process would report a
 * container ready that is not (and the container could not bind). */
static err_t *ports_free(const struct instance *in, const struct local_spec *s)
{
	int ports[] = { s->port, s->probe.kind == PROBE_HTTP || s->probe.kind == PROBE_TCP ? s->probe.port : 0 };
	for (size_t i = 0; i < sizeof ports / sizeof *ports; i++) {
		struct local_probe tcp = { .kind = PROBE_TCP, .port = ports[i] };
		_cleanup_free_ char *why = NULL;
		if (ports[i] && probe_tcp(&tcp, &why))
			return err_new(EXIT_FAILED,
				       "%s: port %d on 127.0.0.1 is already in use by another process (the container shares "
				       "the host's network): nothing was run",
				       in->name, ports[i]);
	}
	return NULL;
}

/* Wait up to ms for the container's end; true (and *code) when it ended. */
static bool ended(int report, long ms, int *code)
{
	struct pollfd pfd = { .fd = report, .events = POLLIN };
	int r;
	while ((r = poll(&pfd, 1, (int)ms)) < 0 && errno == EINTR)
		;
	if (r <= 0)
		return false;
	ssize_t n = read(report, code, sizeof *code);
	if (n != (ssize_t)sizeof *code)
		*code = -1; /* the supervisor died without a word */
	return true;
}

static err_t *wait_ready(const struct instance *in, const struct local_spec *s, int report, int64_t timeout_ms)
{
	int64_t deadline = clock_monotonic_ms() + timeout_ms;
	int code = 0;
	_cleanup_free_ char *why = NULL;
	bool gone = ended(report, s->probe.initial_delay_ms, &code), ready = false;
	/* no probe: a last look that it did not end at once */
	if (!gone && s->probe.kind == PROBE_NONE)
		gone = ended(report, 200, &code);
	while (!gone && !(ready = probe(in, s, &why))) {
		int64_t left = deadline - clock_monotonic_ms();
		if (left <= 0)
			break;
		gone = ended(report, left < s->probe.period_ms ? left : s->probe.period_ms, &code);
	}
	/* ready, but it may have ended meanwhile (a probe answered by another process) */
	if (ready && !gone)
		gone = ended(report, 0, &code);
	if (ready && !gone) {
		log_info("container %s of %s is ready%s%s", s->container, in->name, why ? ": " : "", why ? why : "");
		return NULL;
	}
	_cleanup_free_ char *tail = log_tail(in);
	if (gone)
		return err_new(EXIT_FAILED, "container %s of %s exited with status %d before it was ready; its log (%s/log) "
					    "ends:\n%s",
			       s->container, in->name, code, in->dir, tail);
	return err_new(EXIT_FAILED, "container %s of %s was not ready within %lld s (readiness probe: %s); its log (%s/log) "
				    "ends:\n%s",
		       s->container, in->name, (long long)(timeout_ms / 1000), why ? why : "?", in->dir, tail);
}

/* ---- deploy and stop ---- */

static char *next_revision(const struct instance *in)
{
	struct strbuf sb = STRBUF_INIT;
	long long n = 0;
	if (statedir_read(in->ifd, in->dir, "revision", 32, &sb)) {
		char *end;
		n = strtoll(sb_str(&sb), &end, 10);
		if (n < 0 || (*end && *end != '\n'))
			n = 0;
	}
	sb_release(&sb);
	return xasprintf("%lld", n + 1);
}

err_t *local_deploy(struct local_spec *s, struct registry *reg, const char *digest, const struct local_options *o,
		    struct local_outcome *out)
{
	memset(out, 0, sizeof *out);
	struct instance in;
	struct image_root img = { 0 };
	err_t *e = instance_open(s->workload->name, o, &in);
	/* crun refuses hybrid cgroups even with cgroups disabled; only root
	 * can hide their cgroup2 mount (oci_hide_unified) */
	if (!e && geteuid() != 0 && oci_hybrid_cgroups())
		e = err_new(EXIT_FAILED,
			    "rootless crun cannot run containers on this host: its cgroups are hybrid (v1 controllers and a "
			    "cgroup2 mount at /sys/fs/cgroup/unified, which crun refuses) and only root can hide that mount; "
			    "run deploy --target=local as root: nothing was pulled or run");
	_cleanup_free_ char *cache = o->cache_dir && *o->cache_dir ? xstrdup(o->cache_dir) : local_cache_dir_default();
	if (!e)
		e = image_root_pull(reg, digest, cache, &img);
	if (!e)
		e = local_spec_argv(s, &img);
	struct oci_container c;
	if (!e)
		e = local_spec_container(s, &img, &c);
	bool was_running = false;
	if (!e)
		e = instance_stop(&in, &was_running);
	if (!e && was_running)
		log_info("replacing the running %s", in.name);
	if (!e)
		e = ports_free(&in, s);
	int report = -1;
	if (!e)
		e = instance_start(&in, &c, &report);
	if (!e) {
		e = wait_ready(&in, s, report, o->timeout_ms);
		close(report);
		if (e) {
			bool ignored;
			err_free(instance_stop(&in, &ignored));
		}
	}
	if (!e) {
		out->revision = next_revision(&in);
		e = statedir_write(in.ifd, in.dir, "revision", out->revision, strlen(out->revision), false);
		out->url = s->port ? xasprintf("http://127.0.0.1:%d", s->port) : NULL;
	}
	if (e)
		local_outcome_free(out);
	image_root_remove(&img);
	instance_close(&in);
	return e;
}

err_t *local_stop(const char *name, const struct local_options *o, bool *was_running)
{
	struct instance in;
	err_t *e = instance_open(name, o, &in);
	if (!e)
		e = instance_stop(&in, was_running);
	if (!e)
		fs_remove_tree(in.dir);
	instance_close(&in);
	return e;
}
