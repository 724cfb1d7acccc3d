#!/usr/bin/env bash
# Headless Chromium for the HTML report's print test (tests/report_print.rs) and for
# anyone who wants a PDF of a report.
#
#   bash scripts/chromium.sh install               # Debian's chromium + poppler-utils (pdftotext, pdftoppm), as root
#   bash scripts/chromium.sh print-pdf IN.html OUT.pdf
#
# Printing runs Chromium with a fresh profile, no sandbox (we run as root in CI), no
# GPU and nothing that talks to the network, and without the browser's own header
# and footer, so the PDF holds the report alone.
set -euo pipefail

find_chromium() {
  command -v chromium || command -v chromium-browser || true
}

case "${1:-}" in
  install)
    missing=()
    [ -n "$(find_chromium)" ] || missing+=(chromium)
    command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
    if [ ${#missing[@]} -gt 0 ]; then
      if [ "$(id -u)" -ne 0 ]; then
        echo "scripts/chromium.sh: ${missing[*]} missing; run this as root to install" >&2
        exit 1
      fi
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "${missing[@]}" fonts-dejavu-core >/dev/null
    fi
    "$(find_chromium)" --version
    # sed reads to the end: with pipefail, head could leave pdftotext a SIGPIPE (exit 141).
    pdftotext -v 2>&1 | sed -n 1p
    ;;
  print-pdf)
    in="${2:?usage: chromium.sh print-pdf IN.html OUT.pdf}"
    out="${3:?usage: chromium.sh print-pdf IN.html OUT.pdf}"
    bin="$(find_chromium)"
    if [ -z "$bin" ]; then
      echo "scripts/chromium.sh: chromium is not installed: run 'bash scripts/chromium.sh install' as root" >&2
      exit 127
    fi
    profile="$(mktemp -d)"
    trap 'rm -rf "$profile"' EXIT
    in_abs="$(cd "$(dirname "$in")" && pwd)/$(basename "$in")"
    rm -f "$out"
    timeout 180 "$bin" --headless --no-sandbox --disable-gpu \
      --disable-background-networking --disable-component-update --disable-sync \
      --no-first-run --no-default-browser-check --user-data-dir="$profile" \
      --no-pdf-header-footer --print-to-pdf-no-header \
      --print-to-pdf="$out" "file://$in_abs" >"$profile/log" 2>&1 || {
        cat "$profile/log" >&2
        exit 1
      }
    if [ ! -s "$out" ]; then
      cat "$profile/log" >&2
      echo "scripts/chromium.sh: no PDF written to $out" >&2
      exit 1
    fi
    ;;
  *)
    echo "usage: $0 install | print-pdf IN.html OUT.pdf" >&2
    exit 2
    ;;
esac
