"""mk/la.mk: the Video LA recipe prints only real commands, flags and method options, toy and paper."""

from __future__ import annotations

import pytest

from tests.test_reproductions import known_flags, make, vidkit_lines
from vidkit.methods import method_class
from vidkit.methods.options import parse_options


@pytest.mark.parametrize("data", ["", "/data/ucf101"])
def test_make_n_vla_reproduce_prints_the_three_stages(data, tmp_path):
    out = make("-n", "vla-reproduce", f"DATA={data}", f"RUN={tmp_path}/run").stdout
    lines = vidkit_lines(out)
    for words in lines:
        flags = {w.split("=")[0] for w in words[1:] if w.startswith("--") or w in ("-o", "-O")}
        assert flags <= known_flags(words[0]), (words[0], flags - known_flags(words[0]))
        if words[0] == "pretrain":
            method = words[words.index("--method") + 1]
            given = dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "-O")
            parse_options(method_class(method).Options, given, method)
    stages = [(w[0], w[w.index("--method") + 1] if "--method" in w else None) for w in lines]
    order = [s for s in stages if s[0] in ("pretrain", "cluster-idt", "finetune")]
    assert order[0] == ("pretrain", "ir") and ("cluster-idt", None) in order
    assert order.count(("pretrain", "la")) == 3  # with the prior, the tune stage, plain LA
    text = "\n".join(" ".join(w) for w in lines)
    assert "--clusters" in text and "-O tune=true" in text and "--init" in text and "--freeze-until 2" in text
    if data:
        assert "--epochs 200 --batch-size 256" in text and "--k 6000" in text
