"""Tokenizing in worker processes: the serial dataset, in order, with the serial errors and fall-backs."""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import time
import types
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest
from engine_styles import Picky
from shared_paths import MODELS, require

from promptstyles import ConfigError, RecordError, get_style, load_config, to_record
from promptstyles.data.build import parallel
from promptstyles.data.build import worker as parallel_worker
from promptstyles.data.build.parallel import resolve_num_proc, tokenize_chunks_parallel
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.sources.jsonl_chunks import read_record_chunks
from promptstyles.data.tokenizers import get_tokenizer
from promptstyles.pipeline import prepare_data
from promptstyles.records import InstructionRecord
from promptstyles.styles.alpaca import AlpacaStyle

ARRAYS = ("tokens", "starts", "lengths", "run_ends", "run_kinds", "run_offsets")
LOGGER = "promptstyles.data.build.parallel"


@pytest.fixture(scope="module")
def records(raw_records):
    return [to_record(raw, index=i) for i, raw in enumerate(raw_records)]


def assert_same(built, expected):
    for name in ARRAYS:
        got, want = getattr(built, name), getattr(expected, name)
        assert got.dtype == want.dtype, name
        assert np.array_equal(got, want), name
    assert (built.eos_id, built.vocab_size) == (expected.eos_id, expected.vocab_size)


def chunks_by_workers(caplog) -> int:
    """How many chunks worker processes tokenized, from the pool's closing log line (0: none ran)."""
    done = [r.args for r in caplog.records if r.name == LOGGER and r.msg.startswith("chunks tokenized by workers")]
    assert len(done) == 1
    return done[0]["worker"]


@pytest.fixture
def workers_only(monkeypatch):
    """Every chunk to the workers: on inputs this small, this process would tokenize them all while they start."""
    monkeypatch.setattr(parallel, "_WORK_HERE", False)


def build(records, style, tokenizer, caplog, **options):
    """The dataset with num_proc=2 in chunks of 150, checked to have come from workers and logged no warning."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    dataset = tokenize_records(records, style, tokenizer, num_proc=2, chunk_size=150, **options)
    assert chunks_by_workers(caplog) == -(-len(records) // 150)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    return dataset


def test_gpt2_alpaca_from_workers_equals_the_serial_build_and_reports_progress(records, caplog, workers_only):
    style, tokenizer = get_style("alpaca"), get_tokenizer("gpt2")
    calls: list[tuple[int, int]] = []
    built = build(records, style, tokenizer, caplog, progress=lambda done, total: calls.append((done, total)))
    assert_same(built, tokenize_records(records, style, tokenizer))
    assert calls == [(min(done, 1100), 1100) for done in range(150, 1101 + 149, 150)]


def test_this_process_takes_the_chunks_no_worker_has_started(records, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    style, tokenizer = get_style("alpaca"), get_tokenizer("gpt2")
    starting = parallel.init_worker

    def slow_start(*args):  # a worker on a busy machine: still starting when every chunk is done here
        time.sleep(1)
        starting(*args)

    monkeypatch.setattr(parallel, "init_worker", slow_start)
    built = tokenize_records(records, style, tokenizer, num_proc=2, chunk_size=150)
    assert_same(built, tokenize_records(records, style, tokenizer))
    [done] = [r.args for r in caplog.records if r.msg.startswith("chunks tokenized by workers")]
    # The first two chunks went to the worker; it was still starting, so this process claimed them too.
    assert done == {"worker": 0, "here": 8}
    deadline = time.monotonic() + 30  # the worker exits once it has started and found no work
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not multiprocessing.active_children()


def test_while_a_worker_is_busy_this_process_takes_new_input_and_leaves_the_workers_next_chunk(records,
                                                                                              monkeypatch):
    style, tokenizer = get_style("alpaca"), get_tokenizer("gpt2")
    chunks = [records[first : first + 100] for first in range(0, 400, 100)]

    def pool_with_two_chunks_in_a_worker(started: bool):
        pool = parallel._Pool(iter(chunks[2:]), style, tokenizer, parallel_worker.recipe_of(style, tokenizer), 1,
                              "text", None)
        pool.next_index = 200
        pool.queue.extend(parallel._Entry(chunks[i], 100 * i, slot=i, future=Future()) for i in range(2))
        pool.claims[0] = started
        return pool

    def taken(pool):  # the first index of each chunk, and who holds it
        return [(entry.first_index, "worker" if entry.future else "here") for entry in pool.queue]

    pool = pool_with_two_chunks_in_a_worker(started=True)
    try:
        assert pool._work_here() and pool._work_here()
        assert taken(pool) == [(0, "worker"), (100, "worker"), (200, "here"), (300, "here")]
        assert not pool.claims[1]
        assert_same(pool.queue[3].arrays.dataset(), tokenize_records(chunks[3], style, tokenizer))
        assert pool._work_here()  # the input is done: the chunk the worker has not started is taken here
        assert taken(pool) == [(0, "worker"), (100, "here"), (200, "here"), (300, "here")] and pool.claims[1]
        assert not pool._work_here()  # nothing left but the worker's own chunk
    finally:
        pool.close()
    pool = pool_with_two_chunks_in_a_worker(started=False)  # the worker is still starting: its chunks go first
    try:
        assert pool._work_here()
        assert taken(pool) == [(0, "here"), (100, "worker")]
    finally:
        pool.close()
    monkeypatch.setattr(parallel, "_AHEAD_HERE", 1)  # as far ahead as allowed: the worker's next chunk is taken
    pool = pool_with_two_chunks_in_a_worker(started=True)
    try:
        assert pool._work_here() and pool._work_here()
        assert taken(pool) == [(0, "worker"), (100, "here"), (200, "here")]
    finally:
        pool.close()


def test_instruction_records_travel_to_a_worker_as_columns(records, monkeypatch):
    shipped = parallel_worker.shipped(records)

    def one_by_one(self, protocol):
        raise AssertionError("pickled record by record")

    monkeypatch.setattr(InstructionRecord, "__reduce_ex__", one_by_one)
    arrived = pickle.loads(pickle.dumps(shipped))
    assert type(arrived) is list and arrived == records
    conversations = [to_record({"messages": [{"role": "user", "content": "hi"},
                                             {"role": "assistant", "content": "hello"}]})]
    assert parallel_worker.shipped(conversations) is conversations


def test_a_chunk_of_a_jsonl_file_travels_as_its_lines_unparsed(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "c", "output": "d"}\n')
    [chunk] = read_record_chunks(path, lazy=True)
    assert parallel_worker.shipped(chunk.records) is chunk.records
    assert chunk.records._records is None  # parsed by the worker that tokenizes it, not here
    assert list(pickle.loads(pickle.dumps(chunk.records))) == [to_record({"instruction": "a", "output": "b"}),
                                                               to_record({"instruction": "c", "output": "d"})]


def test_chat_style_with_extended_special_tokens_equals_the_serial_build(records, caplog, workers_only):
    style = get_style("chatml")
    tokenizer = get_tokenizer("gpt2", special_tokens=style.special_tokens)
    conversations = [to_record({"messages": [{"role": "user", "content": f"<|im_start|>{i} hi"},
                                             {"role": "assistant", "content": "hello"},
                                             {"role": "user", "content": "more"},
                                             {"role": "assistant", "content": "fine"}]}) for i in range(200)]
    mixed = records[:500] + conversations
    built = build(mixed, style, tokenizer, caplog, special_tokens="extend")
    assert_same(built, tokenize_records(mixed, style, tokenizer, special_tokens="extend"))
    assert tokenizer.special_id("<|im_start|>") in built.tokens.tolist()


def test_qwen_tokenizer_with_its_style_equals_the_serial_build(records, caplog, workers_only):
    pytest.importorskip("tokenizers")
    folder = require(MODELS / "qwen2.5-7b-instruct")
    style, tokenizer = get_style("qwen2.5"), get_tokenizer(path=folder)
    built = build(records, style, tokenizer, caplog)
    assert_same(built, tokenize_records(records, style, tokenizer))
    assert built.tokens.dtype == np.uint32 and int(built.tokens.max()) >= 151643  # the model's own markup ids


def test_a_bad_record_in_a_worker_raises_the_serial_error_with_its_index_in_the_whole_input(
    records, caplog, workers_only
):
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    bad = [*records[:257], to_record({"instruction": "boom", "output": "!"}), *records[257:600]]
    style, tokenizer = Picky(), get_tokenizer("gpt2")
    with pytest.raises(RecordError) as serial:
        tokenize_records(bad, style, tokenizer)
    with pytest.raises(RecordError) as parallel:
        tokenize_records(bad, style, tokenizer, num_proc=2, chunk_size=150)  # record 257: second chunk, a worker's
    assert parallel.value.index == 257
    assert str(parallel.value) == str(serial.value)
    assert str(parallel.value) == ("record 257: style 'picky' from module 'engine_styles' cannot render it: "
                                   "ValueError: no booms")
    assert type(parallel.value.__cause__) is ValueError
    assert chunks_by_workers(caplog) >= 1


@pytest.fixture
def forkserver(monkeypatch):
    """Workers as macOS and Windows start them: from a fork server, rebuilding the style from its pickle."""
    monkeypatch.setattr(parallel_worker, "start_method", lambda: "forkserver")
    monkeypatch.setattr(parallel, "start_method", lambda: "forkserver")


def local_style():
    class Local(AlpacaStyle):
        name = "local"

    return Local()


def test_forked_workers_take_a_style_defined_in_a_function_or_a_script(records, caplog, workers_only):
    style, tokenizer = local_style(), get_tokenizer("gpt2")
    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(style)
    built = build(records, style, tokenizer, caplog)
    assert_same(built, tokenize_records(records, style, tokenizer))


def test_a_style_defined_in_a_function_falls_back_to_the_serial_build_with_a_warning(records, caplog, forkserver):
    style, tokenizer = local_style(), get_tokenizer("gpt2")
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    built = tokenize_records(records, style, tokenizer, num_proc=2, chunk_size=150)
    assert_same(built, tokenize_records(records, style, tokenizer))
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "style 'local' or tokenizer 'gpt2' cannot be sent to worker processes" in warning.getMessage()
    assert not multiprocessing.active_children()


def test_a_style_that_workers_cannot_import_falls_back_to_the_serial_build_with_a_warning(
    records, caplog, workers_only, monkeypatch, forkserver
):
    module = types.ModuleType("promptstyles_nowhere")  # in this process only, as a class of a __main__ script
    style_class = type("Nowhere", (AlpacaStyle,), {"name": "nowhere", "__module__": module.__name__})
    module.Nowhere = style_class  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    style, tokenizer = style_class(), get_tokenizer("gpt2")
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    built = tokenize_records(records[:700], style, tokenizer, num_proc=2, chunk_size=100)
    assert_same(built, tokenize_records(records[:700], style, tokenizer))
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "worker processes cannot rebuild style 'nowhere'" in warning.getMessage()
    assert "No module named 'promptstyles_nowhere'" in warning.getMessage()
    assert chunks_by_workers(caplog) == 0


def test_workers_that_cannot_start_leave_the_build_to_this_process(records, caplog, monkeypatch):
    class NoProcesses(parallel.ProcessPoolExecutor):
        def submit(self, *args, **kwargs):
            raise OSError("no processes here")

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", NoProcesses)
    style, tokenizer = get_style("alpaca"), get_tokenizer("gpt2")
    built = tokenize_records(records, style, tokenizer, num_proc=2, chunk_size=150)
    assert_same(built, tokenize_records(records, style, tokenizer))
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.getMessage() == ("cannot start worker processes (OSError: no processes here); tokenizing the "
                                    "rest in this process")


def test_an_interrupted_or_abandoned_build_leaves_no_worker_processes(records):
    style, tokenizer = get_style("alpaca"), get_tokenizer("gpt2")

    def interrupted():
        for first in range(0, 1100, 100):
            if first == 500:
                raise KeyboardInterrupt
            yield records[first : first + 100]

    with pytest.raises(KeyboardInterrupt):
        list(tokenize_chunks_parallel(interrupted(), style, tokenizer, num_proc=2))
    assert not multiprocessing.active_children()
    stream = tokenize_chunks_parallel((records[i : i + 100] for i in range(0, 1100, 100)), style, tokenizer,
                                      num_proc=2)
    assert len(next(stream)) == 100
    assert multiprocessing.active_children()
    stream.close()
    assert not multiprocessing.active_children()


def test_num_proc_in_the_config_reaches_the_build_and_is_validated(records, caplog, workers_only):
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    data = prepare_data({"data": {"num_proc": 2, "cache": False}}, records=records * 4)  # two chunks of 4096
    assert chunks_by_workers(caplog) >= 1
    assert_same(data.dataset, tokenize_records(records * 4, get_style("alpaca"), get_tokenizer("gpt2")))
    assert load_config({"data": {"num_proc": "auto"}}).data.num_proc == "auto"
    cores = len(os.sched_getaffinity(0))
    assert resolve_num_proc("auto") == cores and resolve_num_proc(2) == 2


def test_auto_starts_workers_for_a_tokenizer_that_encodes_on_all_cores_too(records, caplog, workers_only, monkeypatch):
    pytest.importorskip("tokenizers")
    folder = require(MODELS / "qwen2.5-7b-instruct")
    monkeypatch.setattr(parallel, "usable_cores", lambda: 2)  # the machine may have one core
    assert get_tokenizer(path=folder).encodes_on_all_cores and resolve_num_proc("auto") == 2
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    config = {"style": "qwen2.5", "tokenizer": {"path": str(folder)}, "data": {"num_proc": "auto", "cache": False}}
    data = prepare_data(config, records=records * 4)  # two chunks of 4096
    assert chunks_by_workers(caplog) == 2
    assert_same(data.dataset, tokenize_records(records * 4, get_style("qwen2.5"), get_tokenizer(path=folder)))
    for value, message in ((0, "must be at least 1 (or auto: one process per core), got 0"),
                           ("many", "expected int or 'auto', got str 'many'")):
        with pytest.raises(ConfigError, match=r"^data\.num_proc: ") as error:
            load_config({"data": {"num_proc": value}})
        assert str(error.value) == f"data.num_proc: {message}"


KILLED_PARENT = """
import multiprocessing, time
from promptstyles import get_style, to_record
from promptstyles.data.build.parallel import tokenize_chunks_parallel
from promptstyles.data.tokenizers import get_tokenizer

def chunks():
    while True:
        yield [to_record({"instruction": "a b c", "output": "d"})] * 50
        time.sleep(0.05)

if __name__ == "__main__":
    stream = tokenize_chunks_parallel(chunks(), get_style("alpaca"), get_tokenizer("gpt2"), num_proc=3)
    next(stream)
    print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
    for _ in stream:
        pass
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_exit_when_their_parent_is_killed_outright(tmp_path):
    script = tmp_path / "build.py"
    script.write_text(KILLED_PARENT)
    # stderr: the killed parent leaves its semaphores to the resource tracker, which warns there
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True)
    try:
        workers = [int(pid) for pid in parent.stdout.readline().split()]  # type: ignore[union-attr]
    finally:
        parent.kill()
        parent.wait()
    assert len(workers) == 2

    def running(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (FileNotFoundError, ProcessLookupError):
            return False

    deadline = time.monotonic() + 20
    while any(map(running, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in workers if running(pid)]
    for pid in left:  # leave nothing behind, even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert not left
