"""The yt-dlp download flags that `scrape download`, `cache`, `r2v2` and `kinetics` share, declared once.

Four commands take the same seven flags (cookies, format, rate limit, retries, backoff, timeout,
JavaScript runtime). Written out in each signature they were 28 lines kept in step by hand;
`with_download_flags` splices them into each command's signature instead, so `--help` and
docs/cli.md still list them in the command's own options.
"""

from __future__ import annotations

import functools
import inspect
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

CookiesOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--cookies",
        exists=True,
        dir_okay=False,
        help="Netscape cookies.txt exported from a browser signed in to the site.",
    ),
]
FormatOpt = Annotated[
    Optional[str],
    typer.Option(
        "--video-format", help="yt-dlp format selector (its -f) (default: mp4 video at most 480p, H.264 first)."
    ),
]
RateOpt = Annotated[Optional[str], typer.Option("--rate-limit", help="Bytes per second per download, e.g. 500K or 2M.")]
RetriesOpt = Annotated[
    int,
    typer.Option(
        "--retries", min=0, help="Further attempts after a transient failure (429, 5xx, timeout, cut connection)."
    ),
]
BackoffOpt = Annotated[
    float,
    typer.Option(
        "--backoff", min=0.0, help="Seconds before the first retry; doubled each retry (a 429 pauses every worker)."
    ),
]
TimeoutOpt = Annotated[float, typer.Option("--timeout", min=1.0, help="Seconds one video's download may take.")]


class JsRuntime(str, Enum):
    deno = "deno"
    node = "node"
    bun = "bun"
    quickjs = "quickjs"


JsOpt = Annotated[
    Optional[list[JsRuntime]],
    typer.Option(
        "--js-runtime", help="JavaScript runtime yt-dlp solves YouTube's challenges with (default: deno); repeatable."
    ),
]


def build_options(
    cookies: CookiesOpt = None,
    video_format: FormatOpt = None,
    rate_limit: RateOpt = None,
    retries: RetriesOpt = 5,
    backoff: BackoffOpt = 5.0,
    timeout: TimeoutOpt = 600.0,
    js_runtime: JsOpt = None,
):
    """The core's DownloadOptions from the flags every downloading command takes (its other defaults stay in the core).

    Its parameters are those flags, in their `--help` order: `with_download_flags` gives them to each command.
    """
    from vidkit.scrape.download import DownloadOptions

    rate = None
    if rate_limit is not None:
        from yt_dlp.utils import parse_bytes

        rate = parse_bytes(rate_limit)
        if not rate:
            raise typer.BadParameter(f"{rate_limit!r} is not a byte rate like 500K or 2M", param_hint="--rate-limit")
    defaults = DownloadOptions()
    return DownloadOptions(
        format=video_format or defaults.format,
        cookies=cookies,
        rate_limit=rate,
        retries=retries,
        backoff=backoff,
        timeout=timeout,
        js_runtimes=tuple(r.value for r in js_runtime or ()),
    )


def with_download_flags(command):
    """Declare the seven download flags once for every command that downloads.

    The command's `download_options` parameter stands where the flags go in its `--help`; Typer is
    shown the flags there instead (through `__signature__`), and the command gets a function that
    builds their `DownloadOptions` (checking --rate-limit) when called, so its own checks still come first.
    """
    flags = list(inspect.signature(build_options, eval_str=True).parameters.values())
    own = inspect.signature(command, eval_str=True).parameters.values()
    params = [q for p in own for q in (flags if p.name == "download_options" else [p])]

    @functools.wraps(command)
    def run(**kwargs):
        given = {flag.name: kwargs.pop(flag.name) for flag in flags}
        return command(**kwargs, download_options=lambda: build_options(**given))

    run.__signature__ = inspect.Signature(params)
    run.__annotations__ = {p.name: p.annotation for p in params}
    return run
