#!/usr/bin/env bash
# The baseline and STAF-candidate sweep as one unattended job for an offline GPU machine (results appended as JSON
# lines; every line holds the command that reruns it alone). Usage: bash benchmarks/results/baselines_sweep_gpu.sh OUT
#   1. screen: every baseline setting and STAF candidate of benchmarks/staf_search.py, five images, 256x256,
#      50 epochs (800 steps = 1/10 of the image preset's budget), seed 0;
#   2. the best setting of each family by mean rank over the five images (SIREN 1, FINER 1, STAF candidates 2), with
#      the default STAF and the authors' SIREN, at the full budget (501 epochs = 8016 steps), seed 0;
#   3. the same at 512x512, 50 epochs (3200 steps), seed 0;  4. the screen budget with seed 1;  5. the full budget
#      with seed 1. A stage starts only while the job has time left (LIMIT seconds, default 480).
set -u
OUT=${1:?give an output folder}
LIMIT=${LIMIT:-480}
W=${WORKERS:-8}
IMAGES="astronaut camera coffee chelsea rocket"
PY=${PYTHON:-python3}
# A dry run on a CPU: DEVICE=cpu SMALL=32 BIG=48 EP=2 FULL=3 bash benchmarks/results/baselines_sweep_gpu.sh /tmp/dry
SMALL=${SMALL:-256}; BIG=${BIG:-512}; EP=${EP:-50}; FULL=${FULL:-501}
S="$PY benchmarks/staf_search.py --device ${DEVICE:-cuda} --workers $W --images $IMAGES"
ALL=$($PY -c "import sys; sys.path.insert(0, 'benchmarks'); import staf_search as s
print(' '.join(list(s.BASELINES) + list(s.STAF_CANDIDATES)))")
PICK="--select $OUT/screen.jsonl --top siren=1 finer=1 staf=2 --variants staf-default siren"
stage() { if [ "$SECONDS" -lt "$LIMIT" ]; then echo "== $1 at ${SECONDS}s"; shift; "$@"; else echo "== skip $1"; fi; }
mkdir -p "$OUT"
stage screen $S --out "$OUT/screen.jsonl" --variants $ALL --size $SMALL --epochs $EP --seeds 0
stage full-s0 $S --out "$OUT/full.jsonl" $PICK --size $SMALL --epochs $FULL --seeds 0
stage big-s0 $S --out "$OUT/big.jsonl" $PICK --size $BIG --epochs $EP --seeds 0
stage screen-s1 $S --out "$OUT/screen.jsonl" $PICK --size $SMALL --epochs $EP --seeds 1
stage full-s1 $S --out "$OUT/full.jsonl" $PICK --size $SMALL --epochs $FULL --seeds 1
echo "== done at ${SECONDS}s"
