"""How many page batches to fan out, and which pages go in each: the cost model.

A step of Dagster's multiprocess executor costs a fixed overhead (a new process, the
instance, the plan, a dozen events: about 0.75 s with forkserver on the reference machine)
while a page costs about 10 ms of pypdf work. Fanning out only pays when a batch's work is
worth more than the step it runs in, and never beyond the executor's concurrency:

    batches = min(max_concurrent, max(1, floor(pages_to_parse x page_cost_s / step_overhead_s)))

So a 15-page invoice on 2 cores is one batch, while a run covering many invoices fans out to
the concurrency limit, with batches spanning invoices. Pages already in the cache are not
counted (they need no parsing). Pages are dealt out in document order, in contiguous and
equal-sized runs, so each batch opens as few files as possible.
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
    """

    step_overhead_s: float = 0.75
    page_cost_s: float = 0.012
    max_concurrent: int = 2
    pages_per_batch: int | None = None

    def batch_count(self, pages: int) -> int:
        """Number of batches for ``pages`` pages to parse (0 when there is nothing to parse)."""
        if pages <= 0:
            return 0
        if self.pages_per_batch:
            return -(-pages // self.pages_per_batch)
        worth = int(pages * self.page_cost_s / self.step_overhead_s)
        return min(max(self.max_concurrent, 1), max(1, worth))


@dataclass(frozen=True, slots=True)
class PageTask:
    """One page to parse: which partition, which file, which page, its content hash."""

    key: str
    path: str
    file: str
    page: int
    content_hash: str


def plan_batches(tasks: Sequence[PageTask], model: CostModel) -> list[list[PageTask]]:
    """Split the pages to parse into batches per the cost model, keeping document order."""
    count = model.batch_count(len(tasks))
    if count == 0:
        return []
    size, extra = divmod(len(tasks), count)
    batches, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        batches.append(list(tasks[start:end]))
        start = end
    return batches


def batch_to_dict(batch: Sequence[PageTask]) -> dict:
    """A batch as a small JSON-able value: per file, its page numbers and content hashes."""
    items: list[dict] = []
    for task in batch:
        if not items or items[-1]["key"] != task.key:
            items.append({"key": task.key, "path": task.path, "file": task.file, "pages": [], "hashes": []})
        items[-1]["pages"].append(task.page)
        items[-1]["hashes"].append(task.content_hash)
    return {"items": items, "pages": len(batch)}
