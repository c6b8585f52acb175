#!/usr/bin/env bash
# Proxy-overhead benchmark: ownkey against the floor (the bench kit's bare
# httputil.ReverseProxy, "rp"), both in front of the kit's mock upstream, in
# the same sitting, on loopback only. Every step is bounded; the script stops
# by itself and stops everything it started.
#
# usage: bench/run.sh [--quick] [--profile] [--paired N] [--body-size 1k|100k|1m]
#   (default)  build the kit and ownkey, run ../shared/bench/run_suite.sh for rp
#              and then for ownkey, print a side-by-side table with the ratios
#              and the targets
#   --quick    D=5s (a smoke run; numbers are only indicative)
#   --paired N no suite: N rounds of wrk c=50 non-stream and lg c=50
#              streaming, D each (default 5s here), rp and ownkey back to
#              back in alternating order; prints every round's ratio and
#              the median. On a shared VM whose speed drifts by ±30 % from
#              minute to minute, the ratio of neighbouring runs is the
#              figure that holds still
#   --profile  no suite: build ownkey with a pprof side port (bench/pprofhook,
#              via go build -overlay); measure CPU time and read/write system
#              calls per request of rp and ownkey at c=50; then put c=50
#              non-stream and streaming load on each (rp gets the same hook),
#              save CPU and allocation profiles and print their top
#   --body-size S  request bodies of about S bytes (1k, 100k, 1m, or any
#              number with k or m) instead of the kit's 200-byte ones, for
#              every mode: a long conversation (many messages whose text
#              has \n, \" and \u escapes), the routing fields after it
#              (`model` last, as an agent's client may send it), the same
#              content for both gateways (rp's without ownkey's byok
#              member). Also BODY_SIZE=S.
#
# env: D (loaded-run duration, default 15s), KIT (default ../shared/bench),
#      RESULTS (default bench/results/<UTC time>, git-ignored), GW_CPU (1) and
#      LOAD_CPU (0) for pinning, RP_ADDR (127.0.0.1:8090), OK_ADDR
#      (127.0.0.1:8091), PPROF_ADDR and RP_PPROF_ADDR (127.0.0.1:6061 and
#      :6062, --profile only), WAIT_IDLE (wait at most
#      this many seconds, default 0, until the machine is less than MAX_BUSY
#      percent busy, default 15). OWNKEY_ACCESS_LOG, OWNKEY_LOG_LEVEL and
#      OWNKEY_GC_HEAP_FLOOR are passed on to ownkey when set; by default the
#      access log is on and the heap floor 16 MiB, as in production
#      (OWNKEY_GC_HEAP_FLOOR=0 measures without it).
#
# The mock listens on 127.0.0.1:9099, the kit's fixed address.
set -euo pipefail

QUICK=0
PROFILE=0
PAIRED=0
while [ $# -gt 0 ]; do
  arg=$1
  shift
  case $arg in
    --quick) QUICK=1 ;;
    --profile) PROFILE=1 ;;
    --paired)
      PAIRED=${1:-}
      shift || true
      case $PAIRED in ''|*[!0-9]*|0) echo "run.sh: --paired needs a number of rounds" >&2; exit 2 ;; esac
      [ -n "${D:-}" ] || D=5s
      ;;
    --body-size)
      BODY_SIZE=${1:-}
      shift || true
      ;;
    -h|--help) sed -n '2,42p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

BODY_SIZE=${BODY_SIZE:-}
case $BODY_SIZE in
  '') BODY_BYTES=0 ;;
  *[kK]) BODY_BYTES=$((${BODY_SIZE%[kK]} * 1024)) ;;
  *[mM]) BODY_BYTES=$((${BODY_SIZE%[mM]} * 1024 * 1024)) ;;
  *) BODY_BYTES=$BODY_SIZE ;;
esac 2>/dev/null || { echo "run.sh: --body-size needs a size such as 1k, 100k or 1m" >&2; exit 2; }
case $BODY_BYTES in ''|*[!0-9]*) echo "run.sh: --body-size needs a size such as 1k, 100k or 1m" >&2; exit 2 ;; esac

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
KIT=${KIT:-$ROOT/../shared/bench}
KIT=$(cd "$KIT" && pwd)
D=${D:-15s}
[ "$QUICK" = 1 ] && D=5s
DSEC=${D%s}
case $DSEC in ''|*[!0-9]*) echo "run.sh: D must be whole seconds such as 15s" >&2; exit 2 ;; esac
GW_CPU=${GW_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
MOCK_ADDR=127.0.0.1:9099
RP_ADDR=${RP_ADDR:-127.0.0.1:8090}
OK_ADDR=${OK_ADDR:-127.0.0.1:8091}
PPROF_ADDR=${PPROF_ADDR:-127.0.0.1:6061}
RP_PPROF_ADDR=${RP_PPROF_ADDR:-127.0.0.1:6062}
MAX_BUSY=${MAX_BUSY:-15}
WAIT_IDLE=${WAIT_IDLE:-0}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=${RESULTS:-$HERE/results/$STAMP}
LGP="taskset -c $LOAD_CPU"

log() { printf '\n### %s\n' "$*"; }
die() { echo "run.sh: $*" >&2; exit 1; }

# Two copies of this script would fight over the fixed ports.
exec 9>/tmp/ownkey-bench.lock
flock -n 9 || die "another bench/run.sh is running (lock /tmp/ownkey-bench.lock)"

mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
WORK=$(mktemp -d /tmp/ownkey-bench.XXXXXX)
BIN=$WORK/bin
mkdir -p "$BIN"

# The request bodies: the kit's small ones, or generated ones of about
# BODY_BYTES (see --body-size) in WORK.
RP_BODY=$KIT/direct.json RP_SBODY=$KIT/direct_stream.json
OK_BODY=$HERE/ownkey.json OK_SBODY=$HERE/ownkey_stream.json
# gen_body FILE SIZE STREAM BYOK: a chat body of about SIZE bytes: a system
# message, then user and assistant turns of up to 4 KiB of text (code and
# prose with \n, \t, \" and \u00e9 escapes) until SIZE is reached, then
# max_tokens, temperature, stream if STREAM, byok if BYOK and model last.
# The messages do not depend on BYOK, so that both gateways get the same.
gen_body() {
  LC_ALL=C awk -v size="$2" -v stream="$3" -v byok="$4" 'BEGIN {
    para = "Here is the function again:\\n\\n```go\\nfunc main() {\\n\\tfmt.Println(\\\"caf\\u00e9 \\\" + name)\\n}\\n```\\nIt prints \\\"café\\\" but the test expects a trailing newline; why? "
    tail = ",\"max_tokens\":64,\"temperature\":0.2"
    if (stream) tail = tail ",\"stream\":true"
    # Both gateways get the same messages: the size counts byok either way.
    b = ",\"byok\":{\"enabled\":true,\"provider\":\"openai\"}"
    tail = tail b ",\"model\":\"gpt-4o-mini\"}"
    out = "{\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant.\"}"
    for (turn = 0; length(out) + length(tail) + 2 < size; turn++) {
      room = size - length(out) - length(tail) - 40
      if (room > 4096) room = 4096
      text = ""
      while (length(text) + length(para) <= room) text = text para
      if (text == "") text = substr("Say hello in one short sentence.", 1, room > 1 ? room : 1)
      out = out ",{\"role\":\"" (turn % 2 ? "assistant" : "user") "\",\"content\":\"" text "\"}"
    }
    if (!byok) sub(/,"byok":\{[^}]*\}/, "", tail)
    printf "%s]%s", out, tail }' >"$1"
}

PIDS=()
SUITE_PID=
cleanup() {
  local p
  [ -z "$SUITE_PID" ] || kill -TERM "$SUITE_PID" 2>/dev/null || true
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [ -f "$WORK/ownkey.log" ]; then
    {
      grep -v '"msg":"request"' "$WORK/ownkey.log"
      echo "... $(grep -c '"msg":"request"' "$WORK/ownkey.log") access-log lines in all, the last 5:"
      grep '"msg":"request"' "$WORK/ownkey.log" | tail -5
    } >"$RESULTS/ownkey.log" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers

port_in_use() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

# start NAME CPU LOGFILE COMMAND...: run COMMAND pinned to CPU in the
# background; NAME_PID is its pid (taskset and env exec, so it is the server's).
start() {
  local name=$1 cpu=$2 out=$3
  shift 3
  taskset -c "$cpu" "$@" >"$out" 2>&1 &
  PIDS+=("$!")
  printf -v "${name}_PID" '%s' "$!"
}

# wait_http NAME PID URL: until URL answers at all, for 20 s at most.
wait_http() {
  for _ in $(seq 200); do
    kill -0 "$2" 2>/dev/null || die "$1 exited during start (see $RESULTS/$1.log)"
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$3")" != 000 ] && return 0
    sleep 0.1
  done
  die "$1 did not answer on $3 within 20s"
}

# ratio A B: A/B to two decimals; nothing if either is missing or B is 0.
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b }' || true; }
rss_mib() { awk '/^VmRSS/{printf "%.1f", $2/1024}' "/proc/$1/status"; }

# check_chat NAME URL AUTH BODY STREAM_BODY: one non-stream and one streamed
# request must succeed end to end before any load is put on NAME.
check_chat() {
  local name=$1 url=$2 auth=$3 out code
  out=$WORK/check-$name
  code=$(curl -s --max-time 5 -o "$out" -w '%{http_code}' -H "Authorization: Bearer $auth" \
    -H 'Content-Type: application/json' --data-binary "@$4" "$url")
  [ "$code" = 200 ] && grep -q '"chat.completion"' "$out" ||
    die "$name: non-stream check failed: HTTP $code $(head -c 300 "$out")"
  code=$(curl -sN --max-time 5 -o "$out" -w '%{http_code}' -H "Authorization: Bearer $auth" \
    -H 'Content-Type: application/json' --data-binary "@$5" "$url")
  [ "$code" = 200 ] && grep -q '^data: \[DONE\]' "$out" ||
    die "$name: streaming check failed: HTTP $code $(head -c 300 "$out")"
  echo "$name: non-stream and streaming checks passed ($(grep -c '^data:' "$out") data lines per stream)"
}

# warm NAME URL AUTH BODY STREAM_BODY: a few seconds of c=50 of both kinds so
# that connection pools, caches and the heap are in steady state.
warm() {
  $LGP "$BIN/lg" -url "$2" -auth "$3" -body "$4" -c 50 -d 2s -warmup 1s >"$WORK/warm.out" 2>&1 || true
  $LGP "$BIN/lg" -url "$2" -auth "$3" -body "$5" -c 50 -d 2s -warmup 1s >>"$WORK/warm.out" 2>&1 || true
  grep -E '^requests=' "$WORK/warm.out" | sed "s/^/$1 warm-up: /"
}

machine() {
  echo "date:    $(date -u +'%F %T UTC')"
  echo "cpu:     $(nproc) x $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
  echo "memory:  $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel:  $(uname -sr)"
  echo "go:      $(go version | awk '{print $3, $4}')"
  echo "ownkey:  $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"
  echo "pinning: gateway on cpu $GW_CPU with GOMAXPROCS=1; mock and load tools on cpu $LOAD_CPU"
  echo "D:       $D"
  echo "bodies:  $BODY_DESC"
  echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-min load average before the runs)"
}

# busy_ticks [CPU]: busy clock ticks (1/100 s) of one CPU, or of all.
busy_ticks() { awk -v c="cpu${1:-}" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
# pid_ticks PID: the CPU ticks PID has used.
pid_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Someone else's tests on this 2-core machine skew every number; optionally
# wait (bounded) until the machine is nearly idle, and always say how busy
# it was.
machine_busy_pct() { # over 2 s, both CPUs
  local a b
  a=$(busy_ticks); sleep 2; b=$(busy_ticks)
  echo $(((b - a) * 100 / (2 * 100 * $(nproc))))
}
wait_quiet() {
  local waited=0 busy
  busy=$(machine_busy_pct)
  while [ "$waited" -lt "$WAIT_IDLE" ] && [ "$busy" -ge "$MAX_BUSY" ]; do
    sleep 3
    waited=$((waited + 5))
    busy=$(machine_busy_pct)
  done
  echo "machine busy before the runs: ${busy}% of both CPUs (waited ${waited}s); busiest processes:"
  ps -eo pid,pcpu,comm --sort=-pcpu | sed -n '2,6p'
}

# ---------------------------------------------------------------- build

log "tools"
need=()
for t in wrk jq bc curl taskset; do command -v "$t" >/dev/null || need+=("$t"); done
if [ ${#need[@]} -gt 0 ]; then
  pkgs=()
  for t in "${need[@]}"; do
    case $t in taskset) pkgs+=(util-linux) ;; *) pkgs+=("$t") ;; esac
  done
  echo "installing ${pkgs[*]}"
  timeout 300 apt-get install -y "${pkgs[@]}" >"$WORK/apt.log" 2>&1 ||
    { timeout 300 apt-get update >>"$WORK/apt.log" 2>&1 && timeout 300 apt-get install -y "${pkgs[@]}" >>"$WORK/apt.log" 2>&1; } ||
    die "apt-get install ${pkgs[*]} failed: $(tail -3 "$WORK/apt.log")"
fi
for t in mock lg rp; do
  (cd "$KIT/$t" && timeout 300 go build -o "$BIN/$t" .) || die "building the kit's $t failed"
done
if [ "$PROFILE" = 1 ]; then
  # The floor gets the same pprof hook, so that its profile and allocations
  # can be set beside ownkey's.
  printf '{"Replace":{"%s":"%s"}}' "$KIT/rp/zz_benchpprof.go" "$HERE/pprofhook/pprofhook.go" >"$WORK/overlay-rp.json"
  (cd "$KIT/rp" && timeout 300 go build -tags benchpprof -overlay "$WORK/overlay-rp.json" -o "$BIN/rp" .) ||
    die "building the kit's rp (profiling build) failed"
fi
VEGETA=1
if [ "$PROFILE" = 0 ] && [ "$PAIRED" = 0 ]; then
  if ! (cd "$WORK" && GOBIN=$BIN GOFLAGS=-mod=mod timeout 300 go install github.com/tsenart/vegeta/v12@latest) >"$WORK/vegeta.log" 2>&1; then
    VEGETA=0
    echo "vegeta could not be installed ($(tail -1 "$WORK/vegeta.log")): the open-loop runs [3] and [4] are SKIPPED"
    # run_suite.sh calls $BIN/vegeta unconditionally; this stand-in makes
    # those two runs print one "skipped" line instead of failing slowly.
    cat >"$BIN/vegeta" <<'EOF'
#!/bin/sh
[ "$1" = report ] && echo "Requests      [skipped: vegeta could not be installed]"
exit 0
EOF
    chmod +x "$BIN/vegeta"
  fi
fi
if [ "$PROFILE" = 1 ]; then
  # The hook joins package main only in this build, through an overlay: no
  # file is written into cmd/ownkey and the normal build stays pprof-free.
  printf '{"Replace":{"%s":"%s"}}' "$ROOT/cmd/ownkey/zz_benchpprof.go" "$HERE/pprofhook/pprofhook.go" >"$WORK/overlay.json"
  (cd "$ROOT" && timeout 300 go build -tags benchpprof -overlay "$WORK/overlay.json" -o "$BIN/ownkey" ./cmd/ownkey) ||
    die "building ownkey (profiling build) failed"
else
  (cd "$ROOT" && timeout 300 go build -o "$BIN/ownkey" ./cmd/ownkey) || die "building ownkey failed"
fi
echo "built mock, lg, rp$([ "$VEGETA" = 1 ] && [ "$PROFILE" = 0 ] && echo ', vegeta'), ownkey into $BIN"

# ---------------------------------------------------------------- start

if [ "$BODY_BYTES" -gt 0 ]; then
  RP_BODY=$WORK/rp.json RP_SBODY=$WORK/rp_stream.json
  OK_BODY=$WORK/ownkey.json OK_SBODY=$WORK/ownkey_stream.json
  gen_body "$RP_BODY" "$BODY_BYTES" 0 0
  gen_body "$RP_SBODY" "$BODY_BYTES" 1 0
  gen_body "$OK_BODY" "$BODY_BYTES" 0 1
  gen_body "$OK_SBODY" "$BODY_BYTES" 1 1
  jq -e '.model and (.messages | length > 1)' "$OK_SBODY" >/dev/null || die "the generated body is not valid JSON"
fi
BODY_DESC="request bodies: rp $(wc -c <"$RP_BODY") / ownkey $(wc -c <"$OK_BODY") bytes non-stream, $(wc -c <"$RP_SBODY") / $(wc -c <"$OK_SBODY") streaming$([ "$BODY_BYTES" -gt 0 ] && echo " (--body-size $BODY_SIZE: $(jq '.messages | length' "$OK_BODY") messages, model last)" || :)"

log "machine"
wait_quiet
machine | tee "$RESULTS/machine.txt"

for a in "$MOCK_ADDR" "$OK_ADDR" "$RP_ADDR" $([ "$PROFILE" = 1 ] && echo "$PPROF_ADDR $RP_PPROF_ADDR"); do
  port_in_use "$a" && die "$a is already in use (another bench or test?)"
done

log "start"
start MOCK "$LOAD_CPU" "$RESULTS/mock.log" "$BIN/mock" -addr "$MOCK_ADDR"
wait_http mock "$MOCK_PID" "http://$MOCK_ADDR/v1/models"

start RP "$GW_CPU" "$RESULTS/rp.log" env GOMAXPROCS=1 OWNKEY_BENCH_PPROF_ADDR="$([ "$PROFILE" = 1 ] && echo "$RP_PPROF_ADDR")" "$BIN/rp" -addr "$RP_ADDR" -upstream "http://$MOCK_ADDR"
wait_http rp "$RP_PID" "http://$RP_ADDR/v1/models"
RP_RSS_START=$(rss_mib "$RP_PID")

okenv=(GOMAXPROCS=1 OWNKEY_OPENAI_BASE_URL="http://$MOCK_ADDR/v1" OWNKEY_SHUTDOWN_TIMEOUT=5s)
[ -n "${OWNKEY_ACCESS_LOG:-}" ] && okenv+=(OWNKEY_ACCESS_LOG="$OWNKEY_ACCESS_LOG")
[ -n "${OWNKEY_LOG_LEVEL:-}" ] && okenv+=(OWNKEY_LOG_LEVEL="$OWNKEY_LOG_LEVEL")
[ "$PROFILE" = 1 ] && okenv+=(OWNKEY_BENCH_PPROF_ADDR="$PPROF_ADDR")
[ -n "${OWNKEY_GC_HEAP_FLOOR:-}" ] && okenv+=(OWNKEY_GC_HEAP_FLOOR="$OWNKEY_GC_HEAP_FLOOR")
# stdout carries the bootstrap admin key, so it stays in WORK (deleted at
# exit). stderr is the log: at exit RESULTS keeps all of it but the access
# log lines, hundreds of MB by then, of which it keeps the count and the last
# few.
taskset -c "$GW_CPU" env "${okenv[@]}" "$BIN/ownkey" serve --addr "$OK_ADDR" --data-dir "$WORK/data" \
  >"$WORK/ownkey.stdout" 2>"$WORK/ownkey.log" &
OK_PID=$!
PIDS+=("$OK_PID")
wait_http ownkey "$OK_PID" "http://$OK_ADDR/healthz"
OK_RSS_START=$(rss_mib "$OK_PID")
echo "ownkey: pid $OK_PID, access log ${OWNKEY_ACCESS_LOG:-true (default)}, RSS just after start ${OK_RSS_START} MiB"

# A user account of its own (not the bootstrap admin, which is unmetered),
# through the CLI against the same data directory: metered, with credit, so
# that billing is on for every request (held before the upstream call,
# settled after); and its OpenAI key through the API.
ACCOUNT_JSON=$(timeout 30 "$BIN/ownkey" accounts create bench --json --data-dir "$WORK/data" 2>>"$RESULTS/ownkey-cli.log") ||
  die "ownkey accounts create failed: $(tail -3 "$RESULTS/ownkey-cli.log")"
OK_AUTH=$(jq -r '.api_key.key' <<<"$ACCOUNT_JSON")
[ -n "$OK_AUTH" ] && [ "$OK_AUTH" != null ] || die "no API key in the output of ownkey accounts create"
[ "$(jq -r '.account.metered' <<<"$ACCOUNT_JSON")" = true ] || die "the bench account is not metered: billing would be off"
timeout 30 "$BIN/ownkey" accounts credit "$(jq -r '.account.id' <<<"$ACCOUNT_JSON")" 1000000 --reason "bench credit" \
  --data-dir "$WORK/data" >>"$RESULTS/ownkey-cli.log" 2>&1 ||
  die "ownkey accounts credit failed: $(tail -3 "$RESULTS/ownkey-cli.log")"
code=$(curl -s --max-time 5 -o "$WORK/putkey.out" -w '%{http_code}' -X POST "http://$OK_ADDR/api/user/provider-keys" \
  -H "Authorization: Bearer $OK_AUTH" -H 'Content-Type: application/json' \
  -d '{"provider":"openai","key":"sk-bench-0123456789abcdefghijklmnopqrstuv"}')
[ "$code" = 200 ] || die "storing the openai key failed: HTTP $code $(head -c 300 "$WORK/putkey.out")"
echo "ownkey: account 'bench' created (metered, \$1000000 credit), openai key stored ($(jq -r '.status' "$WORK/putkey.out"))"

OK_URL=http://$OK_ADDR/v1/chat/completions
RP_URL=http://$RP_ADDR/v1/chat/completions
check_chat ownkey "$OK_URL" "$OK_AUTH" "$OK_BODY" "$OK_SBODY"
echo "ownkey: bench account balance after the checks: \$$(curl -s --max-time 5 -H "Authorization: Bearer $OK_AUTH" \
  "http://$OK_ADDR/api/v1/balance" | jq -r '.usd_balance') (each request held from a lease, then settled)"
OK_RSS_IDLE=$(rss_mib "$OK_PID")
echo "ownkey: RSS idle after setup (account, key, two requests), before load: ${OK_RSS_IDLE} MiB"
check_chat rp "$RP_URL" sk-mock "$RP_BODY" "$RP_SBODY"
RP_RSS_IDLE=$(rss_mib "$RP_PID")

# ---------------------------------------------------------------- profile mode

# cost NAME KIND PID URL AUTH BODY: c=50 for D, unprofiled; the gateway's
# CPU time and read/write system calls per request (from /proc/PID/io).
cost() {
  local t0 r0 w0 out
  t0=$(pid_ticks "$3"); r0=$(awk '/^syscr/{print $2}' "/proc/$3/io"); w0=$(awk '/^syscw/{print $2}' "/proc/$3/io")
  out=$($LGP "$BIN/lg" -url "$4" -auth "$5" -body "$6" -c 50 -d "$D" -warmup 0s 2>&1 | grep '^requests=' || true)
  awk -v name="$1" -v kind="$2" -v line="$out" -v t="$(($(pid_ticks "$3") - t0))" \
    -v r="$(($(awk '/^syscr/{print $2}' "/proc/$3/io") - r0))" -v w="$(($(awk '/^syscw/{print $2}' "/proc/$3/io") - w0))" '
    BEGIN { split(line, f, /[ =]/); n = f[2]; rps = f[4]
      if (n > 0) printf "| %s | %s | %d | %.1f | %.1f | %.1f |\n", name, kind, rps, t * 1e4 / n, r / n, w / n }'
}

# memstats LABEL BEFORE AFTER LG_OUTPUT: heap allocation per request over a
# profiled run; the deltas span lg's 1 s warm-up too, so the requests are
# its rate times the whole run.
memstats() {
  local label=$1
  shift
  awk -v kind="$label" -v secs="$((PSEC + 3))" '
    FNR == 1 { f++ }
    f == 1 && /^# / { before[$2] = $4 }
    f == 2 && /^# / { after[$2] = $4 }
    f == 3 && /^requests=/ { split($0, v, /[ =]/); n = v[4] * secs }
    END { if (n > 0) printf "%s: %.0f bytes and %.0f heap allocations per request, %d GCs\n", kind,
      (after["TotalAlloc"] - before["TotalAlloc"]) / n, (after["Mallocs"] - before["Mallocs"]) / n, after["NumGC"] - before["NumGC"] }' "$@"
}

# ---------------------------------------------------------------- paired mode

# wrk_rps URL AUTH BODY: wrk c=50 for D; its requests per second (0 if any
# answer was not a 200).
wrk_rps() {
  AUTH=$2 $LGP wrk -t1 -c50 -d"$D" -s "$KIT/post.lua" "$1" -- "$3" 2>&1 |
    awk '/Non-2xx/ { bad = 1 } /Requests\/sec/ { r = $2 } END { print (bad ? 0 : r + 0) }'
}
# lg_sps URL AUTH BODY: lg c=50 streaming for D; streams per second (0 on
# any error).
lg_sps() {
  $LGP "$BIN/lg" -url "$1" -auth "$2" -body "$3" -c 50 -d "$D" -warmup 1s 2>&1 |
    sed -nE 's/^requests=[0-9]+ rps=([0-9.]+) errors=([0-9]+).*/\1 \2/p' | awk '{ print ($2 > 0 ? 0 : $1) }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

if [ "$PAIRED" -gt 0 ]; then
  warm rp "$RP_URL" sk-mock "$RP_BODY" "$RP_SBODY"
  warm ownkey "$OK_URL" "$OK_AUTH" "$OK_BODY" "$OK_SBODY"
  log "paired: $PAIRED rounds, D=$D per run, the gateways alternating which goes first"
  echo "$BODY_DESC" | tee "$RESULTS/paired.md"
  {
    echo "| round | first | rp wrk c=50 req/s | ownkey wrk c=50 req/s | ratio | rp lg c=50 streams/s | ownkey lg c=50 streams/s | ratio |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|"
  } | tee -a "$RESULTS/paired.md"
  : >"$WORK/ns-ratios"
  : >"$WORK/s-ratios"
  for i in $(seq "$PAIRED"); do
    declare -A NS S
    if [ $((i % 2)) = 1 ]; then order="rp ownkey"; else order="ownkey rp"; fi
    for g in $order; do
      if [ "$g" = rp ]; then
        NS[rp]=$(wrk_rps "$RP_URL" sk-mock "$RP_BODY")
        S[rp]=$(lg_sps "$RP_URL" sk-mock "$RP_SBODY")
      else
        NS[ownkey]=$(wrk_rps "$OK_URL" "$OK_AUTH" "$OK_BODY")
        S[ownkey]=$(lg_sps "$OK_URL" "$OK_AUTH" "$OK_SBODY")
      fi
    done
    nr=$(ratio "${NS[ownkey]}" "${NS[rp]}")
    sr=$(ratio "${S[ownkey]}" "${S[rp]}")
    echo "${nr:-0}" >>"$WORK/ns-ratios"
    echo "${sr:-0}" >>"$WORK/s-ratios"
    echo "| $i | ${order%% *} | ${NS[rp]} | ${NS[ownkey]} | $nr | ${S[rp]} | ${S[ownkey]} | $sr |" | tee -a "$RESULTS/paired.md"
  done
  {
    echo
    echo "median ownkey/rp over $PAIRED rounds: non-stream $(median <"$WORK/ns-ratios") (range $(sort -g "$WORK/ns-ratios" | head -1)–$(sort -g "$WORK/ns-ratios" | tail -1)), streaming $(median <"$WORK/s-ratios") (range $(sort -g "$WORK/s-ratios" | head -1)–$(sort -g "$WORK/s-ratios" | tail -1)); target ≥ 0.9 for both"
    echo "ownkey RSS after the rounds: $(rss_mib "$OK_PID") MiB (VmHWM $(awk '/^VmHWM/{printf "%.1f", $2/1024}' "/proc/$OK_PID/status") MiB); a ratio of 0 means that run had errors"
  } | tee -a "$RESULTS/paired.md"
  exit 0
fi

if [ "$PROFILE" = 1 ]; then
  PSEC=$DSEC
  warm rp "$RP_URL" sk-mock "$RP_BODY" "$RP_SBODY"
  warm ownkey "$OK_URL" "$OK_AUTH" "$OK_BODY" "$OK_SBODY"
  log "cost per request at c=50 (D=$D, no profiler running)"
  echo "$BODY_DESC"
  {
    echo "| gateway | kind | req/s | CPU µs/req | read syscalls/req | write syscalls/req |"
    echo "|---|---|---:|---:|---:|---:|"
    cost rp non-stream "$RP_PID" "$RP_URL" sk-mock "$RP_BODY"
    cost ownkey non-stream "$OK_PID" "$OK_URL" "$OK_AUTH" "$OK_BODY"
    cost rp stream "$RP_PID" "$RP_URL" sk-mock "$RP_SBODY"
    cost ownkey stream "$OK_PID" "$OK_URL" "$OK_AUTH" "$OK_SBODY"
  } | tee "$RESULTS/cost.md"
  # profile NAME PPROF URL AUTH BODY KIND: c=50 load on NAME with a CPU
  # profile of D seconds inside it, allocation profiles and heap statistics
  # around it, and the usual pprof views of them.
  profile() {
    local name=$1 pp=$2 pre=$RESULTS/$1-$6 lgpid
    log "profile: $name, c=50 $6, ${PSEC}s CPU profile"
    curl -s --max-time 10 -o "$pre-allocs-before.pprof" "http://$pp/debug/pprof/allocs"
    curl -s --max-time 10 "http://$pp/debug/pprof/allocs?debug=1" | grep -E '^# (TotalAlloc|Mallocs|NumGC) ' >"$pre-memstats-before.txt"
    $LGP "$BIN/lg" -url "$3" -auth "$4" -body "$5" -c 50 -d "$((PSEC + 2))s" -warmup 1s >"$pre-lg.txt" 2>&1 &
    lgpid=$!
    sleep 1
    curl -s --max-time $((PSEC + 20)) -o "$pre-cpu.pprof" "http://$pp/debug/pprof/profile?seconds=$PSEC"
    wait "$lgpid" || true
    curl -s --max-time 10 -o "$pre-allocs-after.pprof" "http://$pp/debug/pprof/allocs"
    curl -s --max-time 10 "http://$pp/debug/pprof/allocs?debug=1" | grep -E '^# (TotalAlloc|Mallocs|NumGC) ' >"$pre-memstats-after.txt"
    cat "$pre-lg.txt"
    memstats "$name $6" "$pre-memstats-before.txt" "$pre-memstats-after.txt" "$pre-lg.txt" | tee -a "$RESULTS/cost.md"
    go tool pprof -top -nodecount=35 "$BIN/$name" "$pre-cpu.pprof" >"$pre-cpu-top.txt" 2>&1
    go tool pprof -top -cum -nodecount=80 "$BIN/$name" "$pre-cpu.pprof" >"$pre-cpu-cum.txt" 2>&1
    go tool pprof -top -lines -nodecount=50 "$BIN/$name" "$pre-cpu.pprof" >"$pre-cpu-lines.txt" 2>&1
    go tool pprof -top -sample_index=alloc_space -nodecount=40 -diff_base "$pre-allocs-before.pprof" \
      "$BIN/$name" "$pre-allocs-after.pprof" >"$pre-allocs-top.txt" 2>&1
    go tool pprof -top -lines -sample_index=alloc_space -nodecount=40 -diff_base "$pre-allocs-before.pprof" \
      "$BIN/$name" "$pre-allocs-after.pprof" >"$pre-allocs-lines.txt" 2>&1
    sed -n '1,25p' "$pre-cpu-top.txt"
  }
  profile rp "$RP_PPROF_ADDR" "$RP_URL" sk-mock "$RP_BODY" nonstream
  profile ownkey "$PPROF_ADDR" "$OK_URL" "$OK_AUTH" "$OK_BODY" nonstream
  profile rp "$RP_PPROF_ADDR" "$RP_URL" sk-mock "$RP_SBODY" stream
  profile ownkey "$PPROF_ADDR" "$OK_URL" "$OK_AUTH" "$OK_SBODY" stream
  # pprof needs the binaries for symbols later.
  cp "$BIN/ownkey" "$RESULTS/ownkey.bin"
  cp "$BIN/rp" "$RESULTS/rp.bin"
  log "profiles in $RESULTS ({rp,ownkey}-{nonstream,stream}-{cpu,allocs-*}.pprof and their *-top, *-cum, *-lines views)"
  echo "e.g. go tool pprof -http=127.0.0.1:0 $RESULTS/ownkey.bin $RESULTS/ownkey-nonstream-cpu.pprof"
  exit 0
fi

# ---------------------------------------------------------------- suites

# Seven bounded runs: 2x(2 s warm-up + 10 s) at c=1 plus five of D each, and
# slack for process start and the tools' own time-outs.
BUDGET=$((24 + 5 * DSEC + 2 + 90))
suite() { # NAME URL AUTH BODY STREAM_BODY PID
  log "suite: $1 (D=$D)"
  warm "$1" "$2" "$3" "$4" "$5"
  local c0 c1 g t0
  c0=$(busy_ticks "$LOAD_CPU"); c1=$(busy_ticks "$GW_CPU"); g=$(pid_ticks "$6"); t0=$(date +%s)
  # In the background, so that a signal reaches the trap at once rather
  # than after the suite; timeout leads its own process group and passes a
  # TERM on to all of it (wrk, lg, vegeta).
  BIN=$BIN D=$D LGP=$LGP AUTH=$3 timeout -k 10 "$BUDGET" bash "$KIT/run_suite.sh" "$1" "$2" "$4" "$5" "$6" \
    >"$RESULTS/$1.txt" 2>&1 &
  SUITE_PID=$!
  local rc=0
  wait "$SUITE_PID" || rc=$?
  SUITE_PID=
  [ "$rc" = 0 ] || echo "run_suite.sh for $1 exited with $rc (time-out is $BUDGET s)" | tee -a "$RESULTS/$1.txt"
  cat "$RESULTS/$1.txt"
  # Whatever ran on the gateway's core besides the gateway competed with it.
  local wall=$(($(date +%s) - t0))
  FOREIGN[$1]=$(awk -v b="$(($(busy_ticks "$GW_CPU") - c1))" -v g="$(($(pid_ticks "$6") - g))" -v w="$wall" \
    'BEGIN { f = (b - g) / 100; if (f < 0) f = 0; printf "%.1f s (%.0f%% of %d s)", f, f * 100 / w, w }')
  LOADCORE[$1]=$(awk -v b="$(($(busy_ticks "$LOAD_CPU") - c0))" -v w="$wall" 'BEGIN { printf "%.0f%%", b / w }')
  echo "interference: other processes used ${FOREIGN[$1]} of CPU $GW_CPU (the gateway's core); CPU $LOAD_CPU (mock + load tools) was ${LOADCORE[$1]} busy" |
    tee -a "$RESULTS/$1.txt"
}
declare -A FOREIGN LOADCORE
suite rp "$RP_URL" sk-mock "$RP_BODY" "$RP_SBODY" "$RP_PID"
suite ownkey "$OK_URL" "$OK_AUTH" "$OK_BODY" "$OK_SBODY" "$OK_PID"
echo "load after the runs: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RESULTS/machine.txt"
grep -c '"msg":"request"' "$WORK/ownkey.log" | sed 's/^/ownkey access-log lines: /' || true

# ---------------------------------------------------------------- summary

# sect FILE N: the output of run N of a suite.
sect() { awk -v h="-- [$2]" 'index($0, h) == 1 { on = 1; next } on && /^-- / { exit } on' "$1"; }
# rssl FILE WHICH: the "VmHWM: a MiB  VmRSS: b MiB" line after "-- rss WHICH".
rssl() { awk -v h="-- rss $2" 'index($0, h) == 1 { getline; print; exit }' "$1"; }
lgf() { sect "$1" "$2" | sed -nE "s/^$3.* $4=([0-9.]+)(us)?( .*)?$/\1/p" | head -1; }
lgfirst() { sect "$1" "$2" | sed -nE "s#^requests=.* $3=([0-9.]+).*#\1#p" | head -1; }
wrkrps() { sect "$1" "$2" | awk '/Requests\/sec/ { print $2 }'; }
wrkbad() { sect "$1" "$2" | awk '/Non-2xx/ { n += $NF } END { print n + 0 }'; }
cpus() { sect "$1" "$2" | sed -nE 's/.*target_cpu_s=([0-9.]+).*/\1/p'; }
# vegeta prints durations with units; this turns one into microseconds.
veg() { # FILE N FIELD(p50|p99|tput|success)
  sect "$1" "$2" | awk -v f="$3" '
    function us(s) {
      if (s ~ /µs$/) { sub(/µs$/, "", s); return s + 0 }
      if (s ~ /ns$/) { sub(/ns$/, "", s); return s / 1000 }
      if (s ~ /ms$/) { sub(/ms$/, "", s); return s * 1000 }
      if (s ~ /m[0-9.]+s$/) { split(s, a, "m"); sub(/s$/, "", a[2]); return (a[1] * 60 + a[2]) * 1e6 }
      if (s ~ /s$/) { sub(/s$/, "", s); return s * 1e6 }
      return s + 0 }
    /^Latencies/ { sub(/.*\]  */, ""); gsub(/ /, ""); split($0, v, ",")
                   if (f == "p50") printf "%.0f\n", us(v[3]); if (f == "p99") printf "%.0f\n", us(v[6]) }
    /^Requests/ && f == "tput" { n = split($0, v, ","); gsub(/ /, "", v[n]); if (v[n] ~ /^[0-9.]+$/) printf "%.0f\n", v[n] }
    /^Success/ && f == "success" { print $NF }'
}
hwm() { rssl "$1" "$2" | awk '{ print $2 }'; }
rss() { rssl "$1" "$2" | awk '{ print $5 }'; }
percall() { # CPU microseconds per request: cpu_s / (rps * seconds)
  [ -n "$1" ] && [ -n "$2" ] && awk -v c="$1" -v r="$2" -v s="$3" 'BEGIN { if (r * s > 0) printf "%.0f", c * 1e6 / (r * s) }' || true
}

declare -A V
for n in rp ownkey; do
  f=$RESULTS/$n.txt
  V[$n,c1p50]=$(lgf "$f" 1 total: p50)
  V[$n,c1p99]=$(lgf "$f" 1 total: p99)
  V[$n,c1err]=$(lgfirst "$f" 1 errors)
  V[$n,wrk]=$(wrkrps "$f" 2)
  V[$n,wrkbad]=$(wrkbad "$f" 2)
  V[$n,wrkcpu]=$(percall "$(cpus "$f" 2 | head -1)" "${V[$n,wrk]}" "$DSEC")
  V[$n,v1p50]=$(veg "$f" 3 p50)
  V[$n,v1p99]=$(veg "$f" 3 p99)
  V[$n,v1ok]=$(veg "$f" 3 success)
  V[$n,v3tput]=$(veg "$f" 4 tput)
  V[$n,v3p99]=$(veg "$f" 4 p99)
  V[$n,v3ok]=$(veg "$f" 4 success)
  V[$n,s1ttfb]=$(lgf "$f" 5 ttfb: p50)
  V[$n,s1p50]=$(lgf "$f" 5 total: p50)
  V[$n,s50]=$(lgfirst "$f" 6 rps)
  V[$n,s50err]=$(lgfirst "$f" 6 errors)
  V[$n,s50lines]=$(lgfirst "$f" 6 'data_lines/req')
  # lg's 2 s warm-up is served (and costs CPU) too, hence D + 2 seconds.
  V[$n,s50cpu]=$(percall "$(cpus "$f" 6 | head -1)" "${V[$n,s50]}" "$((DSEC + 2))")
  V[$n,wrks]=$(wrkrps "$f" 7)
  V[$n,wrksbad]=$(wrkbad "$f" 7)
  V[$n,rssbefore]=$(rss "$f" before:)
  V[$n,rsswrk]=$(rss "$f" "after wrk:")
  V[$n,hwmwrk]=$(hwm "$f" "after wrk:")
  V[$n,hwmend]=$(hwm "$f" end:)
done
V[rp,rssstart]=$RP_RSS_START; V[ownkey,rssstart]=$OK_RSS_START
V[rp,rssidle]=$RP_RSS_IDLE; V[ownkey,rssidle]=$OK_RSS_IDLE

verdict() { # KIND RATIO_OR_VALUE LIMIT: KIND min (>=) or max (<=) or lt (<)
  local k=$1 v=$2 l=$3
  [ -n "$v" ] || { echo "no data"; return; }
  awk -v k="$k" -v v="$v" -v l="$l" 'BEGIN {
    if (k == "min") { if (v >= l) printf "met"; else printf "MISSED by %.0f%% (%.2f < %.2f)", (l - v) / l * 100, v, l }
    else if (k == "max") { if (v <= l) printf "met"; else printf "MISSED by %.0f%% (%.2f > %.2f)", (v - l) / l * 100, v, l }
    else { if (v < l) printf "met"; else printf "MISSED by %.1f MiB (%.1f >= %d)", v - l, v, l } }'
}

row() { # LABEL KEY TARGET_TEXT VERDICT
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "${V[rp,$2]:--}" "${V[ownkey,$2]:--}" \
    "$(ratio "${V[ownkey,$2]}" "${V[rp,$2]}")" "$3" "$4"
}
{
  echo "### ownkey vs rp (floor), D=$D, $(date -u +'%F %H:%M UTC')"
  echo
  echo "| measure | rp (floor) | ownkey | ownkey/rp | target | verdict |"
  echo "|---|---:|---:|---:|---|---|"
  row "c=1 non-stream p50 (µs)" c1p50 "≤1.2× floor" "$(verdict max "$(ratio "${V[ownkey,c1p50]}" "${V[rp,c1p50]}")" 1.2)"
  row "c=1 non-stream p99 (µs)" c1p99 "" ""
  row "wrk c=50 non-stream req/s" wrk "≥0.9× floor" "$(verdict min "$(ratio "${V[ownkey,wrk]}" "${V[rp,wrk]}")" 0.9)"
  row "lg c=50 streaming streams/s" s50 "≥0.9× floor" "$(verdict min "$(ratio "${V[ownkey,s50]}" "${V[rp,s50]}")" 0.9)"
  row "wrk c=50 streaming req/s" wrks "" ""
  row "CPU µs per request, wrk c=50 non-stream" wrkcpu "" ""
  row "CPU µs per stream, lg c=50 streaming" s50cpu "" ""
  row "c=1 streaming TTFB p50 (µs)" s1ttfb "" ""
  row "c=1 streaming total p50 (µs)" s1p50 "" ""
  row "vegeta 1000 rps p50 (µs)" v1p50 "" ""
  row "vegeta 1000 rps p99 (µs)" v1p99 "" ""
  row "vegeta 3000 rps throughput (req/s)" v3tput "" ""
  row "vegeta 3000 rps p99 (µs)" v3p99 "" ""
  row "RSS just after start (MiB)" rssstart "" ""
  row "RSS idle after setup, before load (MiB)" rssidle "<30 MiB" "$(verdict lt "${V[ownkey,rssidle]}" 30)"
  row "RSS after warm-up, before the suite (MiB)" rssbefore "" ""
  row "RSS right after wrk c=50 (MiB)" rsswrk "" ""
  row "peak RSS through c=1 + wrk c=50 (VmHWM, MiB)" hwmwrk "<60 MiB" "$(verdict lt "${V[ownkey,hwmwrk]}" 60)"
  row "peak RSS whole suite incl. 3000 rps open loop (VmHWM, MiB)" hwmend "" ""
  echo
  echo "errors: c=1 lg ${V[rp,c1err]:-?} / ${V[ownkey,c1err]:-?}; wrk non-2xx ${V[rp,wrkbad]} / ${V[ownkey,wrkbad]} (non-stream), ${V[rp,wrksbad]} / ${V[ownkey,wrksbad]} (stream); lg c=50 stream ${V[rp,s50err]:-?} / ${V[ownkey,s50err]:-?} (rp / ownkey)"
  echo "vegeta success: 1000 rps ${V[rp,v1ok]:-?} / ${V[ownkey,v1ok]:-?}; 3000 rps ${V[rp,v3ok]:-?} / ${V[ownkey,v3ok]:-?} (rp / ownkey)$([ "$VEGETA" = 0 ] && echo '; vegeta was NOT installed, runs [3] and [4] skipped')"
  echo "SSE data lines per stream: rp ${V[rp,s50lines]:-?}, ownkey ${V[ownkey,s50lines]:-?}"
  echo "interference on the gateway core (CPU $GW_CPU) from other processes: rp suite ${FOREIGN[rp]}, ownkey suite ${FOREIGN[ownkey]}; CPU $LOAD_CPU busy: ${LOADCORE[rp]} / ${LOADCORE[ownkey]}"
  echo "$BODY_DESC"
  echo "access log: ${OWNKEY_ACCESS_LOG:-true (default)}; raw output: $RESULTS"
} | tee "$RESULTS/summary.md"
