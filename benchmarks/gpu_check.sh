#!/usr/bin/env bash
# uptflow's checks on one CUDA GPU, in one run: the CUDA tests, a training run of the full-size network on the
# default model's synthetic data (configs/uptflow/uptflow_photo-synthetic_gpu.py) and its float16 export, the precision
# table on real photos, the speed and memory table (600x400, 1920x1080, 3840x2160 in fp32 / bf16 / fp16; batches 1
# and 4 at 640x360 and 1280x720) and one compiled case. Each step's output goes to OUT/check.log as it runs.
#
#   benchmarks/gpu_check.sh OUT [auto|ITERS|smoke] [TRAIN_SECONDS] [TOTAL_SECONDS]
#
# auto (the default): as many iterations as fit TRAIN_SECONDS (default 330), from a 20-iteration trial run: its
# median seconds per iteration over the last 8, and its start-up and validation time. ITERS: that many. The schedule
# warms up over a tenth of the run (at most 100 iterations) and halves the rate at 50/70/85/95 %, validating and
# keeping a checkpoint every quarter. A run still going after TRAIN_SECONDS is stopped; the best network validated by
# then is exported. Later steps get what is left of TOTAL_SECONDS (default 570), each skipped with less than 20 s.
# smoke: the CUDA tests, 30 training iterations and one speed case, to try a machine; UPTFLOW_GPU_TESTS=0 leaves the
# tests out of a later run on the same machine.
# Needs python3 with CUDA torch and uptflow's imports (mmengine, numpy, opencv, scikit-image, pandas, tqdm, pytest),
# and under $UPTFLOW_SHARED/data the training photos (bsds500/{train,val}, coco128_train/images) and, for the
# precision table, lol/low and unpaired/*. The trained network comes back as OUT/gpu_full_fp16.pth.partNN (15 MiB
# pieces: cat them in order). The exit status is the number of steps that failed or ran out of time.
set -u
OUT=$(realpath -m "${1:?usage: gpu_check.sh OUT [auto|ITERS|smoke] [TRAIN_SECONDS] [TOTAL_SECONDS]}")
ITERS=${2:-auto}
TRAIN_SECONDS=${3:-330}
TOTAL_SECONDS=${4:-570}
if ! [[ "$ITERS" =~ ^(auto|smoke|[1-9][0-9]*)$ ]]; then
    echo "gpu_check.sh: ITERS must be auto, smoke or a number of iterations, got '$ITERS'" >&2
    exit 2
fi
cd "$(dirname "$0")/.." || exit 2
WORK=${UPTFLOW_GPU_WORK:-/tmp/uptflow-gpu}
mkdir -p "$OUT" "$WORK"
LOG=$OUT/check.log
# this checkout's uptflow, also where it is not installed (the benchmark scripts import it)
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
FAILED=0
THREADS=8  # CPU threads of the benchmark processes (FLOP counting, host-side work)
TRAIN=(python3 -m uptflow train configs/uptflow/uptflow_photo-synthetic_gpu.py --device cuda)

step() { echo "=== $* ($(date +%T), ${SECONDS}s)" | tee -a "$LOG"; }
# run a step under a time limit, its output to the log; a failing step is counted and the next one runs
run() {
    local limit=$1; shift
    timeout --signal=TERM --kill-after=10 "$limit" "$@" >>"$LOG" 2>&1
    local rc=$?
    echo "--- exit status $rc: $*" | tee -a "$LOG"
    [ "$rc" = 0 ] || FAILED=$((FAILED + 1))
}
# a step limited to what is left of TOTAL_SECONDS, skipped with less than 20 s
run_left() {
    local n=$((TOTAL_SECONDS - SECONDS))
    if [ "$n" -lt 20 ]; then echo "--- skipped (${n}s left): $*" | tee -a "$LOG"; FAILED=$((FAILED + 1)); return; fi
    run "$n" "$@"
}

step machine
run 30 nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
run 60 python3 -c "import torch, mmengine; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'gpu', torch.cuda.get_device_name(), 'bf16', torch.cuda.is_bf16_supported(), 'mmengine', mmengine.__version__)"

if [ "${UPTFLOW_GPU_TESTS:-1}" = 1 ]; then
    step "CUDA tests"
    run 240 python3 -m pytest -q -p no:cacheprovider -rs tests/models/test_cuda.py
fi

SMOKE=0
if [ "$ITERS" = smoke ]; then
    SMOKE=1 ITERS=30 TRAIN_SECONDS=150
elif [ "$ITERS" = auto ]; then
    step "trial run: seconds per training iteration"
    rm -rf "$WORK/trial"
    started=$SECONDS
    run 150 "${TRAIN[@]}" --work-dir "$WORK/trial" --cfg-options train_cfg.max_iters=20 train_cfg.val_interval=20 \
        default_hooks.checkpoint.interval=1000 default_hooks.logger.interval=1 log_processor.window_size=1
    ITERS=$(python3 - "$WORK/trial" "$((SECONDS - started))" "$TRAIN_SECONDS" <<'PY' 2>>"$LOG"
import json, pathlib, statistics, sys
lines = [json.loads(line) for f in pathlib.Path(sys.argv[1]).rglob("scalars.json") for line in open(f)]
times = [s["time"] for s in lines if "loss" in s]
per_iter = statistics.median(times[-8:])
# what the trial spent besides its steady iterations (start-up, first iteration, one validation, export) recurs once;
# the run validates three more times
overhead = float(sys.argv[2]) - per_iter * (len(times) - 1)
validation = sum(s["time"] for s in lines if "psnr" in s) * 35  # mean seconds per validation sample x 35 samples
iters = int((float(sys.argv[3]) - overhead - 3 * validation) / per_iter) // 4 * 4
print(max(iters, 20))
print(f"trial: {per_iter:.3f} s per iteration (median of the last 8 of {len(times)}), {overhead:.0f} s start-up, "
      f"{validation:.0f} s per validation: {max(iters, 20)} iterations fit {sys.argv[3]} s", file=sys.stderr)
PY
)
    if [ -z "$ITERS" ]; then
        ITERS=100
        echo "--- the trial gave no timing; training $ITERS iterations" | tee -a "$LOG"
    fi
fi
VAL=$((ITERS / 4 > 0 ? ITERS / 4 : 1))
WARMUP=$((ITERS / 10 < 100 ? (ITERS / 10 > 0 ? ITERS / 10 : 1) : 100))
milestones="[$((ITERS / 2)),$((ITERS * 7 / 10)),$((ITERS * 85 / 100)),$((ITERS * 95 / 100))]"
step "training $ITERS iterations (at most ${TRAIN_SECONDS}s)"
rm -rf "$WORK/train"
run "$TRAIN_SECONDS" "${TRAIN[@]}" --work-dir "$WORK/train" --cfg-options train_cfg.max_iters="$ITERS" \
    train_cfg.val_interval="$VAL" default_hooks.checkpoint.interval="$VAL" default_hooks.logger.interval=10 \
    param_scheduler.0.end="$WARMUP" param_scheduler.1.end="$ITERS" "param_scheduler.1.milestones=$milestones"
find "$WORK/train" -name scalars.json -exec cp {} "$OUT/train_scalars.json" \; 2>>"$LOG"

WEIGHTS=random
if [ -f "$WORK/train/uptflow_best.pth" ]; then
    step export
    run 120 python3 -m uptflow.engine.export "$WORK/train/uptflow_best.pth" --out "$WORK/gpu_full_fp16.pth" \
        --max-mb 64
    if [ -f "$WORK/gpu_full_fp16.pth" ]; then
        WEIGHTS=$WORK/gpu_full_fp16.pth
        [ "$SMOKE" = 1 ] || split -b 15M -d "$WEIGHTS" "$OUT/gpu_full_fp16.pth.part"
        sha256sum "$WEIGHTS" | tee -a "$LOG"
    fi
fi

if [ "$SMOKE" = 1 ]; then
    step "speed (smoke)"
    run_left python3 benchmarks/enhance_speed.py --devices cuda --sizes 600x400 --precisions fp32,bf16 \
        --baseline '' --weights "$WEIGHTS" --repeats 1 --threads $THREADS
else
    if [ "$WEIGHTS" != random ]; then
        step "precision on real photos"
        run_left python3 benchmarks/bench_precision.py --device cuda --weights "$WEIGHTS" --threads $THREADS
    fi
    step "speed and memory: 600x400, 1080p, 4K (weights: $WEIGHTS)"
    run_left python3 benchmarks/enhance_speed.py --devices cuda --sizes 600x400,1920x1080,3840x2160 \
        --precisions fp32,bf16,fp16 --baseline '' --weights "$WEIGHTS" --repeats 2 --threads $THREADS
    step "frames per second: batches of 640x360 and 1280x720"
    run_left python3 benchmarks/enhance_speed.py --devices cuda --sizes 640x360,1280x720 --batch 1,4 \
        --precisions fp32,bf16 --baseline '' --weights "$WEIGHTS" --repeats 5 --no-diff --threads $THREADS
    step "compiled encoder at 1080p"
    run_left python3 benchmarks/enhance_speed.py --devices cuda --sizes 1920x1080 --precisions bf16+compile \
        --baseline '' --weights "$WEIGHTS" --repeats 3 --threads $THREADS
fi
step "done: $FAILED step(s) failed or were skipped"
exit "$FAILED"
