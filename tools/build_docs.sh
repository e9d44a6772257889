#!/usr/bin/env bash
# Build the documentation site with every warning an error:
#   bash tools/build_docs.sh [OUTPUT_DIR]
# into OUTPUT_DIR, or into a new temporary directory, whose path it prints.
# Needs backprop installed with the docs extra: pip install '.[docs]'.
# sphinx-gallery runs docs/gallery/plot_*.py and writes its pages to
# docs/auto_examples/ (ignored by git); they are made afresh each time, so
# that the gallery shows what the examples do now.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-$(mktemp -d)}"
rm -rf docs/auto_examples docs/sg_execution_times.rst
started=$SECONDS
python -m sphinx -W --keep-going -b html docs "$out"
echo "== docs built into $out in $((SECONDS - started)) s"
