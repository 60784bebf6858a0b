"""Telling the papers apart from the keys alone (what `import-checkpoint` does without `--from`)."""

from __future__ import annotations

import pytest

from vidkit.checkpoint.importers import detect
from vidkit.errors import UsageError

LAYOUTS = {
    "vince": {"feature_extractor.module.model.conv1.weight": (64, 3, 7, 7), "embedding.0.weight": (512, 512)},
    "iic": {"opt": None, "model/conv1.temporal_spatial_conv.weight": (64, 3, 3, 7, 7), "epoch": None},
    "iic-r21d": {"conv1.spatial_conv.weight": (83, 3, 1, 7, 7), "linear.weight": (101, 512)},
    "iic-c3d": {"model/conv1.weight": (64, 3, 3, 3, 3), "model/conv3a.weight": (256, 128, 3, 3, 3)},
    "tce-v1": {"module.conv1.weight": (64, 3, 7, 7), "module.layer1.0.conv1.weight": (64, 64, 3, 3)},
    "tce-v1-ft": {"state_dict/module.conv1_custom.weight": (64, 15, 7, 7), "epoch": None},
    "tce-icpr": {"config": None, "state_dict/module.backbone.conv1.weight": (64, 3, 7, 7)},
    "la": {
        "model_state_dict/module.conv1.weight": (64, 3, 7, 7, 7),
        "model_state_dict/module.layer1.0.conv1.weight": (64, 64, 3, 3, 3),
    },
    "la-ft": {
        "arch": None,
        "state_dict/module.conv1.weight": (64, 3, 7, 7, 7),
        "state_dict/module.layer1.0.conv1.weight": (64, 64, 3, 3, 3),
    },
}


@pytest.mark.parametrize("name", LAYOUTS)
def test_each_layout_is_told_apart(name):
    assert detect(LAYOUTS[name]) == name.split("-")[0]


def test_an_unknown_layout_asks_for_from():
    with pytest.raises(UsageError, match="pass --from"):
        detect({"encoder.weight": (10, 10)})
