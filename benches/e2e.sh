#!/usr/bin/env bash
# End-to-end benchmark: generate a study of SIZE as CSV (and the same subjects as Parquet) into
# target/e2e, then on the same files measure `openssl dgst -sha256` (the baseline: one pass of
# SHA-256 on one core) and `trialnotary notarize`, and print the ratios. Then the wide ADaM
# datasets (ADSL, ADLB and ADVS of WIDE_SUBJECTS subjects, default 360: an ADLB of about 84,000
# rows and 100 columns, one Parquet row group per file) as Parquet against their CSV copy. Each
# runs RUNS times (default 3) and the fastest run counts; CPU seconds are user + system time.
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
best() { # $1 = label, $2 = submission dir: the fastest of $runs runs
  local best_line= line
  for _ in $(seq "$runs"); do
    line=$(run "$1" "$2")
    if [ -z "$best_line" ] || awk -v a="${line%% *}" -v b="${best_line%% *}" 'BEGIN { exit !(a < b) }'; then
      best_line=$line
    fi
  done
  echo "$best_line"
}
read -r csv_s records csv_rss csv_cpu < <(best csv "$out/csv")
read -r pq_s _ pq_rss pq_cpu < <(best parquet "$out/parquet")
read -r wcsv_s wrecords wcsv_rss wcsv_cpu < <(best adam-csv "$out/adam-csv")
read -r wpq_s _ wpq_rss wpq_cpu < <(best adam-parquet "$out/adam-parquet")
wide_bytes=$(cat "$out"/adam-csv/*.csv | wc -c)

awk -v b="$csv_bytes" -v o="$openssl_s" -v c="$csv_s" -v p="$pq_s" -v r="$records" \
    -v cr="$csv_rss" -v pr="$pq_rss" -v cc="$csv_cpu" -v pc="$pq_cpu" \
    -v wb="$wide_bytes" -v wc="$wcsv_s" -v wp="$wpq_s" -v wr="$wrecords" -v wcr="$wcsv_rss" \
    -v wpr="$wpq_rss" -v wcc="$wcsv_cpu" -v wpc="$wpq_cpu" -v ws="$wide" \
    -v n="$(nproc)" -v runs="$runs" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
  printf "\nmachine: %d cores, load average %s; input %.1f MB of CSV, %d records; fastest of %d runs each\n\n", n, load, b/1e6, r, runs
  printf "| what | seconds | CPU seconds | MB/s of CSV | records/s | peak RSS | ratio |\n|---|---|---|---|---|---|---|\n"
  printf "| openssl dgst -sha256 (1 core) | %.2f | | %.0f | | | 1.00 |\n", o, b/1e6/o
  printf "| notarize CSV (%d cores) | %.2f | %.2f | %.0f | %.0f | %.0f MB | %.2f of openssl |\n", n, c, cc, b/1e6/c, r/c, cr/1024, o/c
  printf "| notarize Parquet (%d cores) | %.2f | %.2f | | %.0f | %.0f MB | %.2f x CSV records/s |\n", n, p, pc, r/p, pr/1024, c/p
  printf "| notarize wide ADaM CSV (%d subjects, %.1f MB) | %.2f | %.2f | %.0f | %.0f | %.0f MB | |\n", ws, wb/1e6, wc, wcc, wb/1e6/wc, wr/wc, wcr/1024
  printf "| notarize wide ADaM Parquet (one row group per file) | %.2f | %.2f | | %.0f | %.0f MB | %.2f x its CSV records/s |\n", wp, wpc, wr/wp, wpr/1024, wc/wp
  printf "\nmemory: %.0f bytes per record above 200 MB (CSV run)\n", (cr*1024 - 200e6 > 0 ? (cr*1024 - 200e6)/r : 0)
}'
