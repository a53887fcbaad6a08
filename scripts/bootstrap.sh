#!/bin/sh
# Installs only what is missing for `npm start` / `npm test`: node modules, the build, redis-server.
# Says each thing it does; does nothing when everything is in place.
set -eu
cd "$(dirname "$0")/.."
purpose="${1:-start}"
say() { echo "bootstrap: $*" >&2; }

major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then say "Node.js >= 20 is required (found $(node --version))"; exit 1; fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing dependencies (npm ci)"
  npm ci --no-audit --no-fund >&2
fi

if [ ! -f dist/cli.js ] || [ -n "$(find src package.json tsconfig.json tsconfig.build.json -newer dist/cli.js -type f 2>/dev/null | head -n 1)" ]; then
  say "building (npm run build)"
  npm run --silent build >&2
fi

install_pkg() { # command, Debian package
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing $2 (apt-get install $2)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2
  else
    say "$1 is missing: install the Debian package $2 (sudo apt-get install $2)"
    return 1
  fi
}

install_pkg redis-server redis-server
if [ "$purpose" = test ]; then
  install_pkg promtool prometheus || say "promtool missing: the metrics-format tests will fail"
  install_pkg systemd-analyze systemd || say "systemd-analyze missing: the unit-file test will fail"
  install_pkg faketime faketime || say "faketime missing: the clock-step test will fail"
  install_pkg tc iproute2 || say "ip/tc missing: the black-hole fault tests will fail"
  install_pkg tmux tmux || say "tmux missing: the terminal tests will fail"
fi
