"""Data: reading and validating records, splits, tokenizers, the tokenized dataset and the collator."""
