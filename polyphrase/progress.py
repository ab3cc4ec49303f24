"""A progress line on stderr: documents done, rates, pass rate, failures and time left."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from polyphrase.runner import RunSummary

# A terminal line is redrawn in place at most this often.
TERMINAL_INTERVAL_S = 0.25
# When forced onto a pipe or file, one full line is written at most this often.
LOG_INTERVAL_S = 10.0

# The rate over a shorter time is mostly input failures, which finish at once, so no time left is shown yet.
MIN_ETA_ELAPSED_S = 1.0

_CLEAR_LINE = "\r\x1b[K"


class ProgressLine:
    """A throttled status line, redrawn in place on a terminal or appended as lines elsewhere."""

    def __init__(
        self,
        stream: TextIO,
        *,
        total: int | None = None,
        in_place: bool = True,
        interval_s: float = TERMINAL_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.total = total
        self.in_place = in_place
        self.interval_s = interval_s
        self._clock = clock
        self._started = clock()
        self._last_draw: float | None = None
        self._drawn = False

    @classmethod
    def for_stream(
        cls, stream: TextIO = sys.stderr, *, total: int | None = None, force: bool | None = None, quiet: bool = False
    ) -> ProgressLine | None:
        """Return a progress line for `stream`, or None when none should be shown.

        `force=True` shows one even when `stream` is not a terminal, and
        `force=False` never does. With `force=None` it is shown on a terminal
        unless `quiet` is set.
        """
        is_terminal = stream.isatty()
        if force is False or (force is None and (quiet or not is_terminal)):
            return None
        interval = TERMINAL_INTERVAL_S if is_terminal else LOG_INTERVAL_S
        return cls(stream, total=total, in_place=is_terminal, interval_s=interval)

    def update(self, summary: RunSummary) -> None:
        """Redraw the line unless it was drawn less than `interval_s` ago."""
        now = self._clock()
        if self._last_draw is not None and now - self._last_draw < self.interval_s:
            return
        self._draw(self.format(summary, now))
        self._last_draw = now

    def close(self, summary: RunSummary) -> None:
        """Draw the final state and end the line."""
        self._draw(self.format(summary, self._clock()))
        self.end_line()

    def end_line(self) -> None:
        """End a line drawn in place, so that later output starts on a line of its own; does nothing otherwise."""
        if self._drawn and self.in_place:
            self.stream.write("\n")
            self.stream.flush()
        self._drawn = False

    def format(self, summary: RunSummary, now: float) -> str:
        """Return the status text: done/total, docs/s, tokens/s, pass rate, failures and, with a total, time left."""
        elapsed = max(now - self._started, 1e-9)
        done = summary.documents + summary.skipped + summary.duplicates
        docs_per_s = summary.documents / elapsed
        parts = [f"{done:,}/{self.total:,} docs" if self.total is not None else f"{done:,} docs"]
        if summary.skipped:
            parts[0] += f" ({summary.skipped:,} already done)"
        parts.append(f"{docs_per_s:.2f} docs/s")
        parts.append(f"{summary.tokens / elapsed:,.0f} tokens/s")
        pass_rate = f"{summary.passed / summary.rewrites:.1%}" if summary.rewrites else "-"
        parts.append(f"passed {pass_rate}")
        parts.append(f"{summary.failed_documents:,} failed")
        if self.total is not None:
            rate = docs_per_s if elapsed >= MIN_ETA_ELAPSED_S else 0.0
            parts.append(f"ETA {_eta(self.total - done, rate)}")
        return " | ".join(parts)

    def clear_before_logging(self, logger: logging.Logger | None = None) -> None:
        """Make the handlers of `logger` (the root logger by default) that write to this stream clear the line first.

        Without this, a log message would be appended to the progress text.
        The next update draws the line again below the message.
        """
        for handler in (logger or logging.getLogger()).handlers:
            if getattr(handler, "stream", None) is self.stream:
                handler.addFilter(self._clear_for_record)

    def _clear_for_record(self, record: logging.LogRecord) -> bool:
        if self._drawn and self.in_place:
            self.stream.write(_CLEAR_LINE)
            self._drawn = False
            self._last_draw = None
        return True

    def _draw(self, text: str) -> None:
        if self.in_place:
            self.stream.write(_CLEAR_LINE + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self._drawn = True


def _eta(remaining: int, docs_per_s: float) -> str:
    if remaining <= 0:
        return "0s"
    if docs_per_s <= 0:
        return "?"
    seconds = int(remaining / docs_per_s)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{seconds:02d}s"
    return f"{seconds}s"
