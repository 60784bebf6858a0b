"""The ledger survives a kill mid-line and tells a rerun what to skip."""

from __future__ import annotations

import json

import pytest

from vidkit.errors import VidkitError
from vidkit.scrape.ledger import Attempt, Ledger, read_ledger


def test_lines_round_trip_and_the_last_line_per_id_wins(tmp_path):
    path = tmp_path / "ledger.jsonl"
    with Ledger(path) as ledger:
        ledger.append(Attempt("a", "u/a", "retry", "rate_limited", "429", True, 1))
        ledger.append(Attempt("a", "u/a", "done", attempt=2, bytes=10, seconds=0.5, file="a.mp4"))
        ledger.append(Attempt("b", "u/b", "failed", "not_found", "404", False))
        ledger.append(Attempt("c", "u/c", "failed", "timeout", "slow", True))
    records = read_ledger(path)
    assert [r["status"] for r in records] == ["retry", "done", "failed", "failed"]
    assert set(records[0]) >= {"id", "url", "status", "error_class", "bytes", "seconds", "transient", "attempt"}
    with Ledger(path) as ledger:
        assert ledger.settled("a")["file"] == "a.mp4"
        assert ledger.settled("b")["error_class"] == "not_found"
        assert ledger.settled("c") is None  # transient: a rerun tries again
        assert ledger.settled("never") is None


def test_a_line_cut_by_a_kill_is_skipped_and_cut_off_before_appending(tmp_path):
    path = tmp_path / "ledger.jsonl"
    whole = Attempt("a", "u/a", "done", bytes=1).to_json() + "\n"
    path.write_text(whole + whole[:25])  # the kill hit in the middle of the second write
    assert len(read_ledger(path)) == 1
    with Ledger(path) as ledger:
        ledger.append(Attempt("b", "u/b", "done"))
    lines = path.read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["a", "b"]


def test_a_damaged_middle_line_is_an_error(tmp_path):
    path = tmp_path / "ledger.jsonl"
    path.write_text('{"id": "a"}\nnot json\n{"id": "b"}\n')
    with pytest.raises(VidkitError, match="line 2"):
        read_ledger(path)


def test_hostile_ids_stay_one_line(tmp_path):
    path = tmp_path / "ledger.jsonl"
    with Ledger(path) as ledger:
        ledger.append(Attempt("x\ny\r\u2028z", "u", "done"))
    assert len(path.read_bytes().splitlines()) == 1
