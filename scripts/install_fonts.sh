#!/usr/bin/env bash
# Make sure a CJK font is installed, so that figures can carry Chinese labels.
# Debian/Ubuntu: installs fonts-wqy-microhei with apt-get (as root, or with sudo
# when it needs no password). Elsewhere it prints what to install.
set -u
if command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh | grep -q .; then
  echo "CJK font: $(fc-list :lang=zh family | head -n 1)"
  exit 0
fi
for f in /System/Library/Fonts/PingFang.ttc /Library/Fonts/Arial\ Unicode.ttf; do
  [ -f "$f" ] && { echo "CJK font: $f"; exit 0; }
done
sudo=""
[ "$(id -u)" -ne 0 ] && sudo -n true 2>/dev/null && sudo="sudo -n"
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; }; then
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q fonts-wqy-microhei >/dev/null 2>&1 \
    || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q fonts-wqy-microhei >/dev/null; } \
    || { echo "could not install fonts-wqy-microhei with apt-get" >&2; exit 1; }
  echo "CJK font: installed fonts-wqy-microhei"
  exit 0
fi
cat >&2 <<'MSG'
WARNING: no CJK font found, so Chinese labels in figures would render as boxes
and the -W site build would fail. Install one and re-run, for example:
  Debian/Ubuntu:  sudo apt-get install fonts-wqy-microhei
  Fedora:         sudo dnf install wqy-microhei-fonts
  conda:          conda install -c conda-forge font-ttf-noto-cjk
MSG
exit 0
