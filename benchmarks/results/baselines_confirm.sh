#!/usr/bin/env bash
# Full-budget confirmation of the sweep's best STAF candidate against the strongest tuned baseline, in resumable
# pieces: staf-fit writes a checkpoint every 50 epochs, so a killed queue continues where it stopped when run again
# (finished runs, those with metrics.json, are skipped). One CPU core; about 20-40 min a run.
#   bash benchmarks/results/baselines_confirm.sh [OUT=outputs/baselines_confirm]
# Then: python benchmarks/results/baselines_collect.py OUT  (or read OUT/*/metrics.json: final.psnr).
# Runs, for SEEDS (default 1) and the five images at 256x256, 501 epochs (8016 steps, the image preset's budget):
#   staf-ws1.5: the default STAF with weight scaling 1.5  (--models.staf.weight-scale 1.5)
#   siren-ws2:  SIREN with weight scaling 2 (--config image_siren_ws), the strongest baseline of the screen
#   siren-ws1.5-o60: the SIREN twin of staf-ws1.5 (SIREN's init at omega 60/30, weights x1.5): the same init without
#               the learned harmonics
#   staf:       the default STAF, and finer: FINER at its own protocol (--config image_finer)
set -u
OUT=${1:-outputs/baselines_confirm}
SEEDS=${SEEDS:-1}
FIT=${FIT:-.venv/bin/staf-fit}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
run() {  # run NAME SEED IMAGE FLAGS...
  local name=$1 seed=$2 image=$3; shift 3
  local dir="$OUT/$name-$image-s$seed"
  if [ -f "$dir/metrics.json" ]; then echo "done: $dir"; return; fi
  if [ -f "$dir/checkpoint.pt" ]; then
    nice -n 10 $FIT image --resume "$dir" --no-progress
  else
    nice -n 10 $FIT image --data "$image" --size 256 256 --seed "$seed" --output-dir "$OUT" \
      --name "$(basename "$dir")" --no-progress "$@"
  fi
}
for seed in $SEEDS; do
  for image in astronaut camera coffee chelsea rocket; do
    run staf-ws1.5 "$seed" "$image" --model staf --models.staf.weight-scale 1.5
    run siren-ws2 "$seed" "$image" --config image_siren_ws
    run siren-ws1.5-o60 "$seed" "$image" --model siren --models.siren.first-omega 60 --models.siren.weight-scale 1.5
  done
done
for seed in $SEEDS; do
  for image in astronaut camera coffee chelsea rocket; do
    run staf "$seed" "$image" --model staf
    run finer "$seed" "$image" --config image_finer
    # FINER at its own image script's lr 5e-4 too: at lr 1e-4 it is still rising at the end of the full budget
    run finer-lr5e-4 "$seed" "$image" --config image_finer --train.lr 5e-4
  done
done
