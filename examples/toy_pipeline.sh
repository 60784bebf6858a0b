#!/usr/bin/env bash
# The pipeline end to end on generated data, as Unix pipelines: paths on stdin, results read with
# jq, each command's output fed to the next. About a minute on a laptop CPU.
#
#   examples/toy_pipeline.sh [OUT_DIR]        (STEPS=200 examples/toy_pipeline.sh trains longer)
set -euo pipefail
out=${1:-out/pipeline}
steps=${STEPS:-40}

vidkit synth "$out/synth" --classes 4 --train-per-class 6 --test-per-class 3 --json \
    | jq -r '"synth: \(.train) train + \(.test) test videos"'

# Paths come from find on stdin; jq -e fails the script if any video could not be decoded.
find "$out/synth/videos" -name '*.mp4' | sort \
    | vidkit extract-frames - -o "$out/frames.h5" --annotations "$out/synth/splits" --dataset ucf101 --json \
    | jq -e '.failed == 0' > /dev/null

# The checkpoint's path comes out of pretrain's JSON and goes straight into embed.
checkpoint=$(vidkit pretrain --method iic "$out/frames.h5" -o "$out/iic.pt" --backbone tiny --size 32 \
    --clip-len 8 --steps "$steps" --batch-size 8 -O normalize=true --workers 0 --json | jq -r .checkpoint)
for split in train01 test01; do
    vidkit embed "$checkpoint" "$out/frames.h5" -o "$out/$split.h5" --split "$split" --clips-per-video 2 \
        --workers 0 --json | jq -r '"embed: \(.store), \(.rows) rows of \(.dim)"'
done

index=$(vidkit build-index "$out/train01.h5" -o "$out/gallery.index" --json | jq -r .index)
vidkit retrieve "$index" "$out/test01.h5" --k 1,5 --json | jq -r '.topk | to_entries[] | "top-\(.key)\t\(.value)"'
