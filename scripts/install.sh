#!/usr/bin/env bash
# Installs HeatBridge into a root file system: the application under /opt/quantum/heat-bridge, then
# the spec's deployment steps 1–3 (config, systemd unit, start). With TARGET_ROOT / it changes the live
# system and runs systemctl; with any other directory it lays out the same files there and prints the
# systemctl commands it would run (for packaging, containers and tests).
#
#   sudo scripts/install.sh /              install, enable and start on this machine
#   sudo scripts/install.sh --no-start /   install and enable; start after editing the config
#   scripts/install.sh /tmp/root           same files under /tmp/root, no systemctl
#
# The config file is never overwritten: an existing /etc/quantum/heat-bridge.env is kept as it is.
set -euo pipefail

usage() { echo "usage: $0 [--no-start] TARGET_ROOT" >&2; exit 2; }
say() { echo "install: $*"; }

start=yes
case "${1:-}" in
  --no-start) start=no; shift ;;
  -h | --help) usage ;;
esac
[ $# -eq 1 ] || usage
[ -d "$1" ] || { echo "install: TARGET_ROOT $1 is not a directory" >&2; exit 2; }

src="$(cd "$(dirname "$0")/.." && pwd -P)"
root="$(cd "$1" && pwd -P)"
live=no
[ "$root" = / ] && live=yes
prefix="${root%/}"
app="$prefix/opt/quantum/heat-bridge"
env_file="$prefix/etc/quantum/heat-bridge.env"
unit_dir="$prefix/etc/systemd/system"
unit=quantum-heat-bridge.service

if [ "$live" = yes ] && [ "$(id -u)" != 0 ]; then
  echo "install: installing into / needs root (sudo $0 $*)" >&2
  exit 1
fi

# systemctl on the live system; elsewhere only what would run.
systemctl_() {
  if [ "$live" = yes ]; then
    say "running: systemctl $*"
    systemctl "$@"
  else
    say "would run: systemctl $*"
  fi
}

# --- Step 0: the application ---------------------------------------------------
# A source checkout builds when dist/ is missing or older than src/; a release copy (no src/) must carry dist/.
if [ -d "$src/src" ]; then
  if [ ! -f "$src/dist/cli.js" ] || [ -n "$(find "$src/src" "$src/package.json" -newer "$src/dist/cli.js" -type f 2>/dev/null | head -n 1)" ]; then
    say "building (npm run build)"
    (cd "$src" && npm run --silent build) >&2
  fi
fi
[ -f "$src/dist/cli.js" ] || { echo "install: $src/dist/cli.js is missing; run npm run build" >&2; exit 1; }

say "installing the application into $app"
mkdir -p "$app"
# Replace code directories whole so files removed upstream do not linger.
for dir in bin dist scripts deployment; do
  rm -rf "${app:?}/$dir"
  cp -R "$src/$dir" "$app/$dir"
done
for file in package.json package-lock.json README.md CHANGELOG.md; do
  if [ -f "$src/$file" ]; then cp "$src/$file" "$app/$file"; fi
done
# Only the runtime dependencies (ioredis, pino, prom-client and theirs), from the lock file: no npm, no network.
rm -rf "${app:?}/node_modules"
mkdir -p "$app/node_modules"
node -e '
  const lock = require(process.argv[1]);
  for (const [path, meta] of Object.entries(lock.packages ?? {})) {
    if (path !== "" && !meta.dev && !meta.link && !path.slice(13).includes("/node_modules/")) console.log(path);
  }' "$src/package-lock.json" | while read -r dep; do
  if [ -d "$src/$dep" ]; then
    mkdir -p "$app/$(dirname "$dep")"
    cp -R "$src/$dep" "$app/$dep"
  fi
done
chmod -R u=rwX,go=rX "$app"

mkdir -p "$prefix/usr/local/bin"
ln -sfn /opt/quantum/heat-bridge/bin/heat-bridge.js "$prefix/usr/local/bin/heat-bridge"
say "linked /usr/local/bin/heat-bridge → /opt/quantum/heat-bridge/bin/heat-bridge.js"

# --- Step 1: configuration -----------------------------------------------------
mkdir -p "$(dirname "$env_file")"
if [ -e "$env_file" ]; then
  say "keeping the existing $env_file (never overwritten; compare with $app/deployment/config/heat-bridge.env)"
else
  cp "$src/deployment/config/heat-bridge.env" "$env_file"
  say "installed $env_file (the defaults)"
fi
chmod 600 "$env_file"
if [ "$(id -u)" = 0 ]; then
  chown root:root "$env_file"
else
  say "not root: $env_file keeps its owner $(id -un); on a live system it is root:root"
fi

# --- Step 2: the systemd unit ------------------------------------------------
mkdir -p "$unit_dir"
cp "$src/deployment/systemd/$unit" "$unit_dir/$unit"
chmod 644 "$unit_dir/$unit"
say "installed $unit_dir/$unit"
if [ "$live" = yes ] && [ ! -x /usr/bin/node ]; then
  say "warning: /usr/bin/node is missing; the unit's ExecStart needs Node.js >= 20 there"
fi
systemctl_ daemon-reload
systemctl_ enable "${unit%.service}"

# --- Step 3: start ---------------------------------------------------------------
if [ "$start" = yes ]; then
  systemctl_ restart "${unit%.service}"
  systemctl_ --no-pager status "${unit%.service}" || true
else
  say "not started (--no-start): edit $env_file, then: sudo systemctl start ${unit%.service}"
fi
say "done; verify with: bash /opt/quantum/heat-bridge/scripts/proof_p27_heat_bridge.sh"
