# Sourced by the bench scripts: the release build, a private user config with image
# rewrites, the PostgreSQL stack they share, time, medians, free ports, and whether devenv has
# a flag.

# Builds devenv in release mode and sets $devenv to it (honours CARGO_TARGET_DIR).
build_devenv() {
  cargo build --release --quiet
  local target=${CARGO_TARGET_DIR:-target}
  [[ $target == /* ]] || target="$PWD/$target"
  devenv="$target/release/devenv"
}

# A private user config in DIR mapping official image names onto fixtures: FROM=TO... Also
# turns the seeded-volume cache off (a cold `up` is measured cold, beside peers that have
# none) with its background builds (they would go on after the bench, leaving snapshots
# behind, and load the machine while it measures); cache.sh turns it on again.
use_fixture_images() { # DIR FROM=TO...
  export DEVENV_NO_CACHE=1 DEVENV_CACHE_BUILD=never
  export XDG_CONFIG_HOME="$1/config"
  shift
  mkdir -p "$XDG_CONFIG_HOME/devenv"
  {
    echo '[images]'
    local pair
    for pair in "$@"; do printf '"%s" = "%s"\n' "${pair%%=*}" "${pair#*=}"; done
  } >"$XDG_CONFIG_HOME/devenv/config.toml"
}

# A PostgreSQL stack named NAME (user and database `shop`, a generated password); with
# `database`, also its DATABASE_URL, migrations/ and seeds/.
postgres_stack() { # NAME [database]
  cat <<TOML
[project]
name = "$1"

[services.db]
use = "postgres"
image = "postgres:16"
env = { POSTGRES_USER = "shop", POSTGRES_PASSWORD = "\${DB_PASSWORD}", POSTGRES_DB = "shop" }

[env.DB_PASSWORD]
secret = true
TOML
  [[ ${2:-} == database ]] || return 0
  cat <<'TOML'

[env.DATABASE_URL]
value = "postgres://shop:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/shop"

[database]
service = "db"
url = "${DATABASE_URL}"
migrations = "migrations"
seeds = ["seeds"]
TOML
}

now_ms() { date +%s%3N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
# Median of the arguments.
m() { printf '%s\n' "$@" | median; }
# A ratio A/B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", (b > 0) ? a / b : 0 }'; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Whether `devenv COMMAND --help` lists FLAG.
has_flag() { # FLAG COMMAND...
  local flag=$1
  shift
  "$devenv" "$@" --help 2>/dev/null | grep -q -- "$flag\b"
}

# Whether psql logs in on 127.0.0.1:PORT as USER to DB with PASSWORD.
psql_login() { # PORT USER DB PASSWORD
  PGPASSWORD=$4 PGCONNECT_TIMEOUT=1 psql -h 127.0.0.1 -p "$1" -U "$2" -d "$3" -tAc 'select 1' >/dev/null 2>&1
}
wait_psql() { until psql_login "$@"; do sleep 0.02; done; }

# Whether Redis on 127.0.0.1:PORT answers PING.
redis_pong() { # PORT
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'PING\r\n' >&3
  local reply=""
  read -r -t 1 reply <&3 || true
  exec 3<&-
  [[ $reply == +PONG* ]]
}
wait_redis() { until redis_pong "$1" 2>/dev/null; do sleep 0.02; done; }
