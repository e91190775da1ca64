"""Trains a tiny model for a few steps on a Verdict export with the matching TRL trainer.

usage: python check_trl.py reward|kto|load FILE.jsonl [EXPECTED_ROWS] [COLUMN...]

`reward`: TRL's RewardTrainer on preference pairs (`prompt`, `chosen`, `rejected`, and
`margin` when the export carries it); checks that the trainer reads the margin (the loss of
a batch changes when its margins are set to 0). `kto`: TRL's KTOTrainer on
`prompt`/`completion`/`label` records. `load`: only `datasets.load_dataset("json")`, with
the columns given (the rating exports, which no TRL trainer takes as they are). Each
trainer runs two steps and every logged loss must be finite. Offline: the tokenizer (word level) is built from the
file's own text and the model (a one-layer Llama) from a config, so nothing is downloaded.
Prints `ok: ...` and exits 0, or prints the problem and exits 1 (2 on misuse). Run it with
the venv of `scripts/pyenv.sh --for trl`.
"""

import json
import math
import os
import sys
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

SPECIALS = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]


def fail(message):
    print(f"check_trl: {message}", file=sys.stderr)
    sys.exit(1)


def texts(rows):
    for row in rows:
        for value in row.values():
            if isinstance(value, str):
                yield value


def tokenizer_for(rows):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(list(texts(rows)), trainers.WordLevelTrainer(special_tokens=SPECIALS))
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", bos_token="[BOS]", eos_token="[EOS]"
    )


def config_for(tokenizer, **extra):
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, **extra,
    )


def common_args(out):
    return dict(
        output_dir=out, max_steps=2, per_device_train_batch_size=2, learning_rate=1e-3,
        logging_steps=1, report_to=[], save_strategy="no", use_cpu=True, seed=0,
        dataloader_num_workers=0,
    )


def check_losses(trainer):
    losses = [float(log["loss"]) for log in trainer.state.log_history if "loss" in log]
    if len(losses) < 2 or not all(math.isfinite(x) for x in losses):
        fail(f"the training losses are {losses}")


def reward(dataset, tokenizer, out):
    import torch
    from transformers import LlamaForSequenceClassification
    from trl import RewardConfig, RewardTrainer

    model = LlamaForSequenceClassification(config_for(tokenizer, num_labels=1))
    trainer = RewardTrainer(
        model=model, args=RewardConfig(**common_args(out)), train_dataset=dataset, processing_class=tokenizer
    )
    trainer.train()
    check_losses(trainer)
    if "margin" in dataset.column_names:
        # The trainer reads the column: the same batch with its margins at 0 has another loss.
        batch = trainer.data_collator([trainer.train_dataset[i] for i in range(len(trainer.train_dataset))])
        if "margin" not in batch:
            fail("the reward trainer's batch has no margin")
        model.eval()
        with torch.no_grad():
            with_margin = trainer.compute_loss(model, dict(batch)).item()
            zeroed = dict(batch)
            zeroed["margin"] = torch.zeros_like(batch["margin"])
            without = trainer.compute_loss(model, zeroed).item()
        if not batch["margin"].abs().sum() > 0:
            fail("every margin is 0: nothing to check")
        if math.isclose(with_margin, without, rel_tol=0, abs_tol=1e-9):
            fail(f"the margins do not change the loss ({with_margin})")
        return f"margins read (loss {with_margin:.4f} with them, {without:.4f} at 0)"
    return "no margin column"


def kto(dataset, tokenizer, out):
    from transformers import LlamaForCausalLM
    from trl import KTOConfig, KTOTrainer

    config = config_for(tokenizer)
    model, ref = LlamaForCausalLM(config), LlamaForCausalLM(config)
    trainer = KTOTrainer(
        model=model, ref_model=ref, args=KTOConfig(**common_args(out)), train_dataset=dataset,
        processing_class=tokenizer,
    )
    trainer.train()
    check_losses(trainer)
    return f"{sum(dataset['label'])} desirable, {len(dataset) - sum(dataset['label'])} undesirable"


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("reward", "kto", "load"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    kind, path = sys.argv[1], sys.argv[2]
    import datasets

    datasets.disable_progress_bars()
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    dataset = datasets.load_dataset("json", data_files=path, split="train")
    if len(sys.argv) >= 4 and len(dataset) != int(sys.argv[3]):
        fail(f"{len(dataset)} rows, expected {sys.argv[3]}")
    missing = [c for c in sys.argv[4:] if c not in dataset.column_names]
    if missing:
        fail(f"columns {missing} missing from {dataset.column_names}")
    if kind == "load":
        print(f"ok: loaded {len(dataset)} rows, columns {sorted(dataset.column_names)}")
        return
    tokenizer = tokenizer_for(rows)
    with tempfile.TemporaryDirectory() as out:
        what = (reward if kind == "reward" else kto)(dataset, tokenizer, out)
    print(f"ok: {kind} trainer, {len(dataset)} rows, {what}")


if __name__ == "__main__":
    main()
