#!/usr/bin/env bash
# Base images made on this machine, for building and running Deployer's image where
# no registry can be pulled from (official images such as node:20 and redis:7 are
# out of reach):
#
#   node   Debian bookworm (debootstrap --variant=minbase) plus this machine's Node 20,
#          tagged deployer-local/node:<node version>-bookworm; stands in for
#          node:20-bookworm-slim (BASE_IMAGE build argument of the Dockerfile)
#   redis  that image plus Debian's redis-server, run as user redis in /data,
#          tagged deployer-local/redis:<redis version>-bookworm; stands in for
#          redis:7 (REDIS_IMAGE in docker-compose.yml)
#
#   bash scripts/local-base-image.sh          # build what is missing; print BASE_IMAGE=… REDIS_IMAGE=…
#   eval "$(bash scripts/local-base-image.sh)" && docker build --build-arg BASE_IMAGE="$BASE_IMAGE" -t deployer .
#
# An image that exists is reused: the first run takes minutes (debootstrap downloads
# and unpacks Debian), later ones a second. The node tag carries the Node version, so
# upgrading Node here makes a new base. DEBIAN_MIRROR (default http://deb.debian.org/debian)
# picks the mirror. Needs root (debootstrap) and the docker CLI; installs debootstrap
# with apt-get when it is missing. Progress goes to stderr, the two lines to stdout.
set -euo pipefail

MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
LOCK="${TMPDIR:-/tmp}/deployer-local-base-image.lock"
HOST_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
IMAGE_CA_BUNDLE=/usr/local/share/deployer-local/host-ca-certificates.crt

log() { printf '[local-base-image] %s\n' "$*" >&2; }
die() {
  printf '[local-base-image] ERROR: %s\n' "$*" >&2
  exit 1
}
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

command -v docker >/dev/null || die "the docker CLI is needed (bash scripts/services.sh install)"
command -v node >/dev/null || die "Node 20 is needed on this machine: it is copied into the image"
NODE_VERSION="$(node -p 'process.versions.node')"
[[ ${NODE_VERSION%%.*} == 20 ]] || die "this machine's Node is $NODE_VERSION; the image needs Node 20"
NODE_IMAGE="deployer-local/node:$NODE_VERSION-$SUITE"

# One builder at a time: concurrent test runs wait for the first one's image.
exec 8>"$LOCK"
flock -w 1800 8 || die "another run holds $LOCK"

# node_files: this machine's Node — the node binary, and npm and npx as npm is
# installed now (it may have been upgraded since node's own package was installed) —
# one path per line, under the prefix node sits in (/usr for Debian and NodeSource
# packages, /usr/local for the official tarballs). No C headers or docs:
# node:20-bookworm-slim has none either.
node_files() {
  local prefix
  prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
  printf '%s\n' "$prefix/bin/node" "$prefix/bin/npm" "$prefix/bin/npx" "$prefix/lib/node_modules/npm" |
    sed 's|^/||'
}

# minimise_apt ROOT: what Debian's official images (and so node:20-bookworm-slim) set
# for apt and dpkg in containers: no downloaded packages or package caches left in
# layers, no docs, man pages or translations installed, no fsync during installs,
# no services started by package scripts.
minimise_apt() {
  local root=$1
  [[ $root == "${TMPDIR:-/tmp}"/deployer-rootfs-* && -d $root/etc/apt ]] || die "minimise_apt: '$root' is not a new root file system"
  # Package scripts do not start services during builds.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  printf 'Acquire::Languages "none";\n' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  printf 'Acquire::GzipIndexes "true";\n' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
  printf 'Apt::AutoRemove::SuggestsImportant "false";\n' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
  printf 'force-unsafe-io\n' >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOF
}

build_node_image() {
  if ! command -v debootstrap >/dev/null; then
    [[ $EUID -eq 0 ]] || die "debootstrap is missing and installing it needs root"
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >&2 ||
      { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >&2; } ||
      die "apt-get install debootstrap failed"
  fi
  [[ $EUID -eq 0 ]] || die "debootstrap needs root"
  local root t0=$SECONDS
  root="$(mktemp -d "${TMPDIR:-/tmp}/deployer-rootfs-XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$root'" EXIT
  log "debootstrap --variant=minbase $SUITE from $MIRROR (a few minutes the first time)"
  debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$root.log" 2>&1 || {
    tail -n 20 "$root.log" >&2
    die "debootstrap failed (log above)"
  }
  rm -f "$root.log"
  log "debootstrap done in $((SECONDS - t0))s; adding Node $NODE_VERSION"
  # Size, not function: downloaded packages, package lists, docs.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
  # The engine bind-mounts its own resolv.conf; the build machine's has no business here.
  : >"$root/etc/resolv.conf"
  minimise_apt "$root"
  node_files | tar -C / -cf - -T - | tar -C "$root" -xf -
  # This machine's CA certificates, for Node: where outgoing TLS goes through a
  # proxy with a CA of its own, npm in builds on this base trusts what this machine
  # trusts. A file of its own, as the ca-certificates package rewrites its bundle.
  local changes=()
  if [[ -s $HOST_CA_BUNDLE ]]; then
    install -D -m 644 "$HOST_CA_BUNDLE" "$root$IMAGE_CA_BUNDLE"
    changes+=(--change "ENV NODE_EXTRA_CA_CERTS=$IMAGE_CA_BUNDLE")
  fi
  local path=PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
  env -i "$path" chroot "$root" node --version >/dev/null || die "node does not run in the new root file system"
  env -i "$path" chroot "$root" npm --version >/dev/null || die "npm does not run in the new root file system"
  tar -C "$root" --numeric-owner -cf - . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' "${changes[@]}" \
    --message "debootstrap --variant=minbase $SUITE + Node $NODE_VERSION from the build machine" \
    - "$NODE_IMAGE" >/dev/null
  rm -rf "$root"
  trap - EXIT
  log "built $NODE_IMAGE in $((SECONDS - t0))s"
}

build_redis_image() {
  local t0=$SECONDS id
  log "building the redis image on $NODE_IMAGE"
  # The official image's defaults: data in /data, not root, protected mode off
  # (it is only reachable on the compose network).
  id="$(
    docker build -q --build-arg "BASE=$NODE_IMAGE" - <<'EOF'
ARG BASE
FROM ${BASE}
ARG BASE
LABEL deployer.local-base=${BASE}
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
  && rm -rf /var/lib/apt/lists/* \
  && mkdir /data && chown redis:redis /data
USER redis
WORKDIR /data
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
EOF
  )" || die "docker build of the redis image failed"
  local version
  version="$(docker run --rm "$id" redis-server --version | sed -n 's/.* v=\([0-9.]*\) .*/\1/p')"
  [[ -n $version ]] || die "redis-server --version gave no version"
  REDIS_IMAGE="deployer-local/redis:$version-$SUITE"
  docker tag "$id" "$REDIS_IMAGE"
  log "built $REDIS_IMAGE in $((SECONDS - t0))s"
}

image_exists "$NODE_IMAGE" || build_node_image
# The redis image is labelled with the node image it was built on, so one that
# exists is found without knowing the redis version in advance.
REDIS_IMAGE="$(docker image ls --filter "label=deployer.local-base=$NODE_IMAGE" --format '{{.Repository}}:{{.Tag}}' | head -n 1)"
if [[ -z $REDIS_IMAGE || $REDIS_IMAGE == *'<none>'* ]]; then
  build_redis_image
fi
printf 'BASE_IMAGE=%s\nREDIS_IMAGE=%s\n' "$NODE_IMAGE" "$REDIS_IMAGE"
