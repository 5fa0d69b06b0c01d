"""Fine-tune a token classifier on labelled windows: CPU-friendly, checkpointed, resumable.

Only the top ``trainable_layers`` encoder layers and the head learn; embeddings and lower
layers stay as the base encoder has them. That halves the backward pass, and it is what
lets a shipped model hold only the changed layers (see :mod:`contextzip.train.export`).
Batches are built from length-sorted pools (little padding) in an order fixed by the seed,
so a resumed run continues exactly where the interrupted one stopped.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contextzip.errors import ConfigurationError, missing_extra
from contextzip.train.data import IGNORE, LabelledText, encode_examples

if TYPE_CHECKING:
    import numpy as np

__all__ = ["FinetuneConfig", "finetune", "keep_loss", "trainable_prefixes"]

logger = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True)
class FinetuneConfig:
    """Hyper-parameters of :func:`finetune`.

    Attributes:
        epochs: Passes over the windows.
        learning_rate: Peak AdamW learning rate (linear warm-up, then linear decay).
        batch_size: Windows per step.
        max_length: Model tokens per window.
        warmup: Share of the steps spent warming up.
        weight_decay: AdamW weight decay.
        trainable_layers: Top encoder layers that learn (with the head); ``0``: head only.
        precision: ``"auto"`` (bf16 autocast where the CPU runs it natively), ``"float32"``
            or ``"bfloat16"``.
        seed: Seeds the head's initialization and the batch order.
        checkpoint_every: Steps between checkpoints.
    """

    epochs: int = 2
    learning_rate: float = 1e-4
    batch_size: int = 16
    max_length: int = 512
    warmup: float = 0.06
    weight_decay: float = 0.01
    trainable_layers: int = 3
    precision: str = "auto"
    seed: int = 0
    checkpoint_every: int = 100

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.checkpoint_every < 1:
            raise ConfigurationError("epochs, batch_size and checkpoint_every must be >= 1")
        if self.learning_rate <= 0 or not 0 <= self.warmup < 1 or self.trainable_layers < 0:
            raise ConfigurationError("need learning_rate > 0, 0 <= warmup < 1, trainable_layers >= 0")
        if self.precision not in ("auto", "float32", "bfloat16"):
            raise ConfigurationError(f"precision must be auto, float32 or bfloat16, got {self.precision!r}")


def trainable_prefixes(model: Any, layers: int) -> list[str]:
    """State-dict prefixes of the parameters that learn: the top ``layers`` and the head."""
    encoder_layers = model.base_model.encoder.layer
    base = model.base_model_prefix
    first = len(encoder_layers) - min(layers, len(encoder_layers))
    prefixes = [f"{base}.encoder.layer.{i}." for i in range(first, len(encoder_layers))]
    head = [name for name, _ in model.named_children() if name != base]
    return prefixes + [f"{name}." for name in head]


def finetune(
    examples: Sequence[LabelledText],
    out_dir: str | os.PathLike[str],
    *,
    base: str | os.PathLike[str] | None = None,
    config: FinetuneConfig | None = None,
    query_aware: bool = False,
    progress: bool | None = None,
) -> Path:
    """Train a keep/drop classifier on ``examples``; return the saved model folder.

    ``out_dir`` receives ``checkpoint.pt`` while training (a rerun resumes from it),
    then ``model/`` (a transformers folder) and ``training.json`` (config, steps, loss
    curve, wall time). A finished ``out_dir`` is returned as it is.

    Args:
        examples: Labelled texts (query-aware ones carry their question).
        out_dir: Where the run lives.
        base: The encoder to start from; ``None`` for the packaged all-MiniLM-L6-v2.
        config: Hyper-parameters.
        query_aware: Mark the model as reading (question, text) pairs.
        progress: Show a progress bar; ``None`` shows it on a terminal.
    """
    try:
        import numpy as np
        import torch
        from transformers import AutoModelForTokenClassification, AutoTokenizer
    except ImportError as exc:
        raise missing_extra(exc.name or "torch", "ml") from None
    from tqdm.auto import tqdm

    from contextzip.token_classification import fast_precision
    from contextzip.train.model import init_token_classifier

    config = config or FinetuneConfig()
    out = Path(out_dir)
    final = out / "model"
    settings = {"config": asdict(config), "query_aware": query_aware, "examples": len(examples)}
    if (final / "config.json").is_file():
        record = json.loads((out / "training.json").read_text(encoding="utf-8"))
        _check_same_run(out, settings, {key: record.get(key) for key in settings})
        return final
    if not examples:
        raise ConfigurationError("no training examples")
    out.mkdir(parents=True, exist_ok=True)
    start_dir = out / "init"
    if not (start_dir / "config.json").is_file():
        init_token_classifier(start_dir, base=base, seed=config.seed, query_aware=query_aware)
    tokenizer = AutoTokenizer.from_pretrained(start_dir)
    model = AutoModelForTokenClassification.from_pretrained(start_dir)
    prefixes = trainable_prefixes(model, config.trainable_layers)
    trainable = []
    for name, parameter in model.named_parameters():
        parameter.requires_grad = name.startswith(tuple(prefixes))
        if parameter.requires_grad:
            trainable.append(parameter)

    windows = encode_examples(examples, tokenizer, max_length=config.max_length)
    batches = _batch_plan([len(w[0]) for w in windows], config)
    total = len(batches)
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
    warmup = max(1, int(total * config.warmup))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
    )
    torch.manual_seed(config.seed)  # dropout masks: a resumed run restores the generator's state
    step, losses, seconds = 0, [], 0.0
    checkpoint = out / CHECKPOINT
    if checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=False)
        _check_same_run(out, settings, state.get("settings"))
        model.load_state_dict(state["model"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, losses, seconds = state["step"], state["losses"], state["seconds"]
        torch.set_rng_state(state["rng"])
        logger.info("resuming %s at step %d of %d", out, step, total)

    bf16 = (fast_precision("cpu") if config.precision == "auto" else config.precision) == "bfloat16"
    pad = tokenizer.pad_token_id or 0
    model.train()
    bar = tqdm(total=total, initial=step, desc="fine-tuning", unit="step", disable=progress is False)
    started = time.perf_counter() - seconds
    while step < total:
        ids, types, labels, mask = _collate([windows[i] for i in batches[step]], pad)
        inputs = {"input_ids": ids, "attention_mask": mask}
        if getattr(model.config, "type_vocab_size", 0) > 1:
            inputs["token_type_ids"] = types
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(**inputs).logits
        loss = keep_loss(logits, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        losses.append(round(float(loss.detach()), 5))
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
        if step % config.checkpoint_every == 0 or step == total:
            _save_checkpoint(checkpoint, model, prefixes, optimizer, scheduler, step, losses,
                             time.perf_counter() - started, settings)  # fmt: skip
    bar.close()
    model.eval()
    partial = out / "model.partial"
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    record = {**settings, "windows": len(windows), "steps": total,
              "seconds": round(time.perf_counter() - started, 1),
              "tokens": int(sum(len(w[0]) for w in windows)) * config.epochs, "losses": losses}  # fmt: skip
    (out / "training.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    partial.rename(final)
    return final


def keep_loss(logits: Any, labels: Any) -> Any:
    """Cross-entropy of the keep/drop logits against keep probabilities, over labelled tokens.

    ``labels`` holds a keep probability per token (1.0 / 0.0 for hard labels, where this is
    the usual cross-entropy) and ``-100`` where nothing is learned.
    """
    import torch

    labelled = labels != IGNORE
    log_p = torch.log_softmax(logits.float(), dim=-1)[labelled]
    keep = labels[labelled]
    return -(keep * log_p[:, 1] + (1 - keep) * log_p[:, 0]).mean()


def _check_same_run(out: Path, wanted: dict[str, Any], found: dict[str, Any] | None) -> None:
    if found != wanted:
        raise ConfigurationError(
            f"{out} holds a run with other settings or data ({found} there, {wanted} now); "
            "use another output folder, or delete that one to start over"
        )


def _batch_plan(lengths: Sequence[int], config: FinetuneConfig) -> list[list[int]]:
    """Step-by-step window indices for every epoch: shuffled pools, sorted inside, shuffled batches."""
    import numpy as np

    pool = config.batch_size * 32
    plan: list[list[int]] = []
    for epoch in range(config.epochs):
        rng = np.random.default_rng([config.seed, epoch])
        order = rng.permutation(len(lengths))
        batches = []
        for lo in range(0, len(order), pool):
            chunk = sorted(order[lo : lo + pool].tolist(), key=lambda i: lengths[i])
            batches += [chunk[i : i + config.batch_size] for i in range(0, len(chunk), config.batch_size)]
        plan += [batches[i] for i in rng.permutation(len(batches))]
    return plan


def _collate(windows: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], pad: int) -> tuple[Any, ...]:
    import torch

    width = max(len(w[0]) for w in windows)
    ids = torch.full((len(windows), width), pad, dtype=torch.long)
    types = torch.zeros((len(windows), width), dtype=torch.long)
    labels = torch.full((len(windows), width), float(IGNORE), dtype=torch.float32)
    mask = torch.zeros((len(windows), width), dtype=torch.long)
    for row, (window_ids, window_types, window_labels) in enumerate(windows):
        n = len(window_ids)
        ids[row, :n] = torch.from_numpy(window_ids)
        types[row, :n] = torch.from_numpy(window_types)
        labels[row, :n] = torch.from_numpy(window_labels)
        mask[row, :n] = 1
    return ids, types, labels, mask


def _save_checkpoint(
    path: Path, model: Any, prefixes: list[str], optimizer: Any, scheduler: Any, step: int,
    losses: list[float], seconds: float, settings: dict[str, Any],
) -> None:  # fmt: skip
    import torch

    weights = {k: v for k, v in model.state_dict().items() if k.startswith(tuple(prefixes))}
    state = {"model": weights, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "step": step, "losses": losses, "seconds": seconds, "rng": torch.get_rng_state(),
             "settings": settings}  # fmt: skip
    partial = path.with_suffix(".partial")
    torch.save(state, partial)
    partial.replace(path)
