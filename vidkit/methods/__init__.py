"""Method registry: `create_method(name, backbone, **hparams)`."""

from __future__ import annotations

from vidkit.errors import UsageError
from vidkit.models import UnknownNameError


def method_classes() -> dict:
    from vidkit.methods.iic import CMC, IIC
    from vidkit.methods.tce import TCE

    return {"tce": TCE, "iic": IIC, "cmc": CMC}


def create_method(name: str, backbone, **hparams):
    """Build the pretraining method `name` around `backbone`.

    Raises:
        UnknownNameError: no such method.
    """
    methods = method_classes()
    if name not in methods:
        raise UnknownNameError(f"unknown method {name!r}; choose one of {', '.join(methods)}")
    wanted = methods[name].backbone_dims
    if backbone.dims != wanted:
        kind = {2: "an image (2D) backbone", 3: "a video (3D) backbone"}
        raise UsageError(f"--method {name} trains {kind[wanted]}; the backbone given is {kind[backbone.dims]}")
    return methods[name](backbone, **hparams)
