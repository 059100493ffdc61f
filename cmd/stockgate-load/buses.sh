#!/usr/bin/env bash
# The load figures of BENCHMARKS.md §7 (issue 5), in one run: the gateway on
# its embedded defaults (bbolt + mem://, the baseline), then on Redis with
# each bus that runs on the project's machines, then three replicas. Each
# setup gets a fresh gateway and two loads: -rate $RATE (500) with three
# subscribers (ack and webhook → subscriber latency, below every setup's
# maximum so that it measures the path, not a growing queue) and -rate 0
# without subscribers (acknowledged webhooks/s).
#
#   cmd/stockgate-load/buses.sh            # from the repository root; about 5 minutes
#   DUR=5s cmd/stockgate-load/buses.sh     # shorter loads
#   SETUPS="embedded replicas-jetstream" cmd/stockgate-load/buses.sh   # some of them (embedded first: the baseline)
#
# Redis and NATS are servers of the run's own on free ports, Redis as
# production must run it (--appendonly yes --appendfsync always, see the
# README); RabbitMQ is the pre-started one of shared/SERVICES.md, with an
# exchange and queues of the run's own, deleted at the end; Kafka is
# franz-go's kfake (stockgate-load kfake). Reports go to $OUT (JSON, one
# per load) and a summary table to stdout. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=${OUT:-$(mktemp -d /tmp/sg-buses.XXXXXX)}
DUR=${DUR:-10s}
RATE=${RATE:-500}
RUN=b$(date +%s)
mkdir -p "$OUT"
export STOCKGATE_ADMIN_KEY=$(openssl rand -hex 24) SHOPIFY_WEBHOOK_SECRET=$(openssl rand -hex 24)
export STOCKGATE_API_KEY=$STOCKGATE_ADMIN_KEY
export RABBIT_SERVER_URL=${RABBIT_SERVER_URL:-amqp://guest:guest@127.0.0.1:5672/}

echo "building into $OUT" >&2
go build -o "$OUT/stockgate" . && go build -o "$OUT/stockgate-load" ./cmd/stockgate-load
SG=$OUT/stockgate LOAD=$OUT/stockgate-load

pids=()
cleanup() {
  stop_gateways
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  $LOAD rabbit-declare -exchange "$RUN-inbound" -queues "$RUN-ledger" -delete >/dev/null 2>&1 || true
  $LOAD rabbit-declare -exchange "$RUN-availability" -queues "$RUN-live-r1" -delete >/dev/null 2>&1 || true
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Servers of the run's own.
REDIS_PORT=$(free_port) NATS_PORT=$(free_port) KAFKA_PORT=$(free_port)
mkdir -p "$OUT/redis" "$OUT/nats"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly yes --appendfsync always \
  --dir "$OUT/redis" --logfile "$OUT/redis/redis.log" & pids+=($!)
nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$OUT/nats" -l "$OUT/nats/nats.log" & pids+=($!)
$LOAD kfake -port "$KAFKA_PORT" -topics "$RUN-inbound,$RUN-availability" >"$OUT/kfake.log" 2>&1 & pids+=($!)
$LOAD rabbit-declare -exchange "$RUN-inbound" -queues "$RUN-ledger" >/dev/null
$LOAD rabbit-declare -exchange "$RUN-availability" -queues "$RUN-live-r1" >/dev/null
for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
export NATS_SERVER_URL=nats://127.0.0.1:$NATS_PORT KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT

# config NAME STORE BUS-YAML: a gateway configuration (examples/load.yaml
# plus a store and a bus).
config() {
  local f="$OUT/$1.yaml"
  { echo "store: $2"; printf '%s\n' "$3"; sed '/^addr:/d' examples/load.yaml; } >"$f"
  echo "$f"
}
# gateway NAME CONFIG REPLICA: starts a gateway on a free port, notes its
# PID in $OUT/gateways.pid and prints its URL.
gateway() {
  local port; port=$(free_port)
  $SG --config "$2" --addr "127.0.0.1:$port" --data-dir "$OUT/data-$1-$3" --replica "$3" \
    >"$OUT/$1-$3.out" 2>"$OUT/$1-$3.log" &
  echo $! >>"$OUT/gateways.pid"
  for _ in $(seq 300); do grep -q "stockgate listening" "$OUT/$1-$3.out" 2>/dev/null && break; sleep 0.1; done
  echo "http://127.0.0.1:$port"
}
# stop_gateways stops the gateways started so far, by PID, and waits for them.
stop_gateways() {
  [ -f "$OUT/gateways.pid" ] || return 0
  while read -r p; do kill "$p" 2>/dev/null || true; done <"$OUT/gateways.pid"
  while read -r p; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done <"$OUT/gateways.pid"
  rm -f "$OUT/gateways.pid"
}
# measure NAME URLS: the two loads.
measure() {
  local subs; subs=$(( $(tr -cd , <<<"$2" | wc -c) + 1 )); subs=$(( subs < 3 ? 3 : subs ))
  $LOAD -url "$2" -rate "$RATE" -duration "$DUR" -subscribers "$subs" -warmup 60s -drain 30s -json | tail -1 >"$OUT/$1.paced.json"
  $LOAD -url "$2" -rate 0 -duration "$DUR" -subscribers 0 -json | tail -1 >"$OUT/$1.max.json"
  echo "measured $1" >&2
}

# js TAG [TOPIC-PARAMS]: a JetStream bus on streams of their own. The
# recommended topic parameter, msg_id_key=stockgate-event-id, lets the
# streams store once what several replicas' relays all send.
js() {
  printf 'bus:
  inbound: jetstream://%s.%s.inbound?create_stream=%s_%s_IN%s
  inboundSubscription: jetstream://%s_%s_IN/ledger
  availability: jetstream://%s.%s.availability?create_stream=%s_%s_AV%s
  availabilitySubscription: jetstream://%s_%s_AV/live-{replica}?deliver=new&inactive_threshold=1h\n' \
    "$RUN" "$1" "$RUN" "$1" "${2-}" "$RUN" "$1" "$RUN" "$1" "$RUN" "$1" "${2-}" "$RUN" "$1"
}
DEDUP='&msg_id_key=stockgate-event-id'

run_setup() {
  local u cfg REDIS="redis://127.0.0.1:$REDIS_PORT/0?prefix=%7B$RUN-$1%7D%3A" # a key prefix per setup
  case $1 in
  embedded) u=$(gateway embedded "$(config embedded "" "")" r1) ;;
  redis-mem) u=$(gateway redis-mem "$(config redis-mem "$REDIS" "")" r1) ;;
  redis-jetstream) u=$(gateway redis-jetstream "$(config redis-jetstream "$REDIS" "$(js one "$DEDUP")")" r1) ;;
  redis-rabbit) u=$(gateway redis-rabbit "$(config redis-rabbit "$REDIS" "bus:
  inbound: rabbit://$RUN-inbound
  inboundSubscription: rabbit://$RUN-ledger
  availability: rabbit://$RUN-availability
  availabilitySubscription: rabbit://$RUN-live-{replica}")" r1) ;;
  redis-kafka) u=$(gateway redis-kafka "$(config redis-kafka "$REDIS" "bus:
  inbound: kafka://$RUN-inbound
  inboundSubscription: kafka://ledger?topic=$RUN-inbound&offset=oldest
  availability: kafka://$RUN-availability
  availabilitySubscription: kafka://live-{replica}?topic=$RUN-availability")" r1) ;;
  replicas-jetstream)
    cfg=$(config replicas "$REDIS" "$(js three "$DEDUP")")
    u=$(gateway replicas "$cfg" r1),$(gateway replicas "$cfg" r2),$(gateway replicas "$cfg" r3) ;;
  replicas-jetstream-nodedup) # the same without msg_id_key: each replica's relay's copy is stored
    cfg=$(config replicas-nodedup "$REDIS" "$(js threenodedup)")
    u=$(gateway replicas-nodedup "$cfg" r1),$(gateway replicas-nodedup "$cfg" r2),$(gateway replicas-nodedup "$cfg" r3) ;;
  *) echo "unknown setup $1" >&2; exit 2 ;;
  esac
  measure "$1" "$u"
  stop_gateways
}
SETUPS=${SETUPS:-embedded redis-mem redis-jetstream redis-rabbit redis-kafka replicas-jetstream}
for s in $SETUPS; do run_setup "$s"; done

# Summary: each figure and its ratio to the embedded baseline of this run.
base_ack=$(jq .ackedPerSecond "$OUT/embedded.max.json")
base_p99=$(jq .ackLatency.p99Ms "$OUT/embedded.max.json")
base_sub=$(jq .delivery.latency.p99Ms "$OUT/embedded.paced.json")
printf '%-20s %12s %7s %12s %7s %14s %7s %10s\n' setup "acked/s" ratio "ack p99 ms" ratio "→ sub p99 ms" ratio "missing"
for n in $SETUPS; do
  a=$(jq .ackedPerSecond "$OUT/$n.max.json"); p=$(jq .ackLatency.p99Ms "$OUT/$n.max.json")
  s=$(jq .delivery.latency.p99Ms "$OUT/$n.paced.json"); m=$(jq .delivery.missing "$OUT/$n.paced.json")
  awk -v n="$n" -v a="$a" -v p="$p" -v s="$s" -v m="$m" -v ba="$base_ack" -v bp="$base_p99" -v bs="$base_sub" \
    'BEGIN { printf "%-20s %12.1f %7.2f %12.1f %7.2f %14.1f %7.2f %10d\n", n, a, a/ba, p, p/bp, s, s/bs, m }'
done
echo "reports in $OUT" >&2
