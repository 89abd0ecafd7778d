#!/usr/bin/env bash
# The task comparisons behind the results tables of docs/results*.md (CPU, 2 cores: about two hours without
# "paper", which adds about an hour more on an idle machine). One seed each; budgets in optimizer steps of 4096 pixels.
#   image, map, variants: 800 steps (50 epochs at 256x256, 200 at 128x128) and 80 steps.
#   paper: the paper's 501 epochs (8016 steps at 256x256, 2004 at 128x128) and a tenth of it (50 epochs).
#   audio, audio-omega, shape, sr, denoise: the quick presets (configs/*_quick.yaml).
#   defaults: the package's STAF defaults (init "siren") against SIREN and FINER, the table of docs/results.md (6-8 hours).
# Every part but "defaults" measures the authors' STAF (--config <task>_paper); before the defaults changed to init
# "siren" those were the defaults, so the authors' STAF tables of docs/results-*.md reproduce exactly.
# Usage: bash benchmarks/task_experiments.sh [OUT_DIR] [PART...]
#   parts: image map audio shape variants paper audio-omega sr denoise defaults (default: all but defaults)
set -euo pipefail
OUT=${1:-outputs/experiments}
shift || true
PARTS=${*:-image map audio shape variants paper audio-omega sr denoise}
BENCH="${BENCH:-.venv/bin/staf-bench}"
COMMON=(--no-progress --data astronaut --config image_paper)  # the authors' image preset; flags after it set the rest
# The quick presets' budgets on the authors' presets (configs/<task>_quick.yaml applies them to the defaults).
AUDIO_PAPER_QUICK=(--config audio_paper --max-seconds 0.5 --train.epochs 300 --train.eval-every 10)
SHAPE_PAPER_QUICK=(--config shape_paper --resolution 64 --chamfer-points 30000 --train.epochs 40
                   --train.batch-size 16384 --train.eval-every 4)

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
      $BENCH audio --models staf,siren,finer "${AUDIO_PAPER_QUICK[@]}" --no-progress \
        --output-dir "$OUT" --name audio-quick ;;
    shape)
      $BENCH shape --models staf,siren,relu-pe "${SHAPE_PAPER_QUICK[@]}" --no-progress \
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
        $BENCH audio --models staf "${AUDIO_PAPER_QUICK[@]}" --models.staf.hidden-omega "$hidden" \
          --no-progress --output-dir "$OUT" --name "audio-quick-hidden$hidden"
      done ;;
    sr|denoise)  # the quick presets (256x256 astronaut, 20 epochs), STAF vs SIREN
      $BENCH "$part" --models staf,siren --config "${part}_paper" --max-side 256 --train.epochs 20 \
        --train.eval-every 2 --no-progress \
        --output-dir "$OUT" --name "$part-quick" ;;
    defaults)  # STAF's defaults (init "siren") against SIREN and FINER; quick presets unless said
      for image in astronaut camera coffee; do
        $BENCH image --models staf,siren,finer --data "$image" --size 256 256 --train.eval-every 25 --no-progress \
          --output-dir "$OUT" --name "defaults-$image-256-full"  # the paper's budget (8016 steps), 20-40 min a fit
        $BENCH image --models staf,siren,finer --data "$image" --size 512 512 --train.epochs 50 \
          --train.eval-every 5 --no-progress --output-dir "$OUT" --name "defaults-$image-512-e50"  # 3200 steps
      done
      for task in audio sr denoise; do
        $BENCH "$task" --models staf,siren --seeds 3 --config "${task}_quick" --no-progress \
          --output-dir "$OUT" --name "defaults-$task-quick"
        $BENCH "$task" --models finer --config "${task}_quick" --no-progress --output-dir "$OUT" \
          --name "defaults-$task-quick-finer"
      done
      $BENCH shape --models staf,siren --seeds 3 --config shape_quick --no-progress --output-dir "$OUT" \
        --name defaults-shape-quick
      $BENCH shape --models staf --seeds 3 --config shape_quick --train.activation-lr-scale 0.1 --no-progress \
        --output-dir "$OUT" --name defaults-shape-quick-actlr01  # the ablation in docs/results-tasks.md (shape)
      # the 800-step image rows (3 images, 2 seeds) and the NeRF rows have their own scripts:
      #   python benchmarks/staf_search.py --epochs 50 --images astronaut camera coffee --seeds 0 1 \
      #     --variants staf-init-siren siren finer staf-paper
      #   python benchmarks/bench_nerf.py --only staf --seeds 1 2 3 --flags="--pipeline.model.staf-init siren"
      ;;
    *) echo "unknown part $part" >&2; exit 2 ;;
  esac
done
