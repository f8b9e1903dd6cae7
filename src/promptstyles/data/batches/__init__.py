"""From a tokenized dataset to batches: splits, samplers, packing, the collators and the loaders."""
