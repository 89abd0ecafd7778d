#!/usr/bin/env bash
# The GPU check of issue 15 in one command (benchmarks/gpu_check.py does the work; README "Fast paths" says how to
# call it on the lent GPU machine).
#
#   cp -r ../shared/gpu-wheels .gpu-wheels      # once, here: nerfstudio's wheels for the GPU machine (git-ignored)
#   bash benchmarks/gpu_check.sh                # there, with .gpu-wheels carried; results in $OUT
#   bash benchmarks/gpu_check.sh --dry-run      # here: the same steps on the CPU at toy sizes (GPU_CHECK_DRY_RUN=1)
#
# Set-up, only where needed: the wheels in $GPU_WHEELS (default .gpu-wheels) go into a scratch site folder on
# PYTHONPATH and PATH (the GPU machine has torch but not nerfstudio and has no network); this package is installed
# editable without dependencies when its metadata (console scripts, nerfstudio method entry points) is missing.
# Extra arguments go to gpu_check.py (--plan, --budget-s, --iters, --skip ...).
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
