#!/usr/bin/env bash
# The issue-7 ranking-page benchmark (DESIGN §6), on loopback: the ranking page of a period of
# 200 units × 100 leaves, 50 clients, in requests/s, against `GET /healthz` of the same server
# with the same wrk settings just before it (the ratio is the figure to compare between runs).
# Two periods: provisional (every unit's result computed per request) and published (the
# published snapshots).
#
# Usage: bench/ranking.sh
# Needs: wrk, curl; the release binary and the recompute example:
#   CARGO_TARGET_DIR=/tmp/parindex-bench-target cargo build --release --locked -p parindex-cli
#   CARGO_TARGET_DIR=/tmp/parindex-bench-target cargo build --release --locked -p parindex-app --features bench --example recompute
# Settings: PARINDEX_BIN, RECOMPUTE_BIN, BENCH_WORK (/tmp/parindex-bench-ranking),
#   BENCH_PORT (18472), BENCH_DURATION (10, at most 20), BENCH_CONNECTIONS (50), BENCH_UNITS (200).
# Bounded: each wrk run lasts BENCH_DURATION seconds; the server runs under `timeout`.

set -euo pipefail
BIN=${PARINDEX_BIN:-/tmp/parindex-bench-target/release/parindex}
EX=${RECOMPUTE_BIN:-/tmp/parindex-bench-target/release/examples/recompute}
WORK=${BENCH_WORK:-/tmp/parindex-bench-ranking}
PORT=${BENCH_PORT:-18472}
DURATION=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNECTIONS:-50}
UNITS=${BENCH_UNITS:-200}
BASE="http://127.0.0.1:$PORT"
PASSWORD="bench-$(date +%s)-Xy9"
((DURATION > 20)) && DURATION=20

die() { echo "bench: $*" >&2; exit 1; }
for tool in wrk curl; do command -v "$tool" >/dev/null || die "$tool is missing (apt-get install -y wrk curl)"; done
[[ -x $BIN ]] || die "no binary at $BIN"
[[ -x $EX ]] || die "no recompute example at $EX"

TPID=""
stop() { [[ -n $TPID ]] && { kill -TERM "$TPID" 2>/dev/null || true; wait "$TPID" 2>/dev/null || true; TPID=""; }; }
trap stop EXIT

rps() { awk '/^Requests\/sec/ { print $2 }' "$1"; }
p99() { awk '$1 == "99%" { print $2 }' "$1"; }

echo "| period | units × leaves | wrk | ranking req/s | ranking p99 | /healthz req/s | ratio | page bytes |"
echo "|---|---|---|---|---|---|---|---|"
for mode in provisional published; do
  dir=$WORK/$mode
  rm -rf "$dir" && mkdir -p "$dir"
  db="sqlite://$dir/parindex.db?mode=rwc"
  extra=()
  [[ $mode == published ]] && extra=(--publish)
  "$EX" --database-url "$db" --units "$UNITS" --leaves 100 --runs 1 --user-password "$PASSWORD" "${extra[@]}" \
    >"$dir/recompute.out" 2>"$dir/recompute.err" || { cat "$dir/recompute.err" >&2; die "dataset failed"; }
  timeout -s TERM 300 "$BIN" serve --bind "127.0.0.1:$PORT" --data-dir "$dir" --database-url "$db" \
    >"$dir/server.out" 2>"$dir/server.err" &
  TPID=$!
  for _ in $(seq 100); do curl -s -o /dev/null --max-time 1 "$BASE/healthz" && break; sleep 0.1; done
  jar=$dir/cookies
  csrf=$(curl -s -c "$jar" -b "$jar" "$BASE/login" | grep -o 'name="csrf" value="[^"]*"' | sed -n 1p | sed 's/.*value="//; s/"$//')
  code=$(curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{http_code}' --data-urlencode "username=bench" \
    --data-urlencode "password=$PASSWORD" --data-urlencode "csrf=$csrf" "$BASE/login")
  [[ $code == 303 ]] || die "login answered $code"
  session=$(awk '$6 == "parindex_session" { print $7 }' "$jar")
  page=$(curl -s -b "$jar" -o "$dir/ranking.html" -w '%{http_code} %{size_download}' "$BASE/periods/1/ranking")
  [[ ${page%% *} == 200 ]] || die "the ranking page answered ${page%% *}"
  grep -q 'data-testid="rank-U00000"' "$dir/ranking.html" || die "the ranking page has no ranked unit"
  wrk -t2 -c"$CONNS" -d3s -H "Cookie: parindex_session=$session" "$BASE/periods/1/ranking" >/dev/null
  wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -H "Cookie: parindex_session=$session" "$BASE/healthz" >"$dir/wrk-healthz.txt"
  wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -H "Cookie: parindex_session=$session" "$BASE/periods/1/ranking" >"$dir/wrk-ranking.txt"
  r=$(rps "$dir/wrk-ranking.txt"); h=$(rps "$dir/wrk-healthz.txt")
  ratio=$(awk -v a="$r" -v b="$h" 'BEGIN { printf "%.4f", a / b }')
  echo "| $mode | $UNITS × 100 | -t2 -c$CONNS -d${DURATION}s | $r | $(p99 "$dir/wrk-ranking.txt") | $h | $ratio | ${page#* } |"
  stop
done
