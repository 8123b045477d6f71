/* containerize's seccomp table (tasks/containerize/seccomp.c) against an
 * oracle: the default profile of the containers tools (buildah, podman),
 * /usr/share/containers/seccomp.json from Debian's
 * golang-github-containers-common, Docker's profile in the same format.
 * For the capabilities a RUN step keeps (caps.h) and this architecture:
 * every syscall the table allows is allowed there, every one it refuses is
 * refused here, and every one it allows that this architecture has is in
 * the table. The table refuses some the containers profile allows (that
 * profile relies on a user namespace, Docker's refuses them without
 * CAP_SYS_ADMIN): each is named below with the reason, and the list must
 * match the table both ways. */
// unit-sources: tasks/containerize/seccomp.c
#include <errno.h>
#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "../../tasks/containerize/caps.h"
#include "../../tasks/containerize/seccomp.h"
#include "testing.h"

#define PROFILE "/usr/share/containers/seccomp.json"
#if defined(__x86_64__)
#define ARCH "amd64"
#define UNISTD "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"
#elif defined(__aarch64__)
#define ARCH "arm64"
#define UNISTD NULL /* asm-generic's conditional list: not parsed */
#endif

/* refused here, allowed there: the deliberate differences */
static const struct {
	const char *name;
	const char *why;
} differences[] = {
	{ "mount", "mounts: Docker refuses without CAP_SYS_ADMIN" },
	{ "umount2", "mounts: Docker refuses without CAP_SYS_ADMIN" },
	{ "pivot_root", "mounts: Docker refuses without CAP_SYS_ADMIN" },
	{ "fsopen", "new mount API: Docker refuses without CAP_SYS_ADMIN" },
	{ "fsconfig", "new mount API: Docker refuses without CAP_SYS_ADMIN" },
	{ "fsmount", "new mount API: Docker refuses without CAP_SYS_ADMIN" },
	{ "fspick", "new mount API: Docker refuses without CAP_SYS_ADMIN" },
	{ "open_tree", "new mount API: Docker refuses without CAP_SYS_ADMIN" },
	{ "move_mount", "new mount API: Docker refuses without CAP_SYS_ADMIN" },
	{ "mount_setattr", "new mount API: Docker refuses without CAP_SYS_ADMIN" },
	{ "unshare", "new namespaces (user ones): Docker refuses without CAP_SYS_ADMIN" },
	{ "setns", "other namespaces: Docker refuses without CAP_SYS_ADMIN" },
	{ "reboot", "Docker: CAP_SYS_BOOT" },
	{ "syslog", "the host's kernel log: Docker: CAP_SYSLOG" },
	{ "name_to_handle_at", "file handles: Docker refuses without CAP_SYS_ADMIN" },
	{ "pidfd_getfd", "another process's descriptors: Docker: CAP_SYS_PTRACE" },
	{ "keyctl", "the kernel keyring is not namespaced: Docker refuses" },
	{ "get_mempolicy", "NUMA policy: Docker: CAP_SYS_NICE" },
	{ "set_mempolicy", "NUMA policy: Docker: CAP_SYS_NICE" },
	{ "mbind", "NUMA policy: Docker: CAP_SYS_NICE" },
#ifdef __x86_64__
	{ "modify_ldt", "Docker allows it; a kernel surface (LDT bugs) builds do not use" },
#endif
};

/* refused with isolation=chroot only (no namespaces there) */
static const char *chroot_differences[] = { "ptrace", "process_vm_readv", "process_vm_writev", "chroot" };

static const struct {
	const char *name;
	int cap;
} cap_names[] = {
	{ "CAP_AUDIT_WRITE", CAP_AUDIT_WRITE },         { "CAP_DAC_READ_SEARCH", CAP_DAC_READ_SEARCH },
	{ "CAP_SYS_ADMIN", CAP_SYS_ADMIN },             { "CAP_SYS_CHROOT", CAP_SYS_CHROOT },
	{ "CAP_SYS_MODULE", CAP_SYS_MODULE },           { "CAP_SYS_PACCT", CAP_SYS_PACCT },
	{ "CAP_SYS_PTRACE", CAP_SYS_PTRACE },           { "CAP_SYS_RAWIO", CAP_SYS_RAWIO },
	{ "CAP_SYS_TIME", CAP_SYS_TIME },               { "CAP_SYS_TTY_CONFIG", CAP_SYS_TTY_CONFIG },
	{ "CAP_SYS_BOOT", CAP_SYS_BOOT },               { "CAP_SYSLOG", CAP_SYSLOG },
	{ "CAP_SYS_NICE", CAP_SYS_NICE },               { "CAP_SYS_RESOURCE", CAP_SYS_RESOURCE },
	{ "CAP_NET_ADMIN", CAP_NET_ADMIN },             { "CAP_NET_RAW", CAP_NET_RAW },
	{ "CAP_BPF", CAP_BPF },                         { "CAP_PERFMON", CAP_PERFMON },
	{ "CAP_MKNOD", CAP_MKNOD },
};

static json_t *profile;

/* every string of arr names something kept (caps) or is our arch;
 * any: at least one does */
static bool matches(json_t *arr, uint64_t caps, bool any)
{
	size_t i;
	json_t *v;
	bool all = true, some = false;
	json_array_foreach(arr, i, v)
	{
		const char *s = json_string_value(v);
		bool hit = false;
		if (!s) {
			CHECK(!"a string in includes/excludes");
			continue;
		}
		if (strncmp(s, "CAP_", 4) == 0) {
			size_t k = 0;
			while (k < sizeof cap_names / sizeof *cap_names && strcmp(cap_names[k].name, s))
				k++;
			if (k == sizeof cap_names / sizeof *cap_names) {
				fprintf(stderr, "  unknown capability %s in %s\n", s, PROFILE);
				testing_failed_ = 1;
			} else {
				hit = (caps & CAP_BIT(cap_names[k].cap)) != 0;
			}
		} else {
			hit = strcmp(s, ARCH) == 0;
		}
		all = all && hit;
		some = some || hit;
	}
	return any ? some : all;
}

/* does this group of rules apply to a step with caps on our arch? */
static bool applies(json_t *group, uint64_t caps)
{
	json_t *inc = json_object_get(group, "includes"), *exc = json_object_get(group, "excludes");
	if (json_array_size(json_object_get(inc, "arches")) && !matches(json_object_get(inc, "arches"), caps, true))
		return false;
	if (json_array_size(json_object_get(inc, "caps")) && !matches(json_object_get(inc, "caps"), caps, false))
		return false;
	if (json_array_size(json_object_get(exc, "arches")) && matches(json_object_get(exc, "arches"), caps, true))
		return false;
	if (json_array_size(json_object_get(exc, "caps")) && matches(json_object_get(exc, "caps"), caps, true))
		return false;
	return true;
}

static bool names(json_t *group, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(group, "names"), i, v)
		if (json_string_value(v) && strcmp(json_string_value(v), name) == 0)
			return true;
	return false;
}

enum verdict { REFUSED, ALLOWED_IF, ALLOWED };

/* what the containers profile does with name for caps on our arch */
static enum verdict oracle(const char *name, uint64_t caps)
{
	enum verdict v = REFUSED;
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(profile, "syscalls"), i, g)
	{
		if (!names(g, name) || !applies(g, caps))
			continue;
		if (strcmp(json_string_value(json_object_get(g, "action")), "SCMP_ACT_ALLOW") != 0)
			continue;
		v = json_array_size(json_object_get(g, "args")) ? (v == ALLOWED ? ALLOWED : ALLOWED_IF) : ALLOWED;
	}
	return v;
}

static const struct seccomp_entry *entry(const char *name)
{
	size_t n;
	const struct seccomp_entry *t = seccomp_table(&n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

static bool load(void)
{
	if (profile)
		return true;
	json_error_t e;
	profile = json_load_file(PROFILE, 0, &e);
	if (!profile)
		fprintf(stderr, "  %s: %s (install golang-github-containers-common, tests/debian-packages.txt)\n",
			PROFILE, e.text);
	return profile != NULL;
}

static bool in_differences(const char *name)
{
	for (size_t i = 0; i < sizeof differences / sizeof *differences; i++)
		if (strcmp(differences[i].name, name) == 0)
			return true;
	return false;
}

/* what the table allows, the oracle allows for the capabilities kept */
static void test_table_allowed_there(void)
{
	REQUIRE(load());
	size_t n, allowed = 0;
	const struct seccomp_entry *t = seccomp_table(&n);
	for (size_t i = 0; i < n; i++) {
		enum verdict run = oracle(t[i].name, CAPS_RUN), chr = oracle(t[i].name, CAPS_CHROOT);
		bool ok = true;
		switch (t[i].rule) {
		case SC_ALLOW:
			ok = run == ALLOWED && chr == ALLOWED;
			allowed++;
			break;
		case SC_ALLOW_NS:
			ok = run == ALLOWED;
			allowed++;
			break;
		case SC_DENY:
			ok = in_differences(t[i].name) && run == ALLOWED;
			break;
		default: /* conditioned here: allowed there, at least on conditions */
			ok = run != REFUSED;
		}
		if (!ok) {
			fprintf(stderr, "  %s: rule %d here, %s there (%d)\n", t[i].name, (int)t[i].rule, PROFILE, (int)run);
			testing_failed_ = 1;
		}
	}
	fprintf(stderr, "  %zu table entries, %zu allowed without conditions\n", n, allowed);
}

/* the differences named above are the table's, and really differences */
static void test_differences_named(void)
{
	REQUIRE(load());
	for (size_t i = 0; i < sizeof differences / sizeof *differences; i++) {
		const struct seccomp_entry *e = entry(differences[i].name);
		if (!e || e->rule != SC_DENY || oracle(differences[i].name, CAPS_RUN) != ALLOWED) {
			fprintf(stderr, "  %s: named as a difference (%s) but not one\n", differences[i].name,
				differences[i].why);
			testing_failed_ = 1;
		}
	}
	for (size_t i = 0; i < sizeof chroot_differences / sizeof *chroot_differences; i++) {
		const struct seccomp_entry *e = entry(chroot_differences[i]);
		CHECK(e && e->rule == SC_ALLOW_NS);
		CHECK(oracle(chroot_differences[i], CAPS_RUN) == ALLOWED);
	}
	/* what the profile refuses by name (its EPERM group) the table never allows */
	size_t i;
	json_t *g, *v;
	size_t k, refused = 0;
	json_array_foreach(json_object_get(profile, "syscalls"), i, g)
	{
		if (strcmp(json_string_value(json_object_get(g, "action")), "SCMP_ACT_ERRNO") != 0 ||
		    json_array_size(json_object_get(g, "args")) || !applies(g, CAPS_RUN))
			continue;
		json_array_foreach(json_object_get(g, "names"), k, v)
		{
			const struct seccomp_entry *e = entry(json_string_value(v));
			refused++;
			if (e && e->rule != SC_DENY) {
				fprintf(stderr, "  %s: refused there, rule %d here\n", e->name, (int)e->rule);
				testing_failed_ = 1;
			}
		}
	}
	CHECK(refused > 20);
}

/* every syscall of this architecture the oracle allows is in the table
 * (else it would be refused here without a reason written down) */
static void test_nothing_allowed_missing(void)
{
	REQUIRE(load());
#ifdef __x86_64__
	FILE *f = fopen(UNISTD, "re");
	if (!f) {
		fprintf(stderr, "  %s: %s (linux-libc-dev)\n", UNISTD, strerror(errno));
		testing_failed_ = 1;
		return;
	}
	regex_t re;
	REQUIRE(regcomp(&re, "^#define __NR_([a-z0-9_]+) ([0-9]+)", REG_EXTENDED) == 0);
	char line[256];
	size_t syscalls = 0, missing = 0;
	while (fgets(line, sizeof line, f)) {
		regmatch_t m[3];
		if (regexec(&re, line, 3, m, 0) != 0)
			continue;
		line[m[1].rm_eo] = 0;
		const char *name = line + m[1].rm_so;
		syscalls++;
		if (!entry(name) && oracle(name, CAPS_RUN) != REFUSED) {
			fprintf(stderr, "  %s: allowed by %s, not in the table\n", name, PROFILE);
			missing++;
		}
	}
	regfree(&re);
	fclose(f);
	CHECK(syscalls > 300);
	CHECK(missing == 0);
#else
	fprintf(stderr, "  note: %s's syscall list is not parsed here; the table is checked one way only\n", ARCH);
#endif
}

static void teardown(void)
{
	json_decref(profile);
}

TEST_MAIN_TEARDOWN("seccomp_profile", teardown, TEST(test_table_allowed_there), TEST(test_differences_named),
		   TEST(test_nothing_allowed_missing))
