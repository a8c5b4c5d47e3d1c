#!/usr/bin/env bash
# A throwaway Apache Kafka broker (or cluster) for tests, benchmarks and CI: KRaft mode (no
# ZooKeeper), each node a combined broker+controller, listening on 127.0.0.1 only, PLAINTEXT, no
# authentication: never use it for data you care about. Kafka's jars come from Maven Central
# through the machine's `mvn` (no download from anywhere else); it runs on the machine's Java 17+.
#
#   scripts/kafka.sh fetch         download Kafka's jars into the cache (first time only)
#   scripts/kafka.sh start         fetch, format storage (first time) and start every node; waits
#                                  until each broker answers a real Kafka request
#   scripts/kafka.sh stop          stop every node (SIGTERM: controlled shutdown; SIGKILL after 30 s,
#                                  or 10 s after the controllers lost their quorum)
#   scripts/kafka.sh status        exit 0 when every node runs, 3 when none does, 4 when some do
#   scripts/kafka.sh url           print the URL, e.g. kafka://127.0.0.1:19092 (nodes comma-separated)
#   scripts/kafka.sh clean         stop and remove the data directory
#   scripts/kafka.sh stop-node N   stop node N only (1..WEIR_KAFKA_BROKERS): failover / restart tests
#   scripts/kafka.sh start-node N  start node N again (its storage is kept, never re-formatted)
#   scripts/kafka.sh run-class MAIN [ARGS...]
#                                  run a Java main class of Kafka's with its classpath, e.g.
#                                  run-class org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:19092 --list
#
# Environment:
#   WEIR_KAFKA_VERSION          Kafka version from Maven Central (default 4.1.2; any 4.x)
#   WEIR_KAFKA_CACHE            jar cache (default ~/.cache/weir/kafka); jars in $WEIR_KAFKA_CACHE/<version>/lib
#   WEIR_KAFKA_DIR              data directory (default <repo>/.kafka); node N in $WEIR_KAFKA_DIR/node-N
#                               (server.properties, data/, kafka.log, kafka.pid)
#   WEIR_KAFKA_PORT             client port of node 1 (default 19092); node N listens on PORT+N-1
#   WEIR_KAFKA_CONTROLLER_PORT  controller port of node 1 (default PORT+1000); node N on +N-1
#   WEIR_KAFKA_BROKERS          number of nodes (default 1; 3 for a replicated cluster)
#   WEIR_KAFKA_HEAP_OPTS        JVM heap per node (default "-Xms256m -Xmx512m")
#   WEIR_KAFKA_PROPERTIES       extra server properties for every node, "key=value" separated by
#                               spaces or newlines (they override the generated ones)
#   WEIR_KAFKA_START_TIMEOUT    seconds `start` waits for the brokers (default 90)
#   JAVA_HOME                   the Java to use (default: `java` on PATH)
#
# The first `start` records version, node count and ports in $WEIR_KAFKA_DIR/cluster.conf; later
# commands use them (a different explicit value is an error: `clean` first). `start`, `stop` and
# the node commands are idempotent and serialised with a lock file, so concurrent test processes
# can call them. More in docs/kafka.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOST=127.0.0.1
DEFAULT_VERSION=4.1.2
# Kafka logs through SLF4J 1.7 to Log4j 2 (what its binary distribution ships); Maven Central's
# kafka jars leave the binding out, so it is added here.
LOG4J_VERSION=2.25.3
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
START_TIMEOUT="${WEIR_KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT=30
QUORUM_GRACE=10

die() {
  echo "kafka.sh: $*" >&2
  exit 1
}

say() {
  echo "kafka.sh: $*" >&2
}

usage() {
  echo "usage: scripts/kafka.sh fetch|start|stop|status|url|clean|stop-node N|start-node N|run-class MAIN [ARGS...]" >&2
  exit 2
}

# --- settings -------------------------------------------------------------------------------

VERSION="${WEIR_KAFKA_VERSION:-$DEFAULT_VERSION}"
CACHE="${WEIR_KAFKA_CACHE:-$HOME/.cache/weir/kafka}"
DIR="${WEIR_KAFKA_DIR:-$ROOT/.kafka}"
PORT="${WEIR_KAFKA_PORT:-19092}"
BROKERS="${WEIR_KAFKA_BROKERS:-1}"

[[ "$VERSION" =~ ^4\.[0-9]+\.[0-9]+$ ]] || die "WEIR_KAFKA_VERSION must be a Kafka 4.x release such as $DEFAULT_VERSION, not '$VERSION'"
[[ "$PORT" =~ ^[0-9]+$ ]] || die "WEIR_KAFKA_PORT must be a port number, not '$PORT'"
[[ "$BROKERS" =~ ^[1-9]$ ]] || die "WEIR_KAFKA_BROKERS must be a number of nodes from 1 to 9, not '$BROKERS'"
CONTROLLER_PORT="${WEIR_KAFKA_CONTROLLER_PORT:-$((PORT + 1000))}"
[[ "$CONTROLLER_PORT" =~ ^[0-9]+$ ]] || die "WEIR_KAFKA_CONTROLLER_PORT must be a port number, not '$CONTROLLER_PORT'"
[[ "$START_TIMEOUT" =~ ^[0-9]+$ ]] || die "WEIR_KAFKA_START_TIMEOUT must be a number of seconds, not '$START_TIMEOUT'"
# Absolute and normalised (no trailing or double slash): pid checks compare paths.
DIR="$(realpath -ms -- "$DIR")"
CACHE="$(realpath -ms -- "$CACHE")"
[[ "$DIR" =~ ^[A-Za-z0-9_./-]+$ ]] || die "WEIR_KAFKA_DIR must be a plain path (letters, digits, _ . / -), not '$DIR'"
[[ "$CACHE" =~ ^[A-Za-z0-9_./-]+$ ]] || die "WEIR_KAFKA_CACHE must be a plain path (letters, digits, _ . / -), not '$CACHE'"
LAYOUT="$DIR/cluster.conf"
CLUSTER_ID=""

# The layout recorded by the first `start` wins over defaults; an explicit different value is an error.
load_layout() {
  [[ -f "$LAYOUT" ]] || return 0
  local key value
  while IFS='=' read -r key value; do
    case "$key" in
      version) adopt WEIR_KAFKA_VERSION VERSION "$value" ;;
      brokers) adopt WEIR_KAFKA_BROKERS BROKERS "$value" ;;
      port) adopt WEIR_KAFKA_PORT PORT "$value" ;;
      controller_port) adopt WEIR_KAFKA_CONTROLLER_PORT CONTROLLER_PORT "$value" ;;
      cluster_id) CLUSTER_ID="$value" ;;
    esac
  done <"$LAYOUT"
}

adopt() {
  local env="$1" var="$2" recorded="$3"
  if [[ -n "${!env:-}" && "${!env}" != "$recorded" ]]; then
    die "$DIR holds a cluster created with $env=$recorded, not ${!env}; run scripts/kafka.sh clean first, or use another WEIR_KAFKA_DIR"
  fi
  printf -v "$var" '%s' "$recorded"
}

# Settings: environment, then the recorded layout. Again after taking the lock (another process
# may have created the cluster meanwhile).
settle() {
  load_layout
  if ((PORT + BROKERS > 65536 || CONTROLLER_PORT + BROKERS > 65536)); then
    die "ports out of range: client ports $PORT.., controller ports $CONTROLLER_PORT.."
  fi
  if ((CONTROLLER_PORT < PORT + BROKERS && PORT < CONTROLLER_PORT + BROKERS)); then
    die "client ports $PORT.. and controller ports $CONTROLLER_PORT.. overlap; set WEIR_KAFKA_CONTROLLER_PORT"
  fi
  KDIR="$CACHE/$VERSION"
  LIB="$KDIR/lib"
  FETCHED="$KDIR/fetched"
}
settle
JAVA="java"
[[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] && JAVA="$JAVA_HOME/bin/java"

node_dir() { echo "$DIR/node-$1"; }
client_port() { echo $((PORT + $1 - 1)); }
controller_port() { echo $((CONTROLLER_PORT + $1 - 1)); }

bootstrap() {
  local n out=""
  for ((n = 1; n <= BROKERS; n++)); do out+="${out:+,}$HOST:$(client_port "$n")"; done
  echo "$out"
}

url() {
  echo "kafka://$(bootstrap)"
}

# --- fetch ----------------------------------------------------------------------------------

check_java() {
  command -v "$JAVA" >/dev/null 2>&1 || die "java not found; Kafka $VERSION needs Java 17 or newer (apt-get install -y openjdk-17-jre-headless)"
  local spec
  spec="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')"
  [[ "$spec" =~ ^[0-9]+$ && "$spec" -ge 17 ]] || die "Kafka $VERSION's broker needs Java 17 or newer; $JAVA is Java '${spec:-unknown}'"
}

fetched() {
  [[ -f "$FETCHED" ]]
}

fetch() {
  if fetched; then
    say "Kafka $VERSION already fetched ($LIB)"
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found: Kafka's jars are fetched from Maven Central with Maven (apt-get install -y maven)"
  check_java
  mkdir -p "$CACHE"
  exec 8>"$CACHE/$VERSION.lock"
  flock -w 600 8 || die "timed out waiting for the lock $CACHE/$VERSION.lock (another fetch?)"
  if fetched; then
    exec 8>&-
    say "Kafka $VERSION already fetched ($LIB)"
    return 0
  fi
  local tmp began jars size jar
  tmp="$(mktemp -d "$CACHE/.fetch-$VERSION.XXXXXX")"
  cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <!-- Generated by scripts/kafka.sh: what a Kafka $VERSION broker and its command-line tools need. -->
  <modelVersion>4.0.0</modelVersion>
  <groupId>weir.local</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <!-- the broker (kafka.Kafka), the storage tool; brings kafka-server, kafka-storage, kafka-raft, kafka-clients... -->
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$VERSION</version></dependency>
    <!-- kafka-topics, console producer/consumer, broker-api-versions, metadata-quorum...; not Connect's REST server -->
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$VERSION</version>
      <exclusions>
        <exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion>
        <exclusion><groupId>com.fasterxml.jackson.jakarta.rs</groupId><artifactId>jackson-jakarta-rs-json-provider</artifactId></exclusion>
      </exclusions>
    </dependency>
    <!-- logging: SLF4J 1.7 (Kafka's API) to Log4j 2 -->
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  say "fetching Apache Kafka $VERSION (kafka_2.13, kafka-tools, Log4j binding) from Maven Central with mvn; first time only, usually well under a minute..."
  began=$SECONDS
  if ! mvn -B -q -Dstyle.color=never -f "$tmp/pom.xml" "$DEPENDENCY_PLUGIN:copy-dependencies" \
    -DoutputDirectory="$tmp/lib" -DincludeScope=runtime >"$tmp/mvn.log" 2>&1 8>&- 9>&-; then
    echo "--- last lines of the Maven output:" >&2
    tail -n 30 "$tmp/mvn.log" >&2
    rm -rf "$tmp"
    die "could not fetch Kafka $VERSION from Maven Central (see above)"
  fi
  for jar in "kafka_2.13-$VERSION.jar" "kafka-tools-$VERSION.jar" "kafka-server-$VERSION.jar" "kafka-storage-$VERSION.jar"; do
    [[ -f "$tmp/lib/$jar" ]] || {
      rm -rf "$tmp"
      die "Maven did not deliver $jar"
    }
  done
  rm -rf "$LIB"
  mkdir -p "$KDIR"
  mv "$tmp/lib" "$LIB"
  mv "$tmp/pom.xml" "$KDIR/pom.xml"
  rm -rf "$tmp"
  jars="$(find "$LIB" -name '*.jar' | wc -l)"
  size="$(du -sh "$LIB" | cut -f1)"
  # Written last: its presence means the lib directory is complete.
  echo "Kafka $VERSION: $jars jars fetched $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$FETCHED"
  exec 8>&-
  say "fetched Kafka $VERSION: $jars jars ($size) in $((SECONDS - began)) s into $LIB"
}

# --- processes ------------------------------------------------------------------------------

lock() {
  mkdir -p "$(dirname "$DIR")"
  exec 9>"$DIR.lock"
  flock -w 180 9 || die "timed out waiting for the lock $DIR.lock"
  settle
}

port_open() {
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# True while process PID lives (a zombie, dead but not yet reaped, does not count).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [[ -r "/proc/$1/stat" ]] || return 0
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat%% *}" != Z ]]
}

# The pid of node N's broker, when it runs (the pid file names a live java of that node).
node_pid() {
  local node pid
  node="$(node_dir "$1")"
  [[ -f "$node/kafka.pid" ]] || return 1
  pid="$(cat "$node/kafka.pid" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $node/server.properties" || return 1
  fi
  echo "$pid"
}

node_running() {
  node_pid "$1" >/dev/null
}

node_up() {
  node_running "$1" && port_open "$(client_port "$1")"
}

show_log() {
  local log
  log="$(node_dir "$1")/kafka.log"
  if [[ -f "$log" ]]; then
    echo "--- last lines of $log:" >&2
    tail -n 30 "$log" >&2
  fi
}

quorum_voters() {
  local n out=""
  for ((n = 1; n <= BROKERS; n++)); do out+="${out:+,}$n@$HOST:$(controller_port "$n")"; done
  echo "$out"
}

write_config() {
  local n="$1" node rf isr
  node="$(node_dir "$n")"
  mkdir -p "$node"
  rf=$((BROKERS < 3 ? BROKERS : 3))
  isr=$((rf > 1 ? 2 : 1))
  cat >"$node/server.properties" <<EOF
# Generated by scripts/kafka.sh on every start: edits are lost (use WEIR_KAFKA_PROPERTIES).
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$(quorum_voters)
listeners=PLAINTEXT://$HOST:$(client_port "$n"),CONTROLLER://$HOST:$(controller_port "$n")
advertised.listeners=PLAINTEXT://$HOST:$(client_port "$n")
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$node/data

# Tests create their topics; one partition unless they say otherwise.
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=$rf
# Internal topics: replicated on up to 3 nodes, few partitions (quick to create on a small machine).
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0

# A 2-core machine may run several nodes.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4
EOF
  local prop
  if [[ -n "${WEIR_KAFKA_PROPERTIES:-}" ]]; then
    echo "# WEIR_KAFKA_PROPERTIES" >>"$node/server.properties"
    for prop in $WEIR_KAFKA_PROPERTIES; do
      [[ "$prop" == *=* ]] || die "WEIR_KAFKA_PROPERTIES: '$prop' is not key=value"
      echo "$prop" >>"$node/server.properties"
    done
  fi
}

write_log_config() {
  mkdir -p "$DIR"
  cat >"$DIR/log4j2.properties" <<'EOF'
# The brokers' logging (scripts/kafka.sh): to standard output, which goes to node-N/kafka.log.
status = warn
# Kafka stops its own threads on SIGTERM: keep logging until the JVM exits.
shutdownHook = disable
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.apis.name = kafka.server.KafkaApis
logger.apis.level = WARN
EOF
}

# Kafka's command-line tools log warnings and errors only, to standard error.
write_tools_log_config() {
  [[ -f "$KDIR/tools-log4j2.properties" ]] && return 0
  local tmp="$KDIR/tools-log4j2.properties.$BASHPID"
  mkdir -p "$KDIR"
  cat >"$tmp" <<'EOF'
# Kafka's command-line tools (scripts/kafka.sh): warnings and errors only, to standard error.
status = error
appender.err.type = Console
appender.err.name = ERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = ERR
EOF
  mv "$tmp" "$KDIR/tools-log4j2.properties"
}

# Run a Kafka tool (a Java main class with its arguments) with quiet logging.
run_tool() {
  write_tools_log_config
  "$JAVA" -Xmx256m -XX:+UseSerialGC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KDIR/tools-log4j2.properties" -cp "$LIB/*" "$@" 8>&- 9>&-
}

# The brokers' API versions through the cluster's metadata (a real request), or nothing.
api_versions() {
  write_tools_log_config
  timeout 30 "$JAVA" -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KDIR/tools-log4j2.properties" -cp "$LIB/*" \
    org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server "$1" 2>/dev/null 8>&- 9>&- || true
}

new_cluster_id() {
  # What Kafka's `kafka-storage random-uuid` prints: 16 random bytes, base64url without padding,
  # never starting with '-'.
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" != -* && ${#id} == 22 ]] && break
  done
  echo "$id"
}

format_node() {
  local n="$1" node
  node="$(node_dir "$n")"
  [[ -f "$node/data/meta.properties" ]] && return 0
  if ! run_tool kafka.tools.StorageTool format --ignore-formatted -t "$CLUSTER_ID" \
    -c "$node/server.properties" >"$node/format.log" 2>&1; then
    cat "$node/format.log" >&2
    return 1
  fi
}

# Record the layout and format every node's storage (first start only).
init_cluster() {
  mkdir -p "$DIR"
  if [[ ! -f "$LAYOUT" ]]; then
    CLUSTER_ID="$(new_cluster_id)"
    printf '%s\n' "version=$VERSION" "brokers=$BROKERS" "port=$PORT" \
      "controller_port=$CONTROLLER_PORT" "cluster_id=$CLUSTER_ID" >"$LAYOUT.tmp"
    mv "$LAYOUT.tmp" "$LAYOUT"
  fi
  [[ -n "$CLUSTER_ID" ]] || die "$LAYOUT has no cluster_id; run scripts/kafka.sh clean"
  local n pids=() failed=0
  for ((n = 1; n <= BROKERS; n++)); do
    write_config "$n"
    if [[ ! -f "$(node_dir "$n")/data/meta.properties" ]]; then
      format_node "$n" &
      pids+=($!)
    fi
  done
  if ((${#pids[@]} > 0)); then
    say "formatting storage of $((${#pids[@]})) node(s) (cluster id $CLUSTER_ID)"
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    ((failed == 0)) || die "formatting the storage failed (see above)"
  fi
}

# Launch node N in the background (no wait). Sets LAUNCHED=1 when it started a process.
launch_node() {
  local n="$1" node log port cport
  node="$(node_dir "$n")"
  log="$node/kafka.log"
  port="$(client_port "$n")"
  cport="$(controller_port "$n")"
  LAUNCHED=0
  if node_running "$n"; then return 0; fi
  [[ -f "$node/data/meta.properties" ]] || die "node $n has no formatted storage in $node/data; run scripts/kafka.sh start (or clean)"
  port_open "$port" && die "port $port on $HOST is taken by another process; set WEIR_KAFKA_PORT to a free port (or clean)"
  port_open "$cport" && die "port $cport on $HOST is taken by another process; set WEIR_KAFKA_CONTROLLER_PORT to a free port (or clean)"
  write_config "$n"
  echo "=== scripts/kafka.sh: starting node $n $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$log"
  local heap="${WEIR_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
  # A new session (no terminal's Ctrl-C reaches it); the pid file gets java's pid, as bash execs it.
  # shellcheck disable=SC2086,SC2016 # heap options are words; $$ and $@ are for the inner bash
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' kafka-node "$node/kafka.pid" \
    "$JAVA" $heap -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$DIR/log4j2.properties" -Dkafka.logs.dir="$node" \
    -cp "$LIB/*" kafka.Kafka "$node/server.properties" </dev/null >>"$log" 2>&1 8>&- 9>&- &
  local i
  for ((i = 0; i < 50; i++)); do
    node_running "$n" && break
    sleep 0.1
  done
  LAUNCHED=1
}

# Wait until the given nodes run, listen, and are registered, unfenced brokers of the cluster.
wait_ready() {
  local deadline=$((SECONDS + START_TIMEOUT)) n pending servers out ok
  for n in "$@"; do
    while ! port_open "$(client_port "$n")"; do
      if ! node_running "$n"; then
        show_log "$n"
        die "node $n exited while starting"
      fi
      ((SECONDS < deadline)) || {
        show_log "$n"
        die "node $n does not listen on $HOST:$(client_port "$n") after $START_TIMEOUT s"
      }
      sleep 0.2
    done
  done
  servers=""
  for n in "$@"; do servers+="${servers:+,}$HOST:$(client_port "$n")"; done
  while :; do
    # A real request: the brokers' API versions, through the cluster's metadata.
    out="$(api_versions "$servers")"
    ok=1
    pending=""
    for n in "$@"; do
      if ! grep -E "\(id: $n " <<<"$out" | grep -qv 'isFenced: true'; then
        ok=0
        pending+=" $n"
      fi
    done
    ((ok == 1)) && return 0
    for n in "$@"; do
      node_running "$n" || {
        show_log "$n"
        die "node $n exited while starting"
      }
    done
    if ((SECONDS >= deadline)); then
      for n in $pending; do show_log "$n"; done
      die "node(s)$pending not ready (registered, unfenced brokers) after $START_TIMEOUT s"
    fi
    sleep 1
  done
}

start() {
  fetched || fetch
  check_java
  lock
  write_log_config
  init_cluster
  local n began=$SECONDS started=()
  for ((n = 1; n <= BROKERS; n++)); do
    launch_node "$n"
    ((LAUNCHED == 1)) && started+=("$n")
  done
  if ((${#started[@]} == 0)); then
    wait_ready $(seq 1 "$BROKERS")
    say "already running on $(bootstrap) (data $DIR)"
    return 0
  fi
  say "starting node(s) ${started[*]} of $BROKERS (Kafka $VERSION)..."
  wait_ready $(seq 1 "$BROKERS")
  say "running on $(bootstrap) (Kafka $VERSION, data $DIR, logs $DIR/node-N/kafka.log; ready in $((SECONDS - began)) s)"
}

start_node() {
  local n="$1"
  [[ -f "$LAYOUT" ]] || die "no cluster in $DIR; run scripts/kafka.sh start first"
  fetched || fetch
  check_java
  lock
  write_log_config
  local began=$SECONDS
  launch_node "$n"
  if ((LAUNCHED == 0)); then
    wait_ready "$n"
    say "node $n already running on $HOST:$(client_port "$n")"
    return 0
  fi
  wait_ready "$n"
  say "node $n running on $HOST:$(client_port "$n") (ready in $((SECONDS - began)) s)"
}

# Send SIGTERM to the given nodes (controlled shutdown), wait, SIGKILL whatever is left.
stop_nodes() {
  local n pid pids=() names=() i j
  for n in "$@"; do
    if pid="$(node_pid "$n")"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
      names+=("$n")
    fi
  done
  if ((${#pids[@]} == 0)); then
    return 1
  fi
  # A broker's controlled shutdown needs the controllers' quorum (a majority of the nodes). Once
  # the quorum is gone (the other nodes stopped first), a node still shutting down waits for it
  # for minutes: it gets QUORUM_GRACE seconds, then SIGKILL.
  local deadline=$((SECONDS + STOP_TIMEOUT)) alive voters why="within $STOP_TIMEOUT s"
  while :; do
    alive=0
    for pid in "${pids[@]}"; do alive "$pid" && alive=1; done
    ((alive == 0 || SECONDS >= deadline)) && break
    if ((BROKERS > 1)) && [[ "$why" != *quorum* ]]; then
      voters=0
      for ((n = 1; n <= BROKERS; n++)); do node_running "$n" && voters=$((voters + 1)); done
      if ((voters <= BROKERS / 2 && SECONDS + QUORUM_GRACE < deadline)); then
        deadline=$((SECONDS + QUORUM_GRACE))
        why="$QUORUM_GRACE s after the controller quorum was lost"
      fi
    fi
    sleep 0.2
  done
  for i in "${!pids[@]}"; do
    if alive "${pids[$i]}"; then
      say "node ${names[$i]} did not stop $why; killing it"
      kill -KILL "${pids[$i]}" 2>/dev/null || true
      for ((j = 0; j < 100; j++)); do
        alive "${pids[$i]}" || break
        sleep 0.1
      done
    fi
    rm -f "$(node_dir "${names[$i]}")/kafka.pid"
    echo "=== scripts/kafka.sh: stopped node ${names[$i]} $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$(node_dir "${names[$i]}")/kafka.log"
  done
  STOPPED="${names[*]}"
  return 0
}

# Every node directory present (the layout may be missing or smaller after a failed start).
all_nodes() {
  local n max=$BROKERS d
  for d in "$DIR"/node-*; do
    [[ -d "$d" ]] || continue
    n="${d##*/node-}"
    [[ "$n" =~ ^[0-9]+$ ]] && ((n > max)) && max=$n
  done
  seq 1 "$max"
}

stop() {
  lock
  local nodes
  mapfile -t nodes < <(all_nodes)
  if stop_nodes "${nodes[@]}"; then
    say "stopped node(s) $STOPPED"
  else
    say "not running"
  fi
}

stop_node() {
  local n="$1"
  lock
  if stop_nodes "$n"; then
    say "stopped node $n"
  else
    say "node $n not running"
  fi
}

status() {
  local n up=0 down=""
  for ((n = 1; n <= BROKERS; n++)); do
    if node_up "$n"; then
      up=$((up + 1))
    else
      down+=" $n"
    fi
  done
  if ((up == BROKERS)); then
    echo "running on $(bootstrap) (data $DIR)"
    return 0
  fi
  if ((up == 0)); then
    echo "not running (data $DIR)"
    return 3
  fi
  echo "partly running: node(s)$down of $BROKERS down; $(bootstrap) (data $DIR)"
  return 4
}

clean() {
  stop
  rm -rf "$DIR"
  rm -f "$DIR.lock"
  say "removed $DIR"
}

node_arg() {
  [[ "${1:-}" =~ ^[1-9]$ ]] || usage
  (($1 <= BROKERS)) || die "no node $1: the cluster in $DIR has $BROKERS node(s)"
}

[[ $# -ge 1 ]] || usage
case "$1" in
  url)
    [[ $# -eq 1 ]] || usage
    url
    ;;
  fetch)
    [[ $# -eq 1 ]] || usage
    fetch
    ;;
  start | stop | status | clean)
    [[ $# -eq 1 ]] || usage
    "$1"
    ;;
  stop-node | start-node)
    [[ $# -eq 2 ]] || usage
    node_arg "$2"
    "${1/-/_}" "$2"
    ;;
  run-class)
    [[ $# -ge 2 ]] || usage
    fetched || fetch
    check_java
    shift
    run_tool "$@"
    ;;
  *) usage ;;
esac
