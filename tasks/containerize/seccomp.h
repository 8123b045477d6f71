/* The seccomp filter of a RUN step: the syscalls Docker's default profile
 * (moby profiles/seccomp/default.json) refuses to a container with the
 * default capabilities, as a hand-written BPF deny list. Refused calls fail
 * with EPERM (clone3 with ENOSYS, so libc falls back to clone, whose flags
 * the filter can see); a syscall of another architecture kills the step.
 *
 * Refused: mount and the new mount API, umount, pivot_root, swapon/off,
 * reboot, kexec_*, module loading and removal, bpf, perf_event_open,
 * keyctl/add_key/request_key, unshare, setns, clone with a CLONE_NEW* flag,
 * mknod of character or block devices, open_by_handle_at and
 * name_to_handle_at, userfaultfd, io_uring, acct, quotactl, syslog, clock
 * and time setting, iopl/ioperm, NUMA policy calls, pidfd_getfd, socket of
 * AF_VSOCK, personality other than the few Docker allows, x32 syscalls.
 * SECCOMP_CHROOT refuses in addition what reaches other processes without
 * a PID namespace: ptrace, process_vm_readv/writev, kcmp, and
 * sethostname/setdomainname (the host's UTS namespace).
 *
 * Install after PR_SET_NO_NEW_PRIVS, as the last step before exec. */
#ifndef CONTAINERIZE_SECCOMP_H
#define CONTAINERIZE_SECCOMP_H

enum seccomp_profile { SECCOMP_NAMESPACE, SECCOMP_CHROOT };

/* Returns 0, or -1 with errno. No allocation (called after fork). */
int seccomp_install(enum seccomp_profile profile);

#endif
