#!/usr/bin/env bash
# Drift benchmark: mlgov vs Evidently's DataDriftPreset, same data, same run.
# Evidently does not import with pandas 3, so it lives in its own venv ($BENCH_VENV,
# default .bench-venv at the repo root) with pandas<3 and runs as a subprocess.
# Usage: benchmarks/run.sh [--sizes 1000000x50,200000x20] [--skip-evidently] [--evidently-rows N]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${MLGOV_PYTHON:-$ROOT/.venv/bin/python}"
BENCH_VENV="${BENCH_VENV:-$ROOT/.bench-venv}"
if [ ! -x "$BENCH_VENV/bin/python" ] || ! "$BENCH_VENV/bin/python" -c "import evidently" 2>/dev/null; then
  echo "creating $BENCH_VENV with evidently and pandas<3 ..." >&2
  python3 -m venv "$BENCH_VENV"
  "$BENCH_VENV/bin/pip" install -q --upgrade pip
  "$BENCH_VENV/bin/pip" install -q "evidently>=0.7,<0.8" "pandas<3" pyarrow
fi
exec "$PY" "$ROOT/benchmarks/drift_benchmark.py" --evidently-python "$BENCH_VENV/bin/python" "$@"
