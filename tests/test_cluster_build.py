"""The build on a Ray cluster (``data.cluster``): a two-node cluster simulated on this machine.

The store a cluster build writes must be byte-equal to the local build's, whatever the chunking, the number
of actors, or a worker that dies mid-chunk; a record a style cannot render stops it with the local build's
error. ``verified.json`` is left out of the comparison: it records when this machine last hashed the files
(their modification times), not what the store holds.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import sys
import threading
from pathlib import Path

import pytest
from shared_paths import MODELS, require
from test_ranges import RefusingStyle
from test_streaming import assert_same_arrays

from promptstyles import RecordError
from promptstyles.data.build.cluster import tokenize_chunks_ray, tokenize_ranges_ray
from promptstyles.data.build.encoding import concat_datasets, tokenize_chunks
from promptstyles.data.build.shards import encoded_shard
from promptstyles.data.build.streaming import stream_dataset
from promptstyles.data.tokenizers.registry import get_tokenizer
from promptstyles.errors import ConfigError, DataError
from promptstyles.pipeline import prepare_data
from promptstyles.styles.alpaca import AlpacaStyle

ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")
cloudpickle = pytest.importorskip("ray.cloudpickle")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "data"


class CrashOnceStyle(AlpacaStyle):
    """Alpaca whose worker process dies the first time it renders record text ``crash here``."""

    name = "alpaca-crash-once"
    marker = ""

    def parts(self, record, *, generation=False):
        if getattr(record, "instruction", "") == "crash here" and not os.path.exists(self.marker):
            Path(self.marker).write_text("crashed once", encoding="utf-8")
            os._exit(1)
        return super().parts(record, generation=generation)


class LoggingStyle(AlpacaStyle):
    """Alpaca that notes each record it renders in a file, so a test can count the work a worker did."""

    name = "alpaca-logging"
    log = ""

    def parts(self, record, *, generation=False):
        if getattr(record, "instruction", "").startswith("item "):
            with open(self.log, "a", encoding="utf-8") as handle:
                handle.write(record.instruction + "\n")
        return super().parts(record, generation=generation)


for module in (__name__, RefusingStyle.__module__):  # the workers need not import the test modules
    cloudpickle.register_pickle_by_value(sys.modules[module])


@pytest.fixture(scope="module")
def address():
    """Two nodes of one CPU each, and a small object store."""
    cluster = cluster_utils.Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "object_store_memory": 80 * 2**20, "include_dashboard": False})
    cluster.add_node(num_cpus=1, object_store_memory=80 * 2**20)
    cluster.wait_for_nodes()
    yield cluster.address
    cluster.shutdown()


def _jsonl(records: list[dict], path: Path) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def _store(folder: Path) -> dict[str, str]:
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file() and path.name != "verified.json"}


def _build(config: dict, folder: Path, cluster: dict | None = None) -> tuple[dict[str, str], int]:
    shutil.rmtree(folder, ignore_errors=True)
    data = {**config["data"], "cache": True, "cache_dir": str(folder)}
    if cluster is not None:
        data["cluster"] = cluster
    prepared = prepare_data({**config, "data": data})
    return _store(folder), len(prepared.dataset)


def _both(config: dict, tmp_path: Path, cluster: dict) -> None:
    local, count = _build(config, tmp_path / "local")
    remote, remote_count = _build(config, tmp_path / "cluster", cluster)
    assert count == remote_count and count > 0
    assert local and remote == local


@pytest.mark.parametrize("streaming", [True, False])
def test_alpaca_on_gpt2_is_byte_equal_to_the_local_build(address, raw_records, tmp_path, streaming):
    path = _jsonl(raw_records[:600], tmp_path / "records.jsonl")
    config = {"style": "alpaca", "data": {"path": str(path), "streaming": streaming}}
    _both(config, tmp_path, {"address": address, "chunk_records": 97, "chunk_bytes": 5000})


def test_several_files_and_any_actor_count_give_the_local_store(address, raw_records, tmp_path):
    files = [_jsonl(raw_records[i : i + 250], tmp_path / f"part-{i // 250}.jsonl") for i in range(0, 750, 250)]
    config = {"style": "phi3", "data": {"path": str(tmp_path / "part-*.jsonl")}}
    assert len(files) == 3
    for actors in (1, 3):
        _both(config, tmp_path, {"address": address, "chunk_records": 64, "actors": actors})


def test_a_chat_style_with_tools_on_qwen_is_byte_equal(address, tmp_path):
    model = require(MODELS / "qwen2.5-7b-instruct")
    lines = (EXAMPLES / "tool-calls.jsonl").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "tools.jsonl"
    path.write_text("\n".join(lines * 20) + "\n", encoding="utf-8")
    config = {"style": "qwen2.5", "tokenizer": {"path": str(model)}, "data": {"path": str(path), "streaming": True}}
    _both(config, tmp_path, {"address": address, "chunk_records": 7})


def test_shards_on_shared_storage_give_the_same_store_and_are_removed(address, raw_records, tmp_path):
    path = _jsonl(raw_records[:300], tmp_path / "records.jsonl")
    config = {"style": "alpaca", "data": {"path": str(path), "streaming": True}}
    _both(config, tmp_path, {"address": address, "chunk_records": 41, "results": "shards"})
    assert not (tmp_path / "cluster" / "shards").exists()


def test_a_rerun_after_a_stop_reuses_whole_shards_and_remakes_a_damaged_one(address, tmp_path):
    from promptstyles import to_record

    records = [to_record({"instruction": f"item {i}", "input": "", "output": f"answer {i}"}, index=i)
               for i in range(240)]
    chunks = [records[i : i + 30] for i in range(0, 240, 30)]
    tokenizer = get_tokenizer("gpt2")
    style = LoggingStyle()
    style.log = str(tmp_path / "rendered.txt")
    stopped = tokenize_chunks_ray(chunks, style, tokenizer, address=address, actors=1, shards=tmp_path)
    next(stopped), next(stopped)
    stopped.close()  # the driver stops after two chunks; the workers' finished shards stay
    shards = sorted((tmp_path / "shards").rglob("*.npz"))
    assert 2 <= len(shards) < 8
    shards[0].write_bytes(shards[0].read_bytes()[:100])  # a shard cut short is made again, not trusted
    Path(style.log).unlink()
    built = concat_datasets(list(tokenize_chunks_ray(chunks, style, tokenizer, address=address, shards=tmp_path)))
    assert_same_arrays(built, concat_datasets(list(tokenize_chunks(chunks, AlpacaStyle(), tokenizer))))
    rendered = Path(style.log).read_text(encoding="utf-8").splitlines()
    assert len(rendered) % 30 == 0 and len(rendered) <= 240 - 30 * (len(shards) - 1)  # a stopped actor may
    assert "item 0" in rendered and "item 30" not in rendered  # still finish one; none is made twice
    assert not (tmp_path / "shards").exists()


def test_a_rerun_after_a_stop_reuses_whole_range_shards_and_remakes_a_damaged_one(address, tmp_path):
    from promptstyles.data.sources.ranges import plan_ranges, read_range

    path = _jsonl([{"instruction": f"item {i}", "input": "", "output": f"answer {i}"} for i in range(240)],
                  tmp_path / "records.jsonl")
    plan = plan_ranges([path], 1500)
    tokenizer = get_tokenizer("gpt2")
    style = LoggingStyle()
    style.log = str(tmp_path / "rendered.txt")
    options = {"address": address, "shards": tmp_path}
    stopped = tokenize_ranges_ray(plan, style, tokenizer, actors=1, **options)
    next(stopped), next(stopped)
    stopped.close()  # the driver stops after two ranges; the workers' finished shards stay
    shards = sorted((tmp_path / "shards").rglob("r*.npz"))
    assert 2 <= len(shards) < len(plan) and len(plan) >= 6
    shards[0].write_bytes(shards[0].read_bytes()[:100])  # a shard cut short is made again, not trusted
    Path(style.log).unlink()
    built = stream_dataset(path, style, tokenizer, directory=tmp_path / "cluster", range_bytes=1500,
                           ranges=functools.partial(tokenize_ranges_ray, **options))
    local = stream_dataset(path, AlpacaStyle(), tokenizer, directory=tmp_path / "local")
    assert_same_arrays(built.dataset, local.dataset)
    rendered = Path(style.log).read_text(encoding="utf-8").splitlines()
    second = json.loads(read_range(plan[1])[0].texts[0])["instruction"]
    assert "item 0" in rendered and second not in rendered and len(set(rendered)) == len(rendered)
    assert not (tmp_path / "shards").exists()


def test_a_worker_killed_mid_range_is_retried_and_the_store_is_unchanged(address, raw_records, tmp_path):
    records = [*raw_records[:300], {"instruction": "crash here", "input": "", "output": "Stored once."},
               *raw_records[300:400]]
    path = _jsonl(records, tmp_path / "records.jsonl")
    style = CrashOnceStyle()
    style.marker = str(tmp_path / "crashed")
    tokenizer = get_tokenizer("gpt2")
    built = stream_dataset(path, style, tokenizer, directory=tmp_path / "cluster", range_bytes=8000,
                           ranges=functools.partial(tokenize_ranges_ray, address=address, actors=2))
    local = stream_dataset(path, AlpacaStyle(), tokenizer, directory=tmp_path / "local")
    assert Path(style.marker).exists()  # a worker did die on that range
    assert len(built.dataset) == len(local.dataset) == 401
    assert_same_arrays(built.dataset, local.dataset)


def test_a_worker_that_cannot_see_the_shard_folder_says_so(tmp_path):
    with pytest.raises(DataError, match=r"^data.cluster.results: this worker cannot see the shard folder .*; put "
                                        r"data.cache_dir on storage every node mounts"):
        encoded_shard(tmp_path / "elsewhere", [], 0, lambda: pytest.fail("nothing is encoded"))


def _records(raw: list[dict], extra: dict, at: int, count: int) -> list:
    from promptstyles import to_record

    chosen = [*raw[:at], extra, *raw[at:count]]
    return [to_record(record, index=i) for i, record in enumerate(chosen)]


def test_a_worker_killed_mid_chunk_is_retried_and_the_store_is_unchanged(address, raw_records, tmp_path):
    records = _records(raw_records, {"instruction": "crash here", "input": "", "output": "Stored once."}, 300, 400)
    chunks = [records[i : i + 50] for i in range(0, len(records), 50)]
    tokenizer = get_tokenizer("gpt2")
    style = CrashOnceStyle()
    style.marker = str(tmp_path / "crashed")
    local = concat_datasets(list(tokenize_chunks(chunks, AlpacaStyle(), tokenizer)))
    built = concat_datasets(list(tokenize_chunks_ray(chunks, style, tokenizer, address=address, actors=2)))
    assert Path(style.marker).exists()  # a worker did die on that chunk
    assert len(built) == len(local) == 401
    assert_same_arrays(built, local)


def test_a_record_the_style_cannot_render_stops_with_the_local_error(address, raw_records):
    records = _records(raw_records, {"instruction": "refuse me", "input": "", "output": "x"}, 120, 200)
    chunks = [records[i : i + 40] for i in range(0, len(records), 40)]
    tokenizer = get_tokenizer("gpt2")
    with pytest.raises(RecordError) as local:
        list(tokenize_chunks(chunks, RefusingStyle(), tokenizer, source="records.jsonl"))
    with pytest.raises(RecordError) as remote:
        list(tokenize_chunks_ray(chunks, RefusingStyle(), tokenizer, source="records.jsonl", address=address))
    assert str(remote.value) == str(local.value)
    assert "records.jsonl, record 120" in str(remote.value)


def test_no_store_is_published_when_a_cluster_build_fails(address, raw_records, tmp_path):
    path = _jsonl([*raw_records[:100], {"instruction": "refuse me", "input": "", "output": "x"}],
                  tmp_path / "records.jsonl")
    engine = functools.partial(tokenize_chunks_ray, address=address)
    with pytest.raises(RecordError, match="record 100"):
        stream_dataset(path, RefusingStyle(), get_tokenizer("gpt2"), directory=tmp_path / "store", chunk_size=30,
                       tokenize=engine)
    assert not list((tmp_path / "store").rglob("meta.json"))


def test_without_ray_installed_the_error_says_how_to_install_it(monkeypatch):
    from promptstyles.data.build.cluster import import_ray

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(DataError, match=r"pip install 'promptstyles\[ray\]'"):
        import_ray()


def test_an_address_nothing_answers_at_is_named_at_once(raw_records, tmp_path):
    path = _jsonl(raw_records[:10], tmp_path / "records.jsonl")
    config = {"style": "alpaca", "data": {"path": str(path), "cache": False,
                                          "cluster": {"address": "127.0.0.1:9", "chunk_records": 5}}}
    with pytest.raises(DataError, match=r"data.cluster.address: nothing answers at '127.0.0.1:9'"):
        prepare_data(config)


@pytest.mark.parametrize(("cluster", "path"), [({"chunk_records": 0}, "data.cluster.chunk_records"),
                                               ({"chunk_bytes": 0}, "data.cluster.chunk_bytes"),
                                               ({"actors": 0}, "data.cluster.actors"),
                                               ({"engine": "spark"}, "data.cluster.engine"),
                                               ({"results": "email"}, "data.cluster.results")])
def test_cluster_settings_are_checked_with_their_key_path(cluster, path):
    from promptstyles.config import load_config

    with pytest.raises(ConfigError) as error:
        load_config({"data": {"path": "records.jsonl", "cluster": cluster}})
    assert error.value.path == path


def test_shards_need_the_store_folder():
    from promptstyles.config import load_config

    with pytest.raises(ConfigError, match="shards are written under data.cache_dir") as error:
        load_config({"data": {"path": "records.jsonl", "cache": False, "cluster": {"results": "shards"}}})
    assert error.value.path == "data.cluster.results"


@pytest.mark.parametrize(("actors", "cpus", "share"), [(2, 2, 1.0), (1, 4, 1.0), (3, 2, 0.5), (5, 2, 1 / 3)])
def test_more_actors_than_cpus_share_them_so_every_actor_is_placed(actors, cpus, share):
    from promptstyles.data.build.cluster import _cpu_share

    assert _cpu_share(actors, cpus) == share


def test_the_readme_cluster_config_loads_as_described():
    import yaml
    from test_readme import section_block

    from promptstyles.config import load_config

    data = load_config(yaml.safe_load(section_block("## Build on a cluster", "yaml"))).data
    assert data.cluster is not None and data.streaming
    cluster = data.cluster
    assert (cluster.engine, cluster.address, cluster.chunk_records, cluster.chunk_bytes, cluster.results) == (
        "ray", "auto", 4096, 2 << 20, "stream")


class LockedStyle(AlpacaStyle):
    """Alpaca holding a lock: an object no process can be sent."""

    name = "alpaca-locked"

    def __init__(self, **options):
        super().__init__(**options)
        self.lock = threading.Lock()


def test_a_style_that_cannot_be_sent_to_the_workers_is_named(address, raw_records):
    from promptstyles import to_record

    chunks = [[to_record(record, index=i) for i, record in enumerate(raw_records[:10])]]
    with pytest.raises(DataError, match=r"^style 'alpaca-locked' or tokenizer 'gpt2' cannot be sent to Ray workers "
                                        r"\(TypeError: cannot pickle .\w+.lock. object\); define the style class at "
                                        r"the top level of an importable module installed on every node$"):
        list(tokenize_chunks_ray(chunks, LockedStyle(), get_tokenizer("gpt2"), address=address))


def test_the_build_command_on_a_cluster_writes_the_store_the_local_build_finds(address, raw_records, tmp_path,
                                                                                capsys):
    from promptstyles.cli import main

    path = _jsonl(raw_records[:200], tmp_path / "records.jsonl")
    data = {"path": str(path), "streaming": True, "cache_dir": str(tmp_path / "cache")}
    on_cluster, local = tmp_path / "cluster.yaml", tmp_path / "local.yaml"
    on_cluster.write_text(json.dumps({"data": {**data, "cluster": {"address": address, "chunk_records": 64}}}),
                          encoding="utf-8")
    local.write_text(json.dumps({"data": data}), encoding="utf-8")
    assert main(["build", str(on_cluster)]) == 0
    built = capsys.readouterr().out.splitlines()
    assert built[0].endswith(" (built)") and built[1].startswith("records: 200, tokens: ")
    assert main(["build", str(local)]) == 0
    found = capsys.readouterr().out.splitlines()
    assert found[0] == built[0].replace(" (built)", " (found, verified whole)") and found[1:3] == built[1:3]


def test_streamed_files_are_hashed_read_and_parsed_by_the_workers_not_by_this_process(address, raw_records, tmp_path,
                                                                              monkeypatch):
    from promptstyles.data.build import ranged, streaming
    from promptstyles.data.sources.jsonl_chunks import Lines
    from promptstyles.data.store import cache

    files = [_jsonl(raw_records[i : i + 150], tmp_path / f"part-{i // 150}.jsonl") for i in range(0, 300, 150)]
    config = {"style": "alpaca", "data": {"path": str(tmp_path / "part-*.jsonl"), "streaming": True}}
    local, count = _build(config, tmp_path / "local")
    monkeypatch.setattr(Lines, "parse", lambda *args: pytest.fail("this process parsed a chunk of records"))
    monkeypatch.setattr(ranged, "read_range", lambda *args: pytest.fail("this process read a range"))
    monkeypatch.setattr(streaming, "read_record_chunks", lambda *args, **kw: pytest.fail("this process read lines"))
    monkeypatch.setattr(cache, "block_digest", lambda *args: pytest.fail("this process hashed the files"))
    cluster = {"address": address, "chunk_bytes": 4096}
    remote, remote_count = _build(config, tmp_path / "cluster", cluster)
    assert remote == local and remote_count == count == 300 and len(files) == 2
    shards, _ = _build(config, tmp_path / "shards", {**cluster, "results": "shards"})
    assert shards == local and not (tmp_path / "shards" / "shards").exists()


def test_parquet_row_groups_read_by_the_actors_give_the_local_store(address, raw_records, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.Table.from_pylist(raw_records[:300]), tmp_path / "part-0.parquet", row_group_size=40)
    _jsonl(raw_records[300:400], tmp_path / "part-1.jsonl")
    config = {"style": "alpaca", "data": {"path": [str(tmp_path / "part-0.parquet"), str(tmp_path / "part-1.jsonl")],
                                          "streaming": True}}
    _both(config, tmp_path, {"address": address, "chunk_bytes": 4096})
    shards, count = _build(config, tmp_path / "shards", {"address": address, "results": "shards"})
    assert shards == _store(tmp_path / "local") and count == 400


def test_records_skipped_on_the_actors_are_the_local_build_s(address, raw_records, tmp_path):
    records = [dict(record) for record in raw_records[:200]]
    for index in (5, 77, 150):
        del records[index]["output"]
    _jsonl(records[:100], tmp_path / "part-0.jsonl")
    _jsonl(records[100:], tmp_path / "part-1.jsonl")
    config = {"style": "alpaca", "data": {"path": str(tmp_path / "part-*.jsonl"), "streaming": True,
                                          "on_invalid": "skip"}}
    _both(config, tmp_path, {"address": address, "chunk_bytes": 2048})
    info = json.loads(next((tmp_path / "cluster").rglob("meta.json")).read_text(encoding="utf-8"))
    assert [index for index, _ in info["meta"]["info"]["skipped"]] == [5, 77, 150]


@pytest.mark.parametrize(("line", "message"), [
    ('{"instruction": "x", "output": ', r"records.jsonl: invalid JSON at line 42, column \d+: Expecting value"),
    ('{"instruction": "x"}', r"records.jsonl, record 41, key 'output': "),
])
def test_a_bad_line_parsed_by_an_actor_gives_the_local_error(address, raw_records, tmp_path, line, message):
    path = tmp_path / "records.jsonl"
    lines = [json.dumps(record) for record in raw_records[:100]]
    lines[41] = line
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors = []
    for engine in (tokenize_chunks, functools.partial(tokenize_chunks_ray, address=address)):
        with pytest.raises((RecordError, DataError), match=message) as error:
            stream_dataset(path, AlpacaStyle(), get_tokenizer("gpt2"), directory=tmp_path / "store", chunk_size=16,
                           tokenize=engine)
        errors.append(str(error.value))
    assert errors[0] == errors[1]
    assert not list((tmp_path / "store").rglob("meta.json"))
