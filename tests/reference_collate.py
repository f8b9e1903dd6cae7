"""The reference data path, written from its published description, to test and benchmark against.

``format_input``/``ReferenceDataset``/``reference_collate`` follow the instruction fine-tuning chapter;
``reference_masked_collate`` is its instruction-masking exercise (targets of the instruction tokens set to
the ignore index, the response header still trained).
"""

from __future__ import annotations

import torch

PREAMBLE = (
    "Below is an instruction that describes a task. Write a response that appropriately completes the request."
)


def format_input(entry: dict) -> str:
    text = f"{PREAMBLE}\n\n### Instruction:\n{entry['instruction']}"
    return text + (f"\n\n### Input:\n{entry['input']}" if entry["input"] else "")


class ReferenceDataset(torch.utils.data.Dataset):
    def __init__(self, data: list[dict], tokenizer, *, with_instruction_lengths: bool = False) -> None:
        self.encoded = []
        self.instruction_lengths = []
        for entry in data:
            prompt = format_input(entry)
            self.encoded.append(tokenizer.encode(prompt + f"\n\n### Response:\n{entry['output']}"))
            if with_instruction_lengths:
                self.instruction_lengths.append(len(tokenizer.encode(prompt)))
        self.with_lengths = with_instruction_lengths

    def __getitem__(self, index: int):
        if self.with_lengths:
            return self.instruction_lengths[index], self.encoded[index]
        return self.encoded[index]

    def __len__(self) -> int:
        return len(self.encoded)


def _pad_and_shift(item: list[int], longest: int, pad_token_id: int, ignore_index: int):
    padded = item + [pad_token_id] + [pad_token_id] * (longest - len(item) - 1)
    inputs = torch.tensor(padded[:-1])
    targets = torch.tensor(padded[1:])
    pads = torch.nonzero(targets == pad_token_id).squeeze()
    if pads.numel() > 1:
        targets[pads[1:]] = ignore_index
    return inputs, targets


def reference_collate(batch, pad_token_id=50256, ignore_index=-100, allowed_max_length=None, device="cpu"):
    longest = max(len(item) + 1 for item in batch)
    inputs_list, targets_list = [], []
    for item in batch:
        inputs, targets = _pad_and_shift(list(item), longest, pad_token_id, ignore_index)
        if allowed_max_length is not None:
            inputs, targets = inputs[:allowed_max_length], targets[:allowed_max_length]
        inputs_list.append(inputs)
        targets_list.append(targets)
    return torch.stack(inputs_list).to(device), torch.stack(targets_list).to(device)


def reference_masked_collate(batch, pad_token_id=50256, ignore_index=-100, allowed_max_length=None, device="cpu"):
    longest = max(len(item) + 1 for _, item in batch)
    inputs_list, targets_list = [], []
    for instruction_length, item in batch:
        inputs, targets = _pad_and_shift(list(item), longest, pad_token_id, ignore_index)
        targets[: instruction_length - 1] = ignore_index
        if allowed_max_length is not None:
            inputs, targets = inputs[:allowed_max_length], targets[:allowed_max_length]
        inputs_list.append(inputs)
        targets_list.append(targets)
    return torch.stack(inputs_list).to(device), torch.stack(targets_list).to(device)
