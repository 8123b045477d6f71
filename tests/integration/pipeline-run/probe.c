/* What a crun step sees of its sandbox, as key=value lines into the file
 * argv[1] (a Tekton result): identity, capabilities, no_new_privs,
 * seccomp, whether the root, a Secret workspace (argv[2]) and a workspace
 * (argv[3]) and /tmp take writes, HOME, the hostname, and whether mount(2) and a
 * user namespace are refused. Built static by tests/integration/
 * pipeline-run.sh into a root filesystem of its own. With no argument it
 * does nothing (the empty Task of the bench). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <unistd.h>

static void status_field(FILE *out, const char *key)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	size_t n = strlen(key);
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			char *v = line + n + 1;
			v += strspn(v, " \t");
			fprintf(out, "%s=%s", key, v);
		}
	if (f)
		fclose(f);
}

static const char *try_write(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/probe-write", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return errno == EROFS ? "EROFS" : strerror(errno);
	close(fd);
	unlink(path);
	return "ok";
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 0;
	FILE *out = fopen(argv[1], "w");
	if (!out)
		return 1;
	struct utsname u;
	uname(&u);
	fprintf(out, "uid=%d\ngid=%d\n", (int)getuid(), (int)getgid());
	status_field(out, "CapEff");
	status_field(out, "CapBnd");
	status_field(out, "NoNewPrivs");
	status_field(out, "Seccomp");
	fprintf(out, "root=%s\n", try_write(""));
	fprintf(out, "secret=%s\n", try_write(argv[2]));
	fprintf(out, "workspace=%s\n", try_write(argv[3]));
	fprintf(out, "tmp=%s\n", try_write("/tmp"));
	fprintf(out, "home=%s\n", getenv("HOME") ? getenv("HOME") : "");
	fprintf(out, "hostname=%s\n", u.nodename);
	fprintf(out, "mount=%s\n", mount("none", "/tmp", "tmpfs", 0, NULL) == 0 ? "ok" : strerror(errno));
	fprintf(out, "userns=%s\n", unshare(CLONE_NEWUSER) == 0 ? "ok" : strerror(errno));
	return fclose(out) == 0 ? 0 : 1;
}
