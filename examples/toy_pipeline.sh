#!/usr/bin/env bash
# The toy pipeline end to end on generated data, in a few seconds on a laptop CPU.
set -euo pipefail
out=${1:-out/toy}
vidkit synth "$out/synth" --classes 8 --train-per-class 8 --test-per-class 4
# Paths can come from stdin: here only the first four classes.
ls "$out"/synth/videos/Move{Left,Right,Up,Down}/*.mp4 \
    | vidkit extract-frames - -o "$out/frames.h5" --annotations "$out/synth/splits" --dataset ucf101 --json
vidkit info "$out/frames.h5"
