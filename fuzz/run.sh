#!/bin/sh
# run.sh NAME [SECONDS]: runs harness NAME (build-fuzz/fuzz_NAME, `make fuzz`) for SECONDS
# (default 600) over fuzz/corpus/NAME, which it grows, at the lowest priority and on one
# core, as the machine is shared.  Crashing inputs land in build-fuzz/artifacts/NAME/, the
# log in build-fuzz/logs/NAME.log, whose last lines give executions per second and the
# coverage reached (cov: edges, ft: features).  Limits: 10 s an input, 512 MB a malloc.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
name=$1
seconds=${2:-600}
bin=$top/build-fuzz/fuzz_$name
[ -x "$bin" ] || { echo "run.sh: no $bin (make fuzz)" >&2; exit 2; }
mkdir -p "$top/build-fuzz/artifacts/$name" "$top/build-fuzz/logs/$name" "$top/fuzz/corpus/$name"
dict=
[ -f "$top/fuzz/$name.dict" ] && dict=-dict=$top/fuzz/$name.dict
cd "$top/build-fuzz/logs/$name"
status=0
nice -n 19 "$bin" -jobs=1 -workers=1 -max_total_time="$seconds" -timeout=10 \
	-rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1 $dict \
	-artifact_prefix="$top/build-fuzz/artifacts/$name/" "$top/fuzz/corpus/$name" || status=$?
cp fuzz-0.log "$top/build-fuzz/logs/$name.log"
tail -n 25 fuzz-0.log
exit $status
