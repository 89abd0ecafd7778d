#!/usr/bin/env bash
# The GPU check in one command, for an offline GPU machine (benchmarks/gpu_check.py does the work; docs say what it
# measures). Such a machine usually has torch but not nerfstudio, and no network: put nerfstudio's wheels for its
# Python in a folder of the checkout first (git-ignores .gpu-wheels/), then run there:
#
#   GPU_WHEELS=.gpu-wheels bash benchmarks/gpu_check.sh   # on the GPU machine; results in $OUT (or outputs/gpu_check)
#   bash benchmarks/gpu_check.sh --dry-run                # here: the same steps on the CPU at toy sizes
#
# Set-up, only where needed: the wheels in $GPU_WHEELS (default .gpu-wheels) go into a scratch site folder on
# PYTHONPATH and PATH; this package is installed editable without dependencies when its metadata (console scripts,
# nerfstudio method entry points) is missing. Extra arguments go to gpu_check.py (--plan, --budget-s, --iters,
# --skip ...).
set -u
cd "$(dirname "$0")/.." || exit 1
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
WHEELS=${GPU_WHEELS:-.gpu-wheels}

if compgen -G "$WHEELS/*.whl" >/dev/null; then
    SITE=${TMPDIR:-/tmp}/staf_gpu_site
    echo "installing $(ls "$WHEELS"/*.whl | wc -l) wheels from $WHEELS into $SITE"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
        "$WHEELS"/*.whl || { echo "gpu_check: installing the wheels in $WHEELS failed"; exit 1; }
    export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH} PATH=$SITE/bin:$PATH
fi
if ! "$PY" -c "import importlib.metadata as m; m.distribution('staf-nerfstudio')" 2>/dev/null; then
    echo "installing this package (pip install --no-deps --no-build-isolation -e .)"
    "$PY" -m pip install -q --no-deps --no-build-isolation -e . || {
        echo "gpu_check: pip install -e . failed; registering the methods through NERFSTUDIO_METHOD_CONFIGS instead"
        export NERFSTUDIO_METHOD_CONFIGS="staf=staf_nerfstudio.nerf.method_configs:staf_method,staf-hash=staf_nerfstudio.nerf.method_configs:staf_hash_method"
    }
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
exec "$PY" benchmarks/gpu_check.py "$@"
