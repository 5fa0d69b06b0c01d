"""``contextzip train``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["train_command"]


def train_command(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from contextzip.resources import cache_dir
    from contextzip.train.finetune import FinetuneConfig
    from contextzip.train.recipe import DefaultRecipe, ship_default, train_custom, train_default

    config = FinetuneConfig(
        epochs=args.epochs, learning_rate=args.learning_rate, batch_size=args.batch_size,
        trainable_layers=args.trainable_layers,
    )  # fmt: skip
    progress = False if args.quiet else None
    if args.recipe:
        work = Path(args.out) if args.out else cache_dir() / "train" / args.recipe
        recipe = DefaultRecipe(keep=args.keep, finetune=config)
        if args.limit is not None:
            recipe = replace(recipe, passages=args.limit)
        models = train_default(work, recipe=recipe, progress=progress)
        shipped = ship_default(
            models, work, recipe=recipe, models_dir=Path(args.models_dir) if args.models_dir else None,
            evaluate=not args.no_eval, eval_limit=args.eval_limit, progress=progress,
        )  # fmt: skip
        sys.stderr.write(f"wrote {', '.join(str(p) for p in shipped)}\n")
        return 0
    work = Path(args.out) if args.out else cache_dir() / "train" / Path(args.corpus).stem
    out = train_custom(
        Path(args.corpus), work, teacher=args.teacher, keep=args.keep, query_aware=args.query_aware,
        llm_model=args.llm_model, llm_base_url=args.llm_base_url, config=config, limit=args.limit,
        progress=progress,
    )  # fmt: skip
    sys.stderr.write(f"wrote {out}\n")
    return 0
