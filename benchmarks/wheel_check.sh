#!/usr/bin/env bash
# The package as a user installs it, not editable: build the wheel, install it into a fresh virtual environment
# (pinned by constraints-cpu.txt), and run it from a folder outside the checkout, so that nothing is imported from the
# source tree: staf-fit with a preset (package data), ns-train's help for the registered method (entry points) and
# the C++ kernel (its source ships in the wheel and is compiled at first use, into a fresh cache).
#
#   bash benchmarks/wheel_check.sh [VENV_DIR]        # default: $TMPDIR/staf-wheel-check, replaced if present
#
# WHEEL_CHECK_REUSE=SITE_PACKAGES skips downloading the dependencies: the wheel goes in with --no-deps and a .pth
# file puts that existing site-packages folder (e.g. .venv/lib/python3.11/site-packages) behind the fresh
# environment's own, so the package itself still comes from the wheel. Exit status 0 when every step passes.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
VENV=${1:-${TMPDIR:-/tmp}/staf-wheel-check}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/staf-wheel-check-work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
step() { echo "[$(date +%H:%M:%S)] $*"; }

step "1/6 building the wheel from a copy of the package (nothing is written into the checkout)"
mkdir -p "$WORK/src"
cp pyproject.toml README.md LICENSE "$WORK/src/"
tar --exclude=__pycache__ --exclude='*.pyc' -cf - staf_nerfstudio staf_tasks | tar -xf - -C "$WORK/src"
"$PY" -m pip wheel -q --no-deps "$WORK/src" -w "$WORK/dist"
WHEEL=$(ls "$WORK"/dist/staf_nerfstudio-*.whl)
step "    $(basename "$WHEEL"): $(unzip -l "$WHEEL" | tail -1 | awk '{print $2}') files"

step "2/6 a fresh virtual environment: $VENV"
rm -rf "$VENV"
"$PY" -m venv "$VENV"
VPY=$VENV/bin/python
if [ -n "${WHEEL_CHECK_REUSE:-}" ]; then
    step "3/6 installing the wheel without dependencies; dependencies from $WHEEL_CHECK_REUSE (a .pth file)"
    "$VPY" -m pip install -q --no-deps "$WHEEL"
    SITE=$("$VPY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    realpath "$WHEEL_CHECK_REUSE" > "$SITE/zz_reused_site_packages.pth"
else
    step "3/6 installing the wheel and its dependencies (-c constraints-cpu.txt)"
    "$VPY" -m pip install -q --upgrade pip
    "$VPY" -m pip install -q -c "$ROOT/constraints-cpu.txt" "$WHEEL"
fi

cd "$WORK"  # outside the checkout
where=$("$VPY" -c "import staf_nerfstudio, staf_tasks; print(staf_nerfstudio.__file__, staf_tasks.__file__)")
case $where in
    *"$ROOT"*) echo "wheel_check: the package was imported from the checkout ($where), not from the wheel"; exit 1 ;;
esac
step "    imported from $where"

step "4/6 staf-fit image --config image_quick (at a 32x32 size and 1 epoch)"
"$VENV/bin/staf-fit" image --config image_quick --size 32 32 --train.epochs 1 --no-progress \
    --output-dir "$WORK/out" --name wheel-check
test -s "$WORK/out/wheel-check/metrics.json"
grep -q "model: staf" "$WORK/out/wheel-check/config.yml"

step "5/6 ns-train staf --help"
NS_TRAIN=("$VENV/bin/ns-train")
if [ ! -x "${NS_TRAIN[0]}" ]; then  # WHEEL_CHECK_REUSE: nerfstudio's console scripts live in the reused folder's venv
    NS_TRAIN=("$VPY" -c "import sys; from nerfstudio.scripts.train import entrypoint; sys.argv[0] = 'ns-train'; entrypoint()")
fi
"${NS_TRAIN[@]}" staf --help > "$WORK/ns-train-help.txt"
grep -q -- "--pipeline.model.tau" "$WORK/ns-train-help.txt"
grep -q -- "--pipeline.model.first-omega" "$WORK/ns-train-help.txt"

step "6/6 the C++ kernel, compiled from the wheel's source into a fresh cache, against the reference"
STAF_KERNEL_CACHE="$WORK/kernel-cache" "$VPY" - <<'EOF'
import torch

from staf_nerfstudio import staf_activation, staf_reference
from staf_nerfstudio.kernels.cpu_staf import cpu_kernel_status

status = cpu_kernel_status()
assert status == "ok", f"the C++ kernel is not available: {status}"
torch.manual_seed(0)
z = torch.randn(257, 33, dtype=torch.float64, requires_grad=True)
params = [torch.randn(5, dtype=torch.float64, requires_grad=True) for _ in range(3)]
out = staf_activation(z, *params, implementation="cpp")
ref = staf_reference(z, *params)
grads = torch.autograd.grad(out.sum(), [z, *params])
ref_grads = torch.autograd.grad(ref.sum(), [z, *params])
assert torch.allclose(out, ref, rtol=1e-10, atol=1e-12)
assert all(torch.allclose(g, r, rtol=1e-9, atol=1e-10) for g, r in zip(grads, ref_grads))
print(f"    kernel {status}: outputs and gradients equal the reference (float64)")
EOF
step "wheel check passed"
