#!/usr/bin/env bash
# What the tests need beyond the .NET SDK, installed only when missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

apt_packages=()
/usr/bin/python3 -c 'import websockets, httpx' 2>/dev/null || apt_packages+=(python3-websockets python3-httpx)
# Debian's Chromium for the dashboard's browser tests (playwright-core drives it; never a browser download).
[ -x /usr/bin/chromium ] || apt_packages+=(chromium)
# Redis 7 for the scale-out tests (Felix.Tests/Scaleout start their own redis-server on a free loopback port).
command -v redis-server >/dev/null 2>&1 || apt_packages+=(redis-server)
# The commands in the README and docs/ that Felix.Tests/Docs runs as written.
for tool in curl jq openssl; do
  command -v "$tool" >/dev/null 2>&1 || apt_packages+=("$tool")
done
if [ ${#apt_packages[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi

if [ -f "$root/tests/js/package.json" ] && [ ! -d "$root/tests/js/node_modules" ]; then
  (cd "$root/tests/js" && npm ci --no-audit --no-fund --loglevel=error)
fi

# playwright-core for tests/browser, the SignalR packages the dashboard's vendored lib/ files are checked against, and the
# reference AG-UI client (@ag-ui/client) for tests/agui.
for dir in tests/browser clients/web tests/agui; do
  if [ -f "$root/$dir/package-lock.json" ] && [ ! -d "$root/$dir/node_modules" ]; then
    (cd "$root/$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
