#!/usr/bin/env bash
# Drift benchmark: mlgov, the NumPy floor, NannyML, a SciPy loop and Evidently on equal work, same run.
# NannyML and Evidently do not import with pandas 3, so they live in their own venv ($BENCH_VENV,
# default .bench-venv at the repo root; made on first use) with pandas<3 and run as subprocesses.
# Usage: benchmarks/run.sh [--quick] [--sizes 1000000x50,200000x20] [--rounds 2] [--shift 0.1]
#                          [--only floor,mlgov,...] [--no-peers] [--json FILE]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${MLGOV_PYTHON:-$ROOT/.venv/bin/python}"
BENCH_VENV="${BENCH_VENV:-$ROOT/.bench-venv}"
args=()
peers=1
for a in "$@"; do
  if [ "$a" = "--no-peers" ]; then peers=0; else args+=("$a"); fi
done
if [ "$peers" = 1 ]; then
  if [ ! -x "$BENCH_VENV/bin/python" ] || ! "$BENCH_VENV/bin/python" -c "import evidently, nannyml" 2>/dev/null; then
    echo "creating $BENCH_VENV with evidently, nannyml and pandas<3 (once) ..." >&2
    python3 -m venv "$BENCH_VENV"
    "$BENCH_VENV/bin/pip" install -q --upgrade pip
    "$BENCH_VENV/bin/pip" install -q "evidently>=0.7,<0.8" "nannyml>=0.13,<0.14" "pandas<3" pyarrow scipy
  fi
  args+=(--peer-python "$BENCH_VENV/bin/python")
fi
exec "$PY" "$ROOT/benchmarks/drift_benchmark.py" --python "$PY" ${args[@]+"${args[@]}"}
