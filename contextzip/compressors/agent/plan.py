"""What an agent's next steps need: its plan, read from its messages, and the facts it quotes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["PlanStep", "extract_plan", "referenced_facts"]

_CHECKBOX = re.compile(r"^\s*(?:[-*+]|\d+[.)])?\s*\[( |x|X)\]\s+(.+?)\s*$")

_NUMBERED = re.compile(r"^\s*(?:step\s+)?(\d+)[.):]\s+(.+?)\s*$", re.I)

_BULLET = re.compile(r"^\s*[-*+]\s+(.+?)\s*$")

_TODO = re.compile(r"^\s*(?:[-*+]\s*)?TODO:?\s+(.+?)\s*$")

_DONE_MARK = re.compile(r"(✓|✔|✅|~~|\(done\)|\[done\]|\bDONE\b)")

_STEP_DONE = re.compile(r"\bstep\s+(\d+)\b[^.\n]{0,40}?\b(done|complete[d]?|finished)\b", re.I)

_FACT_PATTERNS = (
    re.compile(r"https?://[^\s)\"'<>\]]+"),  # URLs
    re.compile(r"(?:[\w.-]+/)+[\w.-]+"),  # paths
    re.compile(r"\b[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+\b"),  # dotted names
    re.compile(r"\b[a-z]+_[a-z0-9_]+\b|\b[a-z]+[A-Z]\w*\b|\b[A-Z][a-z]+[A-Z]\w*\b"),  # snake / camel case
    re.compile(r"\b\d[\d.:,-]{2,}\d\b|\b\d{3,}\b"),  # numbers of three digits and more, versions, times
    re.compile(r"`([^`\n]{3,80})`"),  # quoted code
)


@dataclass(frozen=True)
class PlanStep:
    """One step of an agent's plan and whether it is marked done."""

    text: str
    done: bool = False


def extract_plan(texts: Sequence[str]) -> list[PlanStep]:
    """The latest plan written in ``texts`` (oldest first): its steps, each marked done or not.

    A plan is a checkbox list (``- [ ] step``), a numbered list, the bullets under a
    ``Plan:`` line, or ``TODO`` lines. Later texts that say ``step 2 done`` (or tick a box)
    mark steps done.

    Example:
        >>> plan = extract_plan(["Plan:\\n1. grep for the parser\\n2. read parser.py\\n3. fix the bug",
        ...                      "Step 1 done: found it in src/parser.py"])
        >>> [(s.text, s.done) for s in plan]
        [('grep for the parser', True), ('read parser.py', False), ('fix the bug', False)]
    """
    plan: list[PlanStep] = []
    found_at = -1
    for position in range(len(texts) - 1, -1, -1):
        plan = _plan_in(texts[position])
        if len(plan) >= 2:
            found_at = position
            break
    if found_at < 0:
        return []
    done = {int(n) for text in texts[found_at:] for n, _ in _STEP_DONE.findall(text)}
    return [PlanStep(s.text, s.done or (n + 1) in done) for n, s in enumerate(plan)]


def _plan_in(text: str) -> list[PlanStep]:
    lines = text.splitlines()
    boxes = [m for m in (_CHECKBOX.match(line) for line in lines) if m]
    if len(boxes) >= 2:
        return [PlanStep(m.group(2), m.group(1) != " ") for m in boxes]
    numbered = [m for m in (_NUMBERED.match(line) for line in lines) if m]
    if len(numbered) >= 2:
        return [
            PlanStep(_DONE_MARK.sub("", m.group(2)).strip(), bool(_DONE_MARK.search(m.group(2))))
            for m in numbered
        ]
    for at, line in enumerate(lines):
        if re.match(r"^\s*(?:#+\s*)?plan\s*:?\s*$", line, re.I):
            bullets = []
            for below in lines[at + 1 :]:
                match = _BULLET.match(below)
                if not match:
                    if below.strip():
                        break
                    continue
                bullets.append(PlanStep(match.group(1)))
            if len(bullets) >= 2:
                return bullets
    return [PlanStep(m.group(1)) for m in (_TODO.match(line) for line in lines) if m]


def referenced_facts(texts: Sequence[str]) -> list[str]:
    """Identifiers, paths, URLs, numbers and quoted code that ``texts`` mention, in first-seen order.

    Example:
        >>> referenced_facts(["The bug is in src/app/cache.py line 214, see parse_header()."])
        ['src/app/cache.py', 'parse_header', '214']
    """
    seen: dict[str, None] = {}
    for text in texts:
        for pattern in _FACT_PATTERNS:
            for match in pattern.finditer(text):
                fact = (match.group(1) if pattern.groups else match.group(0)).strip(".,;:")
                if len(fact) >= 3 and not any(fact != other and fact in other for other in seen):
                    seen.setdefault(fact, None)
    return list(seen)
