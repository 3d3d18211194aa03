"""How many page batches to fan out, and which pages go in each: the cost model.

A step of Dagster's multiprocess executor costs a fixed overhead (a new process, the
instance, the plan, a dozen events: about 0.4 s with a forkserver that has preloaded the
definitions and the instance storage, on the reference machine) while a page costs about 8 ms
(parsing, caching, assembling: see ``CostModel.page_cost_s``). Fanning out only pays when a
batch's work is worth more than the step it runs in, and never beyond the executor's concurrency:

    batches = min(max_concurrent, max(1, floor(pages_to_parse x page_cost_s / step_overhead_s)))

So a 15-page invoice on 2 cores is one batch, while a run covering many invoices fans out to
the concurrency limit, with batches spanning invoices. Documents already in the cache are
not counted (they need no parsing). When there are at least as many documents as batches,
whole documents are dealt to the least-loaded batch (largest first), so each batch can
assemble its documents itself; a single large document is split into equal page runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CostModel:
    """Figures the fan-out decision uses (defaults measured on the reference machine).

    Attributes:
        step_overhead_s: Cost of one extra step (process start, events).
        page_cost_s: Cost of parsing one page.
        max_concurrent: How many steps the executor runs at once.
        pages_per_batch: Fixed batch size instead of the model (1 gives one step per page,
            the naive design the benchmarks compare against); ``None`` uses the model.
        run_overhead_s: What running a job's steps in processes of their own costs a run on top
            of running them in the run's own process: the forkserver's start with its preloaded
            modules and a process start per stage (plan, batches, merge, booking rows).
    """

    step_overhead_s: float = 0.4
    # Where a run's pages cost as much in the run's own process as over processes: 900 pages of
    # 15-page invoices with the pypdf engine, between 600 and 900 with PDFium (2026-12-06, both
    # ways side by side; 3.0 s / (0.008 s / 2) = 750).
    page_cost_s: float = 0.008
    max_concurrent: int = 2
    pages_per_batch: int | None = None
    run_overhead_s: float = 3.0

    def in_process_below_pages(self) -> int:
        """Runs covering fewer pages than this are faster with every step in the run's own process.

        Steps in processes of their own save, at best, the parallel share of the parsing
        (``pages x page_cost_s x (1 - 1 / max_concurrent)``); below this many pages that is
        less than ``run_overhead_s``. With one process there is nothing to save: every run.

        Example:
            >>> CostModel().in_process_below_pages()
            750
        """
        saved_per_page = self.page_cost_s * (1 - 1 / max(self.max_concurrent, 1))
        if saved_per_page <= 0:
            return 2**31 - 1
        return round(self.run_overhead_s / saved_per_page)

    def batch_count(self, pages: int) -> int:
        """Number of batches for ``pages`` pages to parse (0 when there is nothing to parse)."""
        if pages <= 0:
            return 0
        if self.pages_per_batch:
            return -(-pages // self.pages_per_batch)
        worth = int(pages * self.page_cost_s / self.step_overhead_s)
        return min(max(self.max_concurrent, 1), max(1, worth))


@dataclass(frozen=True, slots=True)
class DocumentTask:
    """A document whose pages need parsing."""

    key: str
    path: str
    file: str
    sha256: str
    page_count: int


@dataclass(frozen=True, slots=True)
class BatchItem:
    """Some (or all) pages of one document, inside one batch."""

    document: DocumentTask
    pages: tuple[int, ...]

    @property
    def whole(self) -> bool:
        """Whether the batch holds every page of the document (it can then assemble it)."""
        return len(self.pages) == self.document.page_count

    def to_dict(self) -> dict:
        """Small JSON-able form: the file and its page numbers, never page content."""
        d = self.document
        return {"key": d.key, "path": d.path, "file": d.file, "sha256": d.sha256, "page_count": d.page_count,
                "pages": list(self.pages)}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict) -> BatchItem:
        """Rebuild from :meth:`to_dict`."""
        task = DocumentTask(data["key"], data["path"], data["file"], data["sha256"], data["page_count"])
        return cls(task, tuple(data["pages"]))


def plan_batches(documents: Sequence[DocumentTask], model: CostModel) -> list[list[BatchItem]]:
    """Deal the documents' pages into batches per the cost model."""
    total = sum(d.page_count for d in documents)
    count = model.batch_count(total)
    if count == 0:
        return []
    if len(documents) >= count and not model.pages_per_batch:
        bins: list[list[BatchItem]] = [[] for _ in range(count)]
        loads = [0] * count
        for document in sorted(documents, key=lambda d: -d.page_count):
            target = loads.index(min(loads))
            bins[target].append(BatchItem(document, tuple(range(1, document.page_count + 1))))
            loads[target] += document.page_count
        order = {d.key: i for i, d in enumerate(documents)}
        return [sorted(b, key=lambda item: order[item.document.key]) for b in bins if b]
    pages = [(d, p) for d in documents for p in range(1, d.page_count + 1)]
    size, extra = divmod(len(pages), count)
    batches, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        batch: list[BatchItem] = []
        for document, page in pages[start:end]:
            if batch and batch[-1].document is document:
                batch[-1] = BatchItem(document, (*batch[-1].pages, page))
            else:
                batch.append(BatchItem(document, (page,)))
        batches.append(batch)
        start = end
    return batches


def contiguous_ranges(selected: Sequence[str], order: Sequence[str]) -> list[list[str]]:
    """Group partition keys into runs of keys adjacent in the partitions' order."""
    position = {key: index for index, key in enumerate(order)}
    ranges: list[list[str]] = []
    for key in sorted(selected, key=position.__getitem__):
        if ranges and position[key] == position[ranges[-1][-1]] + 1:
            ranges[-1].append(key)
        else:
            ranges.append([key])
    return ranges
