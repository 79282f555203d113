#!/usr/bin/env bash
# `make run`: migrate, load the demo shop on first run, start the worker and the web server.
set -euo pipefail
port=${1:-8000}
py=.venv/bin/python
"$py" -m huitouke migrate --noinput -v 0
if ! "$py" -m huitouke shop list | cut -f1 | grep -qx demo; then
    echo "First run: building the demo shop (5,000 customers, two years of orders)…"
    "$py" -m huitouke demo
    echo "Scoring the demo customers (segments, P(alive), CLV, auto-tags)…"
    "$py" -m huitouke analytics refresh --shop demo
fi
"$py" -m huitouke collectstatic --noinput -v 0
"$py" -m huitouke worker > var/worker.log 2>&1 &
worker=$!
trap 'kill "$worker" 2>/dev/null || true' EXIT INT TERM
password=$(cat var/demo_password 2>/dev/null || echo "(see var/demo_password)")
cat <<MSG

  huitouke is running:   http://127.0.0.1:${port}/
  demo login:            demo / ${password}
  platform mode:         demo-platform / ${password}  (operator; a merchant's till: demo-laowang)
  API docs:              http://127.0.0.1:${port}/api/v1/docs
  background worker:     pid ${worker} (log: var/worker.log)
  stop with Ctrl-C

MSG
"$py" -m huitouke serve --bind "127.0.0.1:${port}" --no-collectstatic
