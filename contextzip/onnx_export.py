"""ONNX Runtime for encoders: export once, quantize once, cache both.

The exported graph takes ``input_ids``, ``attention_mask`` (and ``token_type_ids`` when
the model has them) with dynamic batch and sequence axes and returns ``logits`` (task
``token-classification``) or ``last_hidden_state`` (task ``feature-extraction``, for
sentence embeddings). Files live under ``<cache>/onnx/<model fingerprint>/``: ``model.onnx`` (fp32) and
``model.int8.onnx`` (dynamic int8 quantization of the weights, ONNX Runtime's
``quantize_dynamic``). The fingerprint hashes the model folder's weight and config files,
so a retrained model is exported again.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from contextzip.errors import ConfigurationError, missing_extra
from contextzip.loading import load_once
from contextzip.resources import cache_dir, file_lock, model_fingerprint

__all__ = ["onnx_model_path", "onnx_session"]

logger = logging.getLogger(__name__)

_TASKS = {"token-classification": ("AutoModelForTokenClassification", "logits"),
          "feature-extraction": ("AutoModel", "last_hidden_state")}  # fmt: skip


def onnx_model_path(model: str, *, quantize: bool, task: str = "token-classification") -> Path:
    """The cached ONNX file for ``model`` (a local folder) and ``task``, exported on first use."""
    if task not in _TASKS:
        raise ConfigurationError(f"task must be one of {', '.join(_TASKS)}, got {task!r}")
    folder = Path(model)
    if not folder.is_dir():
        raise ConfigurationError(
            f"the ONNX backend exports from a local model folder; {model!r} is not one "
            "(download it first, or use backend='torch')"
        )
    suffix = "" if task == "token-classification" else f"-{task}"  # token classifiers keep their folders
    target = cache_dir() / "onnx" / (model_fingerprint(folder) + suffix)
    fp32 = target / "model.onnx"
    int8 = target / "model.int8.onnx"
    wanted = int8 if quantize else fp32
    if wanted.is_file():
        return wanted
    target.mkdir(parents=True, exist_ok=True)
    with file_lock(target / ".lock"):
        if not fp32.is_file():
            _export(model, fp32, task)
        if quantize and not int8.is_file():
            _quantize(fp32, int8)
    return wanted


def onnx_session(model: str, *, quantize: bool, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session for ``model`` (fp32, or int8 with ``quantize``), one per process."""

    def build() -> Any:
        try:
            import onnxruntime
        except ImportError as exc:
            raise missing_extra(exc.name or "onnxruntime", "onnx") from None
        path = onnx_model_path(model, quantize=quantize)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    return load_once("onnx-session", (model, quantize, threads), build)


def _export(model: str, target: Path, task: str) -> None:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise missing_extra(exc.name or "torch", "ml") from None
    logger.info("exporting %s to ONNX at %s (once)", model, target)
    auto_class, output = _TASKS[task]
    encoder = getattr(transformers, auto_class).from_pretrained(model).eval()
    with_types = getattr(encoder.config, "type_vocab_size", 0) > 1
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if with_types else [])
    example = tuple(torch.ones((2, 16), dtype=torch.long) for _ in names)
    axes = {name: {0: "batch", 1: "sequence"} for name in [*names, output]}

    class Output(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, *inputs: Any) -> Any:
            return getattr(self.encoder(**dict(zip(names, inputs, strict=True))), output)

    partial = target.with_suffix(".partial")
    with torch.inference_mode():
        torch.onnx.export(
            Output(), example, str(partial), input_names=names, output_names=[output],
            dynamic_axes=axes, opset_version=17, dynamo=False,
        )  # fmt: skip
    partial.replace(target)


def _quantize(source: Path, target: Path) -> None:
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise missing_extra(exc.name or "onnxruntime", "onnx") from None
    logger.info("quantizing %s to int8 at %s (once)", source, target)
    partial = target.with_suffix(".partial")
    quantize_dynamic(str(source), str(partial), weight_type=QuantType.QInt8)
    partial.replace(target)
