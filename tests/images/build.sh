#!/usr/bin/env bash
# Builds offline look-alikes of official images for the tests and benchmarks:
#   devenv-fixture/postgres:16, redis:7, mariadb:11, mysql:8.4 (the tests' set), and
#   memcached, rabbitmq, nats, mongo, redpanda, minio, mailpit (the scale set, bench/scale.sh)
# No registry is needed: a Debian root file system per set is built with
# debootstrap from the archive apt already uses, imported once as a base image,
# and each fixture is a config-only commit on top of it (they share one layer).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: tests/images/build.sh [--force] [NAME ...]

Builds offline look-alikes of official images (no registry needed).
The tests' set (root file system `main`):
  devenv-fixture/postgres:16   Debian's PostgreSQL 15, entrypoint like postgres:16
  devenv-fixture/redis:7       Debian's Redis 7.0, entrypoint like redis:7
  devenv-fixture/mariadb:11    Debian's MariaDB 10.11, entrypoint like mariadb:11
  devenv-fixture/mysql:8.4     the same MariaDB, configured like mysql:8.4
The scale set (root file system `extra`, for bench/scale.sh):
  devenv-fixture/memcached:1.6            Debian's Memcached
  devenv-fixture/rabbitmq:3-management    Debian's RabbitMQ 3.10, management plugin on
  devenv-fixture/nats:2                   Debian's nats-server 2.9
  devenv-fixture/mongo:7, redpanda:v24.2.7, minio:latest, mailpit:v1.21
      look-alikes (tests/images/lookalike.pl): their ports answer devenv's
      probes and the catalog's health checks, nothing more
NAME is one of the short names above (postgres ... mailpit), `main` or `extra`;
names limit the build to some of them (default: all).

A Debian root file system per set (debootstrap, from the mirror configured for
apt) is cached in ${XDG_CACHE_HOME:-~/.cache}/devenv-fixtures and imported as
devenv-fixture/base:<suite> (main) or devenv-fixture/base-extra:<suite>.
Images that exist and are up to date are skipped.

Options:
  --force     rebuild the root file system and re-import/rebuild every image
  -h, --help  show this help

Needs root (debootstrap) and a reachable Docker engine.
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/devenv-fixtures"

force=0
wanted=()
while (($#)); do
  case $1 in
    --force) force=1 ;;
    -h | --help) usage; exit 0 ;;
    postgres | redis | mariadb | mysql) wanted+=("$1") ;;
    memcached | rabbitmq | nats | mongo | redpanda | minio | mailpit) wanted+=("$1") ;;
    main) wanted+=(postgres redis mariadb mysql) ;;
    extra) wanted+=(memcached rabbitmq nats mongo redpanda minio mailpit) ;;
    *) echo "build.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
((${#wanted[@]})) || wanted=(postgres redis mariadb mysql memcached rabbitmq nats mongo redpanda minio mailpit)

log() { printf '[fixtures] %s\n' "$*" >&2; }
die() { printf '[fixtures] error: %s\n' "$*" >&2; exit 1; }
now_ms() { date +%s%3N; }
took() { # took LABEL START_MS
  local ms=$(($(now_ms) - $2))
  log "$(printf '%s took %d.%03d s' "$1" $((ms / 1000)) $((ms % 1000)))"
}

# --- preconditions ---------------------------------------------------------
command -v docker >/dev/null || die "docker CLI not found"
docker info >/dev/null 2>&1 ||
  die "Docker engine not reachable (is dockerd running? DOCKER_HOST=${DOCKER_HOST:-unset})"

suite=bookworm
if [[ -r /etc/os-release ]]; then
  # shellcheck disable=SC1091
  suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
fi

# shellcheck source=tests/images/fixtures.sh
. "$here/fixtures.sh"

# One build at a time (tests may call this script concurrently).
mkdir -p "$cache"
exec 9>"$cache/lock"
if ! flock -n 9; then
  log "another build is running, waiting for it"
  flock 9
fi

# Revision labels: an image whose label differs from the current inputs is outdated.
rootfs_rev_of() { printf '%s' "$(recipe_of "$1")" | sha256sum | cut -c1-16; }
base_rev_of() {
  # shellcheck disable=SC2046 # files_of lists plain names
  (recipe_of "$1"; cd "$here" && cat $(files_of "$1")) | sha256sum | cut -c1-16
}
image_rev() { (base_rev_of "$(set_of "$1")"; dockerfile_for "$1") | sha256sum | cut -c1-16; }
label_of() { # IMAGE -> value of devenv.fixture.rev ('' if image is missing)
  docker image inspect --format '{{index .Config.Labels "devenv.fixture.rev"}}' "$1" 2>/dev/null || true
}

# --- what needs doing ------------------------------------------------------
todo=()
sets=()
for name in "${wanted[@]}"; do
  tag=$(tag_for "$name")
  have=$(label_of "$tag")
  if ((force)); then
    todo+=("$name")
  elif [[ -z $have ]]; then
    todo+=("$name")
  elif [[ $have != "$(image_rev "$name")" ]]; then
    log "$tag exists but is outdated (inputs changed), rebuilding"
    todo+=("$name")
  else
    log "$tag already exists, skipping (use --force to rebuild)"
    continue
  fi
  [[ " ${sets[*]} " == *" $(set_of "$name") "* ]] || sets+=("$(set_of "$name")")
done
if ((${#todo[@]} == 0)); then
  log "nothing to do"
  exit 0
fi
t_all=$(now_ms)

# --- root file systems -----------------------------------------------------
# Unmount anything a failed debootstrap left mounted below DIR.
unmount_below() {
  local dir m
  dir=$(readlink -f "$1")
  awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts |
    sort -r | while read -r m; do umount -l "$m" || true; done
}

# Stop processes a package script may have started inside DIR (we started them).
kill_chroot_procs() {
  local dir p
  dir=$(readlink -f "$1")
  for p in /proc/[0-9]*; do
    [[ $(readlink "$p/root" 2>/dev/null) == "$dir" ]] || continue
    log "stopping stray process ${p#/proc/} left in the root file system"
    kill "${p#/proc/}" 2>/dev/null || true
  done
}

debian_mirror() {
  local m=""
  if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
    m=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [[ -z $m && -r /etc/apt/sources.list ]]; then
    m=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
  fi
  [[ -n $m ]] || die "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
  printf '%s\n' "$m"
}

# Set-specific changes to a fresh root file system DIR (bump the set's recipe in fixtures.sh
# when they change).
tweak_rootfs() { # SET DIR
  local tmp=$2
  case $1 in
    main)
      # Drop the cluster/data the Debian packages created; entrypoints init on first start.
      rm -rf "$tmp"/etc/postgresql/15/main "$tmp"/var/lib/postgresql/15
      find "$tmp"/var/lib/mysql -mindepth 1 -delete
      # MariaDB listens on all interfaces and skips DNS, like the official image.
      cat >"$tmp"/etc/mysql/mariadb.conf.d/99-devenv-fixture.cnf <<'EOF'
[mariadbd]
bind-address = 0.0.0.0
skip-name-resolve
host-cache-size = 0
EOF
      mkdir -p "$tmp"/docker-entrypoint-initdb.d "$tmp"/data
      # Socket directories (Docker mounts no tmpfs on /run), so --user works too.
      rm -rf "$tmp"/run/postgresql "$tmp"/run/mysqld
      mkdir -p "$tmp"/run/postgresql "$tmp"/run/mysqld
      chroot "$tmp" chown postgres:postgres /run/postgresql
      chroot "$tmp" chown mysql:mysql /run/mysqld
      chmod 3777 "$tmp"/run/postgresql
      ;;
    extra)
      # RabbitMQ starts empty (node data and cookie made on first start), with the
      # management plugin, as the official -management image.
      rm -rf "$tmp"/var/lib/rabbitmq/mnesia "$tmp"/var/lib/rabbitmq/.erlang.cookie \
        "$tmp"/var/log/rabbitmq/*
      echo '[rabbitmq_management].' >"$tmp"/etc/rabbitmq/enabled_plugins
      mkdir -p "$tmp"/data/db "$tmp"/var/lib/redpanda/data
      ;;
  esac
}

build_rootfs() { # SET
  ((EUID == 0)) || die "building the root file system needs root (debootstrap)"
  if ! command -v debootstrap >/dev/null; then
    local t
    t=$(now_ms)
    log "installing debootstrap"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
    took "installing debootstrap" "$t"
  fi
  local set=$1 mirror rootfs packages tmp dlog t
  rootfs=$(rootfs_dir_of "$set")
  packages=$(packages_of "$set")
  tmp="$rootfs.new"
  dlog="$cache/debootstrap-$set.log"
  mirror=$(debian_mirror)
  for d in "$tmp" "$rootfs"; do
    if [[ -e $d ]]; then unmount_below "$d"; rm -rf "$d"; fi
  done
  rm -f "$rootfs.stamp"
  mkdir -p "$cache/debs"

  log "debootstrap $suite (minbase + $packages), log: $dlog"
  t=$(now_ms)
  if ! debootstrap --variant=minbase --include="$packages" --cache-dir="$cache/debs" \
    "$suite" "$tmp" "$mirror" >"$dlog" 2>&1; then
    tail -n 20 "$dlog" >&2
    kill_chroot_procs "$tmp"
    unmount_below "$tmp"
    die "debootstrap failed (full log: $dlog)"
  fi
  kill_chroot_procs "$tmp"
  unmount_below "$tmp"
  took "debootstrap ($set)" "$t"

  t=$(now_ms)
  # Slim down: package cache, apt lists, docs.
  rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/* \
    "$tmp"/usr/share/doc/* "$tmp"/usr/share/man/* "$tmp"/usr/share/info/*
  tweak_rootfs "$set" "$tmp"
  mv "$tmp" "$rootfs"
  rootfs_rev_of "$set" >"$rootfs.stamp"
  took "root file system tweaks ($set)" "$t"
}

# --- base images -----------------------------------------------------------
# A set's root file system is only needed when its base image must be (re)imported.
old_bases=()
for set in "${sets[@]}"; do
  base_tag=$(base_tag_of "$set")
  base_rev=$(base_rev_of "$set")
  rootfs=$(rootfs_dir_of "$set")
  if ! ((force)) && [[ $(label_of "$base_tag") == "$base_rev" ]]; then
    log "$base_tag is up to date"
    continue
  fi
  if ((force)) || [[ ! -d $rootfs || $(cat "$rootfs.stamp" 2>/dev/null) != "$(rootfs_rev_of "$set")" ]]; then
    build_rootfs "$set"
  else
    log "reusing root file system in $rootfs"
  fi
  install_files "$set" "$rootfs"
  log "importing $base_tag"
  t=$(now_ms)
  old_bases+=("$(docker image inspect --format '{{.Id}}' "$base_tag" 2>/dev/null || true)")
  tar --numeric-owner -C "$rootfs" \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
    -c . |
    docker import -c "LABEL devenv.fixture.rev=$base_rev" - "$base_tag" >/dev/null
  took "import of $base_tag" "$t"
done

# --- fixture images (config-only commits on the base) ----------------------
# `docker import`/`commit -c` cannot set STOPSIGNAL, but a container's stop
# signal is kept by `docker commit`: create one (never started), commit it with
# the config lines, remove it. No registry, no build, no new files.
for name in "${todo[@]}"; do
  tag=$(tag_for "$name")
  t=$(now_ms)
  old=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
  create=(docker create)
  changes=(-c "LABEL devenv.fixture=$name devenv.fixture.rev=$(image_rev "$name")")
  while read -r line; do
    case $line in
      '' | '#'*) ;;
      STOPSIGNAL\ *) create+=(--stop-signal "${line#STOPSIGNAL }") ;;
      *) changes+=(-c "$line") ;;
    esac
  done < <(dockerfile_for "$name")
  ctr=$("${create[@]}" "$(base_tag_of "$(set_of "$name")")" true)
  docker commit "${changes[@]}" "$ctr" "$tag" >/dev/null || { docker rm "$ctr" >/dev/null; die "commit of $tag failed"; }
  docker rm "$ctr" >/dev/null
  new=$(docker image inspect --format '{{.Id}}' "$tag")
  [[ -z $old || $old == "$new" ]] || docker image rm "$old" >/dev/null 2>&1 || true
  took "commit of $tag" "$t"
done

# Drop the previous bases unless fixtures not rebuilt this time still use them.
for old_base in "${old_bases[@]}"; do
  [[ -z $old_base ]] || docker image rm "$old_base" >/dev/null 2>&1 || true
done

took "all" "$t_all"
docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' 'devenv-fixture/*' >&2
