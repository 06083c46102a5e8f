#!/usr/bin/env bash
# Installs what certharvest needs on a Debian machine that has only Node and npm:
#   - npm packages, when node_modules is missing or older than package.json / package-lock.json;
#   - Debian's redis-server, when no redis-server is on PATH and REDIS_URL is not set;
#   - Debian's chromium, when CHROMIUM_PATH is not set and /usr/bin/chromium is missing.
#   - with --tests: Debian's xvfb, when Xvfb is missing (the test of `auth session capture` runs a
#     headed browser on a virtual display).
# Prints what it installs and why; skips what is already there. Safe to run again.
set -euo pipefail

cd "$(dirname "$0")/.."
for_tests=false
for arg in "$@"; do
  case "$arg" in
    --tests) for_tests=true ;;
    *) printf 'setup: unknown option %s (known: --tests)\n' "$arg" >&2; exit 2 ;;
  esac
done
say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 2; }

# --- Node ------------------------------------------------------------------------------------
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$node_major" -ge 20 ] || die "Node.js 20 or newer is needed (found: $(node -v 2>/dev/null || echo none))"

# --- npm packages ----------------------------------------------------------------------------
# The sandbox package (packages/sandbox/: the simulated LMS of the demo, `sandbox` and the tests) is
# a dev dependency of its own (@certharvest/sandbox), installed with the rest; its package.json
# counts too. The image leaves it out (Dockerfile: npm ci --omit=dev).
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package.json -nt "$stamp" ] || [ packages/sandbox/package.json -nt "$stamp" ] \
  || { [ -f package-lock.json ] && [ package-lock.json -nt "$stamp" ]; }; then
  # `npm ci`: exactly the lock file (it records every platform's optional packages), as the image does.
  say "installing npm packages (npm ci): node_modules is missing or older than package.json / package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
  # npm ci ran the `prepare` script, which builds dist/ and stamps it (dist/.build-stamp).
fi

# --- the build (dist/: what the commands run and `import 'certharvest'` loads) ----------------
if [ ! -f dist/.build-stamp ] || [ -n "$(find src jobs tsconfig.json tsconfig.build.json -newer dist/.build-stamp -type f 2>/dev/null | head -1)" ]; then
  say "building dist/: sources changed since the last build"
  npm run build --silent
fi

# --- Debian packages -------------------------------------------------------------------------
apt_packages=()
if [ -z "${REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
  say "redis-server is missing (REDIS_URL is not set): will install Debian's redis-server"
  apt_packages+=(redis-server)
fi
if [ -n "${CHROMIUM_PATH:-}" ]; then
  [ -x "$CHROMIUM_PATH" ] || die "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable file"
elif [ ! -x /usr/bin/chromium ]; then
  say "Chromium is missing (/usr/bin/chromium, CHROMIUM_PATH not set): will install Debian's chromium"
  apt_packages+=(chromium)
fi

if [ "$for_tests" = true ] && ! command -v Xvfb >/dev/null 2>&1; then
  say "Xvfb is missing (needed by the tests): will install Debian's xvfb"
  apt_packages+=(xvfb)
fi

if [ "${#apt_packages[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    die "cannot install ${apt_packages[*]}: not root and no password-less sudo. Install them yourself:
    sudo apt-get install -y ${apt_packages[*]}
  or set REDIS_URL to a Redis >= 6.2 server and CHROMIUM_PATH to a Chromium executable."
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install ${apt_packages[*]} with your package manager"
  export DEBIAN_FRONTEND=noninteractive
  # Package lists are empty on a fresh image; refresh them when the package is not known yet.
  if ! apt-cache show "${apt_packages[0]}" >/dev/null 2>&1; then
    say "refreshing Debian package lists (apt-get update)"
    "${sudo[@]}" apt-get update -qq || die "apt-get update failed"
  fi
  say "installing ${apt_packages[*]} (apt-get install)"
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null \
    || die "apt-get install ${apt_packages[*]} failed"
  say "installed ${apt_packages[*]}"
fi
