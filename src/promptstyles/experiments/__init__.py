"""Comparing prompt styles: a GPT-2-architecture model, training, generation, metrics, plots and reports."""
