import pytest

from cc_perf_dagster.core.planning import CostModel, DocumentTask, plan_batches


def docs(*page_counts):
    return [DocumentTask(f"k{i}", f"/p/{i}.pdf", f"{i}.pdf", f"sha{i}", n) for i, n in enumerate(page_counts)]


class TestCostModel:
    @pytest.mark.parametrize(
        ("pages", "expected"),
        [(0, 0), (1, 1), (15, 1), (99, 1), (100, 2), (3000, 2)],
    )
    def test_fan_out_only_when_a_batch_is_worth_a_step(self, pages, expected):
        # 0.4 s per step against 8 ms per page: a second batch pays from 100 pages
        assert CostModel().batch_count(pages) == expected

    def test_never_beyond_the_concurrency(self):
        assert CostModel(max_concurrent=8).batch_count(100_000) == 8

    def test_fixed_batch_size_gives_the_naive_design(self):
        assert CostModel(pages_per_batch=1).batch_count(15) == 15

    def test_runs_whose_shared_parsing_saves_less_than_the_processes_cost_stay_in_one_process(self):
        # 3 s of processes against 4 ms saved per page on 2 cores: from 750 pages on
        assert CostModel().in_process_below_pages() == 750
        assert CostModel(run_overhead_s=6.0).in_process_below_pages() == 1500
        assert CostModel(max_concurrent=4).in_process_below_pages() == 500

    def test_with_one_process_every_run_stays_in_it(self):
        assert CostModel(max_concurrent=1).in_process_below_pages() >= 2**31 - 1


class TestPlanBatches:
    def test_whole_documents_are_dealt_to_the_least_loaded_batch(self):
        batches = plan_batches(docs(15, 15, 15, 30, 3), CostModel(page_cost_s=1.0))
        assert len(batches) == 2
        loads = sorted(sum(len(i.pages) for i in b) for b in batches)
        assert loads == [33, 45]  # the best split of 30, 15, 15, 15, 3 (78 pages)
        assert all(item.whole for b in batches for item in b)
        keys = [item.document.key for b in batches for item in b]
        assert sorted(keys) == ["k0", "k1", "k2", "k3", "k4"]

    def test_one_large_document_is_split_into_equal_page_runs(self):
        batches = plan_batches(docs(1500), CostModel())
        assert [len(b) for b in batches] == [1, 1]
        assert [b[0].pages[0] for b in batches] == [1, 751] and [len(b[0].pages) for b in batches] == [750, 750]
        assert not batches[0][0].whole

    def test_nothing_to_parse_no_batches(self):
        assert plan_batches([], CostModel()) == []

    def test_per_page_batches(self):
        batches = plan_batches(docs(3, 2), CostModel(pages_per_batch=1))
        assert [(b[0].document.key, b[0].pages) for b in batches] == [
            ("k0", (1,)), ("k0", (2,)), ("k0", (3,)), ("k1", (1,)), ("k1", (2,)),
        ]  # fmt: skip

    def test_batches_are_small_plain_values(self):
        (batch,) = plan_batches(docs(15), CostModel())
        assert batch[0].to_dict() == {
            "key": "k0", "path": "/p/0.pdf", "file": "0.pdf", "sha256": "sha0", "page_count": 15,
            "pages": list(range(1, 16)),
        }  # fmt: skip
