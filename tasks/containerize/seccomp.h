/* The seccomp filter of a RUN step: an allowlist equivalent to Docker's
 * default profile (moby profiles/seccomp/default.json) for a container with
 * the default capabilities, compiled to BPF by hand from the table in
 * seccomp.c (syscall numbers from <sys/syscall.h>: x86_64 and aarch64).
 *
 * A syscall in the table as allowed runs; one the table conditions is
 * decided on its arguments: clone without a CLONE_NEW* flag, mknod/mknodat
 * of anything but a character or block device, socket of any family but
 * AF_VSOCK (and no audit netlink socket: EINVAL, as without
 * CAP_AUDIT_WRITE), personality of the few values Docker allows; clone3
 * fails with ENOSYS (its flags are in memory the filter cannot read: libc
 * falls back to clone). Every other syscall fails with EPERM, except those
 * numbered above the highest the table names: ENOSYS, as runc does, so
 * that libc falls back when it tries a syscall newer than this table. A
 * syscall of another architecture kills the step; x32 syscalls fail.
 *
 * Refused although the containers profile (/usr/share/containers/
 * seccomp.json, which relies on a user namespace) allows them, because
 * Docker refuses them without CAP_SYS_ADMIN and a step must not rely on its
 * user namespace alone: mount and the new mount API, umount, pivot_root,
 * unshare, setns, keyctl, reboot, syslog, name_to_handle_at, pidfd_getfd,
 * the NUMA policy calls, modify_ldt. SECCOMP_CHROOT refuses in addition
 * what reaches other processes without a PID namespace (ptrace,
 * process_vm_readv/writev) and chroot.
 * tests/unit/test_seccomp_profile.c checks the table against that profile.
 *
 * Install after PR_SET_NO_NEW_PRIVS, as the last step before exec. */
#ifndef CONTAINERIZE_SECCOMP_H
#define CONTAINERIZE_SECCOMP_H

#include <stddef.h>

enum seccomp_profile { SECCOMP_NAMESPACE, SECCOMP_CHROOT };

/* what the table says of one syscall */
enum seccomp_rule {
	SC_ALLOW,       /* in every profile */
	SC_ALLOW_NS,    /* only with namespaces of its own (not isolation=chroot) */
	SC_CLONE,       /* no CLONE_NEW* flag */
	SC_CLONE3,      /* ENOSYS */
	SC_MKNOD,       /* no device node (mode is argument 1) */
	SC_MKNODAT,     /* the same, mode is argument 2 */
	SC_SOCKET,      /* no AF_VSOCK, no NETLINK_AUDIT */
	SC_PERSONALITY, /* Docker's values only */
	SC_DENY,        /* EPERM: named for the reason in seccomp.c */
};

struct seccomp_entry {
	const char *name;
	int nr;
	enum seccomp_rule rule;
};

/* The table, in the order written (for tests). */
const struct seccomp_entry *seccomp_table(size_t *n);

/* Returns 0, or -1 with errno. No allocation (called after fork). */
int seccomp_install(enum seccomp_profile profile);

#endif
