#!/usr/bin/env bash
# The declared minimum versions, tried: Python 3.10 with torch 2.2.2, numpy 1.24.0, scipy 1.15.0, matplotlib 3.7.0,
# pillow 9.1.0 and tqdm 4.60.0 (pyproject.toml's floors), then the tests in that environment.
#   bash scripts/check_minimums.sh VENV [PYTEST ARGS ...]
#   e.g. bash scripts/check_minimums.sh ~/venv310 -m "not slow"
# VENV is made with $PYTHON310 (default python3.10) if it does not exist; the swapnas of this checkout is installed
# into it (editable, no dependencies). PyPI's torch 2.2.2 is the CUDA build: about 3 GB of wheels the first time.
set -euo pipefail
venv=$1
shift
root="$(cd "$(dirname "$0")/.." && pwd)"
[ -x "$venv/bin/python" ] || "${PYTHON310:-python3.10}" -m venv "$venv"
"$venv/bin/python" -m pip install -q torch==2.2.2 numpy==1.24.0 scipy==1.15.0 matplotlib==3.7.0 pillow==9.1.0 \
    tqdm==4.60.0 pytest hypothesis
"$venv/bin/python" -m pip install -q --no-deps -e "$root"
"$venv/bin/python" -c "import sys, numpy, PIL, torch
print('python', sys.version.split()[0], '| torch', torch.__version__, '| numpy', numpy.__version__,
      '| pillow', PIL.__version__)"
cd "$root"
export OMP_NUM_THREADS=1 SWAPNAS_DATA="${SWAPNAS_DATA:-$root/../shared/data}"
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests "$@"
