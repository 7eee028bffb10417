#!/usr/bin/env bash
# Measures, in one run on this machine: /healthz vs /account (with a session) throughput
# and p99, logons per second, /account p99 while logons run flat out, unknown-account vs
# wrong-password timing, warm start time and memory. Needs wrk (apt-get install wrk).
#
#   benches/bench.sh                 # builds the release binary first
#   LK_BIN=path benches/bench.sh
#   DURATION=8 CONNECTIONS=32 benches/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-8}
CONNECTIONS=${CONNECTIONS:-32}
command -v wrk >/dev/null || { echo "bench: wrk is needed (apt-get install wrk)" >&2; exit 2; }
if [ -z "${LK_BIN:-}" ]; then
  cargo build --release --locked >&2
  LK_BIN=$PWD/target/release/latchkey
fi
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
export LATCHKEY_DATA_DIR=$work/data LATCHKEY_LISTEN=127.0.0.1:0 RUST_LOG=warn
password='vermilion kettle orbit 42'
printf '%s' "$password" | "$LK_BIN" user add bench --display-name "Bench User" --email bench@example.com --password-stdin >/dev/null
# Logons under load use their own account, so the page measured does not grow a new
# session row per logon.
printf '%s' "$password" | "$LK_BIN" user add loadbench --password-stdin >/dev/null

start_server() {
  "$LK_BIN" serve >"$work/out" 2>"$work/err" &
  pid=$!
  for _ in $(seq 1 200); do
    port=$(sed -n 's|^Latchkey is listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$work/out")
    [ -n "$port" ] && break
    sleep 0.01
  done
  base=http://127.0.0.1:$port
}
start_server

# A session for the authenticated page.
csrf=$(curl -s -c "$work/jar" "$base/login" | sed -n 's|.*name="csrf" value="\([^"]*\)".*|\1|p')
curl -s -b "$work/jar" -c "$work/jar" -o /dev/null \
  --data-urlencode "csrf=$csrf" --data-urlencode "username=bench" --data-urlencode "password=$password" "$base/login"
session=$(awk '$6=="lk_session"{print $7}' "$work/jar")
[ -n "$session" ] || { echo "bench: logon failed" >&2; exit 1; }
curl -s -H "Cookie: lk_session=$session" "$base/account" | grep -q "Bench User" || { echo "bench: /account did not render" >&2; exit 1; }

cat >"$work/login.lua" <<LUA
wrk.method = "POST"
wrk.body = "csrf=$csrf&username=loadbench&password=vermilion+kettle+orbit+42"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "lk_csrf=$csrf"
LUA

# wrk output -> "req/s p99"
summary() { awk '/Requests\/sec/{r=$2} / 99%/{p=$2} END{printf "%s %s\n", r, p}'; }
run() { wrk -t2 -c"$1" -d"${DURATION}s" --latency "${@:2}" | summary; }

read -r h_rps h_p99 < <(run "$CONNECTIONS" "$base/healthz")
read -r a_rps a_p99 < <(run "$CONNECTIONS" -H "Cookie: lk_session=$session" "$base/account")
read -r l_rps l_p99 < <(run 8 -s "$work/login.lua" "$base/login")
wrk -t1 -c8 -d"$((DURATION + 2))s" -s "$work/login.lua" "$base/login" >/dev/null &
loadpid=$!
sleep 1
read -r u_rps u_p99 < <(run "$CONNECTIONS" -H "Cookie: lk_session=$session" "$base/account")
wait $loadpid

# Unknown account vs wrong password: mean wall time of 20 sequential attempts each
# (a different name each time so no lockout interferes).
attempt_ms() {
  local total=0 t
  for i in $(seq 1 20); do
    t=$(curl -s -o /dev/null -w '%{time_total}' -b "lk_csrf=$csrf" \
      --data-urlencode "csrf=$csrf" --data-urlencode "username=$1$i" --data-urlencode "password=wrong password $i" "$base/login")
    total=$(echo "$total + $t" | bc -l)
  done
  echo "scale=1; $total * 1000 / 20" | bc -l
}
for i in $(seq 1 20); do printf '%s' "$password" | "$LK_BIN" user add "known$i" --password-stdin >/dev/null; done
unknown_ms=$(attempt_ms nobody)
wrong_ms=$(attempt_ms known)

peak_kb=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
kill $pid; wait $pid 2>/dev/null || true

# Warm start: process start until /healthz answers, on the existing database.
t0=$(date +%s%N)
start_server
until curl -sf "$base/healthz" >/dev/null; do sleep 0.002; done
t1=$(date +%s%N)
idle_kb=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
size=$(stat -c %s "$LK_BIN")

cat <<OUT
| measure | Latchkey |
| --- | --- |
| /healthz throughput (wrk -t2 -c$CONNECTIONS -d${DURATION}s) | $h_rps req/s, p99 $h_p99 |
| /account with a session | $a_rps req/s, p99 $a_p99 ($(echo "scale=2; $a_rps / $h_rps" | bc -l) of /healthz) |
| password logons (8 clients) | $l_rps logons/s, p99 $l_p99 |
| /account while logons run flat out | $u_rps req/s, p99 $u_p99 |
| unknown account vs wrong password | $unknown_ms ms vs $wrong_ms ms |
| warm start to first /healthz | $(( (t1 - t0) / 1000000 )) ms |
| memory idle / peak under load | $((idle_kb / 1024)) MB / $((peak_kb / 1024)) MB |
| binary | $((size / 1024 / 1024)) MB |
OUT
