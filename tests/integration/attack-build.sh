#!/usr/bin/env bash
# Hostile builds against containerize (issue 13, second round; the first is
# containerize-sandbox.sh). Two parts:
#
# 1. A RUN step, started from a terminal (script(1) gives the build a
#    controlling tty) with a directory of the host open on fd 9 (a caller
#    that leaks a descriptor), as root and as nobody, isolation namespace
#    and chroot, tries (tests/integration/containerize/sandbox/attack.c):
#    descriptors beyond 2 (fchdir to the leaked directory, climb, write a
#    host sentinel), TIOCSTI on /dev/tty, kill(0) of a host process, the
#    new mount API (fsopen, fspick, open_tree, move_mount, mount_setattr),
#    mount/umount/pivot_root, bpf, perf_event_open, userfaultfd, io_uring,
#    open_by_handle_at, kexec_load, setns, clone with CLONE_NEWNS, clone3,
#    modify_ldt (x86_64; not in Docker's profile),
#    an x32 syscall, int 0x80, /proc/self/root and /proc/1/cwd, a chroot
#    escape (chroot to a subdirectory, climb, chroot .); and a daemon it
#    starts must not outlive it.
# 2. Hostile inputs: a context symlink to a host secret, ADD of a tar with
#    ../ and absolute names, a symlink then a file through it, a device node
#    and a setuid file; COPY and WORKDIR through a symlink a RUN made to a
#    host directory; COPY --from of a stage's symlink to /etc/shadow.
#    Afterwards the host directory must be unchanged and no image file may
#    hold the host secret's bytes.
# Prints PASS:/FAIL: lines; exits non-zero if any FAIL.
set -u
here=$(cd "$(dirname "$0")" && pwd)
suite=attack-build tools="python3 cc setpriv script" as_root=1
# shellcheck source=containerize/prelude.sh
. "$here/containerize/prelude.sh"
cc -static -O1 -o "$tmp/attack" "$here/containerize/sandbox/attack.c" || { fail "prerequisites" "cannot build the probe"; exit 1; }

# the host: a directory no build may change, with a sentinel any path that
# reaches it can write and a secret no image may contain
HOST=$tmp/host
mkdir -p "$HOST"
chmod 777 "$HOST"
SENTINEL=$HOST/sentinel
echo "host sentinel" >"$SENTINEL"
chmod 666 "$SENTINEL"
echo "host secret $$ $RANDOM" >"$HOST/secret"
SECRET_SHA=$(sha256sum <"$HOST/secret" | cut -d' ' -f1)
host_state() { (cd "$HOST" && find . -printf '%p %y %m %s %U:%G\n' | sort && sha256sum sentinel secret); }
host0=$(host_state)
start_sleepers

# build NAME AS ISO DOCKERFILE-TEXT [more containerize args]: from a
# terminal, with $HOST open on fd 9; log in $tmp/NAME.log
build() {
	local name=$1 as=$2 iso=$3 text=$4 ctx=$tmp/$1
	shift 4
	mkdir -p "$ctx"
	cp "$tmp/attack" "$ctx/attack"
	printf '%b' "$text" >"$ctx/Dockerfile"
	local run=""
	if [ "$as" = nobody ]; then
		chown -R 65534:65534 "$ctx"
		# /dev/net/tun as Debian has it (0666), for the step's slirp4netns
		run="$here/containerize/with-tun.sh 0666 setpriv --reuid=65534 --regid=65534 --clear-groups env TMPDIR=$ctx"
	fi
	{
		printf '%s ' exec $run "$BIN" --context="$ctx" --push=false --oci-layout="$ctx/out" --tag=latest \
			--build-args="BASE=$BASE" --source-date-epoch=0 --isolation="$iso"
		[ $# -eq 0 ] || printf '%q ' "$@"
		printf '>/dev/null 2>%q 9<%q\n' "$tmp/$name.log" "$HOST"
	} >"$tmp/$name.cmd"
	script -qec "bash $tmp/$name.cmd" /dev/null </dev/null >/dev/null
}

# expect NAME PROBE WANT: the probe's line says "refused: WANT" (or WANT)
expect() {
	local name=$1 probe=$2 want=$3 line
	line=$(grep -m1 "^probe $probe: [^f]" "$tmp/$name.log")
	if [ "$line" = "probe $probe: refused: $want" ] || [ "$line" = "probe $probe: $want" ]; then
		pass "$name: $probe refused ($want)"
	else
		fail "$name: $probe" "want: refused: $want" "got:  ${line:-(no line; log: $(tail -2 "$tmp/$name.log" | tr '\n' ' '))}"
	fi
}

host_unchanged() {
	local now
	now=$(host_state)
	if [ "$now" = "$host0" ]; then
		pass "$1: host directory unchanged"
	else
		fail "$1: host directory unchanged" "$(diff <(echo "$host0") <(echo "$now") | tail -5)"
		echo "host sentinel" >"$SENTINEL"
	fi
}

# ---- 1. the RUN step ------------------------------------------------------
EPERM="Operation not permitted"
attack_df='ARG BASE\nFROM $BASE\nCOPY attack /attack\nARG PID\nARG SENTINEL\nRUN /attack $PID $SENTINEL\n'
for mode in root:namespace root:chroot nobody:namespace; do
	as=${mode%:*} iso=${mode#*:} name=run-${mode/:/-}
	pid=$sleeper_root
	[ "$as" = nobody ] && pid=$sleeper_nobody
	build "$name" "$as" "$iso" "$attack_df" --build-args="PID=$pid" --build-args="SENTINEL=$SENTINEL"
	rc=$?
	[ $rc -eq 0 ] || fail "$name: build" "exit $rc" "$(tail -3 "$tmp/$name.log")"
	# chroot: signalling host processes of the step's uid is what the
	# warning admits (checked below), every other attempt must fail
	known='^$'
	[ "$iso" = chroot ] && known='^probe kill: ESCAPED'
	if grep 'ESCAPED' "$tmp/$name.log" | grep -qv "$known"; then
		fail "$name: no attack escaped" "$(grep 'ESCAPED' "$tmp/$name.log" | grep -v "$known")"
	fi
	expect "$name" fds "no descriptor beyond 2"
	for p in fsopen fspick open_tree move_mount mount_setattr mount-tmpfs umount bpf perf_event_open userfaultfd \
		io_uring_setup open_by_handle_at kexec_load setns clone-newns x32-unshare pivot_root personality modify_ldt; do
		expect "$name" "$p" "$EPERM"
	done
	expect "$name" clone3 "Function not implemented"
	expect "$name" proc-links "sentinel not reachable"
	# int 0x80: killed by the filter (SIGSYS), or by the kernel where the
	# 32-bit ABI is off (SIGSEGV): never a result
	line=$(grep -m1 '^probe int80: ' "$tmp/$name.log")
	case $line in
	"probe int80: refused: killed by signal "*) pass "$name: int80 refused (${line##*: })" ;;
	*) fail "$name: int80" "got: $line" ;;
	esac
	if [ "$iso" = namespace ]; then
		# /dev/tty is there, but the step has no controlling terminal
		expect "$name" tty "No such device or address"
		expect "$name" kill "No such process"
		expect "$name" chroot "sentinel not reachable"
	else
		# chroot: no /dev (busybox has none); host processes of the
		# step's uid are reachable, as --isolation=chroot warns
		expect "$name" tty "No such file or directory"
		expect "$name" chroot "$EPERM"
		grep -q 'isolation=chroot: RUN steps get no namespaces: they see the host.s processes' "$tmp/$name.log" &&
			pass "$name: the log warns what chroot does not isolate" ||
			fail "$name: the log warns what chroot does not isolate" "$(grep -m1 warn "$tmp/$name.log")"
	fi
	host_unchanged "$name"
done

# a daemon started by RUN (double fork, setsid, no descriptors) must not
# outlive the step: namespace mode ends with its PID namespace, chroot
# mode has containerize as the step's subreaper
for mode in root:namespace root:chroot nobody:namespace; do
	as=${mode%:*} iso=${mode#*:} name=daemon-${mode/:/-}
	secs=$((4000 + RANDOM % 1000))$$
	build "$name" "$as" "$iso" "ARG BASE\nFROM \$BASE\nCOPY attack /attack\nRUN /attack daemon $secs\n"
	rc=$?
	left=$(pgrep -f "^/attack daemon $secs\$")
	if [ $rc -eq 0 ] && grep -q '^probe daemon: started' "$tmp/$name.log" && [ -z "$left" ]; then
		pass "$name: nothing the step started outlives it"
	else
		fail "$name: nothing the step started outlives it" "exit $rc, left running: ${left:-none}" "$(tail -2 "$tmp/$name.log")"
		[ -z "$left" ] || kill $left
	fi
done

# ---- 2. hostile inputs ----------------------------------------------------
# no file of the image may hold the host secret's bytes
no_secret() { # no_secret NAME
	local name=$1 list
	list=$($COMPARE --list "$tmp/$name/out:latest" 2>&1) || { fail "$name: image listing" "$list"; return; }
	if echo "$list" | grep -q "$SECRET_SHA"; then
		fail "$name: the image holds the host secret" "$(echo "$list" | grep "$SECRET_SHA")"
	else
		pass "$name: the image does not hold the host secret"
	fi
}

# a context symlink to the host secret: resolved inside the context (as
# BuildKit does), where its target does not exist
mkdir -p "$tmp/ctx-link"
ln -s "$HOST/secret" "$tmp/ctx-link/link"
ln -s ../../host/secret "$tmp/ctx-link/rel"
for src in link rel; do
	name=ctx-link-$src
	mkdir -p "$tmp/$name"
	cp -a "$tmp/ctx-link/$src" "$tmp/$name/$src"
	build "$name" root namespace "ARG BASE\nFROM \$BASE\nCOPY $src /x\n"
	if [ -f "$tmp/$name/out/index.json" ]; then
		no_secret "$name"
	elif grep -q "COPY source $src: not found in the build context" "$tmp/$name.log"; then
		pass "$name: the symlink is resolved in the context, where its target is not found"
	else
		fail "$name: COPY of a symlink leaving the context" "$(tail -2 "$tmp/$name.log")"
	fi
	host_unchanged "$name"
done

# ADD of hostile tars, one trick each: traversal, an absolute name, a
# symlink to the host directory then a file through it, a hard link to a
# host file, a block device with a setuid file. Either refused (the reason
# checked) or unpacked inside the image's root only.
python3 - "$tmp" "$HOST" <<'PY'
import io, sys, tarfile
out, host = sys.argv[1], sys.argv[2]
def tar(name, entries):
    with tarfile.open("%s/%s.tar" % (out, name), "w", format=tarfile.PAX_FORMAT) as t:
        for path, kw in entries:
            ti = tarfile.TarInfo(path)
            for k, v in kw.items():
                setattr(ti, k, v)
            if ti.type == tarfile.REGTYPE:
                data = b"evil\n"
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
tar("dotdot", [("../../../../../../.." + host + "/dotdot", {})])
tar("absolute", [(host + "/absolute", {})])
tar("through", [("hostlink", {"type": tarfile.SYMTYPE, "linkname": host}), ("hostlink/through", {}),
                ("hostlink/sentinel", {})])
tar("hard", [("hard", {"type": tarfile.LNKTYPE, "linkname": host + "/secret"})])
tar("devsuid", [("disk", {"type": tarfile.BLKTYPE, "devmajor": 8, "devminor": 0, "mode": 0o666}),
                ("suid", {"mode": 0o4755})])
PY
# what each may leave in the image (unpacked inside the root), else the
# reason it is refused. Entry names and hardlink targets are relative to
# the destination (/opt); a symlink in the tar resolves inside the image
# root, as Docker's untar chrooted there: hostlink -> $HOST takes
# hostlink/through to the image's $HOST/through (never the host's)
declare -A add_ok=(
	[dotdot]="" [absolute]="^opt/${HOST#/}/absolute file "
	[through]="^${HOST#/}/through file " [hard]="" [devsuid]="^opt/suid file 0o4755 "
)
declare -A add_refused=(
	[dotdot]='points outside the root' [absolute]='' [through]=''
	[hard]="layer entry hard: opt/${HOST#/}: No such file or directory" [devsuid]=''
)
for t in dotdot absolute through hard devsuid; do
	for iso in namespace chroot; do
		name=add-$t-$iso
		mkdir -p "$tmp/$name"
		cp "$tmp/$t.tar" "$tmp/$name/evil.tar"
		build "$name" root "$iso" 'ARG BASE\nFROM $BASE\nADD evil.tar /opt/\n'
		if [ -f "$tmp/$name/out/index.json" ]; then
			list=$($COMPARE --list "$tmp/$name/out:latest" 2>/dev/null | grep -E "^(opt|${HOST#/})/")
			no_secret "$name"
			if echo "$list" | grep -q '^opt/disk '; then
				fail "$name: a device node from the tar is in the image" "$list"
			elif [ -n "${add_ok[$t]}" ] && ! echo "$list" | grep -q "${add_ok[$t]}"; then
				fail "$name: unpacked inside the root" "want: ${add_ok[$t]}" "got: $list"
			else
				pass "$name: unpacked inside the image's root ($(echo "$list" | tr '\n' ';' | cut -c1-160))"
			fi
		elif [ -n "${add_refused[$t]}" ] && grep -q "${add_refused[$t]}" "$tmp/$name.log"; then
			pass "$name: ADD refused (${add_refused[$t]})"
		else
			fail "$name: ADD" "$(tail -2 "$tmp/$name.log")"
		fi
		host_unchanged "$name"
	done
done

# a RUN makes a symlink to the host directory; COPY and WORKDIR go
# through it: they must land in the image's root, not on the host
for iso in namespace chroot; do
	name=dst-link-$iso
	mkdir -p "$tmp/$name"
	echo "copied" >"$tmp/$name/file"
	build "$name" root "$iso" "ARG BASE\nFROM \$BASE\nRUN mkdir -p $HOST && echo image >$HOST/sentinel && ln -s $HOST /hostlink && ln -s $HOST/sentinel /sentlink\nCOPY file /hostlink/\nCOPY file /sentlink\nWORKDIR /hostlink/wd\nRUN touch made-in-workdir\n"
	rc=$?
	if [ $rc -eq 0 ]; then
		list=$($COMPARE --list "$tmp/$name/out:latest" 2>/dev/null)
		if echo "$list" | grep -q "^${HOST#/}/wd/made-in-workdir " && echo "$list" | grep -q "^${HOST#/}/file "; then
			pass "$name: COPY and WORKDIR through a symlink stay in the image's root"
		else
			fail "$name: COPY and WORKDIR through a symlink" "$(echo "$list" | grep -E "hostlink|sentlink|${HOST#/}")"
		fi
	else
		fail "$name: build" "exit $rc" "$(tail -3 "$tmp/$name.log")"
	fi
	host_unchanged "$name"
done

# COPY --from a stage whose /leak is a symlink to /etc/shadow and to the
# host secret's absolute path: resolved in the stage's root
name=from-stage-link
mkdir -p "$tmp/$name"
build "$name" root namespace "ARG BASE\nFROM \$BASE AS a\nRUN echo stage >/etc/shadow && ln -s /etc/shadow /leak && mkdir -p $HOST && echo stage >$HOST/secret && ln -s $HOST/secret /leak2\nFROM \$BASE\nCOPY --from=a /leak /leak2 /got/\n"
if [ -f "$tmp/$name/out/index.json" ]; then
	no_secret "$name"
	shadow_sha=$(sha256sum </etc/shadow | cut -d' ' -f1)
	$COMPARE --list "$tmp/$name/out:latest" 2>/dev/null | grep -q "$shadow_sha" &&
		fail "$name: the image holds the host's /etc/shadow" || pass "$name: the image does not hold the host's /etc/shadow"
else
	fail "$name: build" "$(tail -2 "$tmp/$name.log")"
fi
host_unchanged "$name"

echo "attack-build: $fails failed"
[ $fails -eq 0 ]
