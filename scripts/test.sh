#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing, builds, runs.
# Tests start their own redis-server on free loopback ports and stop it by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)   # quick-start.e2e runs the doc's curl commands
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "[test] installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # Debian starts a system redis on 6379; the suite uses its own servers only.
  $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || $SUDO service redis-server stop >/dev/null 2>&1 || true
fi

node scripts/ensure-install.mjs
node scripts/build.mjs

mapfile -t files < <(find packages apps -path '*/node_modules' -prune -o -path '*/dist/test/*' -name '*.test.js' -print | sort)
echo "[test] ${#files[@]} test files"
# TAP on stdout (what CI reads); a spec report beside it, whose "failing tests" section is
# repeated at the end, so a red run names its failures in the last lines of the log.
spec=$(mktemp)
set +e
node --test --test-concurrency="${KEYWARD_TEST_CONCURRENCY:-2}" --test-timeout=900000 \
  --test-reporter=tap --test-reporter-destination=stdout \
  --test-reporter=spec --test-reporter-destination="$spec" "${files[@]}"
code=$?
set -e
if [ "$code" -ne 0 ]; then
  echo "# failing tests (the spec reporter's summary):"
  sed -n '/failing tests:/,$p' "$spec" | head -n 400 | sed 's/^/# /'
fi
rm -f "$spec"
exit "$code"
