# Shared helpers for tests/bench/*.sh: run a command several times, report
# the median wall time and the median peak RSS (GNU time), and print one
# comparison line per measurement:
#   bench <what>: ours <s> s, <peer> <s> s, ratio <r>x, peak RSS ours <KB> KB, <peer> <KB> KB
# Source it; set RUNS (default 5).

RUNS=${RUNS:-5}
BENCH_DATA=${BENCH_DATA:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/bench-data}
mkdir -p "$BENCH_DATA"

# median values... : the middle one, numerically by its first field (whole
# lines are kept, so rows "ratio a b" sort by ratio)
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }

# measure VAR cmd... : sets VAR_time (median seconds), VAR_rss (median KB)
# and VAR_cpu (median user + system seconds: what a loaded machine
# distorts least)
measure() {
	local var=$1; shift
	local times=() rsss=() cpus=() i out tf
	tf=$(mktemp)
	for ((i = 0; i < RUNS; i++)); do
		/usr/bin/time -f '%e %M %U %S' -o "$tf" "$@" >/dev/null 2>&1 || echo "# warning: $1 exited non-zero" >&2
		read -r -a out <<<"$(tail -1 "$tf")"
		times+=("${out[0]}")
		rsss+=("${out[1]}")
		cpus+=("$(awk -v u="${out[2]}" -v s="${out[3]}" 'BEGIN { printf "%.2f", u + s }')")
	done
	rm -f "$tf"
	printf -v "${var}_time" '%s' "$(median "${times[@]}")"
	printf -v "${var}_rss" '%s' "$(median "${rsss[@]}")"
	printf -v "${var}_cpu" '%s' "$(median "${cpus[@]}")"
}

# hyperfine_median VAR cmd : median seconds of many runs (for short commands)
hyperfine_median() {
	local var=$1 cmd=$2 json
	json=$(mktemp)
	hyperfine -N --warmup 5 --runs "${HYPERFINE_RUNS:-100}" --export-json "$json" "$cmd" >/dev/null 2>&1
	printf -v "$var" '%s' "$(jq -r '.results[0].median' "$json")"
	rm -f "$json"
}

# paired_median VAR cmd_ours cmd_peer : ROUNDS (default 5) rounds, each a
# hyperfine run of both commands one after the other (HYPERFINE_RUNS each),
# so a drift of the machine hits both alike. VAR_ours and VAR_peer are the
# medians of the round with the median ratio; VAR_ratios every round's.
paired_median() {
	local var=$1 ours=$2 peer=$3 json r o p rows=() mid
	json=$(mktemp)
	for ((r = 0; r < ${ROUNDS:-5}; r++)); do
		hyperfine -N --warmup 3 --runs "${HYPERFINE_RUNS:-20}" --export-json "$json" "$ours" "$peer" >/dev/null 2>&1
		o=$(jq -r '.results[0].median' "$json") p=$(jq -r '.results[1].median' "$json")
		rows+=("$(awk -v o="$o" -v p="$p" 'BEGIN { printf "%.4f %s %s", (p > 0 ? o / p : 0), o, p }')")
	done
	rm -f "$json"
	mid=$(median "${rows[@]}")
	printf -v "${var}_ours" '%s' "$(echo "$mid" | cut -d' ' -f2)"
	printf -v "${var}_peer" '%s' "$(echo "$mid" | cut -d' ' -f3)"
	printf -v "${var}_ratios" '%s' "$(printf '%s\n' "${rows[@]}" | awk '{printf "%s%.2f", (NR > 1 ? " " : ""), $1}')"
}

# report what ours_time peer_time ours_rss peer_rss peer_name
report() {
	local what=$1 ot=$2 pt=$3 orss=$4 prss=$5 peer=$6
	awk -v w="$what" -v ot="$ot" -v pt="$pt" -v orss="$orss" -v prss="$prss" -v peer="$peer" 'BEGIN {
		printf "bench %s: ours %.4f s, %s %.4f s, ratio %.2fx", w, ot, peer, pt, (pt > 0 ? ot / pt : 0)
		if (orss != "") printf ", peak RSS ours %d KB, %s %d KB (ratio %.2fx)", orss, peer, prss, (prss > 0 ? orss / prss : 0)
		printf "\n"
	}'
}
