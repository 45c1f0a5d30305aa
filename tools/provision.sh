#!/usr/bin/env bash
# System packages the course's tests and website need, installed only when missing (`make setup` and .ci/run run this):
#   chromium    headless browser for tests/test_browser.py and tests/test_site.py (Debian's package; never `playwright install`)
#   bubblewrap  `bwrap`, a sandbox for running submitted homework
#   npm         fetches MathJax (npm package mathjax@3.2.2) once for the course website
# It installs with apt-get, as root or with passwordless sudo. Anywhere else it prints one line saying what it
# skipped and how to install it, and exits 0 (the browser tests then skip, unless GNNREC_REQUIRE_BROWSER is set).
# A failed apt-get is a warning, or an error when GNNREC_REQUIRE_BROWSER is set (CI).
#
#   tools/provision.sh            install what is missing
#   tools/provision.sh --dry-run  say what would be installed, install nothing
#
# GNNREC_CHROMIUM, when set, is the Chromium to check instead of /usr/bin/chromium.
set -euo pipefail

dry_run=0
if [ "${1:-}" = "--dry-run" ]; then dry_run=1; fi

chromium="${GNNREC_CHROMIUM:-/usr/bin/chromium}"
missing=()   # Debian package names
[ -x "$chromium" ] || missing+=(chromium)
command -v bwrap > /dev/null 2>&1 || missing+=(bubblewrap)
command -v npm > /dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
    echo "provision: chromium ($chromium), bubblewrap and npm are installed"
    exit 0
fi
howto="apt-get install -y ${missing[*]} (or your system's packages of the same names)"

if ! command -v apt-get > /dev/null 2>&1; then
    echo "provision: skipped ${missing[*]}: not a Debian or Ubuntu system; install them with your package manager, like $howto"
    exit 0
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
    if command -v sudo > /dev/null 2>&1 && sudo -n true 2> /dev/null; then
        sudo=(sudo -n)
    else
        echo "provision: skipped ${missing[*]}: needs root or passwordless sudo; run: sudo $howto"
        exit 0
    fi
fi

if [ "$dry_run" = 1 ]; then
    apt="${sudo[*]:+${sudo[*]} }apt-get"
    echo "provision: --dry-run: ${missing[*]} missing; would run: $apt update && $apt install -y ${missing[*]}"
    exit 0
fi
echo "provision: installing ${missing[*]} with apt-get"
if "${sudo[@]}" apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" > /dev/null; then
    echo "provision: installed ${missing[*]}"
    if [ ! -x "$chromium" ]; then
        echo "provision: GNNREC_CHROMIUM=$chromium is still no program; Debian's Chromium is /usr/bin/chromium"
    fi
    exit 0
fi
echo "provision: apt-get could not install ${missing[*]}; run: $howto" >&2
if [ -n "${GNNREC_REQUIRE_BROWSER:-}" ]; then exit 1; fi
exit 0
