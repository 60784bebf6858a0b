"""IIC: inter-intra contrastive learning (Tao, Wang & Yamasaki, ACM MM 2020, arXiv:2008.02531; iic.md 5),
and plain CMC (Tian et al. 2019) over the same two views, the baseline IIC compares with.

Two views of one clip: view 1 is RGB, view 2 a residual clip, an optical-flow component, or RGB
again. Each view's embedding (the backbone's pooled output: no projection head, not normalised, as
the IIC code) is scored against the *other* view's memory bank: its own video's entry is the
positive, K random videos the negatives. IIC adds intra-negatives: the bank of clips of the same
video with their motion destroyed (a repeated frame, or shuffled chunks), entered for the anchor's
own video and for the K sampled ones. The loss is cross-entropy of the positive among
`[pos, K inter, 1 + K intra] / T` for each view, summed (`loss="infonce"`, the code's default), or
binary NCE with Z frozen on the first batch (`loss="nce"`, `--softmax False` there).

Deviations from the released code, each a fix (iic.md 12):
- the anchor's own index is never drawn as a negative (the code drew it about 10-25% of the time);
- the intra-negative forward pass runs under `no_grad` (it never received a gradient; BN still
  sees it in train mode, as in the code);
- `--separate-models` trains one backbone per view, which the paper's CMC baseline does;
- `normalize` (`-O normalize=true`) scores unit-length embeddings (CMC's choice), off by default: IIC's raw features
  can collapse to zero on small data (see `IIC._embed`);
- `center` (`-O center=true`, off by default) centres each batch of embeddings (BatchNorm without
  affine) before scoring: pooled post-ReLU features share one large positive direction, so their
  unit vectors all score 0.94-1.0 against each other and the softmax over 2K + 2 scores / 0.07 is
  flat at its chance level (docs/methods.md, "Toy-scale claims");
- scores and losses are fp32 under bf16 autocast (`losses.full_precision`).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from vidkit.checkpoint.recipe import UNIT_MEAN, UNIT_STD
from vidkit.engine import dist
from vidkit.errors import VidkitError
from vidkit.methods.base import MethodOutput, SSLMethod
from vidkit.methods.intra_negatives import INTRA_NEGATIVES
from vidkit.methods.losses import full_precision, nce_loss, upgrade_nan_log_z
from vidkit.methods.memory_bank import MemoryBank, sample_other
from vidkit.methods.options import MethodDefaults, option

VIEWS = ("res", "u", "v", "rgb")


def contrast_scores(
    anchor: torch.Tensor, bank: torch.Tensor, own: torch.Tensor, negatives: torch.Tensor, intra: torch.Tensor | None
) -> torch.Tensor:
    """`(B, 1 + K [+ 1 + K])` dot products of each anchor with: the other view's entry of its own video,
    the K sampled videos' entries, and (IIC) the intra-negative entries of its own and the K videos.

    `anchor (B, D)`, `bank`/`intra` `(N, D)`, `own (B,)`, `negatives (B, K)`.
    """
    rows = torch.cat([own[:, None], negatives], dim=1)  # (B, 1 + K)
    keys = bank[rows]
    if intra is not None:
        keys = torch.cat([keys, intra[rows]], dim=1)
    return torch.einsum("bkd,bd->bk", keys, anchor)


def fresh_copy(model: nn.Module) -> nn.Module:
    """The same architecture with newly initialised weights."""
    twin = copy.deepcopy(model)
    for module in twin.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    return twin


@dataclass
class IICOptions:
    """IIC's hyper-parameters, with the code's values (iic.md 5)."""

    view2: str = option("res", "Second view: residual clip, flow u or v (needs extract-frames --flow), or rgb.", VIEWS)
    intra_negatives: str | None = option(
        "repeat",
        "Intra-negative: repeat one frame, swap two of four chunks, shuffle all frames, or none (CMC).",
        (*INTRA_NEGATIVES, None),
    )
    negatives: int = option(1024, "Inter negatives K per anchor, drawn with replacement (never the anchor's video).")
    temperature: float = option(0.07, "Temperature T of the scores.")
    bank_momentum: float = option(0.5, "Memory-bank momentum.")
    loss: str = option("infonce", "Softmax cross-entropy (the code's default) or binary NCE.", ("infonce", "nce"))
    separate_models: bool = option(False, "One backbone per view (the checkpoint exports view 1's).")
    normalize: bool = option(False, "Score unit-length embeddings, as CMC (IIC scores raw ones; docs/methods.md).")
    center: bool = option(
        False, "Centre the embeddings per batch (BatchNorm, no affine) before scoring (docs/methods.md)."
    )


@dataclass
class CMCOptions(IICOptions):
    """CMC: IIC's views and banks without intra-negatives."""

    intra_negatives: str | None = option(
        None, "Intra-negatives (none: plain CMC; a kind makes it IIC).", (*INTRA_NEGATIVES, None)
    )


class IIC(SSLMethod):
    """IIC on a 3D backbone, or any backbone that embeds a `(B, 3, T, H, W)` clip (options: `IICOptions`).

    View 1 (and, unless `separate_models`, view 2) runs through `backbone`; with `view2="rgb"` the
    views coincide (instance discrimination).
    """

    name = "iic"
    sample = "clip_pair"  # batch keys: data.samples.SAMPLE_KEYS
    backbone_dims = 3
    # IIC (iic.md 2, 6): 16-frame clips cropped to 112 from 128x171, values in [0, 1] (no mean/std),
    # batch 16, lr 0.01, x0.2 at epochs 45, 90, 125 and 160 of 240.
    defaults = MethodDefaults(
        backbone="r3d",
        size=112,
        clip_len=16,
        epochs=240,
        batch_size=16,
        lr=0.01,
        milestones=tuple(e / 240 for e in (45, 90, 125, 160)),
        gamma=0.2,
        mean=UNIT_MEAN,
        std=UNIT_STD,
        resize=(128 / 112, 171 / 112),
    )
    Options = IICOptions

    def __init__(self, backbone: nn.Module, *, num_videos: int, options: IICOptions | None = None):
        options = options if options is not None else self.Options()
        if num_videos < 2:
            raise VidkitError(f"{self.name} needs at least 2 training videos (negatives come from other videos)")
        if options.separate_models and options.view2 == "rgb":
            raise VidkitError("separate_models needs a second view other than rgb")
        super().__init__(backbone, options)
        dim = backbone.num_features
        self.derived = {"dim": dim, "num_videos": num_videos}
        if options.separate_models:
            self.backbone2 = fresh_copy(backbone)
        # Parameter-free, so the checkpoint's backbone is the whole model, as in IIC.
        self.center = nn.BatchNorm1d(dim, affine=False) if options.center else None
        self.bank1 = MemoryBank(num_videos, dim, options.bank_momentum)
        self.bank2 = MemoryBank(num_videos, dim, options.bank_momentum)
        self.bank_intra = MemoryBank(num_videos, dim, options.bank_momentum) if options.intra_negatives else None
        self.register_buffer("log_z", torch.zeros(2))  # NCE normaliser per view, from the first batch
        self.register_buffer("log_z_set", torch.zeros(2, dtype=torch.bool))
        self._pending: list[tuple[MemoryBank, torch.Tensor, torch.Tensor]] = []

    @classmethod
    def build_dataset(cls, store, videos, recipe, options: IICOptions, seed: int):
        from vidkit.data.datasets import ClipPairDataset

        if options.view2 in ("u", "v") and not store.has_flow:
            raise VidkitError(f"view2={options.view2} needs flow: {store.path} was extracted without --flow")
        return ClipPairDataset(
            store,
            videos,
            clip_len=recipe.clip_len,
            stride=recipe.stride,
            size=recipe.size,
            resize=recipe.resize,
            view2=options.view2,
            seed=seed,
            mean=recipe.mean,
            std=recipe.std,
        )

    def _view2_model(self) -> nn.Module:
        return self.backbone2 if self.options.separate_models else self.backbone

    def forward(self, batch: dict[str, torch.Tensor]) -> MethodOutput:
        view1, own = batch["view1"], batch["index"]
        f1 = self._embed(self.backbone, view1)
        f2 = f1 if self.options.view2 == "rgb" else self._embed(self._view2_model(), batch["view2"])
        intra = None
        if self.bank_intra is not None:
            with torch.no_grad():  # no gradient reaches it in IIC either; BN still sees it in train mode
                f_intra = self._embed(self.backbone, INTRA_NEGATIVES[self.options.intra_negatives](view1))
            intra = self.bank_intra.rows
        negatives = sample_other(len(self.bank1), own, self.options.negatives)
        with full_precision(f1):  # bf16 scores of raw features / 0.07 would be off by whole units
            scores1 = contrast_scores(f1, self.bank2.rows, own, negatives, intra)  # view 1 against view 2's bank
            scores2 = contrast_scores(f2, self.bank1.rows, own, negatives, intra)
            loss1, loss2 = self._loss(scores1, 0), self._loss(scores2, 1)
        self._pending = [(self.bank1, own, f1.detach()), (self.bank2, own, f2.detach())]
        if self.bank_intra is not None:
            self._pending.append((self.bank_intra, own, f_intra))
        k = self.options.negatives
        metrics = {
            "view1_loss": loss1.detach(),
            "view2_loss": loss2.detach(),
            "pos_score": scores1[:, 0].detach().mean(),
            "inter_score": scores1[:, 1 : 1 + k].detach().mean(),
        }
        if intra is not None:
            metrics["intra_score"] = scores1[:, 1 + k].detach().mean()
        return MethodOutput(loss1 + loss2, metrics)

    def _embed(self, model: nn.Module, clips: torch.Tensor) -> torch.Tensor:
        # IIC scores raw pooled (post-ReLU) features against unit bank rows. Shrinking every feature
        # towards zero then lowers the loss towards chance whenever the positive is not yet the top
        # score, and on small data training stalls there (loss at 2 ln(2K + 2), most features 0).
        # `normalize` scores unit vectors instead, as CMC did: a deviation, off by default. Unit
        # vectors of pooled post-ReLU features all point near one common direction (cosine 0.94-1.0
        # at init), so the scores hardly differ; `center` removes that direction per batch first.
        features = model(clips).float()  # (B, D)
        if self.center is not None:
            if self.training and len(features) < 2:
                raise VidkitError("-O center=true centres each batch, so it needs a batch of at least 2 clips")
            features = self.center(features)
        return F.normalize(features, dim=1) if self.options.normalize else features

    def _loss(self, scores: torch.Tensor, view: int) -> torch.Tensor:
        temperature = self.options.temperature
        if self.options.loss == "infonce":
            target = torch.zeros(len(scores), dtype=torch.long, device=scores.device)
            return F.cross_entropy(scores / temperature, target)
        if not self.log_z_set[view]:
            log_mean = torch.logsumexp(scores.detach().flatten() / temperature, 0) - math.log(scores.numel())
            self.log_z[view] = dist.all_gather_cat(log_mean[None]).mean() + math.log(len(self.bank1))
            self.log_z_set[view] = True
        return nce_loss(scores[:, 0], scores[:, 1:], float(self.log_z[view]), len(self.bank1), temperature)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        upgrade_nan_log_z(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def on_step_end(self, progress: float) -> None:
        for bank, indices, features in self._pending:
            # As the IIC code: the raw (unnormalised) feature is blended in, and the blend normalised.
            bank.update(indices, features)
        self._pending = []


class CMC(IIC):
    """Contrastive multiview coding over IIC's two views, without intra-negatives."""

    name = "cmc"
    Options = CMCOptions
