#!/usr/bin/env bash
# uptflow's checks on one CUDA GPU, in one run: the CUDA tests, a training run of the full-size network on the
# default model's synthetic data (configs/uptflow/uptflow_photo-synthetic_gpu.py) and its float16 export, the speed and
# memory table (600x400, 1920x1080, 3840x2160 in fp32 / bf16 / fp16; batches 1 and 4 at 640x360 and 1280x720), the
# precision table on real photos and one compiled case. Each step's output goes to OUT/check.log as it runs.
#
#   benchmarks/gpu_check.sh OUT [ITERS|smoke] [TRAIN_SECONDS] [TOTAL_SECONDS]
#
# ITERS (default 2000) sets the schedule: warm-up over 100 iterations, lr x0.5 at 50/70/85/95 %, validation and a
# checkpoint every quarter; `auto`: as many iterations as fit TRAIN_SECONDS at the seconds per iteration of a
# 20-iteration trial run (its median of the last 8). A run still going after TRAIN_SECONDS (default 330) is stopped;
# the best network validated by then is exported. Later steps get what is left of TOTAL_SECONDS (default 570), each
# skipped when less than 20 s is left. `smoke`: the CUDA
# tests, 30 training iterations and one speed case, to try a machine and time an iteration before a long run
# (UPTFLOW_GPU_TESTS=0 then leaves the tests out of the long run).
# Needs python3 with CUDA torch and uptflow's imports (mmengine, numpy, opencv, scikit-image, pandas, tqdm, pytest),
# and under $UPTFLOW_SHARED/data the training photos (bsds500/{train,val}, coco128_train/images) and, for the
# precision table, lol/low and unpaired/*. The trained network comes back as OUT/gpu_full_fp16.pth.partNN (15 MiB
# pieces: cat them in order).
set -u
OUT=${1:?usage: gpu_check.sh OUT [ITERS|smoke] [TRAIN_SECONDS] [TOTAL_SECONDS]}
ITERS=${2:-2000}
ITERS_ARG=$ITERS
TRAIN_SECONDS=${3:-330}
TOTAL_SECONDS=${4:-570}
WORK=${UPTFLOW_GPU_WORK:-/tmp/uptflow-gpu}
mkdir -p "$OUT" "$WORK"
LOG=$OUT/check.log
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg

step() { echo "=== $* ($(date +%T), ${SECONDS}s)" | tee -a "$LOG"; }
# run a step under a time limit, its output to the log; a failing step is reported and the next one runs
run() {
    local limit=$1; shift
    timeout --signal=TERM --kill-after=10 "$limit" "$@" >>"$LOG" 2>&1
    local rc=$?
    echo "--- exit status $rc: $*" | tee -a "$LOG"
}
# a step limited to what is left of TOTAL_SECONDS, skipped with less than 20 s
run_left() {
    local n=$((TOTAL_SECONDS - SECONDS))
    if [ "$n" -lt 20 ]; then echo "--- skipped (${n}s left): $*" | tee -a "$LOG"; return; fi
    run "$n" "$@"
}
TRAIN=(python3 -m uptflow train configs/uptflow/uptflow_photo-synthetic_gpu.py --device cuda)

step machine
run 30 nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
run 60 python3 -c "import torch, mmengine; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'gpu', torch.cuda.get_device_name(), 'bf16', torch.cuda.is_bf16_supported(), 'mmengine', mmengine.__version__)"

if [ "${UPTFLOW_GPU_TESTS:-1}" = 1 ]; then  # UPTFLOW_GPU_TESTS=0: already run on this machine
    step "CUDA tests"
    run 240 python3 -m pytest -q -p no:cacheprovider -rs tests/models/test_cuda.py
fi

if [ "$ITERS" = auto ]; then
    step "trial run: seconds per training iteration"
    rm -rf "$WORK/trial"
    run 150 "${TRAIN[@]}" --work-dir "$WORK/trial" --cfg-options train_cfg.max_iters=20 train_cfg.val_interval=1000 \
        default_hooks.checkpoint.interval=1000 default_hooks.logger.interval=1 log_processor.window_size=1
    ITERS=$(python3 - "$WORK/trial" "$TRAIN_SECONDS" <<'PY' 2>>"$LOG"
import json, pathlib, statistics, sys
times = [json.loads(line)["time"] for f in pathlib.Path(sys.argv[1]).rglob("scalars.json") for line in open(f)
         if "\"loss\"" in line]
per_iter = statistics.median(times[-8:])
# the run's start (imports, data workers, first iterations) and its four validations took about 40 s in the trial
print(max(40, int((float(sys.argv[2]) - 40) / per_iter) // 4 * 4))
print(f"{per_iter:.3f} s per iteration over the trial's last 8 of {len(times)}", file=sys.stderr)
PY
)
    ITERS=${ITERS:-200}
fi
SMOKE=0
if [ "$ITERS" = smoke ]; then
    SMOKE=1 ITERS=30 VAL=30 TRAIN_SECONDS=150 LOG_EVERY=10
else
    VAL=$((ITERS / 4)) LOG_EVERY=50
fi
milestones="[$((ITERS / 2)),$((ITERS * 7 / 10)),$((ITERS * 85 / 100)),$((ITERS * 95 / 100))]"
step "training $ITERS iterations (at most ${TRAIN_SECONDS}s)"
rm -rf "$WORK/train"
run "$TRAIN_SECONDS" "${TRAIN[@]}" \
    --work-dir "$WORK/train" --cfg-options train_cfg.max_iters="$ITERS" train_cfg.val_interval="$VAL" \
    default_hooks.checkpoint.interval="$VAL" default_hooks.logger.interval="$LOG_EVERY" param_scheduler.1.end="$ITERS" "param_scheduler.1.milestones=$milestones"
find "$WORK/train" -name scalars.json -exec cp {} "$OUT/train_scalars.json" \;

WEIGHTS=random
if [ -f "$WORK/train/uptflow_best.pth" ]; then
    step export
    run 120 python3 -m uptflow.engine.export "$WORK/train/uptflow_best.pth" --out "$WORK/gpu_full_fp16.pth" \
        --max-mb 64
    if [ -f "$WORK/gpu_full_fp16.pth" ]; then
        WEIGHTS=$WORK/gpu_full_fp16.pth
        [ "$ITERS_ARG" = smoke ] || split -b 15M -d "$WEIGHTS" "$OUT/gpu_full_fp16.pth.part"
        sha256sum "$WEIGHTS" | tee -a "$LOG"
    fi
fi

THREADS=8  # CPU threads of the benchmark processes (FLOP counting, host-side work)
if [ "$SMOKE" = 1 ]; then
    step "speed (smoke)"
    run_left python3 benchmarks/enhance_speed.py --devices cuda --sizes 600x400 --precisions fp32,bf16 \
        --baseline '' --weights "$WEIGHTS" --repeats 1 --threads $THREADS
    step done
    exit 0
fi

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
step done
