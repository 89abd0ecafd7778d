#!/usr/bin/env bash
# The issue-3 comparisons behind the README's tables (CPU, 2 cores: about two hours in all).
# Usage: bash benchmarks/task_experiments.sh [OUT_DIR] [PART...]   parts: image map audio shape variants
set -euo pipefail
OUT=${1:-outputs/experiments}
shift || true
PARTS=${*:-image map audio shape variants}
BENCH="${BENCH:-.venv/bin/staf-bench}"
COMMON=(--no-progress --data astronaut)

for part in $PARTS; do
  case $part in
    image)  # all six models, the authors' image preset, astronaut at 256x256, 50 epochs (800 steps)
      $BENCH image --models staf,siren,finer,wire,gauss,relu-pe "${COMMON[@]}" --size 256 256 \
        --train.epochs 50 --train.eval-every 5 --output-dir "$OUT" --name image-256-e50 ;;
    map)  # STAF vs SIREN at two resolutions and two budgets (2000 steps and a tenth of it)
      for spec in "128 50 5" "128 501 25" "256 13 1" "256 125 5"; do
        set -- $spec
        $BENCH image --models staf,siren "${COMMON[@]}" --size "$1" "$1" --train.epochs "$2" \
          --train.eval-every "$3" --output-dir "$OUT" --name "map-$1-e$2"
      done ;;
    audio)
      $BENCH audio --models staf,siren,finer --config configs/audio_quick.yaml --no-progress \
        --output-dir "$OUT" --name audio-quick ;;
    shape)
      $BENCH shape --models staf,siren,relu-pe --config configs/shape_quick.yaml --no-progress \
        --output-dir "$OUT" --name shape-quick ;;
    variants)  # settings that might change the picture, at 128x128 for the full 501 epochs
      for v in "unit --models.staf.init unit" "noskip --models.staf.no-skip" "actlr10 --train.activation-lr-scale 10" \
               "tau2 --models.staf.tau 2" "omega30 --models.staf.first-omega 30"; do
        set -- $v
        name=$1; shift
        $BENCH image --models staf "${COMMON[@]}" --size 128 128 --train.epochs 501 --train.eval-every 25 \
          --output-dir "$OUT" --name "variant-128-$name" "$@"
      done ;;
    *) echo "unknown part $part" >&2; exit 2 ;;
  esac
done
