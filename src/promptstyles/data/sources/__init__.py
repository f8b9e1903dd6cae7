"""Where records come from: JSON and JSONL files, http(s) downloads, each record validated."""
