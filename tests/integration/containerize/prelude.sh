# The start the containerize suites share. Source it after setting
#   here   the suite's directory
#   suite  the name in its PASS:/FAIL: lines
#   tools  the commands it needs (a missing one is a FAIL, never a skip)
#   as_root=1 when it tests both root and an unprivileged user
# It gives root, BIN, COMPARE, pass/fail and fails, tmp (mode 0755,
# removed at exit after every command in the array at_exit), BASES_DIR and
# BASE (the busybox base, oci:...:latest), and start_sleepers (a process
# of root and one of nobody, in sleeper_root and sleeper_nobody, killed at
# exit).
root=$(cd "$here/../.." && pwd)
BIN=${PIPELINE_BIN:-$root/build/asan/bin}/containerize
COMPARE="python3 $here/containerize/compare.py"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
fails=0
pass() { echo "PASS: $suite $1"; }
fail() { echo "FAIL: $suite $1"; shift; [ $# -gt 0 ] && printf '  %s\n' "$@"; fails=$((fails + 1)); }

tmp=$(mktemp -d "/tmp/$suite.XXXXXX")
chmod 755 "$tmp"
at_exit=()
cleanup() {
	local c
	for c in "${at_exit[@]}"; do eval "$c"; done
	rm -rf "$tmp"
}
trap cleanup EXIT

for tool in $tools; do
	command -v "$tool" >/dev/null || { fail "prerequisites" "$tool is not installed"; exit 1; }
done
[ -x "$BIN" ] || { fail "prerequisites" "$BIN is not built"; exit 1; }
if [ -n "${as_root:-}" ] && [ "$(id -u)" != 0 ]; then
	fail "prerequisites" "run as root (it tests both root and an unprivileged user)"
	exit 1
fi
BASES_DIR=$("$root/tests/servers/containerize-bases.sh" busybox) || { fail "prerequisites" "cannot build the busybox base"; exit 1; }
BASE="oci:$BASES_DIR:latest"

sleeper_root= sleeper_nobody=
start_sleepers() {
	sleep 3600 & sleeper_root=$!
	setpriv --reuid=65534 --regid=65534 --clear-groups sleep 3600 & sleeper_nobody=$!
	at_exit+=('kill "$sleeper_root" "$sleeper_nobody" 2>/dev/null')
}
