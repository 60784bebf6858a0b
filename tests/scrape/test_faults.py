"""Classifying failures from the messages and exception chains yt-dlp produces."""

from __future__ import annotations

import pytest

from vidkit.scrape.faults import CorruptVideo, DownloadTimeout, classify


def _download_error(message: str, cause: BaseException | None = None):
    from yt_dlp.utils import DownloadError

    return DownloadError(message, (type(cause), cause, None) if cause else None)


@pytest.mark.parametrize(
    ("message", "error_class", "transient"),
    [
        ("ERROR: [youtube] abc: Video unavailable. This video has been removed by the uploader", "unavailable", False),
        ("ERROR: [youtube] abc: Private video. Sign in if you've been granted access", "unavailable", False),
        ("ERROR: [youtube] abc: Sign in to confirm you’re not a bot. Use --cookies-from-browser", "bot_check", True),
        ("ERROR: [youtube] abc: Sign in to confirm your age. This video may be inappropriate", "unavailable", False),
        ("ERROR: [youtube] abc: Requested format is not available", "no_format", False),
        ("ERROR: \r[download] Got error: Downloaded 10 bytes, expected 20 bytes", "incomplete", True),
        ("ERROR: Unsupported URL: http://example.com", "unsupported", False),
        ("ERROR: unable to download video data: HTTP Error 429: Too Many Requests", "rate_limited", True),
        ("ERROR: something nobody has seen", "error", False),
    ],
)
def test_messages(message, error_class, transient):
    fault = classify(_download_error(message))
    assert (fault.error_class, fault.transient) == (error_class, transient)
    assert "\r" not in fault.message and fault.message


def test_our_own_exceptions_inside_yt_dlp_errors():
    assert (
        classify(_download_error("ERROR: x", DownloadTimeout("no complete download within 5 s"))).error_class
        == "timeout"
    )
    assert classify(CorruptVideo("0 bytes")).error_class == "corrupt"
    assert classify(_download_error("ERROR: x", TimeoutError("read timed out"))).transient
