"""Comparing prompt styles: a GPT-2-architecture model, training, generation, metrics, plots and reports.

Every function here takes and returns plain data or tensors, so a notebook can run any step alone.
"""

from ..errors import ModelError
from .cautions import style_warnings
from .checkpoints import gpt2_state_dict, load_gpt2_safetensors, load_state_dict_file, save_state_dict_file
from .compare import CompareProgress, compare, default_experiment_path
from .config import Experiment, GenerationSpec, ModelSpec, Run, StyleSpec, load_experiment
from .differences import paired_differences
from .generate import Generation, generate, generate_response
from .leaks import MarkupCheck, markup_markers
from .metrics import rouge_l, score_responses, summarise_generations, token_f1
from .model import GPT, PRESETS, GPTConfig, resize_token_embeddings
from .paired import bootstrap_interval, paired_bootstrap
from .plots import plot_generation_metrics, plot_length_distributions, plot_loss_curves, plot_padding_truncation
from .report import flat_rows, rank_styles, render_markdown, verdict, write_json, write_report
from .sample import load_sample_records, sample_data_path
from .stats import length_summary, static_stats
from .train import (
    EvalResult,
    LossCurve,
    Progress,
    TrainConfig,
    TrainResult,
    evaluate,
    lm_loss,
    response_loss,
    train,
)

__all__ = [
    "GPT",
    "PRESETS",
    "CompareProgress",
    "Experiment",
    "GenerationSpec",
    "ModelSpec",
    "Run",
    "StyleSpec",
    "compare",
    "default_experiment_path",
    "load_experiment",
    "EvalResult",
    "GPTConfig",
    "Generation",
    "LossCurve",
    "MarkupCheck",
    "ModelError",
    "Progress",
    "TrainConfig",
    "TrainResult",
    "bootstrap_interval",
    "evaluate",
    "flat_rows",
    "generate",
    "generate_response",
    "gpt2_state_dict",
    "length_summary",
    "lm_loss",
    "markup_markers",
    "load_gpt2_safetensors",
    "load_sample_records",
    "load_state_dict_file",
    "paired_bootstrap",
    "paired_differences",
    "plot_generation_metrics",
    "plot_length_distributions",
    "plot_loss_curves",
    "plot_padding_truncation",
    "rank_styles",
    "render_markdown",
    "resize_token_embeddings",
    "response_loss",
    "rouge_l",
    "sample_data_path",
    "save_state_dict_file",
    "score_responses",
    "static_stats",
    "style_warnings",
    "summarise_generations",
    "token_f1",
    "train",
    "verdict",
    "write_json",
    "write_report",
]
