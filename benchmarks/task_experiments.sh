#!/usr/bin/env bash
# The issue-3 comparisons behind the README's tables (CPU, 2 cores: about two hours without "paper", which adds
# about an hour more on an idle machine). One seed each; budgets in optimizer steps of 4096 pixels.
#   image, map, variants: 800 steps (50 epochs at 256x256, 200 at 128x128) and 80 steps.
#   paper: the paper's 501 epochs (8016 steps at 256x256, 2004 at 128x128) and a tenth of it (50 epochs).
#   audio, audio-omega, shape, sr, denoise: the quick presets (configs/*_quick.yaml).
# Usage: bash benchmarks/task_experiments.sh [OUT_DIR] [PART...]
#   parts: image map audio shape variants paper audio-omega sr denoise (default: all of them)
set -euo pipefail
OUT=${1:-outputs/experiments}
shift || true
PARTS=${*:-image map audio shape variants paper audio-omega sr denoise}
BENCH="${BENCH:-.venv/bin/staf-bench}"
COMMON=(--no-progress --data astronaut)

for part in $PARTS; do
  case $part in
    image)  # all six models, the authors' image preset, astronaut at 256x256, 50 epochs (800 steps)
      $BENCH image --models staf,siren,finer,wire,gauss,relu-pe "${COMMON[@]}" --size 256 256 \
        --train.epochs 50 --train.eval-every 5 --output-dir "$OUT" --name image-256-e50 ;;
    map)  # STAF vs SIREN at two resolutions and two budgets (800 steps and a tenth of it; 256 full = part image)
      for spec in "128 20 2" "128 200 10" "256 5 1"; do
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
    variants)  # settings that might change the picture, at 128x128 for the full 800 steps
      for v in "noskip --models.staf.no-skip" "actlr10 --train.activation-lr-scale 10"; do
        set -- $v
        name=$1; shift
        $BENCH image --models staf "${COMMON[@]}" --size 128 128 --train.epochs 200 --train.eval-every 10 \
          --output-dir "$OUT" --name "variant-128-$name" "$@"
      done
      for v in "actlr10 --train.activation-lr-scale 10" "actlr30 --train.activation-lr-scale 30" \
               "hidden10 --models.staf.hidden-omega 10" "hidden5 --models.staf.hidden-omega 5" \
               "hidden10-actlr10 --models.staf.hidden-omega 10 --train.activation-lr-scale 10"; do
        set -- $v
        name=$1; shift
        $BENCH image --models staf "${COMMON[@]}" --size 256 256 --train.epochs 50 --train.eval-every 5 \
          --output-dir "$OUT" --name "variant-256-$name" "$@"
      done ;;
    paper)  # STAF (as published and with activation lr x10) vs SIREN at the paper's budget and a tenth of it
      for spec in "128 50 5" "128 501 25" "256 501 25"; do
        set -- $spec
        $BENCH image --models staf,siren "${COMMON[@]}" --size "$1" "$1" --train.epochs "$2" \
          --train.eval-every "$3" --output-dir "$OUT" --name "paper-$1-e$2"
        $BENCH image --models staf "${COMMON[@]}" --size "$1" "$1" --train.epochs "$2" \
          --train.eval-every "$3" --train.activation-lr-scale 10 --output-dir "$OUT" --name "paper-$1-e$2-actlr10"
      done ;;
    audio-omega)  # STAF's hidden-layer omega on audio (the authors' 30 does not learn here; quick preset otherwise)
      for hidden in 5 10 15; do
        $BENCH audio --models staf --config configs/audio_quick.yaml --models.staf.hidden-omega "$hidden" \
          --no-progress --output-dir "$OUT" --name "audio-quick-hidden$hidden"
      done ;;
    sr|denoise)  # the quick presets (256x256 astronaut, 20 epochs), STAF vs SIREN
      $BENCH "$part" --models staf,siren --config "configs/${part}_quick.yaml" --no-progress \
        --output-dir "$OUT" --name "$part-quick" ;;
    *) echo "unknown part $part" >&2; exit 2 ;;
  esac
done
