#!/usr/bin/env bash
# P2.7 HeatBridge proof: the spec's tests A–E against a running service, with redis-cli and curl.
# Exit 0 when every check passes, 1 when one fails (or a tool is missing).
#
# Environment (defaults as the service's): REDIS_HOST, REDIS_PORT, REDIS_DB, REDIS_USERNAME,
# REDIS_PASSWORD, REDIS_URL, P27_STREAM_IN, P27_GROUP, P27_METRICS_PORT, P27_HEALTH_PORT, P27_HTTP_HOST,
# P27_TTL_PLAN_SEC; P27_PROOF_SYMBOL (default PROOFUSDT, so traded symbols keep their real latest
# decision) and P27_PROOF_TIMEOUT_SEC (how long to wait for each injection, default 10).
# With --env-file PATH it reads the service's env file through HeatBridge's own parser (systemd's
# rules; real environment variables win), never by sourcing it into a shell, which would expand "$"
# in passwords and read inline comments differently.
# Passwords reach redis-cli only through REDISCLI_AUTH: never on a command line, never printed.
set -uo pipefail

# Exports each NAME=VALUE of the env file not already set; the values arrive on a pipe, not in argv.
load_env_file() {
  local root module loader=() pair
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if [ -f "$root/src/env-file.ts" ] && [ -f "$root/node_modules/tsx/dist/loader.mjs" ]; then
    module="$root/src/env-file.ts"
    loader=(--import "file://$root/node_modules/tsx/dist/loader.mjs")
  elif [ -f "$root/dist/env-file.js" ]; then
    module="$root/dist/env-file.js"
  else
    echo "proof_p27_heat_bridge: --env-file needs HeatBridge built (npm run build)" >&2
    exit 1
  fi
  local code='import { readFileSync } from "node:fs";
const [file, module] = process.argv.slice(1);
const { parseEnvFile } = await import(module);
try {
  const vars = parseEnvFile(readFileSync(file, "utf8"), file);
  for (const [k, v] of Object.entries(vars)) process.stdout.write(`${k}=${v}\0`);
} catch (error) { process.stderr.write(`proof_p27_heat_bridge: ${error.message}\n`); process.exit(2); }'
  local name
  while IFS= read -r -d '' pair; do
    name="${pair%%=*}"
    if [ -z "${!name:-}" ]; then export "$pair"; fi
  done < <(node "${loader[@]}" --input-type=module -e "$code" "$1" "file://$module")
  wait $! || exit 2
}
if [ "${1:-}" = --env-file ]; then
  if [ -z "${2:-}" ]; then echo "proof_p27_heat_bridge: --env-file needs a path" >&2; exit 2; fi
  load_env_file "$2"
fi

REDIS_HOST="${REDIS_HOST:-localhost}"
REDIS_PORT="${REDIS_PORT:-6379}"
STREAM="${P27_STREAM_IN:-quantum:stream:harvest.heat.decision}"
HTTP_HOST="${P27_HTTP_HOST:-127.0.0.1}"
case "$HTTP_HOST" in 0.0.0.0 | "") HTTP_HOST=127.0.0.1 ;; :: ) HTTP_HOST='[::1]' ;; *:*) HTTP_HOST="[$HTTP_HOST]" ;; esac
METRICS_URL="http://${HTTP_HOST}:${P27_METRICS_PORT:-8070}/metrics"
HEALTH_URL="http://${HTTP_HOST}:${P27_HEALTH_PORT:-8071}/health"
TTL_PLAN="${P27_TTL_PLAN_SEC:-1800}"
SYMBOL="${P27_PROOF_SYMBOL:-PROOFUSDT}"
TIMEOUT="${P27_PROOF_TIMEOUT_SEC:-10}"
RULE="===================================================================="
FIELDS=(ts_epoch symbol plan_id in_action out_action heat_level heat_score heat_action
  recommended_partial reason inputs_age_sec mode debug_json)

for tool in redis-cli curl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "proof_p27_heat_bridge: $tool is required (apt-get install ${tool/redis-cli/redis-tools})" >&2
    exit 1
  fi
done

# REDIS_URL as the service reads it: redis[s]://[user[:password]@]host[:port][/db], user and password
# percent-encoded (RFC 3986), IPv6 hosts in brackets; REDIS_USERNAME, REDIS_PASSWORD and REDIS_DB win.
urldecode() { local s="${1//\\/\\\\}"; printf '%b' "${s//%/\\x}"; }
URL_USER="" URL_PASSWORD="" URL_DB="" TLS=""
if [ -n "${REDIS_URL:-}" ]; then
  # The authority ends at the first / ? or #; its credentials end at its last @ (WHATWG URL).
  url_re='^(rediss?)://([^/?#]*)(/([^?#]*))?([?#].*)?$'
  if ! [[ "$REDIS_URL" =~ $url_re ]]; then
    echo "proof_p27_heat_bridge: REDIS_URL: expected redis://[user:password@]host[:port][/db] or rediss://…" >&2
    exit 1
  fi
  [ "${BASH_REMATCH[1]}" = rediss ] && TLS=yes
  authority="${BASH_REMATCH[2]}"
  URL_DB="${BASH_REMATCH[4]}"
  hostport="${authority##*@}"
  if [ "$hostport" != "$authority" ]; then
    userinfo="${authority%@*}"
    URL_USER="$(urldecode "${userinfo%%:*}")"
    if [ "${userinfo#*:}" != "$userinfo" ]; then URL_PASSWORD="$(urldecode "${userinfo#*:}")"; fi
  fi
  hp_re='^(\[[^]]+\]|[^:]+)(:([0-9]*))?$'
  if ! [[ "$hostport" =~ $hp_re ]]; then
    echo "proof_p27_heat_bridge: REDIS_URL: cannot read the host and port" >&2
    exit 1
  fi
  REDIS_HOST="${BASH_REMATCH[1]}"
  REDIS_HOST="${REDIS_HOST#[}"
  REDIS_HOST="${REDIS_HOST%]}"
  REDIS_PORT="${BASH_REMATCH[3]:-6379}"
fi
USER_NAME="${REDIS_USERNAME:-$URL_USER}"
PASSWORD="${REDIS_PASSWORD:-$URL_PASSWORD}"
DB="${REDIS_DB:-${URL_DB:-0}}"
# redis-cli reads the password from REDISCLI_AUTH, so it never shows in the process list.
if [ -n "$PASSWORD" ]; then export REDISCLI_AUTH="$PASSWORD"; else unset REDISCLI_AUTH; fi
RCLI=(redis-cli --no-auth-warning -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$DB")
if [ -n "$USER_NAME" ]; then RCLI+=(--user "$USER_NAME"); fi
if [ -n "$TLS" ]; then RCLI+=(--tls); fi
TARGET="$([ -n "$TLS" ] && echo rediss || echo redis)://$REDIS_HOST:$REDIS_PORT/$DB"
rc() { "${RCLI[@]}" "$@" 2>/dev/null; }

CHECKS=0
FAILED=0
check() { # test letter, ok (0/1), message
  CHECKS=$((CHECKS + 1))
  if [ "$2" = 0 ]; then
    echo "✅ PASS: Test $1: $3"
  else
    FAILED=$((FAILED + 1))
    echo "❌ FAIL: Test $1: $3"
  fi
}
section() { printf '\n[%s] %s\n' "$1" "$2"; }
waiting() { echo "   Waiting up to ${TIMEOUT}s for processing..."; }
summary() {
  printf '\n%s\n' "$RULE"
  if [ "$FAILED" = 0 ]; then
    echo "✅ SUMMARY: PASS (all tests passed)"
  else
    echo "❌ SUMMARY: FAIL ($FAILED of $CHECKS checks failed)"
  fi
  echo "$RULE"
}

# Polls a command until it succeeds or TIMEOUT seconds pass; never a fixed sleep.
wait_until() {
  local deadline=$((SECONDS + TIMEOUT))
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi
    sleep 0.1
  done
}

metric() { # name → value of the unlabelled sample, empty when unreachable or absent
  curl -fsS --max-time 2 "$METRICS_URL" 2>/dev/null | awk -v n="$1" '$1 == n { print $2; exit }'
}

# Adds a decision: the 13 fields in order from the named associative array.
inject() {
  local -n d=$1
  local args=() f
  for f in "${FIELDS[@]}"; do args+=("$f" "${d[$f]}"); done
  rc XADD "$STREAM" '*' "${args[@]}" >/dev/null
}

pointer_is() { [ "$(rc GET "quantum:harvest:heat:latest_plan_id:$SYMBOL")" = "$1" ]; }
skips_above() { local v; v=$(metric p27_dedupe_skips_total); [ -n "$v" ] && awk -v a="$v" -v b="$1" 'BEGIN { exit !(a > b) }'; }

printf '\n%s\nP2.7 HeatBridge Proof: Shadow Wiring Layer\n%s\n' "$RULE" "$RULE"

if [ "$(rc PING)" != "PONG" ]; then
  section A "Test: Basic injection → lookup keys created"
  check A 1 "Redis does not answer PING at $TARGET"
  summary
  exit 1
fi

# Said first, as `heat-bridge proof` does: does anything consume the stream? Liveness is the service's
# named reader connection (CLIENT LIST), not XINFO's idle time (Redis 7.0 counts it from the last
# delivery). A user without CLIENT LIST skips this and runs the checks.
GROUP="${P27_GROUP:-heat_bridge}"
CHECKS_HINT="is the service running against this Redis and database? Check: systemctl status quantum-heat-bridge; journalctl -u quantum-heat-bridge -p warning; heat-bridge status"
ago() { local s=$(($1 / 1000)); if [ "$s" -lt 120 ]; then echo "$s s"; elif [ "$s" -lt 7200 ]; then echo "$(((s + 30) / 60)) min"; else echo "$(((s + 1800) / 3600)) h"; fi; }
nothing=""
if [ "$(rc EXISTS "$STREAM")" = 0 ]; then
  nothing="$STREAM does not exist (the service creates it with its group at start)"
elif ! rc XINFO GROUPS "$STREAM" | grep -qxF -- "$GROUP"; then
  nothing="$STREAM has no consumer group $GROUP (the service creates it at start)"
else
  clients="$(rc CLIENT LIST)"
  if [[ "$clients" == id=* ]] && ! grep -Eq '(^|[[:space:]])name=heat-bridge:reader(:|[[:space:]]|$)' <<<"$clients"; then
    seen="$(rc XINFO CONSUMERS "$STREAM" "$GROUP" | awk 'NR % 2 { k = $0; next } k == "name" { n = $0 } k == "idle" { print n, $0 }')"
    if [ -z "$seen" ]; then
      seen="the group has no consumers"
    else
      list=""
      while IFS= read -r line; do list+="${list:+, }${line% *} $(ago "${line##* }") ago"; done <<<"$seen"
      seen="last deliveries: $list"
    fi
    nothing="no HeatBridge reader is connected to this Redis ($seen)"
  fi
fi
if [ -n "$nothing" ]; then
  section A "Test: Basic injection → lookup keys created"
  check A 1 "nothing consumes the stream: $nothing; $CHECKS_HINT"
  summary
  exit 1
fi

# Every decision carries the current second: with equal ts_epoch the later stream entry wins, so
# this run's decisions are newer than any earlier run's, and C is newer than A.
NOW=$(date +%s)
PLAN_A="test_a_${NOW}_$$"
PLAN_C="test_c_${NOW}_$$"
declare -A A=(
  [ts_epoch]="$NOW" [symbol]="$SYMBOL" [plan_id]="$PLAN_A" [in_action]=FULL_CLOSE_PROPOSED
  [out_action]=PARTIAL_50_PROPOSED [heat_level]=warm [heat_score]=0.5
  [heat_action]=DOWNGRADE_FULL_TO_PARTIAL [recommended_partial]=0.5 [reason]=proof
  [inputs_age_sec]="" [mode]=shadow [debug_json]='{"source":"proof_p27_heat_bridge.sh"}'
)
BY_PLAN_A="quantum:harvest:heat:by_plan:$PLAN_A"

section A "Test: Basic injection → lookup keys created"
inject A
waiting
wait_until pointer_is "$PLAN_A"
wrong=()
for f in "${FIELDS[@]}"; do
  # HGET answers an empty line for a missing field too: HEXISTS tells them apart.
  if [ "$(rc HEXISTS "$BY_PLAN_A" "$f")" != 1 ] || [ "$(rc HGET "$BY_PLAN_A" "$f")" != "${A[$f]}" ]; then wrong+=("$f"); fi
done
if [ "${#wrong[@]}" = 0 ]; then
  check A 0 "by_plan key created with correct fields"
elif [ "$(rc EXISTS "$BY_PLAN_A")" != 1 ]; then
  check A 1 "by_plan key $BY_PLAN_A not created"
else
  check A 1 "by_plan key has wrong or missing fields: $(IFS=,; echo "${wrong[*]}" | sed 's/,/, /g')"
fi
ttl=$(rc TTL "$BY_PLAN_A")
if [ -n "$ttl" ] && [ "$ttl" -gt 0 ] && [ "$ttl" -le "$TTL_PLAN" ]; then
  check A 0 "by_plan key has TTL=$ttl"
else
  check A 1 "by_plan key TTL=${ttl:-?}, expected 1..$TTL_PLAN"
fi
last=$(rc HGET "quantum:harvest:heat:latest:$SYMBOL" last_plan_id)
if [ "$last" = "$PLAN_A" ]; then
  check A 0 "latest_symbol key created with last_plan_id=$last"
else
  check A 1 "latest_symbol key NOT updated with last_plan_id=${last:-(none)}"
fi
ptr=$(rc GET "quantum:harvest:heat:latest_plan_id:$SYMBOL")
if [ "$ptr" = "$PLAN_A" ]; then
  check A 0 "latest_plan_id pointer created with value=$ptr"
else
  check A 1 "latest_plan_id pointer wrong with value=${ptr:-(none)}"
fi

section B "Test: Deduplication → same plan_id not rewritten"
before=$(metric p27_dedupe_skips_total)
if [ -z "$before" ]; then
  check B 1 "cannot read p27_dedupe_skips_total from $METRICS_URL"
else
  declare -A DUP=()
  for f in "${FIELDS[@]}"; do DUP[$f]="${A[$f]}"; done
  DUP[heat_level]=hot
  DUP[heat_score]=0.9
  inject DUP
  waiting
  wait_until skips_above "$before"
  skips=$(metric p27_dedupe_skips_total)
  level=$(rc HGET "$BY_PLAN_A" heat_level)
  if ! awk -v a="${skips:-0}" -v b="$before" 'BEGIN { exit !(a > b) }'; then
    check B 1 "duplicate not skipped (p27_dedupe_skips_total=${skips:-?})"
  elif [ "$level" != warm ]; then
    check B 1 "duplicate rewrote by_plan (heat_level=${level:-(none)})"
  else
    check B 0 "Deduplication working (p27_dedupe_skips_total=$skips)"
  fi
fi

section C "Test: New plan_id for same symbol updates latest pointer"
declare -A C=()
for f in "${FIELDS[@]}"; do C[$f]="${A[$f]}"; done
C[plan_id]="$PLAN_C"
C[heat_level]=cold
C[heat_score]=0.2
C[heat_action]=NONE
C[out_action]=FULL_CLOSE_PROPOSED
C[recommended_partial]=""
inject C
waiting
wait_until pointer_is "$PLAN_C"
ptr=$(rc GET "quantum:harvest:heat:latest_plan_id:$SYMBOL")
if [ "$ptr" = "$PLAN_C" ]; then
  check C 0 "latest_plan_id pointer updated to new plan_id=$PLAN_C"
else
  check C 1 "latest_plan_id pointer is ${ptr:-(none)}, expected $PLAN_C"
fi
last=$(rc HGET "quantum:harvest:heat:latest:$SYMBOL" last_plan_id)
if [ "$last" = "$PLAN_C" ]; then
  check C 0 "latest_symbol key updated with last_plan_id=$PLAN_C"
else
  check C 1 "latest_symbol key has last_plan_id=${last:-(none)}, expected $PLAN_C"
fi

section D "Verify HeatBridge metrics"
if metrics=$(curl -fsS --max-time 2 "$METRICS_URL" 2>/dev/null); then
  in_messages=$(awk '$1 == "p27_in_messages_total" { print $2; exit }' <<<"$metrics")
  if [ -n "$in_messages" ] && awk -v a="$in_messages" 'BEGIN { exit !(a > 0) }'; then
    check D 0 "Metrics available (p27_in_messages_total=$in_messages)"
  else
    check D 1 "Metrics available (p27_in_messages_total=${in_messages:-(missing)})"
  fi
  if grep -q '^p27_written_total{' <<<"$metrics"; then
    check D 0 "p27_written_total metric found"
  else
    check D 1 "p27_written_total metric not found"
  fi
else
  check D 1 "Metrics endpoint not reachable at $METRICS_URL"
  check D 1 "p27_written_total metric not found"
fi

section E "Verify HeatBridge health endpoint"
# 503 carries the document too (status=error), so no -f here.
if health=$(curl -sS --max-time 2 "$HEALTH_URL" 2>/dev/null) && [ -n "$health" ]; then
  status=$(sed -n 's/.*"status"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' <<<"$health" | head -n 1)
  if [ "$status" = ok ]; then
    check E 0 "Health endpoint responds with status=ok"
  else
    check E 1 "Health endpoint responds with status=${status:-unparseable}"
  fi
else
  check E 1 "Health endpoint not reachable at $HEALTH_URL"
fi

summary
[ "$FAILED" = 0 ]
