#!/usr/bin/env bash
# The papers' settings on a machine with CUDA: the CUDA smoke tests, then every figure's FULL
# recipe, cheapest first (the order of benchmarks/full_cost.py's estimates on 2 CPU cores), each
# its own `interp reproduce --full --device cuda` call into one folder, so the report grows
# figure by figure and a run cut short resumes where it stopped (finished runs and figures are
# kept). Usage: scripts/full_recipes_gpu.sh [OUT]   (default runs/full)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-runs/full}"
make install
python_bin=.venv/bin/python
"$python_bin" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device: this script is for a GPU machine')"
"$python_bin" -m pytest -q tests/test_cuda.py
FIGURES=(appC_allocation chinchilla emergence_fig2_laws emergence_fig3_compute
         emergence_fig1_time skill_resources fig2_square fig6_ensembling fig4_series fig7_redundancy fig8_layers
         emergence_fig4_transformer emergence_fig1_params emergence_fig1_data fig5_functions fig3_parallel
         lm_resources lm_family)
for fig in "${FIGURES[@]}"; do
  echo "== $fig ($(date -u +%H:%M:%S))"
  .venv/bin/interp reproduce --full --device cuda --out "$OUT" "$fig" || echo "!! $fig failed (see $OUT/$fig.error.txt); going on"
done
echo "report: $OUT/REPORT.md"
