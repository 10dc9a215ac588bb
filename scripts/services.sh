#!/usr/bin/env bash
# Install and start the real services the tests need, on loopback only.
#
#   bash scripts/services.sh install   # apt-get install the Debian packages (once)
#   bash scripts/services.sh start     # install if needed, start what isn't answering
#   bash scripts/services.sh stop      # stop what this script started
#   bash scripts/services.sh status    # one line per service
#   bash scripts/services.sh env       # `export VAR=...` lines; eval "$(... env)"
#   bash scripts/services.sh selftest  # push/login/ssh round trips against the services
#
# Meant for a Debian 12 machine where we are root and no systemd runs: daemons are
# started directly in the background. Everything is idempotent: `start` twice is
# fine and the second run only checks. State, data and logs live under
# $DEPLOYER_SERVICES_DIR (default <repo>/.services).
#
# Services:
#   redis            127.0.0.1:6390 (AOF, noeviction)
#   dockerd          /var/run/docker.sock (reused if already answering) + swarm manager
#   registry         127.0.0.1:5000, no auth
#   registry (auth)  127.0.0.1:5001, htpasswd user deployer / deployer-test-password
#   sshd             127.0.0.1:2222, key auth as root; docker CLI available over SSH
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SVC_DIR="$(realpath -m "${DEPLOYER_SERVICES_DIR:-$REPO_ROOT/.services}")"
[[ ${1:-} == env ]] || mkdir -p "$SVC_DIR"

PACKAGES=(redis-server docker.io docker-registry openssh-server openssh-client
  busybox-static git apache2-utils ca-certificates curl docker-compose chromium debootstrap)

REDIS_PORT=6390
REGISTRY_PORT=5000
AUTH_REGISTRY_PORT=5001
AUTH_REGISTRY_USER=deployer
AUTH_REGISTRY_PASSWORD=deployer-test-password
SSH_PORT=2222
DOCKER_SOCK=/var/run/docker.sock

REDIS_DIR="$SVC_DIR/redis"
DOCKERD_LOG="$SVC_DIR/dockerd.log"
DOCKERD_PIDFILE="$SVC_DIR/dockerd.pid" # only exists when this script started dockerd
SSHD_DIR="$SVC_DIR/sshd"
SSH_DIR="$SVC_DIR/ssh"
SSH_KEY="$SSH_DIR/id_ed25519"
KNOWN_HOSTS="$SSH_DIR/known_hosts"

# Talk to the default socket whatever the caller's environment says.
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH

log() { printf '[services] %s\n' "$*" >&2; }
die() {
  printf '[services] ERROR: %s\n' "$*" >&2
  exit 1
}
# die_log MESSAGE LOGFILE: fail, showing the end of the log file to look at.
die_log() {
  printf '[services] ERROR: %s\n[services] see log: %s\n' "$1" "$2" >&2
  if [[ -s $2 ]]; then
    printf '[services] ---- last lines of %s ----\n' "$2" >&2
    tail -n 15 "$2" | sed 's/^/    /' >&2
  fi
  exit 1
}

dk() { docker -H "unix://$DOCKER_SOCK" "$@"; }

# pid_alive PIDFILE [NAME]: the pid in PIDFILE is a live process (whose command
# line mentions NAME, to avoid trusting a recycled pid).
pid_alive() {
  local pidfile=$1 name=${2:-} pid
  [[ -s $pidfile ]] || return 1
  pid="$(cat "$pidfile")"
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  running "$pid" || return 1
  [[ -z $name ]] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$name"
}

# launch PIDFILE LOGFILE CMD...: run CMD detached (own session, stdin closed,
# output appended to LOGFILE) and record its pid in PIDFILE.
launch() {
  local pidfile=$1 logfile=$2
  shift 2
  rm -f "$pidfile"
  printf '\n==== %s: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$logfile"
  # The inner shell records its own pid and then execs CMD, so the pid is right
  # whether or not setsid forks.
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >>"$logfile" 2>&1 9>&- &
  local i
  for i in $(seq 50); do
    [[ -s $pidfile ]] && return 0
    sleep 0.02
  done
  die_log "could not launch $1" "$logfile"
}

# wait_until NAME TIMEOUT_S LOGFILE PIDFILE CHECK...: poll CHECK until it succeeds;
# fail early if the process in PIDFILE (when given) died.
wait_until() {
  local name=$1 timeout=$2 logfile=$3 pidfile=$4
  shift 4
  local deadline=$((SECONDS + timeout))
  while ! "$@" >/dev/null 2>&1; do
    if [[ -n $pidfile ]] && ! pid_alive "$pidfile"; then
      die_log "$name exited during startup" "$logfile"
    fi
    if ((SECONDS >= deadline)); then
      die_log "$name did not become ready within ${timeout}s (check: $*)" "$logfile"
    fi
    sleep 0.2
  done
}

# running PID: the process exists and is not a zombie waiting to be reaped.
running() {
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n $state && $state != Z ]]
}

# stop_pidfile NAME PIDFILE CMDNAME: SIGTERM the process, wait for it to go.
stop_pidfile() {
  local name=$1 pidfile=$2 cmdname=$3 pid i
  if pid_alive "$pidfile" "$cmdname"; then
    pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null || true
    for i in $(seq 300); do
      running "$pid" || break
      sleep 0.1
    done
    if running "$pid"; then
      log "$name (pid $pid) ignored SIGTERM for 30s; sending SIGKILL"
      kill -9 "$pid" 2>/dev/null || true
    fi
    log "stopped $name (pid $pid)"
  else
    log "$name: not running (or not started by this script)"
  fi
  rm -f "$pidfile"
}

# ---------------------------------------------------------------- install

pkg_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

missing_packages() {
  local p
  for p in "${PACKAGES[@]}"; do pkg_installed "$p" || echo "$p"; done
}

cmd_install() {
  local missing
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} == 0)); then
    log "packages: all installed"
    return 0
  fi
  [[ $EUID -eq 0 ]] || die "installing ${missing[*]} needs root"
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Keep package maintainer scripts from starting their own daemons (redis on
  # 6379, sshd on 22, a registry on *:5000...): we start ours on loopback.
  local policy=/usr/sbin/policy-rc.d made_policy=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  local aptlog="$SVC_DIR/apt.log"
  : >"$aptlog"
  local updated=
  if [[ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -print -quit 2>/dev/null)" ]]; then
    apt-get update >>"$aptlog" 2>&1 || die_log "apt-get update failed" "$aptlog"
    updated=1
  fi
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >>"$aptlog" 2>&1; then
    # Stale package lists give 404s: refresh once and retry.
    [[ -z $updated ]] || die_log "apt-get install ${missing[*]} failed" "$aptlog"
    apt-get update >>"$aptlog" 2>&1 || die_log "apt-get update failed" "$aptlog"
    apt-get install -y --no-install-recommends "${missing[@]}" >>"$aptlog" 2>&1 ||
      die_log "apt-get install ${missing[*]} failed" "$aptlog"
  fi
  if [[ -n $made_policy ]]; then
    rm -f "$policy"
    trap - EXIT
  fi
  mapfile -t missing < <(missing_packages)
  ((${#missing[@]} == 0)) || die_log "still not installed after apt-get: ${missing[*]}" "$aptlog"
  log "packages: installed"
}

# ---------------------------------------------------------------- redis

redis_ready() { [[ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

start_redis() {
  if redis_ready; then
    SUMMARY+=("redis      redis://127.0.0.1:$REDIS_PORT (already running)")
    return
  fi
  mkdir -p "$REDIS_DIR"
  local logfile="$REDIS_DIR/redis.log" pidfile="$REDIS_DIR/redis.pid"
  launch "$pidfile" "$logfile" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" \
    --protected-mode yes --daemonize no --logfile "$logfile" --dir "$REDIS_DIR" \
    --appendonly yes --maxmemory-policy noeviction
  wait_until "redis-server on 127.0.0.1:$REDIS_PORT" 15 "$logfile" "$pidfile" redis_ready
  SUMMARY+=("redis      redis://127.0.0.1:$REDIS_PORT (started, pid $(cat "$pidfile" 2>/dev/null || echo ?), log $logfile)")
}

stop_redis() { stop_pidfile redis "$REDIS_DIR/redis.pid" redis-server; }

# ---------------------------------------------------------------- dockerd

docker_ready() { timeout 10 docker -H "unix://$DOCKER_SOCK" info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

start_dockerd() {
  local how
  if docker_ready; then
    how="already running"
  else
    [[ $EUID -eq 0 ]] || die "starting dockerd needs root"
    if [[ -s /var/run/docker.pid ]] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
      die "a dockerd (pid $(cat /var/run/docker.pid), /var/run/docker.pid) is running but $DOCKER_SOCK does not answer"
    fi
    launch "$DOCKERD_PIDFILE" "$DOCKERD_LOG" dockerd --host "unix://$DOCKER_SOCK"
    wait_until "dockerd ($DOCKER_SOCK)" 60 "$DOCKERD_LOG" "$DOCKERD_PIDFILE" docker_ready
    how="started, pid $(cat "$DOCKERD_PIDFILE"), log $DOCKERD_LOG"
  fi
  local state
  state="$(dk info --format '{{.Swarm.LocalNodeState}}/{{.Swarm.ControlAvailable}}')"
  case "$state" in
  active/true) ;;
  inactive/*)
    local out
    out="$(dk swarm init --advertise-addr 127.0.0.1 2>&1)" || die "docker swarm init --advertise-addr 127.0.0.1 failed: $out (dockerd log: $DOCKERD_LOG)"
    how+=", swarm initialised"
    ;;
  active/false) die "this docker engine is in a swarm but not a manager; run 'docker swarm leave' first" ;;
  *) die "unexpected swarm state '$state' (docker info --format '{{.Swarm.LocalNodeState}}'); dockerd log: $DOCKERD_LOG" ;;
  esac
  # dockerd treats 127.0.0.0/8 registries as insecure (plain HTTP) by default.
  if ! dk info --format '{{range .RegistryConfig.InsecureRegistryCIDRs}}{{.}} {{end}}' | grep -qw '127.0.0.0/8'; then
    log "WARNING: dockerd does not list 127.0.0.0/8 as an insecure registry CIDR; pushes to 127.0.0.1:$REGISTRY_PORT may fail"
  fi
  SUMMARY+=("dockerd    unix://$DOCKER_SOCK, engine $(dk info --format '{{.ServerVersion}}'), swarm manager ($how)")
}

stop_dockerd() {
  if [[ -s $DOCKERD_PIDFILE ]]; then
    stop_pidfile dockerd "$DOCKERD_PIDFILE" dockerd
  else
    log "dockerd: not started by this script; leaving it alone"
  fi
}

# ---------------------------------------------------------------- registries

http_code() { curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true; }

# registry_ready PORT EXPECTED_CODE
registry_ready() { [[ "$(http_code "http://127.0.0.1:$1/v2/")" == "$2" ]]; }

# write_registry_config NAME PORT [HTPASSWD]
write_registry_config() {
  local dir="$SVC_DIR/$1" port=$2 htpasswd=${3:-}
  mkdir -p "$dir/data"
  [[ -s $dir/http-secret ]] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/http-secret"
  cat >"$dir/config.yml.new" <<EOF
# Written by scripts/services.sh; edits are overwritten.
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$port
  secret: $(cat "$dir/http-secret")
  headers:
    X-Content-Type-Options: [nosniff]
EOF
  if [[ -n $htpasswd ]]; then
    cat >>"$dir/config.yml.new" <<EOF
auth:
  htpasswd:
    realm: deployer-test-registry
    path: $htpasswd
EOF
  fi
  mv "$dir/config.yml.new" "$dir/config.yml"
}

# start_registry NAME PORT EXPECTED_CODE [HTPASSWD]
start_registry() {
  local name=$1 port=$2 code=$3 htpasswd=${4:-}
  local dir="$SVC_DIR/$name"
  local logfile="$dir/registry.log" pidfile="$dir/registry.pid"
  local label="registry   http://127.0.0.1:$port"
  [[ -z $htpasswd ]] || label+=" (htpasswd $AUTH_REGISTRY_USER)"
  if registry_ready "$port" "$code"; then
    SUMMARY+=("$label, already running")
    return
  fi
  local got
  got="$(http_code "http://127.0.0.1:$port/v2/")"
  if [[ $got != 000 ]]; then
    die "something already answers on 127.0.0.1:$port with HTTP $got to /v2/ (expected $code); free the port"
  fi
  mkdir -p "$dir"
  write_registry_config "$name" "$port" "$htpasswd"
  launch "$pidfile" "$logfile" docker-registry serve "$dir/config.yml"
  wait_until "docker-registry on 127.0.0.1:$port" 20 "$logfile" "$pidfile" registry_ready "$port" "$code"
  SUMMARY+=("$label, started pid $(cat "$pidfile"), log $logfile")
}

HTPASSWD_FILE="$SVC_DIR/registry-auth/htpasswd"

ensure_htpasswd() {
  local file=$HTPASSWD_FILE
  mkdir -p "$SVC_DIR/registry-auth"
  if ! { [[ -s $file ]] && htpasswd -vb "$file" "$AUTH_REGISTRY_USER" "$AUTH_REGISTRY_PASSWORD" >/dev/null 2>&1; }; then
    htpasswd -Bbn "$AUTH_REGISTRY_USER" "$AUTH_REGISTRY_PASSWORD" | sed '/^$/d' >"$file.new" ||
      die "htpasswd -Bbn failed (is apache2-utils installed?)"
    mv "$file.new" "$file"
  fi
}

start_registries() {
  start_registry registry "$REGISTRY_PORT" 200
  ensure_htpasswd
  start_registry registry-auth "$AUTH_REGISTRY_PORT" 401 "$HTPASSWD_FILE"
}

stop_registries() {
  stop_pidfile "registry :$AUTH_REGISTRY_PORT" "$SVC_DIR/registry-auth/registry.pid" docker-registry
  stop_pidfile "registry :$REGISTRY_PORT" "$SVC_DIR/registry/registry.pid" docker-registry
}

# ---------------------------------------------------------------- sshd

SSH_OPTS=(-F /dev/null -i "$SSH_KEY" -o IdentitiesOnly=yes -o UserKnownHostsFile="$KNOWN_HOSTS"
  -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes
  -o ConnectTimeout=5 -p "$SSH_PORT")

ssh_ready() { ssh "${SSH_OPTS[@]}" root@127.0.0.1 true; }
ssh_docker_ready() { ssh "${SSH_OPTS[@]}" root@127.0.0.1 docker version --format '{{.Server.Version}}'; }

prepare_ssh_files() {
  mkdir -p "$SSHD_DIR" "$SSH_DIR"
  chmod 700 "$SSH_DIR"
  [[ -s $SSHD_DIR/ssh_host_ed25519_key ]] ||
    ssh-keygen -q -t ed25519 -N '' -C deployer-test-host -f "$SSHD_DIR/ssh_host_ed25519_key"
  [[ -s $SSH_KEY ]] || ssh-keygen -q -t ed25519 -N '' -C deployer-test-client -f "$SSH_KEY"
  cp "$SSH_KEY.pub" "$SSHD_DIR/authorized_keys"
  printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1,2 "$SSHD_DIR/ssh_host_ed25519_key.pub")" >"$KNOWN_HOSTS"
  cat >"$SSHD_DIR/sshd_config" <<EOF
# Written by scripts/services.sh; edits are overwritten.
ListenAddress 127.0.0.1:$SSH_PORT
HostKey $SSHD_DIR/ssh_host_ed25519_key
PidFile $SVC_DIR/sshd.pid
AuthorizedKeysFile $SSHD_DIR/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
  # For `docker -H ssh://root@127.0.0.1:$SSH_PORT ...`: the docker CLI runs `ssh`
  # from PATH, so put $SVC_DIR/bin first in PATH to use this config.
  cat >"$SSH_DIR/config" <<EOF
Host 127.0.0.1
  User root
  IdentityFile $SSH_KEY
  IdentitiesOnly yes
  UserKnownHostsFile $KNOWN_HOSTS
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
EOF
  mkdir -p "$SVC_DIR/bin"
  printf '#!/bin/sh\nexec /usr/bin/ssh -F %q "$@"\n' "$SSH_DIR/config" >"$SVC_DIR/bin/ssh"
  chmod 755 "$SVC_DIR/bin/ssh"
}

start_sshd() {
  local logfile="$SVC_DIR/sshd.log" pidfile="$SVC_DIR/sshd.pid"
  prepare_ssh_files
  if ssh_ready 2>/dev/null; then
    ssh_docker_ready >/dev/null 2>&1 || die "ssh to root@127.0.0.1:$SSH_PORT works but 'docker version' over it fails; sshd log: $logfile"
    SUMMARY+=("sshd       root@127.0.0.1:$SSH_PORT, key $SSH_KEY (already running, docker over SSH ok)")
    return
  fi
  [[ $EUID -eq 0 ]] || die "starting sshd needs root"
  if pid_alive "$pidfile" sshd; then
    die_log "our sshd (pid $(cat "$pidfile")) is running but ssh to 127.0.0.1:$SSH_PORT fails; try '$0 stop'" "$logfile"
  fi
  mkdir -p /run/sshd
  chmod 755 /run/sshd
  local out
  out="$(/usr/sbin/sshd -t -f "$SSHD_DIR/sshd_config" 2>&1)" || die "sshd -t rejected $SSHD_DIR/sshd_config: $out"
  rm -f "$pidfile"
  # sshd daemonizes itself and writes PidFile; -E appends its log to a file.
  /usr/sbin/sshd -f "$SSHD_DIR/sshd_config" -E "$logfile" </dev/null 9>&- || die_log "sshd failed to start" "$logfile"
  wait_until "sshd on 127.0.0.1:$SSH_PORT" 15 "$logfile" "" ssh_ready
  if ! ssh_docker_ready >/dev/null 2>&1; then
    die_log "sshd is up but 'ssh ... root@127.0.0.1 docker version' fails: $(ssh_docker_ready 2>&1 | tail -n 3)" "$logfile"
  fi
  SUMMARY+=("sshd       root@127.0.0.1:$SSH_PORT, key $SSH_KEY (started, pid $(cat "$pidfile"), docker over SSH ok, log $logfile)")
}

stop_sshd() { stop_pidfile sshd "$SVC_DIR/sshd.pid" sshd; }

# ---------------------------------------------------------------- commands

# fd 9 holds the lock; every daemon is started with 9>&- so it does not inherit it.
with_lock() {
  exec 9>"$SVC_DIR/.lock"
  flock -w 120 9 || die "another scripts/services.sh holds $SVC_DIR/.lock"
}

cmd_start() {
  with_lock
  local t0=$SECONDS
  cmd_install
  SUMMARY=()
  start_redis
  start_dockerd
  start_registries
  start_sshd
  printf '%s\n' "${SUMMARY[@]}"
  log "all services ready in $((SECONDS - t0))s (state in $SVC_DIR)"
}

cmd_stop() {
  with_lock
  stop_sshd
  stop_registries
  stop_redis
  stop_dockerd
}

cmd_status() {
  local ok=0
  check() {
    if "${@:2}" >/dev/null 2>&1; then echo "up    $1"; else
      echo "down  $1"
      ok=1
    fi
  }
  check "redis 127.0.0.1:$REDIS_PORT" redis_ready
  check "dockerd $DOCKER_SOCK" docker_ready
  check "registry 127.0.0.1:$REGISTRY_PORT" registry_ready "$REGISTRY_PORT" 200
  check "registry 127.0.0.1:$AUTH_REGISTRY_PORT (auth)" registry_ready "$AUTH_REGISTRY_PORT" 401
  check "sshd 127.0.0.1:$SSH_PORT (docker over SSH)" ssh_docker_ready
  return $ok
}

cmd_env() {
  printf 'export REDIS_URL=%q\n' "redis://127.0.0.1:$REDIS_PORT"
  printf 'export TEST_REGISTRY=%q\n' "127.0.0.1:$REGISTRY_PORT"
  printf 'export TEST_AUTH_REGISTRY=%q\n' "127.0.0.1:$AUTH_REGISTRY_PORT"
  printf 'export TEST_AUTH_REGISTRY_USER=%q\n' "$AUTH_REGISTRY_USER"
  printf 'export TEST_AUTH_REGISTRY_PASSWORD=%q\n' "$AUTH_REGISTRY_PASSWORD"
  printf 'export TEST_SSH_HOST=%q\n' 127.0.0.1
  printf 'export TEST_SSH_USER=%q\n' root
  printf 'export TEST_SSH_PORT=%q\n' "$SSH_PORT"
  printf 'export TEST_SSH_KEY=%q\n' "$SSH_KEY"
  printf 'export TEST_KNOWN_HOSTS=%q\n' "$KNOWN_HOSTS"
  printf 'unset DOCKER_HOST\n'
  printf '# docker -H ssh://root@127.0.0.1:%s needs PATH=%q:$PATH (ssh wrapper using %q)\n' \
    "$SSH_PORT" "$SVC_DIR/bin" "$SSH_DIR/config"
}

# Round trips a test would make: build a FROM scratch busybox image, push it to
# both registries (login/logout on the auth one), docker over SSH.
cmd_selftest() {
  local work
  work="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  export DOCKER_CONFIG="$work/docker-config" # keep logins out of ~/.docker
  cp /bin/busybox "$work/busybox"
  printf 'FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox","true"]\n' >"$work/Dockerfile"
  local tag="selftest-$$"
  set -x
  DOCKER_BUILDKIT=0 dk build -q -t "127.0.0.1:$REGISTRY_PORT/selftest:$tag" "$work"
  dk push "127.0.0.1:$REGISTRY_PORT/selftest:$tag"
  dk tag "127.0.0.1:$REGISTRY_PORT/selftest:$tag" "127.0.0.1:$AUTH_REGISTRY_PORT/selftest:$tag"
  if dk push "127.0.0.1:$AUTH_REGISTRY_PORT/selftest:$tag"; then die "push without login was accepted"; fi
  echo "$AUTH_REGISTRY_PASSWORD" | dk login -u "$AUTH_REGISTRY_USER" --password-stdin "127.0.0.1:$AUTH_REGISTRY_PORT"
  dk push "127.0.0.1:$AUTH_REGISTRY_PORT/selftest:$tag"
  dk logout "127.0.0.1:$AUTH_REGISTRY_PORT"
  curl -fsS "http://127.0.0.1:$REGISTRY_PORT/v2/selftest/tags/list"
  curl -fsS -u "$AUTH_REGISTRY_USER:$AUTH_REGISTRY_PASSWORD" "http://127.0.0.1:$AUTH_REGISTRY_PORT/v2/selftest/tags/list"
  PATH="$SVC_DIR/bin:$PATH" docker -H "ssh://root@127.0.0.1:$SSH_PORT" version --format 'over ssh: client {{.Client.Version}} server {{.Server.Version}}'
  dk rmi "127.0.0.1:$REGISTRY_PORT/selftest:$tag" "127.0.0.1:$AUTH_REGISTRY_PORT/selftest:$tag" >/dev/null
  set +x
  log "selftest passed"
}

case "${1:-}" in
install) with_lock && cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
selftest) cmd_selftest ;;
*)
  echo "usage: $0 {install|start|stop|status|env|selftest}" >&2
  exit 2
  ;;
esac
