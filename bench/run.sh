#!/usr/bin/env bash
# The issue-4 benchmarks (DESIGN §6), on loopback, against `parindex demo`:
#
#   1. the full scoresheet page of a district (H-EAXANH), 50 clients;
#   2. saving one leaf (JSON save with its audit record), 50 clients, every request a real save;
#   3. one large evidence upload (1 GB by default): throughput against `cp` of the same file on
#      the same disk, and the server's RSS growth (VmRSS sampled every 50 ms, plus VmHWM).
#
# Every HTTP figure is paired with a baseline taken in the same run, just before it: `GET
# /healthz` of the same server with the same wrk settings. The machine is noisy; the ratio is
# the figure to compare between runs.
#
# Usage: bench/run.sh            (both backends; needs wrk, curl, jq, psql for PostgreSQL)
# Settings (environment):
#   PARINDEX_BIN        the release binary   (default /tmp/parindex-bench-target/release/parindex)
#                       build: CARGO_TARGET_DIR=/tmp/parindex-bench-target cargo build --release --locked -p parindex-cli
#   BENCH_WORK          scratch folder, wiped per backend (default /tmp/parindex-bench)
#   BENCH_BACKENDS      "sqlite postgres" (default) or one of them
#   BENCH_PG            PostgreSQL server URL without database (default postgres://postgres@127.0.0.1:5432);
#                       a fresh database bench_parindex_<pid> is created and dropped afterwards
#   BENCH_DURATION      seconds per wrk run (default 15, at most 20)
#   BENCH_CONNECTIONS   wrk connections (default 50)
#   BENCH_UPLOAD_MB     upload size in MiB (default 1024); BENCH_UPLOAD_RUNS (default 3)
#   BENCH_PORT          port to listen on (default 18470)
#
# Idempotent: it wipes its own scratch folder and databases first. Bounded: every wrk run lasts
# BENCH_DURATION seconds, every curl has --max-time, and each server runs under `timeout`, so it
# stops by itself even if this script is killed. On exit it stops the servers it started.
# Results: printed at the end, and kept in $BENCH_WORK/results.tsv and $BENCH_WORK/results.md.

set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BIN=${PARINDEX_BIN:-/tmp/parindex-bench-target/release/parindex}
WORK=${BENCH_WORK:-/tmp/parindex-bench}
BACKENDS=${BENCH_BACKENDS:-"sqlite postgres"}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
DURATION=${BENCH_DURATION:-15}
CONNS=${BENCH_CONNECTIONS:-50}
UPLOAD_MB=${BENCH_UPLOAD_MB:-1024}
UPLOAD_RUNS=${BENCH_UPLOAD_RUNS:-3}
PORT=${BENCH_PORT:-18470}
UNIT_USER=canbo.eaxanh          # unit officer of H-EAXANH (districts set)
SERVER_LIFETIME=900             # seconds; `timeout` ends a server after this whatever happens
BASE="http://127.0.0.1:$PORT"
PG_DB="bench_parindex_$$"

((DURATION > 20)) && DURATION=20
((DURATION < 1)) && DURATION=1

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

for tool in wrk curl jq awk; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install -y wrk curl jq)"
done
[[ -x $BIN ]] || die "no binary at $BIN; build it with:
  CARGO_TARGET_DIR=/tmp/parindex-bench-target cargo build --release --locked -p parindex-cli"

TPID=""       # the `timeout` wrapping the server
SPID=""       # the server itself
SAMPLER=""    # an RSS sampler
PG_CREATED=""

stop_sampler() {
  if [[ -n $SAMPLER ]]; then
    kill "$SAMPLER" 2>/dev/null || true
    wait "$SAMPLER" 2>/dev/null || true
    SAMPLER=""
  fi
}

stop_server() {
  if [[ -n $TPID ]]; then
    kill -TERM "$TPID" 2>/dev/null || true   # timeout passes SIGTERM on to the server
    for _ in $(seq 50); do kill -0 "$TPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$TPID" 2>/dev/null || true
    [[ -n $SPID ]] && kill -KILL "$SPID" 2>/dev/null || true
    wait "$TPID" 2>/dev/null || true
    TPID="" SPID=""
  fi
}

drop_pg() {
  if [[ -n $PG_CREATED ]]; then
    psql "$PG/postgres" -qAt -c "DROP DATABASE IF EXISTS $PG_CREATED WITH (FORCE)" >/dev/null 2>&1 || true
    PG_CREATED=""
  fi
}

cleanup() {
  stop_sampler
  stop_server
  drop_pg
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers -------------------------------------------------------------------------------

# Appends the server's VmRSS (kB) to $2 every $3 seconds while it lives.
sample_rss() {
  local pid=$1 out=$2 every=$3 k v _
  while [[ -r /proc/$pid/status ]]; do
    while read -r k v _; do
      [[ $k == VmRSS: ]] && echo "$v" >>"$out"
    done <"/proc/$pid/status" 2>/dev/null || break
    sleep "$every"
  done
}

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

max_of() { sort -n "$1" | tail -1; }

start_server() {
  local backend=$1 dir=$WORK/$backend
  rm -rf "$dir" && mkdir -p "$dir"
  if curl -s -o /dev/null --max-time 2 "$BASE/healthz"; then
    die "something already listens on port $PORT (set BENCH_PORT)"
  fi
  local args=(demo --bind "127.0.0.1:$PORT" --data-dir "$dir/data"
              --max-upload-mb "$((UPLOAD_MB + 16))")
  if [[ $backend == postgres ]]; then
    command -v psql >/dev/null || die "psql is missing"
    psql "$PG/postgres" -qAt -c "CREATE DATABASE $PG_DB" >/dev/null || die "cannot create $PG_DB on $PG"
    PG_CREATED=$PG_DB
    args+=(--database-url "$PG/$PG_DB")
  fi
  timeout -s TERM "$SERVER_LIFETIME" "$BIN" "${args[@]}" >"$dir/server.out" 2>"$dir/server.err" &
  TPID=$!
  local up=""
  for _ in $(seq 600); do
    if ! kill -0 "$TPID" 2>/dev/null; then
      cat "$dir/server.err" >&2
      die "the $backend server exited at start"
    fi
    if grep -q "^$UNIT_USER " "$dir/server.out" 2>/dev/null &&
       curl -s -o /dev/null --max-time 2 "$BASE/healthz"; then
      up=1; break
    fi
    sleep 0.1
  done
  [[ -n $up ]] || die "the $backend server did not start in 60 s"
  SPID=$(pgrep -P "$TPID" | head -1)
  [[ -n $SPID ]] || die "cannot find the server's pid"
}

# Logs in as $UNIT_USER; sets COOKIE, CSRF, SHEET (the sheet's path), LEAVES, PAGE_BYTES.
login_and_find_sheet() {
  local dir=$WORK/$1 jar=$WORK/$1/cookies password pre_csrf code session
  password=$(awk -v u="$UNIT_USER" '$1 == u { print $2 }' "$dir/server.out")
  [[ -n $password ]] || die "no password for $UNIT_USER in the demo output"
  curl -s --max-time 10 -c "$jar" -b "$jar" -o "$dir/login.html" "$BASE/login"
  pre_csrf=$(grep -o 'name="csrf" value="[^"]*"' "$dir/login.html" | sed -n 1p | sed 's/.*value="//; s/"$//')
  [[ -n $pre_csrf ]] || die "no csrf on /login"
  code=$(curl -s --max-time 10 -c "$jar" -b "$jar" -o /dev/null -w '%{http_code}' \
    --data-urlencode "username=$UNIT_USER" --data-urlencode "password=$password" \
    --data-urlencode "csrf=$pre_csrf" "$BASE/login")
  [[ $code == 303 ]] || die "login answered $code, not 303"
  session=$(awk '$6 == "parindex_session" { print $7 }' "$jar")
  [[ -n $session ]] || die "no session cookie after login"
  COOKIE="parindex_session=$session"
  SHEET=$(curl -s --max-time 10 -b "$jar" -o /dev/null -w '%{redirect_url}' "$BASE/self-assessment")
  SHEET=${SHEET#"$BASE"}
  [[ $SHEET == /periods/*/units/*/sheet ]] || die "/self-assessment did not lead to a sheet (got '$SHEET')"
  code=$(curl -s --max-time 10 -b "$jar" -o "$dir/sheet.html" -w '%{http_code}' "$BASE$SHEET")
  [[ $code == 200 ]] || die "the sheet answered $code"
  CSRF=$(grep -o 'name="csrf" value="[^"]*"' "$dir/sheet.html" | sed -n 1p | sed 's/.*value="//; s/"$//')
  LEAVES=$(grep -c 'class="leaf" id="leaf-' "$dir/sheet.html" || true)
  PAGE_BYTES=$(wc -c <"$dir/sheet.html")
}

# Saves every editable leaf once (version 0 -> 1); the leaves that take the save go into
# $dir/leaves.txt as "path version", for save.lua and the uploads.
prime_leaves() {
  local dir=$WORK/$1 path body ok version
  : >"$dir/leaves.txt"
  grep -o 'action="/periods/[0-9]*/units/[0-9]*/leaves/[^"/?]*"' "$dir/sheet.html" |
    sed 's/^action="//; s/"$//' | awk '!seen[$0]++' >"$dir/leaf-paths.txt"
  while read -r path; do
    body=$(curl -s --max-time 10 -H "Cookie: $COOKIE" -H "X-CSRF-Token: $CSRF" \
      -H 'Accept: application/json' \
      --data 'value=yes&numerator=1&denominator=1&count=0&version=0' "$BASE$path" || true)
    ok=$(jq -r '.ok // false' <<<"$body" 2>/dev/null || echo false)
    if [[ $ok == true ]]; then
      version=$(jq -r '.version' <<<"$body")
      echo "$path $version" >>"$dir/leaves.txt"
    fi
  done <"$dir/leaf-paths.txt"
  SAVEABLE=$(wc -l <"$dir/leaves.txt")
  ((SAVEABLE >= 1)) || die "no leaf could be saved"
}

# run_wrk LABEL THREADS SCRIPT PATH -> sets RPS P50 P99 ERRS REQS RSSMAX; keeps the raw output.
run_wrk() {
  local label=$1 threads=$2 script=$3 path=$4 out=$WORK/$backend/wrk-$1.txt rss=$WORK/$backend/rss-$1.txt line
  : >"$rss"
  sample_rss "$SPID" "$rss" 0.5 &
  SAMPLER=$!
  wrk -t"$threads" -c"$CONNS" -d"${DURATION}s" -s "$script" -H "Cookie: $COOKIE" "$BASE$path" >"$out" 2>&1 || true
  stop_sampler
  line=$(grep '^RESULT ' "$out" | tail -1)
  [[ -n $line ]] || { cat "$out" >&2; die "wrk $label gave no result"; }
  REQS=$(sed 's/.* requests=\([0-9]*\).*/\1/' <<<"$line")
  RPS=$(sed 's/.* rps=\([0-9.]*\).*/\1/' <<<"$line")
  P50=$(sed 's/.* p50_ms=\([0-9.]*\).*/\1/' <<<"$line")
  P99=$(sed 's/.* p99_ms=\([0-9.]*\).*/\1/' <<<"$line")
  ERRS=$(grep -o 'err_[a-z]*=[0-9]*' <<<"$line" | awk -F= '{ s += $2 } END { print s + 0 }')
  RSSMAX=$(max_of "$rss")
  RSSMAX=$(( ${RSSMAX:-0} / 1024 ))
  log "  $label: $RPS req/s, p50 $P50 ms, p99 $P99 ms, errors $ERRS ($REQS requests), RSS max ${RSSMAX} MB"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.4f", a / b; else print "-" }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# --- the upload file ---------------------------------------------------------------------

SRC=$WORK/upload-src.pdf
make_upload_file() {
  local bytes=$((UPLOAD_MB * 1024 * 1024))
  if [[ -f $SRC && $(stat -c %s "$SRC") == "$bytes" ]]; then return; fi
  log "writing a ${UPLOAD_MB} MiB PDF-headed file to $SRC"
  { printf '%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n'; head -c "$((bytes - 15))" /dev/urandom; } >"$SRC.tmp"
  mv "$SRC.tmp" "$SRC"
}

# Changes 16 bytes so each upload is new content (blobs are content-addressed).
mutate_upload_file() {
  head -c 16 /dev/urandom | dd of="$SRC" bs=1 seek=64 conv=notrunc status=none
}

# --- main --------------------------------------------------------------------------------

mkdir -p "$WORK"
# Leftovers of an earlier, killed run of this script.
if [[ $BACKENDS == *postgres* ]] && command -v psql >/dev/null; then
  for db in $(psql "$PG/postgres" -qAt -c "SELECT datname FROM pg_database WHERE datname LIKE 'bench_parindex_%'" 2>/dev/null); do
    psql "$PG/postgres" -qAt -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
fi

TSV=$WORK/results.tsv
printf 'backend\tworkload\twrk\treq_s\tp50_ms\tp99_ms\terrors\trequests\tbaseline_healthz_req_s\tbaseline_p99_ms\tratio\tserver_rss_max_mb\n' >"$TSV"
UTSV=$WORK/upload.tsv
printf 'backend\trun\tmib\tcp_s\tcp_sync_s\tupload_s\tupload_mib_s\tcp_mib_s\tcp_sync_mib_s\tratio_cp\tratio_cp_sync\trss_before_mb\trss_growth_sampled_mb\trss_growth_hwm_mb\thttp\n' >"$UTSV"
declare -A INFO

if ((UPLOAD_MB > 0)); then make_upload_file; fi

for backend in $BACKENDS; do
  log "== $backend =="
  start_server "$backend"
  login_and_find_sheet "$backend"
  prime_leaves "$backend"
  IDLE_RSS=$(( $(status_kb "$SPID" VmRSS) / 1024 ))
  INFO[$backend]="load average at start $(cut -d' ' -f1-3 /proc/loadavg); sheet $SHEET: $LEAVES leaves, $PAGE_BYTES bytes; $SAVEABLE leaves saveable by $UNIT_USER; idle RSS after login ${IDLE_RSS} MB"
  log "  ${INFO[$backend]}"

  # Warm-up (not recorded).
  wrk -t2 -c"$CONNS" -d3s -H "Cookie: $COOKIE" "$BASE$SHEET" >/dev/null 2>&1 || true

  # 1. The scoresheet page: baseline then workload, same settings (-t2 -c$CONNS).
  run_wrk healthz-t2 2 "$HERE/report.lua" /healthz
  B_RPS=$RPS B_P99=$P99
  run_wrk sheet 2 "$HERE/report.lua" "$SHEET"
  printf '%s\tsheet page (%s leaves)\t-t2 -c%s -d%ss\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$backend" "$LEAVES" "$CONNS" "$DURATION" "$RPS" "$P50" "$P99" "$ERRS" "$REQS" "$B_RPS" "$B_P99" \
    "$(ratio "$RPS" "$B_RPS")" "$RSSMAX" >>"$TSV"

  # 2. Save one leaf: one connection per wrk thread (see save.lua), baseline with the same.
  run_wrk "healthz-t$CONNS" "$CONNS" "$HERE/report.lua" /healthz
  B_RPS=$RPS B_P99=$P99
  export BENCH_LEAVES=$WORK/$backend/leaves.txt BENCH_COOKIE=$COOKIE BENCH_CSRF=$CSRF
  run_wrk save "$CONNS" "$HERE/save.lua" /
  printf '%s\tsave one leaf (JSON, %s leaves)\t-t%s -c%s -d%ss\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$backend" "$(( SAVEABLE < CONNS ? SAVEABLE : CONNS ))" "$CONNS" "$CONNS" "$DURATION" "$RPS" "$P50" "$P99" \
    "$ERRS" "$REQS" "$B_RPS" "$B_P99" "$(ratio "$RPS" "$B_RPS")" "$RSSMAX" >>"$TSV"
  # Every save must have landed: the versions must add up to the requests.
  SAVED=$(curl -s --max-time 10 -H "Cookie: $COOKIE" "$BASE$SHEET" | grep -o 'name="version" value="[0-9]*"' |
    sed 's/.*value="//; s/"//' | awk '{ s += $1 } END { print s + 0 }')
  log "  sum of leaf versions after the save run: $SAVED (primed $SAVEABLE + saves $REQS = $((SAVEABLE + REQS)))"
  INFO[$backend]+="; versions after the save run: $SAVED = primed $SAVEABLE + $REQS saves"

  # 3. The upload, UPLOAD_RUNS times on different leaves, each against cp in the same round.
  if ((UPLOAD_MB > 0)); then
    bytes=$(stat -c %s "$SRC")
    dst=$WORK/$backend/cp-dst.pdf
    for run in $(seq "$UPLOAD_RUNS"); do
      leaf=$(sed -n "${run}p" "$WORK/$backend/leaves.txt" | awk '{ print $1 }')
      [[ -n $leaf ]] || leaf=$(head -1 "$WORK/$backend/leaves.txt" | awk '{ print $1 }')
      mutate_upload_file
      cat "$SRC" >/dev/null   # the source in the page cache, for cp and for curl alike
      rm -f "$dst"; sync
      t0=$(now); cp "$SRC" "$dst"; t1=$(now); CP_S=$(elapsed "$t0" "$t1")
      rm -f "$dst"; sync
      t0=$(now); cp "$SRC" "$dst"; sync "$dst"; t1=$(now); CPS_S=$(elapsed "$t0" "$t1")
      rm -f "$dst"; sync
      echo 5 >"/proc/$SPID/clear_refs" 2>/dev/null || true   # resets VmHWM to the current RSS
      rss_before=$(status_kb "$SPID" VmRSS)
      rssfile=$WORK/$backend/rss-upload-$run.txt; : >"$rssfile"
      sample_rss "$SPID" "$rssfile" 0.05 &
      SAMPLER=$!
      res=$(curl -s --max-time 300 -o "$WORK/$backend/upload-$run.out" -w '%{http_code} %{time_total}' \
        -H 'Expect:' -H "Cookie: $COOKIE" \
        -F "file=@$SRC;filename=bench-upload-$run.pdf;type=application/pdf" -F "reference=bench $run" \
        "$BASE$leaf/evidence?csrf=$CSRF" || echo "000 0")
      stop_sampler
      hwm=$(status_kb "$SPID" VmHWM)
      code=${res%% *} UP_S=${res##* }
      peak=$(max_of "$rssfile"); peak=${peak:-$rss_before}
      g_sampled=$(( (peak - rss_before) / 1024 ))
      g_hwm=$(( (hwm - rss_before) / 1024 ))
      mib=$((bytes / 1048576))
      up_tp=$(awk -v b="$bytes" -v s="$UP_S" 'BEGIN { printf "%.0f", b / 1048576 / s }')
      cp_tp=$(awk -v b="$bytes" -v s="$CP_S" 'BEGIN { printf "%.0f", b / 1048576 / s }')
      cps_tp=$(awk -v b="$bytes" -v s="$CPS_S" 'BEGIN { printf "%.0f", b / 1048576 / s }')
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$backend" "$run" "$mib" \
        "$CP_S" "$CPS_S" "$UP_S" "$up_tp" "$cp_tp" "$cps_tp" "$(ratio "$CP_S" "$UP_S")" \
        "$(ratio "$CPS_S" "$UP_S")" "$((rss_before / 1024))" "$g_sampled" "$g_hwm" "$code" >>"$UTSV"
      log "  upload $run: HTTP $code, ${UP_S} s ($up_tp MiB/s); cp ${CP_S} s ($cp_tp MiB/s), cp+sync ${CPS_S} s ($cps_tp MiB/s); RSS +${g_sampled} MB sampled, +${g_hwm} MB VmHWM"
      [[ $code == 303 ]] || { head -c 600 "$WORK/$backend/upload-$run.out" >&2; echo >&2; }
    done
  fi

  INFO[$backend]+="; load average at end $(cut -d' ' -f1-3 /proc/loadavg)"
  stop_server
  drop_pg
  rm -rf "$WORK/$backend/data"   # the uploaded gigabytes
done

# --- report ------------------------------------------------------------------------------

MD=$WORK/results.md
{
  echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC') · $(nproc) cores · $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')" \
       "· $(uname -r) · $(wrk --version 2>&1 | head -1 | awk '{ print $1, $2 }')" \
       "· parindex $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)$(git -C "$REPO" diff --quiet 2>/dev/null || echo '+uncommitted changes')"
  echo
  for b in $BACKENDS; do echo "- $b: ${INFO[$b]:-}"; done
  echo
  echo "| backend | workload | wrk | req/s | p50 ms | p99 ms | errors | baseline /healthz req/s | baseline p99 ms | ratio | server RSS max MB |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  tail -n +2 "$TSV" | awk -F'\t' '{ printf "| %s | %s | `%s` | %s | %s | %s | %s of %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 }'
  if ((UPLOAD_MB > 0)); then
    echo
    echo "| backend | run | MiB | cp s | cp+sync s | upload s | upload MiB/s | cp MiB/s | cp+sync MiB/s | upload / cp | upload / cp+sync | RSS before MB | RSS growth (50 ms samples) MB | RSS growth (VmHWM) MB | HTTP |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    tail -n +2 "$UTSV" | awk -F'\t' '{ s = "|"; for (i = 1; i <= NF; i++) s = s " " $i " |"; print s }'
  fi
} >"$MD"
echo
cat "$MD"
