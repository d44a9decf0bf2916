#!/usr/bin/env bash
# Screenshots of the web page (derive --format html) in headless Chromium, to look at:
#   examples/screenshot_html.sh [OUTDIR] [HEIGHT]     (default /tmp/html_shots, 1600 px)
# One PNG per example: the seed's 2-3-1 network, the softmax classifier and the RNN.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-/tmp/html_shots}"
height="${2:-1600}"
mkdir -p "$out"
browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
[ -n "$browser" ] || { echo "no chromium on PATH" >&2; exit 1; }
for spec in 2-3-1 examples/softmax-4-5-3.toml examples/rnn-1-1-1.toml; do
  name="$(basename "$spec" .toml)"
  python -m symbackprop derive "$spec" --format html -o "$out/$name.html"
  "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="1200,$height" \
    --screenshot="$out/$name.png" "file://$(realpath "$out/$name.html")" 2>/dev/null
  echo "$out/$name.png"
done
