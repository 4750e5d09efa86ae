#!/usr/bin/env bash
# Builds devenv in release mode and installs it (default ~/.local/bin/devenv).
#
#   ./install.sh                     install into ~/.local/bin
#   ./install.sh --prefix DIR        install into DIR/bin
#   ./install.sh --offline-images    also build local look-alikes of postgres:16, redis:7 and
#                                    mariadb:11 and map those names onto them in your devenv
#                                    config, for machines that reach no container registry
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

prefix="$HOME/.local"
offline=0
while (($#)); do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a directory}; shift ;;
    --offline-images) offline=1 ;;
    -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

missing=0
if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo is missing: install Rust from your package manager or rustup (https://rustup.rs)" >&2
  missing=1
fi
if ! command -v docker >/dev/null 2>&1; then
  echo "install.sh: the docker CLI is missing: devenv needs a Docker Engine (Linux: apt-get install docker.io; macOS/Windows: Docker Desktop)" >&2
elif ! docker info >/dev/null 2>&1; then
  echo "install.sh: warning: no Docker Engine answers right now; start it before \`devenv up\` (\`devenv doctor\` will say why)" >&2
fi
((missing == 0)) || exit 1
# The bundled example's apps: its api makes a virtualenv, its web page needs `node --env-file`.
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "install.sh: note: the example's api needs python3 with venv (Debian: apt-get install python3-venv)" >&2
fi
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a == 20 && b >= 6) ? 0 : 1)' >/dev/null 2>&1; then
  echo "install.sh: note: the example's web page needs Node 20.6 or newer (for --env-file)" >&2
fi

cargo build --release --locked
install -d "$prefix/bin"
install -m 755 "${CARGO_TARGET_DIR:-target}/release/devenv" "$prefix/bin/devenv"
echo "installed $prefix/bin/devenv ($("$prefix/bin/devenv" --version))"
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "note: $prefix/bin is not on your PATH; add it: export PATH=\"$prefix/bin:\$PATH\"" ;;
esac

if ((offline)); then
  bash tests/images/build.sh main
  config_dir="${XDG_CONFIG_HOME:-$HOME/.config}/devenv"
  config="$config_dir/config.toml"
  mkdir -p "$config_dir"
  touch "$config"
  if grep -q 'devenv-fixture/' "$config"; then
    echo "$config already maps images onto the local look-alikes"
  else
    mapping='"postgres:16" = "devenv-fixture/postgres:16"
"redis:7" = "devenv-fixture/redis:7"
"mariadb:11" = "devenv-fixture/mariadb:11"'
    if grep -q '^\[images\]' "$config"; then
      tmp=$(mktemp)
      awk -v m="$mapping" '{ print } /^\[images\]/ { print m }' "$config" >"$tmp" && mv "$tmp" "$config"
    else
      printf '\n[images]\n%s\n' "$mapping" >>"$config"
    fi
    echo "mapped postgres:16, redis:7 and mariadb:11 onto local look-alikes in $config"
  fi
fi
