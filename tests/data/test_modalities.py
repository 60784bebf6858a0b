"""One vocabulary of modalities: every command offers the same names, and each name means one thing."""

from __future__ import annotations

import pytest
import torch

from vidkit.cli.commands import embed as embed_command
from vidkit.cli.commands import finetune as finetune_command
from vidkit.data import modalities
from vidkit.data.datasets import finish_view
from vidkit.errors import VidkitError
from vidkit.tasks import finetune as finetuning


def test_every_command_offers_the_one_vocabulary():
    assert [m.value for m in embed_command.Modality] == list(modalities.MODALITIES)
    assert [m.value for m in finetune_command.Modality] == [*modalities.MODALITIES, modalities.DIFF_STACK]


def test_res_is_the_same_residual_for_finetune_as_for_embed():
    """`finetune --modality res` once read `res-raw` ([-1, 1]) where `embed --modality res` read [0, 1]."""
    for name in modalities.MODALITIES:
        config = finetuning.FinetuneConfig(input=name, size=32, clip_len=4)
        assert finetuning.build(config, 3, None, "tiny").recipe.modality == name
    x = torch.rand(5, 3, 8, 8)  # (T + 1, C, H, W) frames in [0, 1]
    res, raw = finish_view(x, "res", None, None), finish_view(x, "res-raw", None, None)
    assert res.min() >= 0 and raw.min() < 0 and torch.allclose(res, (raw + 1) / 2)


def test_an_unknown_modality_is_named_with_the_choices():
    with pytest.raises(VidkitError, match="unknown --modality 'flow'; choose one of rgb, res, res-raw, diff, u, v"):
        modalities.check("flow")
