"""The reference preference data path (the book's DPO chapter), written from its published description.

Each entry becomes the Alpaca prompt's ids and the ids of ``prompt + "\\n\\n### Response:\\n" + answer`` for
the chosen and the rejected answer (no end-of-text appended). The collate pads every row of a batch to one
length, the longest row + 1, with ``pad_token_id``; a row's mask is True on its own tokens and, with
``mask_prompt_tokens``, False on the prompt's ids and the 2 tokens after them; then rows and masks are cut
at ``allowed_max_length``.
"""

from __future__ import annotations

import torch
from reference_collate import format_input


def reference_preference_rows(data: list[dict], tokenizer) -> list[dict]:
    rows = []
    for entry in data:
        prompt = format_input(entry)
        rows.append({
            "prompt": tokenizer.encode(prompt),
            "chosen": tokenizer.encode(f"{prompt}\n\n### Response:\n{entry['chosen']}"),
            "rejected": tokenizer.encode(f"{prompt}\n\n### Response:\n{entry['rejected']}"),
        })
    return rows


def reference_preference_collate(batch, pad_token_id=50256, allowed_max_length=None, mask_prompt_tokens=True):
    width = max(len(item[key]) + 1 for item in batch for key in ("chosen", "rejected"))
    out: dict[str, list] = {"chosen": [], "rejected": [], "chosen_mask": [], "rejected_mask": []}
    for item in batch:
        for key in ("chosen", "rejected"):
            sequence = item[key]
            mask = torch.zeros(width, dtype=torch.bool)
            mask[: len(sequence)] = True
            if mask_prompt_tokens:
                mask[: len(item["prompt"]) + 2] = False
            out[key].append(torch.tensor(sequence + [pad_token_id] * (width - len(sequence))))
            out[f"{key}_mask"].append(mask)
    stacked = {key: torch.stack(value) for key, value in out.items()}
    if allowed_max_length is not None:
        stacked = {key: value[:, :allowed_max_length] for key, value in stacked.items()}
    return stacked
