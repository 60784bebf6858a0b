#!/usr/bin/env bash
# Decode UCF101 into one frame store with labels, the three official splits and optical flow.
#
#   examples/extract_ucf101.sh /data/UCF-101 /data/ucfTrainTestlist out/ucf101.h5
#
# The store is resumable: if the run is killed, run the same line again. A 128-px short side is what
# 112-px crop training (IIC, VCOP, 3D-ResNets) needs; use --size 256 for 224-px crops.
set -euo pipefail
videos=${1:?folder of UCF101 .avi files}
splits=${2:?folder holding classInd.txt and trainlist0N.txt/testlist0N.txt}
out=${3:-ucf101.h5}
find "$videos" -name '*.avi' | sort \
    | vidkit extract-frames - -o "$out" --annotations "$splits" --dataset ucf101 --size 128 --flow \
        --workers "$(nproc)" --json \
    | jq -r '"\(.videos) videos, \(.frames) frames, \(.failed) failed (vidkit info --failures lists them)"'
