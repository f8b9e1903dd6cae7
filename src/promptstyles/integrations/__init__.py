"""Our data inside the trainers people already run (Hugging Face ``transformers`` and TRL); optional extras."""
