#!/usr/bin/env bash
# Builds offline look-alikes of official images for the tests:
#   devenv-fixture/postgres:16, devenv-fixture/redis:7, devenv-fixture/mariadb:11
# No registry is needed: one Debian root file system is built with debootstrap
# from the archive apt already uses, imported once as a base image, and each
# fixture is a config-only commit on top of it (they share one layer).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: tests/images/build.sh [--force] [postgres|redis|mariadb ...]

Builds offline look-alikes of official images (no registry needed):
  devenv-fixture/postgres:16   Debian's PostgreSQL 15, entrypoint like postgres:16
  devenv-fixture/redis:7       Debian's Redis 7.0, entrypoint like redis:7
  devenv-fixture/mariadb:11    Debian's MariaDB 10.11, entrypoint like mariadb:11
Names limit the build to some of them (default: all).

A Debian root file system (debootstrap, from the mirror configured for apt) is
cached in ${XDG_CACHE_HOME:-~/.cache}/devenv-fixtures and imported as
devenv-fixture/base:<suite>. Images that exist and are up to date are skipped.

Options:
  --force     rebuild the root file system and re-import/rebuild every image
  -h, --help  show this help

Needs root (debootstrap) and a reachable Docker engine.
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/devenv-fixtures"
rootfs="$cache/rootfs"
stamp="$cache/rootfs.stamp"

force=0
wanted=()
while (($#)); do
  case $1 in
    --force) force=1 ;;
    -h | --help) usage; exit 0 ;;
    postgres | redis | mariadb) wanted+=("$1") ;;
    *) echo "build.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
((${#wanted[@]})) || wanted=(postgres redis mariadb)

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
base_tag="devenv-fixture/base:$suite"

# Packages in the shared root file system (minbase adds only Essential + apt).
packages=postgresql-15,redis-server,mariadb-server

# Changing anything here or in the rootfs tweaks below? Bump this.
rootfs_recipe="v1 $suite minbase $packages"
rootfs_rev=$(printf '%s' "$rootfs_recipe" | sha256sum | cut -c1-16)

# One build at a time (tests may call this script concurrently).
mkdir -p "$cache"
exec 9>"$cache/lock"
if ! flock -n 9; then
  log "another build is running, waiting for it"
  flock 9
fi

# --- per-image settings ----------------------------------------------------
# Config of each fixture: Dockerfile-style lines applied to the base image.
dockerfile_for() {
  local std_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  case $1 in
    postgres)
      cat <<EOF
ENV PATH=/usr/lib/postgresql/15/bin:$std_path LANG=C.UTF-8 PGDATA=/var/lib/postgresql/data
VOLUME /var/lib/postgresql/data
ENTRYPOINT ["/usr/local/bin/docker-entrypoint-postgres.sh"]
# Fast shutdown on docker stop, as in the official image.
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
EOF
      ;;
    redis)
      cat <<EOF
ENV PATH=$std_path LANG=C.UTF-8
VOLUME /data
WORKDIR /data
ENTRYPOINT ["/usr/local/bin/docker-entrypoint-redis.sh"]
EXPOSE 6379
CMD ["redis-server"]
EOF
      ;;
    mariadb)
      cat <<EOF
ENV PATH=$std_path LANG=C.UTF-8
VOLUME /var/lib/mysql
ENTRYPOINT ["/usr/local/bin/docker-entrypoint-mariadb.sh"]
EXPOSE 3306
CMD ["mariadbd"]
EOF
      ;;
  esac
}

tag_for() {
  case $1 in
    postgres) echo devenv-fixture/postgres:16 ;;
    redis) echo devenv-fixture/redis:7 ;;
    mariadb) echo devenv-fixture/mariadb:11 ;;
  esac
}

# Files copied from this directory into the root file system.
entrypoint_files=(postgres-entrypoint.sh redis-entrypoint.sh mariadb-entrypoint.sh mariadb-healthcheck.sh)
install_entrypoints() { # DIR
  install -m 0755 "$here/postgres-entrypoint.sh" "$1/usr/local/bin/docker-entrypoint-postgres.sh"
  install -m 0755 "$here/redis-entrypoint.sh" "$1/usr/local/bin/docker-entrypoint-redis.sh"
  install -m 0755 "$here/mariadb-entrypoint.sh" "$1/usr/local/bin/docker-entrypoint-mariadb.sh"
  install -m 0755 "$here/mariadb-healthcheck.sh" "$1/usr/local/bin/healthcheck.sh"
}

# Revision labels: an image whose label differs from the current inputs is outdated.
base_rev=$( (echo "$rootfs_recipe"; cd "$here" && cat "${entrypoint_files[@]}") | sha256sum | cut -c1-16)
image_rev() { (echo "$base_rev"; dockerfile_for "$1") | sha256sum | cut -c1-16; }
label_of() { # IMAGE -> value of devenv.fixture.rev ('' if image is missing)
  docker image inspect --format '{{index .Config.Labels "devenv.fixture.rev"}}' "$1" 2>/dev/null || true
}

# --- what needs doing ------------------------------------------------------
todo=()
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
  fi
done
if ((${#todo[@]} == 0)); then
  log "nothing to do"
  exit 0
fi
t_all=$(now_ms)

# --- root file system ------------------------------------------------------
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

build_rootfs() {
  ((EUID == 0)) || die "building the root file system needs root (debootstrap)"
  if ! command -v debootstrap >/dev/null; then
    local t
    t=$(now_ms)
    log "installing debootstrap"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
    took "installing debootstrap" "$t"
  fi
  local mirror tmp="$cache/rootfs.new" dlog="$cache/debootstrap.log" t
  mirror=$(debian_mirror)
  for d in "$tmp" "$rootfs"; do
    if [[ -e $d ]]; then unmount_below "$d"; rm -rf "$d"; fi
  done
  rm -f "$stamp"
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
  took "debootstrap" "$t"

  t=$(now_ms)
  # Slim down: package cache, apt lists, docs.
  rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/* \
    "$tmp"/usr/share/doc/* "$tmp"/usr/share/man/* "$tmp"/usr/share/info/*
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
  mv "$tmp" "$rootfs"
  echo "$rootfs_rev" >"$stamp"
  took "root file system tweaks" "$t"
}

# --- base image ------------------------------------------------------------
# The root file system is only needed when the base image must be (re)imported.
if ((force)) || [[ $(label_of "$base_tag") != "$base_rev" ]]; then
  if ((force)) || [[ ! -d $rootfs || $(cat "$stamp" 2>/dev/null) != "$rootfs_rev" ]]; then
    build_rootfs
  else
    log "reusing root file system in $rootfs"
  fi
  install_entrypoints "$rootfs"
  log "importing $base_tag"
  t=$(now_ms)
  old_base=$(docker image inspect --format '{{.Id}}' "$base_tag" 2>/dev/null || true)
  tar --numeric-owner -C "$rootfs" \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
    -c . |
    docker import -c "LABEL devenv.fixture.rev=$base_rev" - "$base_tag" >/dev/null
  took "import of $base_tag" "$t"
else
  log "$base_tag is up to date"
fi

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
  ctr=$("${create[@]}" "$base_tag" true)
  docker commit "${changes[@]}" "$ctr" "$tag" >/dev/null || { docker rm "$ctr" >/dev/null; die "commit of $tag failed"; }
  docker rm "$ctr" >/dev/null
  new=$(docker image inspect --format '{{.Id}}' "$tag")
  [[ -z $old || $old == "$new" ]] || docker image rm "$old" >/dev/null 2>&1 || true
  took "commit of $tag" "$t"
done

# Drop the previous base unless fixtures not rebuilt this time still use it.
[[ -z ${old_base:-} ]] || docker image rm "$old_base" >/dev/null 2>&1 || true

took "all" "$t_all"
docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' 'devenv-fixture/*' >&2
