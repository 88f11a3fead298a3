#!/usr/bin/env bash
# End-to-end benchmark: generate a study of SIZE as CSV (and the same subjects as Parquet) into
# target/e2e, then on the same files measure `openssl dgst -sha256` (the baseline: one pass of
# SHA-256 on one core) and `trialnotary notarize`, and print the ratios. Then the wide ADaM
# datasets (ADSL, ADLB and ADVS of WIDE_SUBJECTS subjects, default 360: an ADLB of about 84,000
# rows and 100 columns, one Parquet row group per file) as Parquet against their CSV copy; the same
# SDTM study as SAS XPT and Dataset-JSON against its CSV; and the nightly rerun: the CSV study
# notarized, one value of DM changed, notarized again (only the rerun is timed, against openssl
# over all the study's files). Each runs RUNS times (default 3; the wide pair 4 times as often),
# in turns with the others it is compared with, and the fastest run counts; CPU seconds are user +
# system time.
#
#   bash benches/e2e.sh [SIZE]        # default 2GB; needs openssl and GNU time (/usr/bin/time)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-2GB}
out=target/e2e
command -v openssl > /dev/null || { echo "needs openssl"; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time"; exit 2; }

cargo build --release --quiet
bin=target/release/trialnotary
rm -rf "$out"
mkdir -p "$out"
echo "generating $size of CSV ..."
summary=$($bin generate -o "$out/csv" --size "$size" --seed 1 | tail -1)
echo "$summary"
subjects=${summary%% *}
$bin generate -o "$out/parquet" --subjects "$subjects" --seed 1 --format parquet | tail -1
$bin generate -o "$out/xpt" --subjects "$subjects" --seed 1 --format xpt | tail -1
$bin generate -o "$out/dataset-json" --subjects "$subjects" --seed 1 --format dataset-json | tail -1
wide=${WIDE_SUBJECTS:-360}
echo "generating the ADaM datasets of $wide subjects as CSV and Parquet ..."
$bin generate -o "$out/adam-csv" --domains adam --subjects "$wide" --seed 1 --format csv | tail -1
$bin generate -o "$out/adam-parquet" --domains adam --subjects "$wide" --seed 1 --format parquet | tail -1

now() { date +%s.%N; }
runs=${RUNS:-3}   # every contender runs this many times; the fastest run counts (shared machines are noisy)
csv_bytes=$(cat "$out"/csv/*.csv | wc -c)
cat "$out"/csv/*.csv > /dev/null   # warm the page cache for every contender alike
openssl_s=
for _ in $(seq "$runs"); do
  t0=$(now); openssl dgst -sha256 "$out"/csv/*.csv > /dev/null; t1=$(now)
  s=$(echo "$t1 $t0" | awk '{print $1 - $2}')
  openssl_s=$(echo "$s ${openssl_s:-$s}" | awk '{print ($1 < $2) ? $1 : $2}')
done

run() { # $1 = label, $2 = submission dir
  rm -rf "$out/store-$1"
  /usr/bin/time -v "$bin" notarize "$2" --id "$1" --store "$out/store-$1" --difficulty 16 --json --no-progress \
    > "$out/$1.json" 2> "$out/$1.time"
  python_free_field() { grep -o "\"$1\": *[0-9.e+-]*" "$out/$2.json" | head -1 | sed 's/.*: *//'; }
  secs=$(python_free_field elapsed_seconds "$1")   # whole run, mining (difficulty 16) included
  records=$(python_free_field records "$1")
  rss_kb=$(grep "Maximum resident" "$out/$1.time" | awk '{print $NF}')
  cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$out/$1.time")
  echo "$secs $records $rss_kb $cpu"
}
better() { # $1 = a run's line, $2 = the best line so far: true if $1 is faster
  [ -z "$2" ] || awk -v a="${1%% *}" -v b="${2%% *}" 'BEGIN { exit !(a < b) }'
}
# The contenders run in turns (CSV, Parquet, XPT, Dataset-JSON, then again), not each one's runs
# back to back: a machine that slows down or speeds up during the script then favours none of
# them. The wide ADaM pair takes a fifth of a second a run, so it runs in more turns.
declare -A best_line
turns() { # $1 = turns, then label:dir pairs
  local n=$1 line label; shift
  for _ in $(seq "$n"); do
    for pair in "$@"; do
      label=${pair%%:*}
      line=$(run "$label" "${pair#*:}")
      if better "$line" "${best_line[$label]:-}"; then best_line[$label]=$line; fi
    done
  done
}
turns "$runs" csv:"$out/csv" parquet:"$out/parquet" xpt:"$out/xpt" dataset-json:"$out/dataset-json"
turns $((runs * ${WIDE_TURNS:-4})) adam-csv:"$out/adam-csv" adam-parquet:"$out/adam-parquet"
read -r csv_s records csv_rss csv_cpu <<< "${best_line[csv]}"
read -r pq_s _ pq_rss pq_cpu <<< "${best_line[parquet]}"
read -r xpt_s _ xpt_rss xpt_cpu <<< "${best_line[xpt]}"
read -r dsj_s _ dsj_rss dsj_cpu <<< "${best_line[dataset-json]}"
read -r wcsv_s wrecords wcsv_rss wcsv_cpu <<< "${best_line[adam-csv]}"
read -r wpq_s _ wpq_rss wpq_cpu <<< "${best_line[adam-parquet]}"
wide_bytes=$(cat "$out"/adam-csv/*.csv | wc -c)

# The nightly rerun: a copy of the CSV study (hard links, DM rewritten), a first run, then one value
# of DM changed and the timed rerun; the store's growth is the new block's directory.
rerun_s= rerun_line=
for _ in $(seq "$runs"); do
  rm -rf "$out/rerun" "$out/store-rerun"
  cp -al "$out/csv" "$out/rerun"
  cp --remove-destination "$out/csv/dm.csv" "$out/rerun/dm.csv"
  "$bin" notarize "$out/rerun" --id rerun --store "$out/store-rerun" --difficulty 16 --no-progress > /dev/null
  sed -i '2s/,\([0-9]*\),YEARS,/,1\1,YEARS,/' "$out/rerun/dm.csv"
  /usr/bin/time -v "$bin" notarize "$out/rerun" --id rerun --store "$out/store-rerun" --difficulty 16 --json \
    --no-progress > "$out/rerun.json" 2> "$out/rerun.time"
  s=$(grep -o '"elapsed_seconds": *[0-9.e+-]*' "$out/rerun.json" | sed 's/.*: *//')
  reused=$(grep -c '"reused": true' "$out/rerun.json" || true)
  cpu=$(awk -F': ' '/User time|System time/ {t += $2} END {print t}' "$out/rerun.time")
  grown=$(du -sb "$(ls -d "$out"/store-rerun/blocks/1-*)" | cut -f1)
  first=$(du -sb "$(ls -d "$out"/store-rerun/blocks/0-*)" | cut -f1)
  if [ -z "$rerun_s" ] || awk -v a="$s" -v b="$rerun_s" 'BEGIN { exit !(a < b) }'; then
    rerun_s=$s rerun_line="$s $cpu $reused $grown $first"
  fi
done
read -r rerun_s rerun_cpu rerun_reused rerun_grown rerun_first <<< "$rerun_line"

awk -v b="$csv_bytes" -v o="$openssl_s" -v c="$csv_s" -v p="$pq_s" -v r="$records" \
    -v cr="$csv_rss" -v pr="$pq_rss" -v cc="$csv_cpu" -v pc="$pq_cpu" \
    -v wb="$wide_bytes" -v wc="$wcsv_s" -v wp="$wpq_s" -v wr="$wrecords" -v wcr="$wcsv_rss" \
    -v wpr="$wpq_rss" -v wcc="$wcsv_cpu" -v wpc="$wpq_cpu" -v ws="$wide" \
    -v xs="$xpt_s" -v xc="$xpt_cpu" -v xr="$xpt_rss" -v js="$dsj_s" -v jc="$dsj_cpu" -v jr="$dsj_rss" \
    -v rs="$rerun_s" -v rc="$rerun_cpu" -v ru="$rerun_reused" -v rg="$rerun_grown" -v rf="$rerun_first" \
    -v n="$(nproc)" -v runs="$runs" -v wt="${WIDE_TURNS:-4}" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
  printf "\nmachine: %d cores, load average %s; input %.1f MB of CSV, %d records; fastest of %d runs each (wide pair: %d), in turns\n\n", n, load, b/1e6, r, runs, runs * wt
  printf "| what | seconds | CPU seconds | MB/s of CSV | records/s | peak RSS | ratio |\n|---|---|---|---|---|---|---|\n"
  printf "| openssl dgst -sha256 (1 core) | %.2f | | %.0f | | | 1.00 |\n", o, b/1e6/o
  printf "| notarize CSV (%d cores) | %.2f | %.2f | %.0f | %.0f | %.0f MB | %.2f of openssl |\n", n, c, cc, b/1e6/c, r/c, cr/1024, o/c
  printf "| notarize Parquet (%d cores) | %.2f | %.2f | | %.0f | %.0f MB | %.2f x CSV records/s |\n", n, p, pc, r/p, pr/1024, c/p
  printf "| notarize XPT, the same rows (%d cores) | %.2f | %.2f | | %.0f | %.0f MB | %.2f x CSV records/s |\n", n, xs, xc, r/xs, xr/1024, c/xs
  printf "| notarize Dataset-JSON, the same rows (%d cores) | %.2f | %.2f | | %.0f | %.0f MB | %.2f x CSV records/s |\n", n, js, jc, r/js, jr/1024, c/js
  printf "| nightly rerun of the CSV study, DM changed (%d of 6 datasets reused) | %.2f | %.2f | %.0f | | | %.2f x openssl |\n", ru, rs, rc, b/1e6/rs, o/rs
  printf "| notarize wide ADaM CSV (%d subjects, %.1f MB) | %.2f | %.2f | %.0f | %.0f | %.0f MB | |\n", ws, wb/1e6, wc, wcc, wb/1e6/wc, wr/wc, wcr/1024
  printf "| notarize wide ADaM Parquet (one row group per file) | %.2f | %.2f | | %.0f | %.0f MB | %.2f x its CSV records/s |\n", wp, wpc, wr/wp, wpr/1024, wc/wp
  printf "\nmemory: %.0f bytes per record above 200 MB (CSV run)\n", (cr*1024 - 200e6 > 0 ? (cr*1024 - 200e6)/r : 0)
  printf "store growth of the rerun: %.1f MB (the first run: %.1f MB)\n", rg/1e6, rf/1e6
}'
