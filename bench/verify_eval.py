"""Measure how well the fidelity check separates faithful from unfaithful text: `python -m bench.verify_eval`.

The positive class is "unfaithful": an item counts as flagged when the check
would fail it, so precision is the share of flagged items that are really
unfaithful and recall is the share of unfaithful items that get flagged.

Each item is scored by the rules of its kind (see `flags_unfaithful`):

- a `rewrite` should keep every fact of its source, so every fidelity field counts;
- a `claim` (a summary, a fact-checking claim) may leave facts out, so only
  contradicted facts, unsupported added claims and added quantities count.

The copy guard is scored for neither kind, because it judges wording, not
facts. The synthetic corruption pairs are rewrite items.

Example:
    python -m bench.verify_eval --guards-only --data pairs.jsonl --corrupt docs/ --corruptions 200
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import random
import signal
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bench.corruptions import CORRUPTION_TYPES, make_corruptions
from polyphrase.cache import ResponseCache
from polyphrase.errors import ConfigError, EndpointError, InputError, PolyphraseError
from polyphrase.fidelity.check import extract_source_facts, judge_rewrite
from polyphrase.graph.context import Context
from polyphrase.llm import Endpoint, LLMClient, Usage
from polyphrase.cli import add_endpoint_arguments, open_endpoint
from polyphrase.local_server import default_cache_dir
from polyphrase.schemas.facts import FactList
from polyphrase.schemas.verdict import ChunkVerdict

logger = logging.getLogger("polyphrase.bench")

ItemKind = Literal["claim", "rewrite"]
Check = Literal["guards", "llm", "both"]

# True means unfaithful, the positive class.
LABELS: dict[str, bool] = {
    "faithful": False,
    "supported": False,
    "unfaithful": True,
    "refuted": True,
    # The claim adds information that the source does not give.
    "not_enough_info": True,
}
# Evalsets whose unfaithful claims are all lower-case and whose faithful ones are not.
# Both sides are lower-cased because letter case alone would give the label away.
LOWERCASED_SOURCES = frozenset({"summary_faithfulness"})
CORRUPTION_SOURCE = "corrupt"
STYLE = "evaluation"
"""Style name passed to `judge_rewrite`. It only appears in the feedback text, which is not scored."""


@dataclass(frozen=True)
class EvalItem:
    """One labelled pair of a source and a text that claims to follow it."""

    source: str
    text: str
    kind: ItemKind
    unfaithful: bool
    origin: str
    """Data source: the evalset name (file name up to the first dot) or "corrupt"."""
    subset: str = ""
    """Corruption type of a synthetic pair, shared by its faithful item. Empty for evalset items."""


@dataclass(frozen=True)
class Outcome:
    """Whether each check flagged one item. `llm` is None when the LLM check did not run."""

    item: EvalItem
    guards: bool
    llm: bool | None = None
    fact_check_failed: bool = False
    """The LLM check raised, which flags the item, as it fails a chunk in the pipeline."""

    def flagged(self, check: Check) -> bool | None:
        if check == "guards":
            return self.guards
        if check == "llm":
            return self.llm
        return None if self.llm is None else self.guards or self.llm


@dataclass(frozen=True)
class Confusion:
    """Counts of a binary check against labels, with "unfaithful" as the positive class."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @classmethod
    def count(cls, pairs: Iterable[tuple[bool, bool]]) -> "Confusion":
        """Count (unfaithful, flagged) pairs."""
        tp = fp = fn = tn = 0
        for unfaithful, flagged in pairs:
            if unfaithful and flagged:
                tp += 1
            elif flagged:
                fp += 1
            elif unfaithful:
                fn += 1
            else:
                tn += 1
        return cls(tp, fp, fn, tn)

    @property
    def total(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float | None:
        """Share of flagged items that are unfaithful, or None when nothing was flagged."""
        flagged = self.tp + self.fp
        return self.tp / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        """Share of unfaithful items that were flagged, or None when there are none."""
        return self.tp / self.positives if self.positives else None

    @property
    def specificity(self) -> float | None:
        """Share of faithful items that passed, or None when there are none."""
        negatives = self.tn + self.fp
        return self.tn / negatives if negatives else None

    @property
    def balanced_accuracy(self) -> float | None:
        """Mean of recall and specificity over the classes present, or None for no items.

        With one class present this is that class's rate, as scikit-learn does.
        """
        rates = [rate for rate in (self.recall, self.specificity) if rate is not None]
        return sum(rates) / len(rates) if rates else None


def flags_unfaithful(verdict: ChunkVerdict, kind: ItemKind) -> bool:
    """Decide from a verdict's fields whether the check fails an item of this kind.

    Copy overlap never counts. A claim may drop facts, numbers, names and
    placeholders, so for a claim only contradicted facts, unsupported added
    claims and quantities that are not in the source count.
    """
    if verdict.contradicted or verdict.added or verdict.added_numbers:
        return True
    if kind == "claim":
        return False
    return bool(verdict.missing or verdict.missing_numbers or verdict.missing_entities or verdict.missing_placeholders)


def fact_check_failed(verdict: ChunkVerdict) -> bool:
    """Tell whether an LLM-only verdict (run_guards=False) contains a problem beyond its fact lists.

    Such a problem is a failed extraction or comparison, which `judge_rewrite`
    records as a problem line only.
    """
    return len(verdict.problems) > len(verdict.missing) + len(verdict.contradicted) + len(verdict.added)


def dataset_name(path: Path) -> str:
    return path.name.split(".")[0]


def load_items(path: Path, *, limit: int | None, seed: int, kind: ItemKind | None = None) -> tuple[list[EvalItem], int]:
    """Read a JSON Lines evalset and return up to `limit` sampled items with the count of skipped rows.

    A row needs `source` and either `claim` or `rewrite`; rows with neither
    (question-answer rows) are skipped. `kind` overrides the kind that the
    field name gives. A rewrite row without a label is faithful. Sampling
    depends only on the seed and the file name, not on the other files.
    """
    name = dataset_name(path)
    items: list[EvalItem] = []
    skipped = 0
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InputError(str(path), f"cannot be read: {error}") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        item = _parse_row(path, number, line, name, kind)
        if item is None:
            skipped += 1
        else:
            items.append(item)
    if limit is not None and limit < len(items):
        picked = sorted(random.Random(f"{seed}:{name}").sample(range(len(items)), limit))
        items = [items[index] for index in picked]
    return items, skipped


def _parse_row(path: Path, number: int, line: str, name: str, kind: ItemKind | None) -> EvalItem | None:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise InputError(str(path), f"invalid JSON: {error}", number) from error
    if not isinstance(row, dict) or not isinstance(row.get("source"), str):
        raise InputError(str(path), "missing string field 'source'", number)
    if isinstance(row.get("claim"), str):
        text, row_kind = row["claim"], "claim"
    elif isinstance(row.get("rewrite"), str):
        text, row_kind = row["rewrite"], "rewrite"
    else:
        return None

    label = row.get("label")
    if label is None and row_kind == "rewrite":
        label = "faithful"
    if label not in LABELS:
        raise InputError(str(path), f"unknown label {label!r}; expected one of {', '.join(LABELS)}", number)
    source = row["source"]
    if name in LOWERCASED_SOURCES:
        source, text = source.lower(), text.lower()
    return EvalItem(source, text, kind or row_kind, LABELS[label], name)


def corruption_items(directory: Path, count: int, seed: int) -> list[EvalItem]:
    """Turn corruption pairs into items: the faithful rewrite and the corrupted one, both of rewrite kind."""
    items: list[EvalItem] = []
    for pair in make_corruptions(directory, count, seed):
        items.append(EvalItem(pair.source, pair.faithful, "rewrite", False, CORRUPTION_SOURCE, pair.corruption))
        items.append(EvalItem(pair.source, pair.corrupted, "rewrite", True, CORRUPTION_SOURCE, pair.corruption))
    return items


@dataclass
class FactMemo:
    """Source facts extracted once per distinct source, shared by the items that have that source."""

    context: Context
    usage: Usage = field(default_factory=Usage)
    _tasks: dict[str, asyncio.Task[FactList | None]] = field(default_factory=dict)

    async def get(self, source: str) -> FactList | None:
        """Return the source's facts, or None when the extraction failed."""
        if source not in self._tasks:
            self._tasks[source] = asyncio.ensure_future(self._extract(source))
        return await self._tasks[source]

    async def _extract(self, source: str) -> FactList | None:
        try:
            facts, usage = await extract_source_facts(source, self.context)
        except EndpointError as error:
            logger.warning("fact extraction failed for a %d-character source: %s", len(source), error)
            return None
        self.usage.add(usage)
        return facts


async def judge_items(
    items: Sequence[EvalItem],
    context: Context | None,
    *,
    concurrency: int,
    outcomes: list[Outcome],
) -> Usage:
    """Judge every item with the guards, and with the LLM check when `context` is given.

    Outcomes are appended to `outcomes` as items finish, so that an
    interrupted run keeps the finished ones. Returns the LLM usage.
    """
    # The guards never call an LLM, so without a context they get no client.
    guard_context = (
        dataclasses.replace(context, check_facts=False)
        if context is not None
        else Context(rewriter=None, verifier=None, check_facts=False)  # type: ignore[arg-type]
    )
    memo = FactMemo(context) if context is not None else None
    semaphore = asyncio.Semaphore(concurrency)
    usage = Usage()

    async def judge(item: EvalItem) -> None:
        async with semaphore:
            outcome, item_usage = await judge_item(item, guard_context, memo)
        usage.add(item_usage)
        outcomes.append(outcome)
        if len(outcomes) % 10 == 0:
            logger.info("judged %d of %d items", len(outcomes), len(items))

    await asyncio.gather(*(judge(item) for item in items))
    if memo is not None:
        usage.add(memo.usage)
    return usage


async def judge_item(item: EvalItem, guard_context: Context, memo: FactMemo | None) -> tuple[Outcome, Usage]:
    """Judge one item with the guards, then with the LLM check of `memo.context` when a memo is given."""
    guard_verdict, _ = await judge_rewrite(item.source, item.text, None, guard_context, style=STYLE)
    outcome = Outcome(item, guards=flags_unfaithful(guard_verdict, item.kind))
    if memo is None:
        return outcome, Usage()

    facts = await memo.get(item.source)
    verdict, usage = await judge_rewrite(item.source, item.text, facts, memo.context, style=STYLE, run_guards=False)
    failed = fact_check_failed(verdict)
    flagged = failed or flags_unfaithful(verdict, item.kind)
    return dataclasses.replace(outcome, llm=flagged, fact_check_failed=failed), usage


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    group: str
    check: Check
    confusion: Confusion


def build_rows(outcomes: Sequence[Outcome], checks: Sequence[Check]) -> list[Row]:
    """Score each data source, each corruption type and all items together, for each check that ran."""
    groups: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault(outcome.item.origin, []).append(outcome)
    ordered: list[tuple[str, list[Outcome]]] = []
    # Evalsets by name, then the corruptions.
    for origin in sorted(groups, key=lambda name: (name == CORRUPTION_SOURCE, name)):
        members = groups[origin]
        ordered.append((origin, members))
        if origin == CORRUPTION_SOURCE:
            for corruption in CORRUPTION_TYPES:
                subset = [outcome for outcome in members if outcome.item.subset == corruption]
                if subset:
                    ordered.append((f"{origin}/{corruption}", subset))
    ordered.append(("overall", list(outcomes)))

    rows = []
    for group, members in ordered:
        for check in checks:
            pairs = [(outcome.item.unfaithful, bool(outcome.flagged(check))) for outcome in members]
            rows.append(Row(group, check, Confusion.count(pairs)))
    return rows


def format_table(rows: Sequence[Row]) -> list[str]:
    width = max([len("source"), *(len(row.group) for row in rows)])
    header = f"{'source':<{width}}  {'check':<6}  {'items':>5}  {'unfaithful':>10}  {'TP':>4}  {'FP':>4}  {'FN':>4}  {'TN':>4}  {'precision':>9}  {'recall':>6}  {'bal.acc':>7}"
    lines = [header, "-" * len(header)]
    for row in rows:
        c = row.confusion
        lines.append(
            f"{row.group:<{width}}  {row.check:<6}  {c.total:>5}  {c.positives:>10}  {c.tp:>4}  {c.fp:>4}  {c.fn:>4}  {c.tn:>4}  "
            f"{_rate(c.precision):>9}  {_rate(c.recall):>6}  {_rate(c.balanced_accuracy):>7}"
        )
    return lines


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.verify_eval",
        description="Measure precision, recall and balanced accuracy of the fidelity check on labelled pairs.",
    )
    data = parser.add_argument_group("data")
    data.add_argument("--data", type=Path, action="append", default=[], metavar="FILE", help="JSON Lines with 'source', 'claim' or 'rewrite', and 'label'; repeat for several files")
    data.add_argument("--kind", choices=["auto", "claim", "rewrite"], default="auto", help="scoring rules for --data items: from the field name ('auto'), or the same for all (default: %(default)s)")
    data.add_argument("--limit", type=int, default=None, metavar="N", help="items sampled per --data file (default: all)")
    data.add_argument("--corrupt", type=Path, metavar="DIR", help="also judge corruptions of the prose paragraphs in DIR, each paired with a faithful rewrite")
    data.add_argument("--corruptions", type=int, default=200, metavar="N", help="corrupted items made from DIR, each with its faithful pair (default: %(default)s)")
    data.add_argument("--seed", type=int, default=0, help="seed of the sampling and the corruptions (default: %(default)s)")

    check = parser.add_argument_group("check")
    check.add_argument("--guards-only", action="store_true", help="run only the guards that need no LLM")
    check.add_argument("--concurrency", type=int, default=4, help="items in flight and LLM requests at once (default: %(default)s)")

    endpoint = add_endpoint_arguments(parser)
    endpoint.add_argument("--cache-dir", type=Path, default=None, help="LLM response cache and joined model (default: $XDG_CACHE_HOME/polyphrase or ~/.cache/polyphrase)")
    endpoint.add_argument("--server-threads", type=int, default=None, help="CPU threads of the embedded server (default: all cores)")
    parser.add_argument("--verbose", "-v", action="store_true", help="log progress and LLM failures (INFO)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    outcomes: list[Outcome] = []
    usage: Usage | None = None
    try:
        _validate(args)
        items, notes = _collect_items(args)
        try:
            usage = _judge(args, items, outcomes)
        except KeyboardInterrupt:
            notes.append(f"interrupted: {len(outcomes)} of {len(items)} items judged, and the table covers only those")
    except PolyphraseError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        outcomes.clear()
    if not outcomes:
        print("interrupted before any item was judged", file=sys.stderr)
        return 130

    interrupted = usage is None
    _print_report(outcomes, notes, usage, time.monotonic() - started)
    return 130 if interrupted else 0


def _interrupt(signum: int, frame: object) -> None:
    """Stop on SIGTERM (sent by `timeout`) as on Ctrl-C, so the embedded server stops and the report prints."""
    raise KeyboardInterrupt


def _validate(args: argparse.Namespace) -> None:
    if not args.data and args.corrupt is None:
        raise ConfigError("nothing to judge: give --data FILE or --corrupt DIR")
    for path in args.data:
        if not path.is_file():
            raise ConfigError(f"data file not found: {path}")
    if args.corrupt is not None and not args.corrupt.is_dir():
        raise ConfigError(f"--corrupt folder not found: {args.corrupt}")
    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit must be at least 1, got {args.limit}")
    if args.corruptions < 1:
        raise ConfigError(f"--corruptions must be at least 1, got {args.corruptions}")
    if args.concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {args.concurrency}")


def _collect_items(args: argparse.Namespace) -> tuple[list[EvalItem], list[str]]:
    kind = None if args.kind == "auto" else args.kind
    items: list[EvalItem] = []
    notes: list[str] = []
    for path in args.data:
        loaded, skipped = load_items(path, limit=args.limit, seed=args.seed, kind=kind)
        items += loaded
        if skipped:
            notes.append(f"{path.name}: skipped {skipped} rows without a claim or rewrite")
        if dataset_name(path) in LOWERCASED_SOURCES and loaded:
            notes.append(f"{path.name}: source and claim lower-cased, since letter case alone gives its labels away")
    if args.corrupt is not None:
        corrupted = corruption_items(args.corrupt, args.corruptions, args.seed)
        items += corrupted
        if len(corrupted) < 2 * args.corruptions:
            notes.append(f"{args.corrupt}: only {len(corrupted) // 2} usable paragraphs for {args.corruptions} corruptions")
    # A seeded shuffle spreads every source over the run, so an interrupted run still covers them all.
    random.Random(args.seed).shuffle(items)
    return items, notes


def _judge(args: argparse.Namespace, items: list[EvalItem], outcomes: list[Outcome]) -> Usage:
    if args.guards_only:
        return asyncio.run(judge_items(items, None, concurrency=args.concurrency, outcomes=outcomes))

    cache_dir = args.cache_dir or default_cache_dir()
    with contextlib.ExitStack() as stack:
        endpoint, request_concurrency = open_endpoint(args, stack, cache_dir)
        return asyncio.run(_judge_with_llm(endpoint, cache_dir, items, request_concurrency, outcomes))


async def _judge_with_llm(
    endpoint: Endpoint, cache_dir: Path, items: list[EvalItem], concurrency: int, outcomes: list[Outcome]
) -> Usage:
    cache = ResponseCache(cache_dir / "llm")
    client = LLMClient(endpoint, cache, max_concurrency=concurrency)
    try:
        return await judge_items(items, Context(rewriter=client, verifier=client), concurrency=concurrency, outcomes=outcomes)
    finally:
        await client.aclose()
        cache.close()


def _print_report(outcomes: list[Outcome], notes: list[str], usage: Usage | None, elapsed_s: float) -> None:
    ran_llm = any(outcome.llm is not None for outcome in outcomes)
    checks: list[Check] = ["guards", "llm", "both"] if ran_llm else ["guards"]
    print("positive class: unfaithful (an item the check fails counts as flagged)")
    print("claim items: scored on contradicted facts, unsupported added claims and added quantities")
    print("rewrite items: scored on every fidelity field; corruption pairs are rewrite items")
    print("copy guard: not scored for any item, since it judges wording, not facts")
    for note in notes:
        print(note)
    if ran_llm:
        failed = sum(outcome.fact_check_failed for outcome in outcomes)
        print(f"failed fact checks (counted as flagged, as the pipeline fails such a chunk): {failed}")
    if usage is not None and ran_llm:
        print(f"LLM usage: {usage.calls} calls, {usage.cache_hits} cache hits, {usage.prompt_tokens} prompt and {usage.completion_tokens} completion tokens")
    print(f"elapsed: {elapsed_s:.0f} s")
    print()
    rows = build_rows(outcomes, checks)
    for line in format_table(rows):
        print(line)
    final_check: Check = "both" if ran_llm else "guards"
    overall = next(row for row in rows if row.group == "overall" and row.check == final_check)
    value = overall.confusion.balanced_accuracy
    print(f"balanced_accuracy={'nan' if value is None else f'{value:.4f}'}")


if __name__ == "__main__":
    sys.exit(main())
