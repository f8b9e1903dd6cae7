"""The example experiment over the shared dataset runs end to end on a tiny budget."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from promptstyles.experiments import GenerationSpec, ModelSpec, TrainConfig, compare, load_experiment

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "compare-shared.yaml"


@pytest.mark.slow
def test_the_shared_example_runs_and_finds_the_exercise_prompt_shorter(dataset_path: Path, tmp_path: Path) -> None:
    experiment = load_experiment(EXAMPLE)
    assert Path(experiment.base.data.path).resolve() == dataset_path.resolve()
    experiment = replace(
        experiment,
        model=ModelSpec(config={"emb_dim": 16, "n_heads": 2, "n_layers": 1, "context_length": 128}),
        training=TrainConfig(max_steps=1, eval_every=1, eval_batches=1),
        generation=GenerationSpec(records=1, max_new_tokens=2),
        seeds=(),
    )
    assert load_experiment(EXAMPLE).seeds == (123, 124, 125)
    results = compare(experiment, output=tmp_path)
    styles = results["styles"]
    assert list(styles) == [f"{style} mask={mask}" for mask in ("none", "prompt")
                            for style in ("alpaca", "phi3", "phi3-exercise", "chatml", "llama3")]
    static = {label: values["static"] for label, values in styles.items()}
    # The reference's observation: the exercise's Phi-3 prompt makes examples shorter than Alpaca's.
    shorter = static["phi3-exercise mask=none"]["tokens_vs_first"]
    assert -0.40 < shorter < -0.20
    assert static["alpaca mask=prompt"]["supervised_fraction"] < static["alpaca mask=none"]["supervised_fraction"]
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert f"phi3-exercise {abs(shorter):.1%} fewer" in report
    assert all((tmp_path / name).stat().st_size > 5_000 for name in ("loss_curves.png", "token_lengths.png"))
