#!/usr/bin/env bash
# Debian packages the project uses: fonts for tattoo lettering (see ../shared/data/designs/FONTS.md)
# and Chromium for the web page's browser test. Skips quietly what is already installed.
set -uo pipefail
FONTS="fonts-blankenburg fonts-gamaliel fonts-dancingscript fonts-kaushanscript fonts-lobster
fonts-levien-typoscript fonts-joscelyn fonts-kristi fonts-dkg-handwriting fonts-klaudia-berenika
fonts-aoyagi-kouzan-t"
BROWSER="chromium"
missing=()
for p in $FONTS $BROWSER; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing system packages: ${missing[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}") >/tmp/skindeep-apt.log 2>&1 \
      || echo "warning: apt-get failed (see /tmp/skindeep-apt.log); lettering falls back to Pillow's font and the browser test skips"
  else
    echo "warning: not root or no apt-get; missing system packages: ${missing[*]}"
  fi
fi
exit 0
