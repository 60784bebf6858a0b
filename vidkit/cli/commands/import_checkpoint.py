"""`vidkit import-checkpoint`: a paper's released weights become an ordinary vidkit checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vidkit.cli.options import ForceOpt, JsonOpt
from vidkit.cli.output import report


def import_checkpoint(
    source: Annotated[Path, typer.Argument(help="The paper's checkpoint file (.pt, .pth, .pth.tar).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The vidkit checkpoint to write.")],
    from_: Annotated[
        Optional[str],
        typer.Option("--from", help="Whose layout the file is: vince, iic, tce or la (default: told from its keys)."),
    ] = None,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Convert the released weights of VINCE, IIC, TCE or Video LA into a `vidkit.ckpt/1` checkpoint.

    Example: `vidkit import-checkpoint ckpt_epoch_240.pth -o iic_r3d.pt`

    Example: `vidkit import-checkpoint moco-v2-r2v2/000050000.pt -o mocov2.pt --from vince`

    The result is an ordinary checkpoint: `embed`, `finetune`, `retrieve` and `tsne` take it, with
    the paper's input recipe (size, clip length, normalisation, modality) as their defaults.

    - **Safe reading**: the file is unpickled by torch's `weights_only` reader, widened only by
      field-only stand-ins for the plain objects the papers pickled (IIC's `argparse.Namespace`,
      TCE's yacs config, Video LA's DotMap config and `MemoryBank`) and numpy arrays. Any other
      class or function in the file is refused with one `error:` line naming it, and nothing runs.
    - **Strict**: every key is renamed to vidkit's names (torchvision's for torchvision models) or
      dropped for a stated reason (VINCE's unused `fc`, memory banks, optimizer state); a key
      without a place is an error naming it. The backbone then loads into vidkit's module with
      `strict=True` and every shape equal, and each head into its module: no silent random init.
    - **Kept**: the backbone; the head the paper had (VINCE's MLP, TCE's embedding and rotation
      heads, IR/LA's embedding, the classifier of fine-tuned files, which `finetune --test-only`
      evaluates); the source file's name and sha256, and its epoch, in the checkpoint's record.

    docs/checkpoints.md lists the released files, the command for each and the numbers the
    papers report for them. JSON: `{"checkpoint", "source", "sha256", "layout", "backbone",
    "method", "mapped", "dropped", "input"}`. Core: `vidkit.checkpoint.importers.convert.import_checkpoint`.
    """
    from vidkit.checkpoint.importers import convert  # not at the top: vidkit.checkpoint imports torch

    result = convert.import_checkpoint(source, output, paper=from_, force=force)
    summary = result.summary()
    dropped = ", ".join(f"{n} {reason}" for reason, n in summary["dropped"].items()) or "nothing"
    text = (
        f"{summary['checkpoint']}: {summary['layout']} -> {summary['backbone']} ({summary['method']}), "
        f"{summary['mapped']} tensors; dropped: {dropped}"
    )
    report(summary, as_json=as_json, text=text)
