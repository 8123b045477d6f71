#!/usr/bin/env bash
# containerize's RUN sandbox (issue 13): a RUN step tries to escape, as root
# and as an unprivileged user, in isolation=namespace and isolation=chroot:
#   - mknod of the host's root disk (its major:minor) and mount it, mknod
#     of /dev/mem (a FIFO must still work);
#   - mount a proc and walk /proc/<pid>/root of every process it sees to a
#     host sentinel file (mode 0666: any path that reaches it can write);
#   - init_module / finit_module;
#   - AF_PACKET and AF_INET raw sockets, SIOCSIFMTU on lo (host network);
#   - ptrace of a host process of the build's own uid;
#   - writing /proc/sys (kernel.printk_ratelimit);
#   - keyctl and unshare(CLONE_NEWUSER) (seccomp rules of their own).
# Each must be refused for the expected reason (errno text), and the host
# must be unchanged afterwards: sentinel, traced process, lo MTU, sysctl.
# Then the step's capability sets, no_new_privs and seccomp mode must not
# be wider than what buildah 1.28 gives a RUN step (bud --isolation chroot,
# and oci where a runtime is installed), and as root the step's uid 0 must
# be an unprivileged host id (/proc/self/uid_map) while the image still
# records the owners the step chose.
# Prints PASS:/FAIL: lines; exits non-zero if any FAIL.
set -u
here=$(cd "$(dirname "$0")" && pwd)
suite=containerize-sandbox tools="buildah python3 cc setpriv mountpoint" as_root=1
# shellcheck source=containerize/prelude.sh
. "$here/containerize/prelude.sh"
cc -static -O1 -o "$tmp/probe" "$here/containerize/sandbox/probe.c" || { fail "prerequisites" "cannot build the probe"; exit 1; }

DISK=$(mountpoint -d /)
SENTINEL=$tmp/sentinel
echo "host sentinel" >"$SENTINEL"
chmod 666 "$SENTINEL"
sentinel_state() { stat -c '%s %Y %Z %a' "$SENTINEL"; sha256sum <"$SENTINEL"; }
sentinel0=$(sentinel_state)
lo_mtu0=$(cat /sys/class/net/lo/mtu)
ratelimit0=$(cat /proc/sys/kernel/printk_ratelimit)
# host processes to ptrace: one per uid the builds run as
start_sleepers

# build CTX as AS (root|nobody) with ISO; log in $tmp/NAME.log
# AS: root, nobody, or root-inh (root started with inheritable
# capabilities, which an exec would turn into permitted ones)
build() { # build NAME AS ISO DOCKERFILE-TEXT [more containerize args]
	local name=$1 as=$2 iso=$3 text=$4 ctx=$tmp/$1
	shift 4
	mkdir -p "$ctx"
	cp "$tmp/probe" "$ctx/probe"
	printf '%b' "$text" >"$ctx/Dockerfile"
	local run=()
	if [ "$as" = nobody ]; then
		chown -R 65534:65534 "$ctx"
		# /dev/net/tun as Debian has it (0666), for the step's slirp4netns
		run=("$here/containerize/with-tun.sh" 0666 setpriv --reuid=65534 --regid=65534 --clear-groups env TMPDIR="$ctx")
	elif [ "$as" = root-inh ]; then
		run=(setpriv --inh-caps=+sys_admin,+sys_module,+sys_ptrace)
	fi
	"${run[@]}" "$BIN" --context="$ctx" --push=false --oci-layout="$ctx/out" --tag=latest \
		--build-args="BASE=$BASE" --source-date-epoch=0 --isolation="$iso" "$@" >/dev/null 2>"$tmp/$name.log"
}

probe_df='ARG BASE\nFROM $BASE\nCOPY probe /probe\nARG DEV\nARG PID\nARG SENTINEL\nRUN /probe $DEV $PID $SENTINEL\n'
status_df='ARG BASE\nFROM $BASE\nCOPY probe /probe\nRUN /probe status\n'
# what the namespace steps see of /proc and /sys (busybox has no /sys: the
# first step makes one): /proc/sys and /sys read-only, timer_list and
# /sys/firmware masked
proc_df='ARG BASE\nFROM $BASE\nRUN mkdir /sys\nRUN awk '"'"'$5 ~ /^\\/(proc\\/sys|sys|sys\\/firmware)$/ { split($6, o, ","); print "mnt", $5, o[1] }'"'"' /proc/self/mountinfo && echo "timer_list $(wc -c </proc/timer_list) bytes" && echo "firmware $(ls /sys/firmware | wc -l) entries"\n'

# expect NAME PROBE REASON: the probe's line in the log says refused: REASON
expect() {
	local name=$1 probe=$2 want=$3 line
	line=$(grep -m1 "^probe $probe: " "$tmp/$name.log")
	if [ "$line" = "probe $probe: refused: $want" ] || [ "$line" = "probe $probe: $want" ]; then
		pass "$name: $probe refused ($want)"
	else
		fail "$name: $probe" "want: refused: $want" "got:  ${line:-(no line; log: $(tail -2 "$tmp/$name.log" | tr '\n' ' '))}"
	fi
}

host_unchanged() { # host_unchanged NAME PID-TRACED
	local name=$1 pid=$2 bad=()
	[ "$(sentinel_state)" = "$sentinel0" ] || bad+=("the sentinel changed: $(cat "$SENTINEL")")
	kill -0 "$pid" 2>/dev/null || bad+=("the host process $pid is gone")
	grep -q '^TracerPid:[[:space:]]*0$' "/proc/$pid/status" 2>/dev/null || bad+=("the host process $pid is traced")
	[ "$(cat /sys/class/net/lo/mtu)" = "$lo_mtu0" ] || bad+=("lo's MTU changed")
	[ "$(cat /proc/sys/kernel/printk_ratelimit)" = "$ratelimit0" ] || {
		bad+=("kernel.printk_ratelimit changed")
		echo "$ratelimit0" >/proc/sys/kernel/printk_ratelimit
	}
	if [ ${#bad[@]} -eq 0 ]; then pass "$name: host unchanged"; else fail "$name: host unchanged" "${bad[@]}"; fi
}

EPERM="Operation not permitted"
for as in root nobody; do
	pid=$sleeper_root
	[ "$as" = nobody ] && pid=$sleeper_nobody
	for iso in namespace chroot; do
		name=escape-$as-$iso
		if [ "$as" = nobody ] && [ "$iso" = chroot ]; then
			build "$name" "$as" "$iso" 'ARG BASE\nFROM $BASE\nRUN echo started\n'
			rc=$?
			# no namespaces and no privilege: the step cannot start at all
			if [ $rc -ne 0 ] && grep -q "chroot: $EPERM" "$tmp/$name.log" && ! grep -q '^started' "$tmp/$name.log"; then
				pass "$name: RUN refused to start (chroot: $EPERM)"
			else
				fail "$name: RUN refused to start" "exit $rc" "$(tail -3 "$tmp/$name.log")"
			fi
			host_unchanged "$name" "$pid"
			continue
		fi
		build "$name" "$as" "$iso" "$probe_df" --build-args="DEV=$DISK" --build-args="PID=$pid" --build-args="SENTINEL=$SENTINEL"
		rc=$?
		[ $rc -eq 0 ] || fail "$name: build" "exit $rc" "$(tail -3 "$tmp/$name.log")"
		if grep -q 'ESCAPED\|FAILED' "$tmp/$name.log"; then
			fail "$name: no probe escaped" "$(grep 'ESCAPED\|FAILED' "$tmp/$name.log")"
		fi
		for p in mknod-disk mount-disk mknod-char mount-proc finit_module init_module raw-packet raw-inet netconf keyctl unshare-user; do
			expect "$name" "$p" "$EPERM"
		done
		expect "$name" mknod-fifo ok
		if [ "$iso" = namespace ]; then
			expect "$name" ptrace "No such process"
			# the files belong to the host's root: refused before the
			# read-only mount is reached (checked on its own below)
			expect "$name" proc-sys "Permission denied"
			line=$(grep -m1 '^probe proc-root: ' "$tmp/$name.log")
			case $line in
			*"refused: sentinel not reachable ("*"processes seen, host pid not visible)") pass "$name: proc-root walk sees no host process" ;;
			*) fail "$name: proc-root walk" "$line" ;;
			esac
		else
			expect "$name" ptrace "$EPERM"
			expect "$name" proc-sys "No such file or directory"
			expect "$name" proc-root "sentinel not reachable (0 processes seen, host pid not visible)"
		fi
		host_unchanged "$name" "$pid"
	done
done

# ---- the user namespace as root: mapped to unprivileged host ids ----------
build userns-root root namespace 'ARG BASE\nFROM $BASE\nRUN cat /proc/self/uid_map /proc/self/gid_map\nRUN touch /by-root && touch /by-app && chown 1000:50 /by-app\nUSER app\nRUN touch /tmp/by-user\n'
maps=$(grep -E '^ +0 +[0-9]+ +[0-9]+$' "$tmp/userns-root.log" | awk '{print $2}' | sort -u)
if [ -n "$maps" ] && ! echo "$maps" | grep -qx 0 && grep -q 'RUN steps run in a user namespace: root and ids 0-65535 map to host ids' "$tmp/userns-root.log"; then
	pass "as root, RUN's uid 0 is host id $maps (logged)"
else
	fail "as root, RUN's user namespace" "maps: $maps" "$(grep -i 'user namespace' "$tmp/userns-root.log")"
fi
owners=$($COMPARE --list "$tmp/userns-root/out:latest" 2>/dev/null | grep -E '^(by-root|by-app|tmp/by-user) ')
if echo "$owners" | grep -q '^by-root file [0-7o]* 0:0 ' && echo "$owners" | grep -q '^by-app file [0-7o]* 1000:50 ' &&
	echo "$owners" | grep -q '^tmp/by-user file [0-7o]* 1000:1000 '; then
	pass "as root, files keep the owners the step gave them (id-mapped root)"
else
	fail "as root, owners in the layer" "$owners" "$(tail -3 "$tmp/userns-root.log")"
fi

for as in root nobody; do
	build "proc-$as" "$as" namespace "$proc_df"
	got=$(grep -E '^(mnt|timer_list|firmware) ' "$tmp/proc-$as.log" | sort | tr '\n' ';')
	if [ "$got" = "firmware 0 entries;mnt /proc/sys ro;mnt /sys ro;mnt /sys/firmware ro;timer_list 0 bytes;" ]; then
		pass "$as: /proc/sys and /sys read-only, /proc/timer_list and /sys/firmware masked"
	else
		fail "$as: /proc/sys and /sys read-only, /proc/timer_list and /sys/firmware masked" "got: $got" "$(tail -2 "$tmp/proc-$as.log")"
	fi
done

# ---- the step's credentials compared with buildah's ---------------------------
status_of() { # status_of LOG: the probe's status lines
	grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' "$1"
}
buildah_status() { # buildah_status ISO OUT
	local iso=$1 st=$tmp/buildah-$1
	mkdir -p "$st/ctx"
	cp "$tmp/probe" "$st/ctx/probe"
	printf 'ARG BASE\nFROM %s\nCOPY probe /probe\nRUN /probe status\n' "$BASE" >"$st/ctx/Dockerfile"
	buildah --root "$st/root" --runroot "$st/run" --storage-driver vfs bud --isolation "$iso" "$st/ctx" >"$st/log" 2>&1
	local rc=$?
	buildah --root "$st/root" --runroot "$st/run" --storage-driver vfs rm -a >/dev/null 2>&1
	rm -rf "$st/root"
	status_of "$st/log" >"$2"
	return $rc
}
not_wider() { # not_wider OURS THEIRS: every capability set a subset, nnp and seccomp not less
	python3 - "$1" "$2" <<'PY'
import sys
def load(p):
    return {k: v.strip() for k, v in (l.split(":", 1) for l in open(p) if ":" in l)}
o, t = load(sys.argv[1]), load(sys.argv[2])
bad = []
for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
    if k not in o or k not in t:
        bad.append("%s missing" % k); continue
    extra = int(o[k], 16) & ~int(t[k], 16)
    if extra:
        bad.append("%s %s has %#x beyond %s" % (k, o[k], extra, t[k]))
for k in ("NoNewPrivs", "Seccomp"):
    if int(o.get(k, -1)) < int(t.get(k, 99)):
        bad.append("%s %s < %s" % (k, o.get(k), t.get(k)))
print("; ".join(bad))
sys.exit(1 if bad else 0)
PY
}
peers=()
buildah_status chroot "$tmp/theirs-chroot.txt" && peers+=(chroot) || fail "buildah bud --isolation chroot" "$(tail -3 "$tmp/buildah-chroot/log")"
if buildah_status oci "$tmp/theirs-oci.txt"; then peers+=(oci); else echo "note: buildah --isolation oci cannot run here ($(tail -1 "$tmp/buildah-oci/log")): compared with chroot only"; fi
build status-root-namespace root namespace "$status_df"
build status-root-chroot root chroot "$status_df"
build status-nobody-namespace nobody namespace "$status_df"
build status-root-inh-namespace root-inh namespace "$status_df"
build status-root-inh-chroot root-inh chroot "$status_df"
for ours in status-root-namespace status-root-chroot status-nobody-namespace status-root-inh-namespace status-root-inh-chroot; do
	status_of "$tmp/$ours.log" >"$tmp/$ours.txt"
	if ! grep -q '^Seccomp:.2$' "$tmp/$ours.txt" || ! grep -q '^NoNewPrivs:.1$' "$tmp/$ours.txt"; then
		fail "$ours: seccomp filter mode and no_new_privs" "$(tr '\n' ' ' <"$tmp/$ours.txt") $(tail -2 "$tmp/$ours.log")"
	fi
	for peer in "${peers[@]}"; do
		if why=$(not_wider "$tmp/$ours.txt" "$tmp/theirs-$peer.txt"); then
			pass "$ours: not wider than buildah $peer ($(grep CapEff "$tmp/$ours.txt" | tr -d '\t') vs $(grep CapEff "$tmp/theirs-$peer.txt" | tr -d '\t'))"
		else
			fail "$ours: not wider than buildah $peer" "$why"
		fi
	done
done
# exactly the containers' default set in the namespace (Docker's without
# MKNOD, NET_RAW, AUDIT_WRITE): CHOWN DAC_OVERRIDE FOWNER FSETID KILL
# SETGID SETUID SETPCAP NET_BIND_SERVICE SYS_CHROOT SETFCAP
grep -q '^CapBnd:.00000000800405fb$' "$tmp/status-root-namespace.txt" && pass "namespace: bounding set is the containers' default" ||
	fail "namespace: bounding set is the containers' default" "$(grep CapBnd "$tmp/status-root-namespace.txt")"

echo "containerize-sandbox: $fails failed"
[ $fails -eq 0 ]
