# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this file
# Shared helpers for deploy/local/{up,down,test}. Source it; do not run it.
#
# Everything the local scripts create lives under .local/ at the repository root (gitignored):
#   .local/pg/ .local/test-pg/   throwaway Postgres clusters (deploy/local/pg)
#   .local/logs/<name>.log       service, broker and sink logs
#   .local/pids/<name>.pid       pid files of the background processes `up` starts
#   .local/kafka.bootstrap       bootstrap list written by keel-dev-kafka

KEEL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL_DIR="$KEEL_ROOT/.local"
LOG_DIR="$LOCAL_DIR/logs"
PID_DIR="$LOCAL_DIR/pids"

# The six services in start order (consumers before producers is not required: Kafka buffers).
KEEL_SERVICES=(gateway processor router batch-router extractor warehouse-actions)

# Debian packages a build and a local run need.
KEEL_APT_PACKAGES=(postgresql librdkafka-dev libmozjs-102-dev libjemalloc-dev pkg-config kcat curl python3)

info() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# admin_port SERVICE: the default admin port of a service (docs/architecture.md).
admin_port() {
    case "$1" in
    gateway) echo 9181 ;;
    processor) echo 9182 ;;
    router) echo 9183 ;;
    batch-router) echo 9184 ;;
    extractor) echo 9185 ;;
    warehouse-actions) echo 9186 ;;
    *) die "unknown service '$1'" ;;
    esac
}

# ensure_apt_packages PKG...: installs the packages that are missing; runs `apt-get update` first
# only when something is missing.
ensure_apt_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || die "missing Debian packages: ${missing[*]} (run as root, or install them: apt-get install ${missing[*]})"
    info "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_pip_package IMPORT_CHECK SPEC: `pip install SPEC` when the shell test IMPORT_CHECK fails.
ensure_pip_package() {
    local check="$1" spec="$2"
    if ! bash -c "$check" >/dev/null 2>&1; then
        info "installing Python package: $spec"
        python3 -m pip install --quiet "$spec" || die "pip install $spec failed"
    fi
}

# bin_dir CONFIG: where `swift build -c CONFIG` puts executables.
bin_dir() {
    echo "$KEEL_ROOT/.build/$1"
}

# running PID: exit 0 when the process exists and is not a zombie (an exited child that its new
# parent has not reaped yet still answers `kill -0`).
running() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }" # fields after "pid (comm) ": the first is the state
    [ "${stat%% *}" != Z ]
}

# pid_alive PIDFILE: exit 0 when the pid file names a running process.
pid_alive() {
    local pid
    [ -s "$1" ] || return 1
    pid="$(cat "$1")"
    [ -n "$pid" ] && running "$pid"
}

# stop_pidfiles DIR GRACE_SECONDS NAME...: sends SIGTERM to every DIR/NAME.pid process at once,
# waits up to GRACE seconds for all of them, then SIGKILLs the rest. Removes the pid files.
stop_pidfiles() {
    local dir="$1" grace="$2" name pid waited=0
    shift 2
    local names=() pids=()
    for name in "$@"; do
        if pid_alive "$dir/$name.pid"; then
            pid="$(cat "$dir/$name.pid")"
            kill -TERM "$pid" 2>/dev/null || true
            names+=("$name")
            pids+=("$pid")
        fi
        rm -f "$dir/$name.pid"
    done
    [ "${#pids[@]}" -eq 0 ] && return 0
    local left=("${pids[@]}")
    while [ "${#left[@]}" -gt 0 ] && [ "$waited" -lt $((grace * 10)) ]; do
        local still=()
        for pid in "${left[@]}"; do
            running "$pid" && still+=("$pid")
        done
        left=("${still[@]+"${still[@]}"}")
        [ "${#left[@]}" -gt 0 ] || break
        sleep 0.1
        waited=$((waited + 1))
    done
    local index
    for index in "${!pids[@]}"; do
        pid="${pids[$index]}"
        if running "$pid"; then
            warn "${names[$index]} (pid $pid) still running after ${grace}s: sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        else
            info "stopped ${names[$index]} (pid $pid)"
        fi
    done
}

# start_dev_kafka BINARY BOOTSTRAP_FILE LOG PIDFILE [TOPICS]: starts keel-dev-kafka (3 brokers, 6
# partitions; KEEL_DEV_KAFKA_BROKERS and KEEL_DEV_KAFKA_PARTITIONS override them) in the background
# and waits (30 s at most) for its bootstrap list; prints the list.
start_dev_kafka() {
    local binary="$1" bootstrap_file="$2" log="$3" pidfile="$4" topics="${5:-}" waited=0
    [ -x "$binary" ] || die "$binary is missing: build it with swift build --product keel-dev-kafka"
    rm -f "$bootstrap_file"
    local args=(--brokers "${KEEL_DEV_KAFKA_BROKERS:-3}" --partitions "${KEEL_DEV_KAFKA_PARTITIONS:-6}" --bootstrap-file "$bootstrap_file")
    [ -n "$topics" ] && args+=(--topics "$topics")
    nohup "$binary" "${args[@]}" >"$log" 2>&1 &
    echo $! >"$pidfile"
    while [ ! -s "$bootstrap_file" ]; do
        pid_alive "$pidfile" || die "keel-dev-kafka exited at start; see $log: $(tail -n 5 "$log")"
        [ "$waited" -lt 300 ] || die "keel-dev-kafka wrote no bootstrap list within 30 s; see $log"
        sleep 0.1
        waited=$((waited + 1))
    done
    tr -d "[:space:]" <"$bootstrap_file" | sed "s/^bootstrap=//"
}

# http_status URL: the HTTP status of a GET (000 when nothing answers), 2 s timeout.
http_status() {
    curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true
}
