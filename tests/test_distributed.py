"""Data-parallel jobs: placement from torchrun's environment, sharded loaders, a DDP step, rank 0 building
the dataset, and ``promptstyles compare`` under torchrun. Real processes with the gloo backend on the CPU."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.multiprocessing as mp
import yaml

from promptstyles import build_dataloaders, distributed, load_config
from promptstyles.distributed import Placement, from_environment
from promptstyles.errors import ConfigError
from promptstyles.experiments import compare, sample_data_path
from promptstyles.experiments.model import GPT, GPTConfig
from promptstyles.experiments.train import TrainConfig, train

SMALL_MODEL = {"emb_dim": 32, "n_heads": 2, "n_layers": 1, "context_length": 128}
BATCH = 4


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def data_config(cache: Path) -> dict[str, Any]:
    return {"data": {"path": str(sample_data_path()), "split": {"train": 0.75, "test": 0.1},
                     "cache_dir": str(cache)},
            "collate": {"allowed_max_length": 56}, "loader": {"batch_size": BATCH}}


def tiny_model() -> GPT:
    torch.manual_seed(7)
    return GPT(GPTConfig.preset("tiny", **SMALL_MODEL))


# --- placement from the environment ------------------------------------------------------------------------


@pytest.mark.parametrize(("environ", "message"), [
    ({"WORLD_SIZE": "2"}, "RANK: not set while WORLD_SIZE=2; launch with torchrun, which sets both"),
    ({"RANK": "0"}, "WORLD_SIZE: not set while RANK=0; launch with torchrun, which sets both"),
    ({"RANK": "x", "WORLD_SIZE": "2"},
     "RANK: expected an integer, got 'x'; torchrun sets it, or unset it for one process"),
    ({"RANK": "2", "WORLD_SIZE": "2"}, "RANK: must be from 0 to WORLD_SIZE - 1 (1), got 2"),
    ({"RANK": "0", "WORLD_SIZE": "0"}, "WORLD_SIZE: must be at least 1, got 0"),
    ({"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "2"}, "LOCAL_RANK: must be from 0 to RANK (1), got 2"),
])
def test_a_broken_environment_names_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        from_environment(environ)
    assert str(caught.value) == message


def test_the_environment_gives_the_placement() -> None:
    assert from_environment({}) is None
    assert from_environment({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == Placement(3, 4, 1)
    assert from_environment({"RANK": "1", "WORLD_SIZE": "2"}) == Placement(1, 2, 1)  # one machine


def test_the_loader_takes_rank_and_world_size_from_torchrun_unless_configured(monkeypatch, tmp_path) -> None:
    assert load_config({}).loader.placement == (0, 1)
    assert load_config({"loader": {"rank": 1, "world_size": 3}}).loader.placement == (1, 3)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert load_config({}).loader.placement == (1, 2)
    assert load_config({"loader": {"world_size": 2, "rank": 1}}).loader.placement == (1, 2)
    path = tmp_path / "config.yaml"
    path.write_text("loader:\n  batch_size: 2\n  world_size: 4\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (f"{path}: loader.world_size (line 3): is 4 but torchrun set WORLD_SIZE=2;"
                                 " remove loader.world_size to take it from the environment")
    with pytest.raises(ConfigError) as caught:
        load_config({"loader": {"rank": 0}})
    assert str(caught.value) == ("loader.rank: is 0 but torchrun set RANK=1; remove loader.rank to take it from"
                                 " the environment")
    monkeypatch.setenv("RANK", "-1")
    with pytest.raises(ConfigError) as caught:
        load_config({})
    assert str(caught.value) == "RANK: must be from 0 to WORLD_SIZE - 1 (1), got -1"


def test_joining_a_job_needs_the_rendezvous_address(monkeypatch) -> None:
    for name, value in {"WORLD_SIZE": "2", "RANK": "1", "MASTER_PORT": "29500"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    with pytest.raises(ConfigError) as caught:
        distributed.process_group()
    assert str(caught.value) == ("MASTER_ADDR: not set while WORLD_SIZE=2; launch with torchrun, which sets it, or"
                                 " set MASTER_ADDR and MASTER_PORT to rank 0's address and a free port")
    assert not torch.distributed.is_initialized()


# --- two processes: loaders, a DDP step, one build ---------------------------------------------------------


def _worker(rank: int, port: int, folder: str) -> None:
    """One rank of a two-process job as torchrun would start it; writes what it saw to ``folder``."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2",
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from promptstyles import pipeline

    builds = []
    tokenize = pipeline.tokenize_records

    def counted(*args: Any, **kwargs: Any) -> Any:
        builds.append(rank)
        return tokenize(*args, **kwargs)

    pipeline.tokenize_records = counted  # type: ignore[assignment]
    loaders = build_dataloaders(data_config(Path(folder) / "cache"))
    seen = {split: [batch.tolist() for batch in loaders.batch_indices(split)] for split in ("train", "val", "test")}
    model = tiny_model()
    result = train(model, loaders.train, None, TrainConfig(max_steps=1), ignore_index=loaders.collator.ignore_index)
    torch.save(model.state_dict(), Path(folder) / f"rank{rank}.pt")
    uncached = data_config(Path(folder) / "cache")
    uncached["data"]["cache"] = False
    pipeline.prepare_data(uncached)  # no cache to share: every rank tokenizes
    report = {"seen": seen, "builds": builds, "placement": list(loaders.data.config.loader.placement),
              "loss": result.curve.train_loss[0], "tokens": result.tokens_seen}
    (Path(folder) / f"rank{rank}.json").write_text(json.dumps(report), encoding="utf-8")
    distributed.close()


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("ddp")
    mp.spawn(_worker, args=(free_port(), str(folder)), nprocs=2, join=True)
    return folder, [json.loads((folder / f"rank{r}.json").read_text(encoding="utf-8")) for r in range(2)]


def test_ranks_share_the_training_batches_and_each_scores_all_of_val_and_test(job) -> None:
    folder, ranks = job
    assert [r["placement"] for r in ranks] == [[0, 2], [1, 2]]
    single = build_dataloaders(data_config(folder / "cache"))
    sizes = single.data.sizes
    train = [sorted(i for batch in r["seen"]["train"] for i in batch) for r in ranks]
    assert len(ranks[0]["seen"]["train"]) == len(ranks[1]["seen"]["train"]) == 5  # 11 batches of 45 examples
    assert not set(train[0]) & set(train[1])
    union = set(train[0]) | set(train[1])
    assert len(union) == 2 * 5 * BATCH and union <= set(range(sizes["train"]))  # 5 dropped: a short batch + one
    for split in ("val", "test"):  # every rank scores every example once, in order
        for r in ranks:
            assert [i for batch in r["seen"][split] for i in batch] == list(range(sizes[split]))


def test_only_rank_0_tokenizes_and_the_other_loads_its_cache_entry(job) -> None:
    _, ranks = job
    assert [r["builds"] for r in ranks] == [[0, 0], [1]]  # then data.cache: false, where every rank builds


def test_a_ddp_step_equals_one_process_on_the_union_batch(job) -> None:
    folder, ranks = job
    states = [torch.load(folder / f"rank{r}.pt") for r in range(2)]
    for name, value in states[0].items():
        assert torch.equal(value, states[1][name]), name
    single = build_dataloaders(data_config(folder / "cache"))
    first = [r["seen"]["train"][0] for r in ranks]
    union = single.batch("train", first[0] + first[1])
    model = tiny_model()
    result = train(model, [union], None, TrainConfig(max_steps=1), ignore_index=single.collator.ignore_index)
    assert ranks[0]["tokens"] == ranks[1]["tokens"] == result.tokens_seen
    assert ranks[0]["loss"] == ranks[1]["loss"] == pytest.approx(result.curve.train_loss[0], rel=1e-6)
    before = tiny_model().state_dict()
    for name, value in model.state_dict().items():
        assert not torch.equal(value, before[name]), name  # the step moved it
        torch.testing.assert_close(states[0][name], value, rtol=1e-5, atol=1e-6)


# --- promptstyles compare under torchrun -------------------------------------------------------------------


def experiment(output: Path, cache: Path) -> dict[str, Any]:
    base = data_config(cache)
    base["collate"]["mask"] = "prompt"
    return {"styles": ["alpaca", "chatml"], "base": base, "model": {"config": SMALL_MODEL},
            "training": {"max_steps": 2, "eval_every": 2}, "generation": {"records": 1, "max_new_tokens": 3},
            "output": str(output)}


def shape(value: Any) -> Any:
    """The structure of plain data: keys and list lengths, with every leaf replaced by its type."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


def test_compare_under_torchrun_writes_one_report_like_a_single_process(tmp_path) -> None:
    single = compare(experiment(tmp_path / "single", tmp_path / "cache"))
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(experiment(tmp_path / "ddp", tmp_path / "cache")), encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
               "127.0.0.1", "--master_port", str(free_port()), "-m", "promptstyles", "compare", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("report: ") == 1, done.stdout
    files = sorted(p.relative_to(tmp_path / "ddp").as_posix() for p in (tmp_path / "ddp").rglob("*"))
    assert files == sorted(p.relative_to(tmp_path / "single").as_posix() for p in (tmp_path / "single").rglob("*"))
    results = json.loads((tmp_path / "ddp" / "results.json").read_text(encoding="utf-8"))
    expected = json.loads((tmp_path / "single" / "results.json").read_text(encoding="utf-8"))
    assert shape(results) == shape(expected) and set(single["styles"]) == {"alpaca", "chatml"}
    for style in ("alpaca", "chatml"):
        ours, theirs = results["styles"][style]["training"], expected["styles"][style]["training"]
        assert ours["steps"] == theirs["steps"] == 2
        assert ours["val_response_tokens"] == theirs["val_response_tokens"]  # the whole split, scored once
        assert ours["val_examples"]["records"] == theirs["val_examples"]["records"]
        assert ours["tokens_seen"] != theirs["tokens_seen"]  # two ranks' batches per step
