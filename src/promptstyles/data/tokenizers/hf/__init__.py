"""A model's own tokenizer (``tokenizer.json``) and how rendered parts become its ids, exactly."""
