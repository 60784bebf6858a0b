#!/usr/bin/env bash
# Retrieval accuracy of one checkpoint for every input modality and pooling, as a TSV table:
# which view of the clip carries the class? (IIC's ablation.)
#
#   examples/retrieval_by_modality.sh iic.pt frames.h5 [OUT_DIR] > modalities.tsv
set -euo pipefail
checkpoint=${1:?checkpoint from vidkit pretrain}
frames=${2:?frame store with train01 and test01 splits}
out=${3:-out/modalities}
printf 'modality\tpooling\ttop1\ttop5\n'
for modality in rgb res; do
    for pooling in avg iic; do
        for split in train01 test01; do
            vidkit -q embed "$checkpoint" "$frames" -o "$out/$modality-$pooling-$split.h5" --split "$split" \
                --modality "$modality" --pooling "$pooling" --clips-per-video 2 --workers 0 > /dev/null
        done
        vidkit -q build-index "$out/$modality-$pooling-train01.h5" -o "$out/$modality-$pooling.index" > /dev/null
        vidkit retrieve "$out/$modality-$pooling.index" "$out/$modality-$pooling-test01.h5" --k 1,5 --json \
            | jq -r --arg m "$modality" --arg p "$pooling" '[$m, $p, .topk["1"], .topk["5"]] | @tsv'
    done
done
