"""The progress line: its text, throttling, where it is shown, and log messages around it."""

import io
import logging
from collections import Counter
from pathlib import Path

from polyphrase.cli import main
from polyphrase.progress import LOG_INTERVAL_S, TERMINAL_INTERVAL_S, ProgressLine
from polyphrase.runner import RunSummary


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _summary(documents: int = 40, skipped: int = 0) -> RunSummary:
    summary = RunSummary(documents=documents, skipped=skipped, failed_documents=2, rewrites=76, passed=57)
    summary.usage = Counter({"rewrite_prompt_tokens": 3000, "rewrite_completion_tokens": 1000, "verify_calls": 9})
    return summary


def test_format_with_total():
    clock = _Clock()
    progress = ProgressLine(io.StringIO(), total=100, clock=clock)
    clock.now += 20
    text = progress.format(_summary(), clock.now)
    assert text == "40/100 docs | 2.00 docs/s | 200 tokens/s | passed 75.0% | 2 failed | ETA 30s"


def test_format_without_total():
    clock = _Clock()
    progress = ProgressLine(io.StringIO(), clock=clock)
    clock.now += 10
    text = progress.format(_summary(documents=5, skipped=1200), clock.now)
    assert text.startswith("1,205 docs (1,200 already done) | 0.50 docs/s")
    assert "ETA" not in text


def test_eta_in_minutes_and_hours():
    clock = _Clock()
    progress = ProgressLine(io.StringIO(), total=100_000, clock=clock)
    clock.now += 20
    assert progress.format(_summary(), clock.now).endswith("ETA 13h53m")
    progress.total = 400
    assert progress.format(_summary(), clock.now).endswith("ETA 3m00s")


def test_eta_unknown_before_first_document():
    progress = ProgressLine(io.StringIO(), total=10)
    assert progress.format(RunSummary(), 0.0).endswith("passed - | 0 failed | ETA ?")


def test_eta_unknown_in_first_second():
    clock = _Clock()
    progress = ProgressLine(io.StringIO(), total=100, clock=clock)
    clock.now += 0.5
    assert progress.format(_summary(), clock.now).endswith("ETA ?")


def test_update_throttled():
    stream = _Terminal()
    clock = _Clock()
    progress = ProgressLine(stream, total=100, clock=clock)
    progress.update(_summary(documents=1))
    clock.now += TERMINAL_INTERVAL_S / 2
    progress.update(_summary(documents=2))
    clock.now += TERMINAL_INTERVAL_S
    progress.update(_summary(documents=3))
    drawn = stream.getvalue().split("\r\x1b[K")[1:]
    assert len(drawn) == 2
    assert drawn[0].startswith("1/100 docs")
    assert drawn[1].startswith("3/100 docs")


def test_close_ends_line():
    stream = _Terminal()
    progress = ProgressLine(stream, total=3)
    progress.close(_summary(documents=3))
    assert stream.getvalue().startswith("\r\x1b[K3/3 docs")
    assert stream.getvalue().endswith("\n")


def test_end_line_after_interrupt():
    stream = _Terminal()
    progress = ProgressLine(stream, total=3)
    progress.update(_summary(documents=1))
    progress.end_line()
    progress.end_line()
    assert stream.getvalue().count("\n") == 1
    assert stream.getvalue().endswith("\n")


def test_shown_only_on_terminal():
    assert ProgressLine.for_stream(io.StringIO()) is None
    assert ProgressLine.for_stream(_Terminal()) is not None
    assert ProgressLine.for_stream(_Terminal(), quiet=True) is None
    assert ProgressLine.for_stream(_Terminal(), force=False) is None


def test_forced_onto_pipe_writes_lines():
    stream = io.StringIO()
    progress = ProgressLine.for_stream(stream, total=50, force=True)
    assert progress.interval_s == LOG_INTERVAL_S
    progress.update(_summary())
    progress.close(_summary())
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert "\r" not in stream.getvalue()
    assert lines[1].startswith("40/50 docs")


def test_log_message_clears_line():
    stream = _Terminal()
    logger = logging.getLogger("test_progress")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        progress = ProgressLine(stream, total=10)
        progress.clear_before_logging(logger)
        progress.update(_summary(documents=1))
        logger.warning("a.txt: empty document")
        progress.update(_summary(documents=2))
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().count("\r\x1b[K") == 3
    assert "\r\x1b[Ka.txt: empty document\n\r\x1b[K2/10 docs" in stream.getvalue()


def _cli_args(server, tmp_path: Path, *extra: str) -> list[str]:
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "a.txt").write_text("The Rhine is 1,230 km long.\n")
    (docs / "b.txt").write_text("Basel lies on the Rhine.\n")
    (docs / "empty.txt").write_text("")
    return [
        "--input", str(docs),
        "--output", str(tmp_path / "out.jsonl"),
        "--cache-dir", str(tmp_path / "cache"),
        "--base-url", server.base_url,
        "--model", "fake-model",
        *extra,
    ]


def test_cli_forced_progress(fake_llm, tmp_path: Path, capsys):
    server = fake_llm()
    assert main(_cli_args(server, tmp_path, "--quiet", "--progress")) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if " docs " in line]
    assert lines[-1].startswith("3/3 docs")
    assert "1 failed | ETA 0s" in lines[-1]


def test_cli_quiet_has_no_progress(fake_llm, tmp_path: Path, capsys):
    server = fake_llm()
    assert main(_cli_args(server, tmp_path, "--quiet")) == 0
    assert " docs " not in capsys.readouterr().err
