#!/usr/bin/env bash
# Real Kafka and Elasticsearch for integration tests, without Docker: fetched from Maven Central with `mvn`,
# cached under .services/ (git-ignored), run as local processes on 127.0.0.1.
#
#   infra/services.sh up     [kafka|elasticsearch|elasticsearch-secured|apicurio ...]   fetch if needed, start, wait until ready
#   infra/services.sh down   [kafka|elasticsearch|elasticsearch-secured|apicurio ...]   stop (SIGTERM, then SIGKILL after a grace period)
#   infra/services.sh status [kafka|elasticsearch|elasticsearch-secured|apicurio ...]
#   infra/services.sh kill   kafka|elasticsearch|elasticsearch-secured|apicurio ...     SIGKILL at once, no grace: a crash,
#                                                                                       for fault tests; `up` restarts it
#
# Kafka serves PLAINTEXT for the suite and, on a second listener, SASL_SSL (TLS + SCRAM-SHA-512);
# `elasticsearch-secured` is a second node with TLS and API keys. Their certificates come from a local CA made at
# `up` under $VIGIL_SERVICES_DIR/tls/, their credentials are generated there too, and what a client needs to
# connect is written to kafka/sasl-ssl.json and elasticsearch-secured/connection.json (tests read these).
# `apicurio` is Apicurio Registry (in-memory storage), whose Confluent-compatible API the schema-registry client is
# tested against; built from Maven Central with infra/apicurio/pom.xml.
#
# With no service named, all of them (except `kill`, which must name what it crashes). Every command is idempotent: `up` on a running service only re-checks
# readiness, `down` on a stopped one does nothing. Exit status is non-zero if anything is not as asked.
#
# Environment (all optional):
#   VIGIL_SERVICES_DIR    cache and state directory           (default <repo>/.services)
#   VIGIL_MAVEN_REPO      local Maven repository used          (default $VIGIL_SERVICES_DIR/m2)
#   VIGIL_ES_VERSION      Elasticsearch integ-test-zip version (default 9.4.3)
#   VIGIL_ES_USER         user Elasticsearch runs as when started by root (default vigil-es)
#   VIGIL_READY_TIMEOUT_S how long `up` waits per service      (default 120)
#   VIGIL_KAFKA_PORT, VIGIL_KAFKA_CONTROLLER_PORT, VIGIL_KAFKA_SASL_SSL_PORT        (default 9092, 9093, 9094)
#   VIGIL_ES_PORT, VIGIL_ES_TRANSPORT_PORT                                          (default 9200, 9300)
#   VIGIL_ES_SECURED_PORT, VIGIL_ES_SECURED_TRANSPORT_PORT                          (default 9201, 9301)
#   VIGIL_APICURIO_PORT                                                             (default 8085)
#   VIGIL_APICURIO_JAVA_HOME  JDK Apicurio is built and run with (default: the newest JDK 11–17 under /usr/lib/jvm)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INFRA="$ROOT/infra"
SERVICES_DIR="${VIGIL_SERVICES_DIR:-$ROOT/.services}"
MAVEN_REPO="${VIGIL_MAVEN_REPO:-$SERVICES_DIR/m2}"
READY_TIMEOUT_S="${VIGIL_READY_TIMEOUT_S:-120}"
DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

TLS_DIR="$SERVICES_DIR/tls"

KAFKA_HOME="$SERVICES_DIR/kafka"
KAFKA_PORT="${VIGIL_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${VIGIL_KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_SASL_SSL_PORT="${VIGIL_KAFKA_SASL_SSL_PORT:-9094}"
KAFKA_SCRAM_USER=vigil

ES_VERSION="${VIGIL_ES_VERSION:-9.4.3}"
ES_USER="${VIGIL_ES_USER:-vigil-es}"
ES_BASE="$SERVICES_DIR/elasticsearch"
ES_HOME="$ES_BASE/elasticsearch-$ES_VERSION"
ES_PORT="${VIGIL_ES_PORT:-9200}"
ES_TRANSPORT_PORT="${VIGIL_ES_TRANSPORT_PORT:-9300}"
ES_URL="http://127.0.0.1:$ES_PORT"

ESS_BASE="$SERVICES_DIR/elasticsearch-secured"
ESS_HOME="$ESS_BASE/home"
ESS_PORT="${VIGIL_ES_SECURED_PORT:-9201}"
ESS_TRANSPORT_PORT="${VIGIL_ES_SECURED_TRANSPORT_PORT:-9301}"
ESS_URL="https://127.0.0.1:$ESS_PORT"

APICURIO_BASE="$SERVICES_DIR/apicurio"
APICURIO_PORT="${VIGIL_APICURIO_PORT:-8085}"
APICURIO_URL="http://127.0.0.1:$APICURIO_PORT"

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

# Crashes the process in a pid file (SIGKILL, no chance to flush or close anything) and waits until it is gone,
# so its ports are free for the next `up`.
kill_pid_file() {
  local name="$1" file="$2" pid
  pid="$(live_pid "$file")"
  if [[ -z "$pid" ]]; then
    rm -f "$file"
    log "$name: not running"
    return 0
  fi
  log "$name: SIGKILL (pid $pid)"
  kill -KILL "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  rm -f "$file"
  log "$name: killed"
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

# --------------------------------------------------------------------------------------------------- tls

# A local CA and certificates for 127.0.0.1/localhost (infra/tls/make-certs.sh, the same script the compose file
# runs): one for the Kafka broker, one for the secured Elasticsearch node, one a Kafka client may present. Made on the
# first `up` and again when the CA is within a day of expiring; kept under $TLS_DIR, never committed.
tls_ensure() {
  require openssl "install openssl (it makes the local CA of the secured listeners)"
  mkdir -p "$TLS_DIR"
  chmod 700 "$TLS_DIR"
  sh "$INFRA/tls/make-certs.sh" "$TLS_DIR" "IP:127.0.0.1,DNS:localhost" ||
    die "tls: openssl failed to make the local certificates"
}

# A random secret in a file (mode 0600), made once and then reused, so restarts keep the same credentials.
secret_file() {
  local file="$1"
  if [[ ! -s "$file" ]]; then
    mkdir -p "$(dirname "$file")"
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$file")
  fi
  echo "$file"
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

kafka_scram_password_file() { secret_file "$KAFKA_HOME/sasl-ssl/scram-password"; }

# The SCRAM user's credential line for StorageTool / ConfigCommand. The password is passed on the command line of
# a short-lived local JVM only; it is never written to a log.
kafka_scram_credential() {
  printf 'SCRAM-SHA-512=[%spassword=%s]' "${1:+name=$1,}" "$(cat "$(kafka_scram_password_file)")"
}

kafka_configure_and_format() {
  local java="$1" config="$KAFKA_HOME/server.properties" data="$KAFKA_HOME/data"
  mkdir -p "$data" "$KAFKA_HOME/logs"
  sed -e "s|@DATA_DIR@|$data|" -e "s|@TLS_DIR@|$TLS_DIR|" -e "s|@PORT@|$KAFKA_PORT|g" \
    -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" -e "s|@SASL_SSL_PORT@|$KAFKA_SASL_SSL_PORT|g" \
    "$INFRA/kafka/server.properties" >"$config"
  if [[ -f "$data/meta.properties" ]]; then return 0; fi
  local cluster_id
  # A KRaft cluster id is a base64url UUID without padding (22 characters).
  cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  log "kafka: formatting storage (cluster id $cluster_id) with SCRAM user $KAFKA_SCRAM_USER"
  # --add-scram writes the credential into the metadata log, so it exists before the first client connects.
  "$java" -Xmx256m -cp "$KAFKA_HOME/libs/*" kafka.tools.StorageTool format -t "$cluster_id" -c "$config" \
    --add-scram "$(kafka_scram_credential "$KAFKA_SCRAM_USER")" >"$KAFKA_HOME/logs/format.log" 2>&1 || {
    cat "$KAFKA_HOME/logs/format.log" >&2
    die "kafka: storage format failed"
  }
  touch "$KAFKA_HOME/sasl-ssl/scram-user.created"
}

# Storage formatted before the secured listener existed has no SCRAM user: add it through the running broker.
kafka_ensure_scram_user() {
  local java="$1"
  [[ -f "$KAFKA_HOME/sasl-ssl/scram-user.created" ]] && return 0
  log "kafka: adding SCRAM user $KAFKA_SCRAM_USER to existing storage"
  "$java" -Xmx256m -cp "$KAFKA_HOME/libs/*" kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
    --alter --entity-type users --entity-name "$KAFKA_SCRAM_USER" --add-config "$(kafka_scram_credential)" \
    >"$KAFKA_HOME/logs/scram-user.log" 2>&1 || {
    cat "$KAFKA_HOME/logs/scram-user.log" >&2
    die "kafka: could not add the SCRAM user"
  }
  touch "$KAFKA_HOME/sasl-ssl/scram-user.created"
}

# What a client needs to use the SASL_SSL listener; the password stays in its own file (mode 0600).
kafka_write_sasl_ssl_connection() {
  cat >"$KAFKA_HOME/sasl-ssl.json" <<JSON
{
  "brokers": ["127.0.0.1:$KAFKA_SASL_SSL_PORT"],
  "plaintextBrokers": ["127.0.0.1:$KAFKA_PORT"],
  "caFile": "$TLS_DIR/ca.pem",
  "clientCertFile": "$TLS_DIR/kafka-client.pem",
  "clientKeyFile": "$TLS_DIR/kafka-client.key",
  "mechanism": "scram-sha-512",
  "username": "$KAFKA_SCRAM_USER",
  "passwordFile": "$(kafka_scram_password_file)"
}
JSON
}

kafka_up() {
  local started pid java
  started="$(now_ms)"
  pid="$(live_pid "$KAFKA_HOME/kafka.pid")"
  if [[ -z "$pid" ]]; then
    java="$(kafka_java)"
    kafka_fetch
    kafka_configure_and_format "$java"
    for port in $KAFKA_PORT $KAFKA_CONTROLLER_PORT $KAFKA_SASL_SSL_PORT; do
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
  kafka_ensure_scram_user "$(kafka_java)"
  kafka_write_sasl_ssl_connection
  port_in_use "$KAFKA_SASL_SSL_PORT" ||
    log "kafka: warning: nothing listens on $KAFKA_SASL_SSL_PORT (a broker started before the SASL_SSL listener existed: run \`down kafka\` then \`up kafka\`)"
  log "kafka: ready on 127.0.0.1:$KAFKA_PORT, SASL_SSL on :$KAFKA_SASL_SSL_PORT (pid $pid, $(elapsed "$started"))"
}

kafka_down() { stop_pid_file kafka "$KAFKA_HOME/kafka.pid" 30; }
kafka_kill() { kill_pid_file kafka "$KAFKA_HOME/kafka.pid"; }

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
  local lock
  # Both nodes share one unpacked distribution; they may be started in parallel.
  exec {lock}>"$SERVICES_DIR/.elasticsearch-fetch.lock"
  flock "$lock"
  if [[ -x "$ES_HOME/bin/elasticsearch" ]]; then
    exec {lock}>&-
    return 0
  fi
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
  exec {lock}>&-
}

# Elasticsearch refuses to run as root: as root, run it as a dedicated system user that owns its files.
es_run_as() {
  if [[ "$(id -u)" != 0 ]]; then return 0; fi
  local lock
  # Both nodes may get here at once; useradd fails for a user that was just added.
  exec {lock}>"$SERVICES_DIR/.elasticsearch-user.lock"
  flock "$lock"
  if ! id -u "$ES_USER" >/dev/null 2>&1; then
    log "elasticsearch: creating system user $ES_USER"
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$ES_USER"
  fi
  exec {lock}>&-
  echo "$ES_USER"
}

es_up() {
  local started pid user java_home
  started="$(now_ms)"
  pid="$(live_pid "$ES_BASE/elasticsearch.pid")"
  if [[ -z "$pid" ]]; then
    java_home="$(es_java_home)"
    es_fetch
    port_in_use "$ES_PORT" && die "elasticsearch: port $ES_PORT is already in use by another process (not started by this script)"
    mkdir -p "$ES_BASE/data" "$ES_BASE/logs" "$ES_BASE/run"
    sed -e "s|@DATA_DIR@|$ES_BASE/data|" -e "s|@LOGS_DIR@|$ES_BASE/logs|" -e "s|@HTTP_PORT@|$ES_PORT|" \
      -e "s|@TRANSPORT_PORT@|$ES_TRANSPORT_PORT|" "$INFRA/elasticsearch/elasticsearch.yml" >"$ES_HOME/config/elasticsearch.yml"
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
es_kill() { kill_pid_file elasticsearch "$ES_BASE/elasticsearch.pid"; }

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

# --------------------------------------------------------------------------------- elasticsearch-secured

# The secured node's home links to the unpacked distribution's bin/, lib/ and modules/ but has its own plugins/:
# the plain node on 9200 stays the minimal distribution. The one plugin, built here from
# infra/elasticsearch/security-index-analysis/ with the JDK Elasticsearch runs on, adds what the security index
# (where API keys live) needs from the analysis-common module that the integ-test zip leaves out.
ess_home() {
  local java_home="$1" source="$INFRA/elasticsearch/security-index-analysis" key plugin
  mkdir -p "$ESS_HOME/plugins"
  for dir in bin lib modules; do ln -sfn "$ES_HOME/$dir" "$ESS_HOME/$dir"; done
  plugin="$ESS_HOME/plugins/vigil-security-index-analysis"
  key="$ES_VERSION $(cat "$source"/* | sha256sum | cut -c1-16)"
  if [[ -f "$plugin/.complete" && "$(cat "$plugin/.complete")" == "$key" ]]; then return 0; fi
  log "elasticsearch-secured: building the security index analysis plugin"
  rm -rf "$plugin" "$ESS_BASE/plugin-build"
  mkdir -p "$plugin" "$ESS_BASE/plugin-build"
  "$java_home/bin/javac" --release 21 -proc:none -cp "$ES_HOME/lib/*" -d "$ESS_BASE/plugin-build" \
    "$source/SecurityIndexAnalysisPlugin.java" >&2 || die "elasticsearch-secured: the plugin did not compile"
  "$java_home/bin/jar" --create --file "$plugin/vigil-security-index-analysis.jar" -C "$ESS_BASE/plugin-build" . ||
    die "elasticsearch-secured: could not package the plugin"
  sed "s|@ES_VERSION@|$ES_VERSION|" "$source/plugin-descriptor.properties" >"$plugin/plugin-descriptor.properties"
  rm -rf "$ESS_BASE/plugin-build"
  echo "$key" >"$plugin/.complete"
}

# The secured node has its own config directory (settings, keystore, certificates), data and logs. Its `elastic`
# superuser password is generated once (bootstrap.password in the node's keystore) and used only here, to make the
# API keys the clients and tests use.
ess_configure() {
  local java_home="$1" user="$2" conf="$ESS_BASE/config"
  mkdir -p "$conf/certs" "$ESS_BASE/data" "$ESS_BASE/logs" "$ESS_BASE/run"
  if [[ ! -f "$conf/jvm.options" ]]; then
    # Named, not globbed: the plain node may be writing its own keystore into that directory right now.
    local file
    for file in jvm.options jvm.options.d log4j2.properties role_mapping.yml roles.yml users users_roles; do
      if [[ -e "$ES_HOME/config/$file" ]]; then cp -r "$ES_HOME/config/$file" "$conf/"; fi
    done
  fi
  sed -e "s|@DATA_DIR@|$ESS_BASE/data|" -e "s|@LOGS_DIR@|$ESS_BASE/logs|" -e "s|@HTTP_PORT@|$ESS_PORT|" \
    -e "s|@TRANSPORT_PORT@|$ESS_TRANSPORT_PORT|" "$INFRA/elasticsearch/elasticsearch-secured.yml" >"$conf/elasticsearch.yml"
  cp "$TLS_DIR/ca.pem" "$TLS_DIR/elasticsearch.pem" "$TLS_DIR/elasticsearch.key" "$conf/certs/"
  local -a run=(env)
  if [[ -n "$user" ]]; then
    chown -R "$user:" "$ESS_HOME/plugins" "$ESS_BASE/config" "$ESS_BASE/data" "$ESS_BASE/logs" "$ESS_BASE/run"
    chmod o+x "$SERVICES_DIR" "$ESS_BASE" "$ESS_HOME"
    run=(runuser -u "$user" -- env)
  fi
  if [[ ! -f "$conf/elasticsearch.keystore" ]]; then
    rm -f "$conf/elasticsearch.keystore.tmp"
    "${run[@]}" ES_JAVA_HOME="$java_home" ES_PATH_CONF="$conf" "$ESS_HOME/bin/elasticsearch-keystore" add -f -x \
      bootstrap.password <"$(secret_file "$ESS_BASE/elastic.password")" >"$ESS_BASE/logs/keystore.out" 2>&1 || {
      cat "$ESS_BASE/logs/keystore.out" >&2
      die "elasticsearch-secured: could not write the keystore"
    }
  fi
}

ess_up() {
  local started pid user java_home
  started="$(now_ms)"
  pid="$(live_pid "$ESS_BASE/elasticsearch.pid")"
  if [[ -z "$pid" ]]; then
    java_home="$(es_java_home)"
    es_fetch
    port_in_use "$ESS_PORT" &&
      die "elasticsearch-secured: port $ESS_PORT is already in use by another process (not started by this script)"
    user="$(es_run_as)"
    ess_home "$java_home"
    ess_configure "$java_home" "$user"
    local -a run=(env)
    [[ -n "$user" ]] && run=(runuser -u "$user" -- env)
    log "elasticsearch-secured: starting $ES_VERSION with TLS and API keys${user:+ as $user}"
    rm -f "$ESS_BASE/run/elasticsearch.pid"
    "${run[@]}" ES_JAVA_HOME="$java_home" ES_JAVA_OPTS="-Xms512m -Xmx512m" ES_PATH_CONF="$ESS_BASE/config" \
      "$ESS_HOME/bin/elasticsearch" -d -p "$ESS_BASE/run/elasticsearch.pid" \
      >"$ESS_BASE/logs/startup.out" 2>&1 </dev/null || {
      tail -n 40 "$ESS_BASE/logs/startup.out" >&2 || true
      die "elasticsearch-secured: failed to start (logs: $ESS_BASE/logs)"
    }
    cp "$ESS_BASE/run/elasticsearch.pid" "$ESS_BASE/elasticsearch.pid"
    pid="$(live_pid "$ESS_BASE/elasticsearch.pid")"
    [[ -n "$pid" ]] || die "elasticsearch-secured: exited right after start (logs: $ESS_BASE/logs)"
  fi
  require curl "install curl"
  local deadline=$(($(date +%s) + READY_TIMEOUT_S)) password
  password="$(cat "$ESS_BASE/elastic.password")"
  # The password goes to curl on stdin (a config line), not on its command line.
  until printf 'user = "elastic:%s"\n' "$password" | curl -fsS --cacert "$TLS_DIR/ca.pem" -K - \
    "$ESS_URL/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || die "elasticsearch-secured: process $pid exited (logs: $ESS_BASE/logs)"
    (($(date +%s) < deadline)) || die "elasticsearch-secured: not ready after ${READY_TIMEOUT_S}s (logs: $ESS_BASE/logs)"
    sleep 0.2
  done
  require node "install Node.js 20+"
  (cd "$ROOT" && VIGIL_ES_ELASTIC_PASSWORD="$password" VIGIL_ES_TEST_KEYS=1 node --import tsx "$INFRA/elasticsearch-api-keys.ts" \
    "$ESS_URL" "$TLS_DIR/ca.pem" "$INFRA/elasticsearch/api-key-roles.json" "$ESS_BASE/connection.json") ||
    die "elasticsearch-secured: could not make the API keys"
  log "elasticsearch-secured: ready on $ESS_URL (pid $pid, $(elapsed "$started"))"
}

ess_down() { stop_pid_file elasticsearch-secured "$ESS_BASE/elasticsearch.pid" 60; }
ess_kill() { kill_pid_file elasticsearch-secured "$ESS_BASE/elasticsearch.pid"; }

ess_status() {
  local pid
  pid="$(live_pid "$ESS_BASE/elasticsearch.pid")"
  if [[ -z "$pid" ]]; then
    log "elasticsearch-secured: stopped"
    return 1
  fi
  if curl -sS --cacert "$TLS_DIR/ca.pem" -o /dev/null "$ESS_URL/_cluster/health" 2>/dev/null; then
    log "elasticsearch-secured: running (pid $pid) on $ESS_URL"
  else
    log "elasticsearch-secured: process $pid alive but $ESS_URL is not answering"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------- apicurio

# Apicurio Registry 2.4 is built on Quarkus 2.16, which supports JDK 11 and 17 (only 17 was tried here): the newest
# JDK from 11 to 17 under /usr/lib/jvm, both to build it and to run it.
apicurio_java_home() {
  if [[ -n "${VIGIL_APICURIO_JAVA_HOME:-}" ]]; then echo "$VIGIL_APICURIO_JAVA_HOME"; return; fi
  local best="" best_major=0 home major
  for home in /usr/lib/jvm/*/; do
    home="${home%/}"
    [[ -x "$home/bin/java" && -x "$home/bin/javac" && -f "$home/release" ]] || continue
    major="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release")"
    if [[ -n "$major" ]] && ((major >= 11 && major <= 17 && major > best_major)); then best="$home" best_major="$major"; fi
  done
  [[ -n "$best" ]] || die "apicurio: needs a JDK 11–17 under /usr/lib/jvm or in VIGIL_APICURIO_JAVA_HOME"
  echo "$best"
}

# Builds the runner jar once per version of infra/apicurio/ (a stamp of its files' hash).
apicurio_build() {
  local java_home="$1" build="$APICURIO_BASE/build" key
  key="$(find "$INFRA/apicurio/pom.xml" "$INFRA/apicurio/src" -type f -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-16)"
  if [[ -f "$build/.complete" && "$(cat "$build/.complete")" == "$key" ]]; then return 0; fi
  log "apicurio: building Apicurio Registry from Maven Central (infra/apicurio/pom.xml)"
  rm -rf "$build"
  JAVA_HOME="$java_home" maven_run mvn -f "$INFRA/apicurio/pom.xml" package "-Dvigil.build.dir=$build"
  [[ -f "$build/apicurio-registry-runner.jar" ]] || die "apicurio: the build made no runner jar"
  echo "$key" >"$build/.complete"
}

apicurio_up() {
  local started pid java_home
  started="$(now_ms)"
  pid="$(live_pid "$APICURIO_BASE/apicurio.pid")"
  if [[ -z "$pid" ]]; then
    java_home="$(apicurio_java_home)"
    apicurio_build "$java_home"
    port_in_use "$APICURIO_PORT" && die "apicurio: port $APICURIO_PORT is already in use by another process (not started by this script)"
    mkdir -p "$APICURIO_BASE/logs"
    log "apicurio: starting ($("$java_home/bin/java" -version 2>&1 | head -1))"
    # In-memory storage (H2): every start is an empty registry.
    setsid "$java_home/bin/java" -Xms64m -Xmx256m -Djava.awt.headless=true "-Dquarkus.http.port=$APICURIO_PORT" \
      -jar "$APICURIO_BASE/build/apicurio-registry-runner.jar" >"$APICURIO_BASE/logs/server.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$APICURIO_BASE/apicurio.pid"
  fi
  require curl "install curl"
  local deadline=$(($(date +%s) + READY_TIMEOUT_S))
  until curl -fsS -o /dev/null "$APICURIO_URL/health/ready" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || {
      tail -n 40 "$APICURIO_BASE/logs/server.log" >&2 || true
      die "apicurio: process $pid exited (log: $APICURIO_BASE/logs/server.log)"
    }
    (($(date +%s) < deadline)) || die "apicurio: not ready after ${READY_TIMEOUT_S}s (log: $APICURIO_BASE/logs/server.log)"
    sleep 0.2
  done
  log "apicurio: ready on $APICURIO_URL, Confluent API under /apis/ccompat/v7 (pid $pid, $(elapsed "$started"))"
}

apicurio_down() { stop_pid_file apicurio "$APICURIO_BASE/apicurio.pid" 30; }
apicurio_kill() { kill_pid_file apicurio "$APICURIO_BASE/apicurio.pid"; }

apicurio_status() {
  local pid
  pid="$(live_pid "$APICURIO_BASE/apicurio.pid")"
  if [[ -z "$pid" ]]; then
    log "apicurio: stopped"
    return 1
  fi
  if curl -fsS -o /dev/null "$APICURIO_URL/health/ready" 2>/dev/null; then
    log "apicurio: running (pid $pid) on $APICURIO_URL"
  else
    log "apicurio: process $pid alive but $APICURIO_URL is not ready"
    return 1
  fi
}

# -------------------------------------------------------------------------------------------------- main

command="${1:-}"
shift || true
services=("$@")
if ((${#services[@]} == 0)); then
  [[ "$command" != kill ]] || die "kill: name the service(s) to crash (kafka, elasticsearch, elasticsearch-secured, apicurio)"
  services=(kafka elasticsearch elasticsearch-secured apicurio)
fi
for service in "${services[@]}"; do
  case "$service" in
  kafka | elasticsearch | elasticsearch-secured | apicurio) ;;
  *) die "unknown service '$service' (expected kafka, elasticsearch, elasticsearch-secured or apicurio)" ;;
  esac
done
mkdir -p "$SERVICES_DIR"

status=0
case "$command" in
up)
  # The secured services need the certificates: made once, before they start in parallel.
  for service in "${services[@]}"; do
    if [[ "$service" == kafka || "$service" == elasticsearch-secured ]]; then
      tls_ensure
      break
    fi
  done
  # The JVMs start in parallel; each waits for its own readiness.
  pids=()
  for service in "${services[@]}"; do
    case "$service" in
    kafka) kafka_up & ;;
    elasticsearch) es_up & ;;
    elasticsearch-secured) ess_up & ;;
    apicurio) apicurio_up & ;;
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
    elasticsearch-secured) ess_down & ;;
    apicurio) apicurio_down & ;;
    esac
  done
  wait
  ;;
kill)
  for service in "${services[@]}"; do
    case "$service" in
    kafka) kafka_kill & ;;
    elasticsearch) es_kill & ;;
    elasticsearch-secured) ess_kill & ;;
    apicurio) apicurio_kill & ;;
    esac
  done
  wait
  ;;
status)
  for service in "${services[@]}"; do
    case "$service" in
    kafka) kafka_status || status=1 ;;
    elasticsearch) es_status || status=1 ;;
    elasticsearch-secured) ess_status || status=1 ;;
    apicurio) apicurio_status || status=1 ;;
    esac
  done
  ;;
*) die "usage: infra/services.sh up|down|kill|status [kafka|elasticsearch|elasticsearch-secured|apicurio ...]" ;;
esac
exit "$status"
