#!/usr/bin/env bash
# Make sure headless Chromium is installed for the browser tests (tests/book/test_browser.py).
# Debian/Ubuntu: installs Debian's `chromium` with apt-get (as root, or with sudo when it
# needs no password). Elsewhere it prints what to install; the browser tests then skip
# with that message, except under CI (CI=true), where they fail.
set -u
for b in "${LLMBOOK_CHROMIUM:-}" chromium chromium-browser google-chrome; do
  if [ -n "$b" ] && command -v "$b" >/dev/null 2>&1; then
    echo "browser: $(command -v "$b")"
    exit 0
  fi
done
sudo=""
[ "$(id -u)" -ne 0 ] && sudo -n true 2>/dev/null && sudo="sudo -n"
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; }; then
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q chromium >/dev/null 2>&1 \
    || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q chromium >/dev/null; } \
    || { echo "could not install chromium with apt-get" >&2; exit 1; }
  echo "browser: installed Debian's chromium"
  exit 0
fi
cat >&2 <<'MSG'
WARNING: no Chromium found, so the browser tests of the site will be skipped.
Install it and re-run, for example:
  Debian/Ubuntu:  sudo apt-get install chromium
  or point LLMBOOK_CHROMIUM at a Chrome/Chromium executable.
MSG
exit 0
