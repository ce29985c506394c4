#!/usr/bin/env bash
# Real Kafka and Elasticsearch for integration tests, without Docker: fetched from Maven Central with `mvn`,
# cached under .services/ (git-ignored), run as local processes on 127.0.0.1.
#
#   infra/services.sh up     [kafka|elasticsearch ...]   fetch if needed, start, wait until ready
#   infra/services.sh down   [kafka|elasticsearch ...]   stop (SIGTERM, then SIGKILL after a grace period)
#   infra/services.sh status [kafka|elasticsearch ...]
#
# With no service named, all of them. Every command is idempotent: `up` on a running service only re-checks
# readiness, `down` on a stopped one does nothing. Exit status is non-zero if anything is not as asked.
#
# Environment (all optional):
#   VIGIL_SERVICES_DIR    cache and state directory           (default <repo>/.services)
#   VIGIL_MAVEN_REPO      local Maven repository used          (default $VIGIL_SERVICES_DIR/m2)
#   VIGIL_ES_VERSION      Elasticsearch integ-test-zip version (default 9.4.3)
#   VIGIL_ES_USER         user Elasticsearch runs as when started by root (default vigil-es)
#   VIGIL_READY_TIMEOUT_S how long `up` waits per service      (default 120)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INFRA="$ROOT/infra"
SERVICES_DIR="${VIGIL_SERVICES_DIR:-$ROOT/.services}"
MAVEN_REPO="${VIGIL_MAVEN_REPO:-$SERVICES_DIR/m2}"
READY_TIMEOUT_S="${VIGIL_READY_TIMEOUT_S:-120}"
DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

KAFKA_HOME="$SERVICES_DIR/kafka"
KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093

ES_VERSION="${VIGIL_ES_VERSION:-9.4.3}"
ES_USER="${VIGIL_ES_USER:-vigil-es}"
ES_BASE="$SERVICES_DIR/elasticsearch"
ES_HOME="$ES_BASE/elasticsearch-$ES_VERSION"
ES_URL="http://127.0.0.1:9200"

log() { printf '[services] %s\n' "$*" >&2; }
die() {
  printf '[services] error: %s\n' "$*" >&2
  exit 1
}

require() {
  local tool="$1" hint="$2"
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found on PATH: $hint"
}

# ---------------------------------------------------------------------------------------------- processes

# Pid from a pid file if that process is alive, else nothing.
live_pid() {
  local file="$1" pid
  [[ -f "$file" ]] || return 0
  pid="$(tr -dc '0-9' <"$file")"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Stops the process in a pid file: SIGTERM, wait up to $2 s for a clean exit, then SIGKILL.
stop_pid_file() {
  local name="$1" file="$2" grace_s="$3" pid waited=0
  pid="$(live_pid "$file")"
  if [[ -z "$pid" ]]; then
    rm -f "$file"
    log "$name: not running"
    return 0
  fi
  log "$name: stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if ((waited >= grace_s * 10)); then
      log "$name: still running after ${grace_s}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$file"
  log "$name: stopped"
}

elapsed() { echo "$(($(date +%s%N) / 1000000 - $1))ms"; }
now_ms() { echo "$(($(date +%s%N) / 1000000))"; }

# Runs a Maven command against the project-local repository.
maven_run() {
  require mvn "install Apache Maven 3.8+ (it fetches Kafka and Elasticsearch from Maven Central)"
  mkdir -p "$MAVEN_REPO"
  # Maven 3.8 prints ANSI resets even in batch mode; strip them so logs stay readable.
  "$@" -B -q -Dstyle.color=never "-Dmaven.repo.local=$MAVEN_REPO" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2 ||
    die "mvn failed (see above); is Maven Central reachable?"
}

# Copies Maven artifacts into a directory once; a stamp records what was copied so a warm run skips Maven.
maven_copy() {
  local stamp_key="$1" out="$2"
  shift 2
  if [[ -f "$out/.complete" && "$(cat "$out/.complete")" == "$stamp_key" ]]; then return 0; fi
  rm -rf "$out"
  mkdir -p "$out"
  maven_run "$@"
  echo "$stamp_key" >"$out/.complete"
}

# ------------------------------------------------------------------------------------------------- kafka

kafka_java() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then echo "$JAVA_HOME/bin/java"; return; fi
  require java "install a JDK 17 or newer (Kafka 4.x brokers need Java 17+)"
  command -v java
}

kafka_fetch() {
  local key
  key="$(sha256sum "$INFRA/kafka/pom.xml" | cut -c1-16)"
  if [[ ! -f "$KAFKA_HOME/libs/.complete" || "$(cat "$KAFKA_HOME/libs/.complete")" != "$key" ]]; then
    log "kafka: fetching the broker classpath from Maven Central (infra/kafka/pom.xml)"
  fi
  maven_copy "$key" "$KAFKA_HOME/libs" \
    mvn -f "$INFRA/kafka/pom.xml" dependency:copy-dependencies "-DoutputDirectory=$KAFKA_HOME/libs"
}

kafka_configure_and_format() {
  local java="$1" config="$KAFKA_HOME/server.properties" data="$KAFKA_HOME/data"
  mkdir -p "$data" "$KAFKA_HOME/logs"
  sed "s|@DATA_DIR@|$data|" "$INFRA/kafka/server.properties" >"$config"
  if [[ -f "$data/meta.properties" ]]; then return 0; fi
  local cluster_id
  # A KRaft cluster id is a base64url UUID without padding (22 characters).
  cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  log "kafka: formatting storage (cluster id $cluster_id)"
  "$java" -Xmx256m -cp "$KAFKA_HOME/libs/*" kafka.tools.StorageTool format -t "$cluster_id" -c "$config" \
    >"$KAFKA_HOME/logs/format.log" 2>&1 || {
    cat "$KAFKA_HOME/logs/format.log" >&2
    die "kafka: storage format failed"
  }
}

kafka_up() {
  local started pid java
  started="$(now_ms)"
  pid="$(live_pid "$KAFKA_HOME/kafka.pid")"
  if [[ -z "$pid" ]]; then
    java="$(kafka_java)"
    kafka_fetch
    kafka_configure_and_format "$java"
    for port in $KAFKA_PORT $KAFKA_CONTROLLER_PORT; do
      port_in_use "$port" && die "kafka: port $port is already in use by another process (not started by this script)"
    done
    log "kafka: starting ($("$java" -version 2>&1 | head -1))"
    # setsid: the broker outlives the npm/shell session that started it; `down` stops it by pid.
    KAFKA_LOG_DIR="$KAFKA_HOME/logs" setsid "$java" -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -Djava.awt.headless=true "-Dkafka.logs.dir=$KAFKA_HOME/logs" \
      -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$KAFKA_HOME/server.properties" \
      >"$KAFKA_HOME/logs/server.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$KAFKA_HOME/kafka.pid"
  fi
  require node "install Node.js 20+"
  if ! (cd "$ROOT" && node --import tsx "$INFRA/wait-for-kafka.ts" "127.0.0.1:$KAFKA_PORT" "$pid" "$READY_TIMEOUT_S"); then
    tail -n 40 "$KAFKA_HOME/logs/server.log" >&2 || true
    die "kafka: not ready (log: $KAFKA_HOME/logs/server.log)"
  fi
  log "kafka: ready on 127.0.0.1:$KAFKA_PORT (pid $pid, $(elapsed "$started"))"
}

kafka_down() { stop_pid_file kafka "$KAFKA_HOME/kafka.pid" 30; }

kafka_status() {
  local pid
  pid="$(live_pid "$KAFKA_HOME/kafka.pid")"
  if [[ -n "$pid" ]] && port_in_use "$KAFKA_PORT"; then
    log "kafka: running (pid $pid) on 127.0.0.1:$KAFKA_PORT"
  elif [[ -n "$pid" ]]; then
    log "kafka: process $pid alive but 127.0.0.1:$KAFKA_PORT is not accepting connections"
    return 1
  else
    log "kafka: stopped"
    return 1
  fi
}

# ----------------------------------------------------------------------------------------- elasticsearch

# The newest JDK under /usr/lib/jvm (Elasticsearch 9 needs 21+; the integ-test zip has no bundled JDK).
es_java_home() {
  if [[ -n "${ES_JAVA_HOME:-}" ]]; then echo "$ES_JAVA_HOME"; return; fi
  local best="" best_major=0 home major
  for home in /usr/lib/jvm/*/; do
    home="${home%/}"
    [[ -x "$home/bin/java" && -f "$home/release" ]] || continue
    major="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release")"
    if [[ -n "$major" ]] && ((major > best_major)); then best="$home" best_major="$major"; fi
  done
  ((best_major >= 21)) || die "elasticsearch: needs a JDK 21+ under /usr/lib/jvm or in ES_JAVA_HOME (newest found: ${best_major:-none})"
  echo "$best"
}

es_fetch() {
  [[ -x "$ES_HOME/bin/elasticsearch" ]] && return 0
  local zip="$MAVEN_REPO/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$ES_VERSION/elasticsearch-$ES_VERSION.zip"
  if [[ ! -f "$zip" ]]; then
    log "elasticsearch: fetching integ-test-zip $ES_VERSION from Maven Central"
    maven_run mvn "$DEPENDENCY_PLUGIN:get" -Dtransitive=false \
      "-Dartifact=org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
  fi
  require unzip "install unzip"
  rm -rf "$ES_HOME.partial"
  mkdir -p "$ES_HOME.partial"
  unzip -q "$zip" -d "$ES_HOME.partial"
  mv "$ES_HOME.partial/elasticsearch-$ES_VERSION" "$ES_HOME"
  rmdir "$ES_HOME.partial"
}

# Elasticsearch refuses to run as root: as root, run it as a dedicated system user that owns its files.
es_run_as() {
  if [[ "$(id -u)" != 0 ]]; then return 0; fi
  if ! id -u "$ES_USER" >/dev/null 2>&1; then
    log "elasticsearch: creating system user $ES_USER"
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$ES_USER"
  fi
  echo "$ES_USER"
}

es_up() {
  local started pid user java_home
  started="$(now_ms)"
  pid="$(live_pid "$ES_BASE/elasticsearch.pid")"
  if [[ -z "$pid" ]]; then
    java_home="$(es_java_home)"
    es_fetch
    port_in_use 9200 && die "elasticsearch: port 9200 is already in use by another process (not started by this script)"
    mkdir -p "$ES_BASE/data" "$ES_BASE/logs" "$ES_BASE/run"
    sed -e "s|@DATA_DIR@|$ES_BASE/data|" -e "s|@LOGS_DIR@|$ES_BASE/logs|" \
      "$INFRA/elasticsearch/elasticsearch.yml" >"$ES_HOME/config/elasticsearch.yml"
    user="$(es_run_as)"
    local -a run=(env)
    if [[ -n "$user" ]]; then
      chown -R "$user:" "$ES_HOME" "$ES_BASE/data" "$ES_BASE/logs" "$ES_BASE/run"
      # The user must be able to reach its files through the parent directories.
      chmod o+x "$SERVICES_DIR" "$ES_BASE"
      run=(runuser -u "$user" -- env)
    fi
    log "elasticsearch: starting $ES_VERSION on $("$java_home/bin/java" -version 2>&1 | head -1)${user:+ as $user}"
    rm -f "$ES_BASE/run/elasticsearch.pid"
    # -d daemonizes once the node has started its services; -p writes the pid of the JVM.
    "${run[@]}" ES_JAVA_HOME="$java_home" ES_JAVA_OPTS="-Xms512m -Xmx512m" ES_PATH_CONF="$ES_HOME/config" \
      "$ES_HOME/bin/elasticsearch" -d -p "$ES_BASE/run/elasticsearch.pid" \
      >"$ES_BASE/logs/startup.out" 2>&1 </dev/null || {
      tail -n 40 "$ES_BASE/logs/startup.out" >&2 || true
      die "elasticsearch: failed to start (logs: $ES_BASE/logs)"
    }
    cp "$ES_BASE/run/elasticsearch.pid" "$ES_BASE/elasticsearch.pid"
    pid="$(live_pid "$ES_BASE/elasticsearch.pid")"
    [[ -n "$pid" ]] || die "elasticsearch: exited right after start (logs: $ES_BASE/logs)"
  fi
  require curl "install curl"
  local deadline=$(($(date +%s) + READY_TIMEOUT_S))
  until curl -fsS "$ES_URL/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || die "elasticsearch: process $pid exited (logs: $ES_BASE/logs)"
    (($(date +%s) < deadline)) || die "elasticsearch: not ready after ${READY_TIMEOUT_S}s (logs: $ES_BASE/logs)"
    sleep 0.2
  done
  # No `GET /` check: its handler lives in the rest-root module, which the integ-test zip does not ship (405).
  log "elasticsearch: ready on $ES_URL (pid $pid, $(elapsed "$started"))"
}

es_down() { stop_pid_file elasticsearch "$ES_BASE/elasticsearch.pid" 60; }

es_status() {
  local pid health
  pid="$(live_pid "$ES_BASE/elasticsearch.pid")"
  if [[ -z "$pid" ]]; then
    log "elasticsearch: stopped"
    return 1
  fi
  if health="$(curl -fsS "$ES_URL/_cluster/health" 2>/dev/null)"; then
    log "elasticsearch: running (pid $pid) on $ES_URL: $health"
  else
    log "elasticsearch: process $pid alive but $ES_URL is not answering"
    return 1
  fi
}

# -------------------------------------------------------------------------------------------------- main

command="${1:-}"
shift || true
services=("$@")
((${#services[@]} > 0)) || services=(kafka elasticsearch)
for service in "${services[@]}"; do
  case "$service" in
  kafka | elasticsearch) ;;
  *) die "unknown service '$service' (expected kafka or elasticsearch)" ;;
  esac
done
mkdir -p "$SERVICES_DIR"

status=0
case "$command" in
up)
  # Both JVMs start in parallel; each waits for its own readiness.
  pids=()
  for service in "${services[@]}"; do
    case "$service" in
    kafka) kafka_up & ;;
    elasticsearch) es_up & ;;
    esac
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || status=1; done
  ;;
down)
  for service in "${services[@]}"; do
    case "$service" in
    kafka) kafka_down & ;;
    elasticsearch) es_down & ;;
    esac
  done
  wait
  ;;
status)
  for service in "${services[@]}"; do
    case "$service" in
    kafka) kafka_status || status=1 ;;
    elasticsearch) es_status || status=1 ;;
    esac
  done
  ;;
*) die "usage: infra/services.sh up|down|status [kafka|elasticsearch ...]" ;;
esac
exit "$status"
