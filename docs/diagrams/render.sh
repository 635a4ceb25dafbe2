#!/usr/bin/env bash
# Renders every Graphviz source in this folder (*.dot) to the SVG beside it
# (*.svg), which docs/architecture.md embeds. Commit both.
#
#   docs/diagrams/render.sh           re-render every diagram
#   docs/diagrams/render.sh --check   render to a scratch folder and compare:
#                                     exit 1 if a committed SVG is missing or
#                                     differs from its source's rendering
#
# Needs Graphviz's dot and the DejaVu fonts the sources name (Debian 12:
# apt-get install -y graphviz fonts-dejavu-core). The output is deterministic:
# the same sources and the same Graphviz give byte-identical SVGs (no dates,
# no paths; files are rendered in a fixed order with a fixed locale).
set -euo pipefail

export LC_ALL=C
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

check=0
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  *)
    echo "usage: $0 [--check]" >&2
    exit 2
    ;;
esac

if ! command -v dot >/dev/null 2>&1; then
  echo "ERROR: Graphviz's dot is missing (Debian: apt-get install -y graphviz fonts-dejavu-core)" >&2
  exit 1
fi

shopt -s nullglob
sources=(*.dot)
if [ "${#sources[@]}" -eq 0 ]; then
  echo "ERROR: no *.dot file in $here" >&2
  exit 1
fi

out="$here"
if [ "$check" = 1 ]; then
  out="$(mktemp -d)"
  trap 'rm -rf -- "$out"' EXIT
fi

status=0
for src in "${sources[@]}"; do
  svg="${src%.dot}.svg"
  dot -Tsvg "$src" -o "$out/$svg"
  if [ "$check" = 1 ]; then
    if [ ! -f "$svg" ]; then
      echo "MISSING  $svg (run $0)"
      status=1
    elif ! cmp -s "$out/$svg" "$svg"; then
      echo "STALE    $svg (run $0)"
      status=1
    else
      echo "ok       $svg"
    fi
  else
    echo "rendered $svg"
  fi
done
exit "$status"
