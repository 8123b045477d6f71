/* Capabilities of a RUN step: the bounding, permitted, effective,
 * inheritable and ambient sets limited to a fixed set, as runtimes do.
 *
 * CAPS_RUN is the default set of the containers tools (containers.conf
 * default_capabilities: buildah, podman): Docker's default set (moby
 * oci/caps/defaults.go) without MKNOD, NET_RAW and AUDIT_WRITE. It is what a
 * RUN step gets in isolation=namespace, where every capability is one of
 * the step's user namespace only. CAPS_CHROOT is that set minus what is
 * dangerous without namespaces (isolation=chroot as root: the step is root
 * of the host with only a chroot around it): SYS_CHROOT (chroot escapes)
 * and NET_BIND_SERVICE (the host's ports).
 *
 * Called in the child after fork, before exec: no allocation, errno set
 * on failure. */
#ifndef CONTAINERIZE_CAPS_H
#define CONTAINERIZE_CAPS_H

#include <stdint.h>
#include <linux/capability.h>

#define CAP_BIT(c) (UINT64_C(1) << (c))
#define CAPS_RUN                                                                                         \
	(CAP_BIT(CAP_CHOWN) | CAP_BIT(CAP_DAC_OVERRIDE) | CAP_BIT(CAP_FSETID) | CAP_BIT(CAP_FOWNER) |    \
	 CAP_BIT(CAP_SETGID) | CAP_BIT(CAP_SETUID) | CAP_BIT(CAP_SETFCAP) | CAP_BIT(CAP_SETPCAP) |        \
	 CAP_BIT(CAP_NET_BIND_SERVICE) | CAP_BIT(CAP_SYS_CHROOT) | CAP_BIT(CAP_KILL))
#define CAPS_CHROOT (CAPS_RUN & ~(CAP_BIT(CAP_SYS_CHROOT) | CAP_BIT(CAP_NET_BIND_SERVICE)))

/* Drop every capability outside keep from the bounding set and clear the
 * ambient set. Needs CAP_SETPCAP: call it before changing to the step's
 * user. Returns 0, or -1 with errno. */
int caps_bound(uint64_t keep);

/* Set permitted and effective to keep (intersected with what we have:
 * a non-root user has none left after setuid) and inheritable to none.
 * Call after setuid. Returns 0, or -1 with errno. */
int caps_set(uint64_t keep);

#endif
