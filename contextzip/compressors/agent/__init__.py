"""Plan-aware agent-state compression (PAACE-style), structure-aware and cache-stable.

An agent's history is mostly tool output it has read once. :class:`AgentCompressor`
shrinks the old outputs by what the *next steps of the plan* and the task still need, and
leaves the rest of the conversation alone:

* never changed: system and developer messages, the task (the first user message), the
  latest user message, the last ``keep_last_turns`` turns, and every tool call (its id, name
  and arguments); only texts are rewritten, so each result stays paired with its call and
  the conversation stays valid for its API (:mod:`contextzip.messages`);
* compressed: tool results older than that, and long user-supplied documents in between,
  each to ``rate`` of its tokens, by a reducer that keeps its structure — JSON stays valid
  JSON, logs collapse by template and keep errors, HTML becomes its pruned block tree,
  accessibility trees and listings keep the nesting of what they keep, source files go
  through the code compressor, prose through MIG;
* the relevance target of a result is its own tool call, the next ``next_steps`` steps of
  the plan (given, or read from numbered lists, checkboxes, ``Plan:`` sections and TODOs in
  the assistant's messages) and the task; identifiers, paths, URLs, numbers and error lines
  that the assistant quotes afterwards are kept;
* an output seen before (same bytes) becomes a pointer to its first occurrence, and every
  compressed text ends with a marker carrying the original's content hash
  (``cz:0123456789ab``); :meth:`AgentCompressor.retrieve` returns the original.

Cache stability: with ``horizon="next"`` (the default) a result is compressed only from
what the conversation held when the assistant answered it (its call, the plan then, the
facts that answer quoted), so once it leaves the protected window a client that re-sends
the history gets the same bytes every turn, and a provider's prompt cache keeps hitting.
``horizon="all"`` reads the current plan and every later message instead (better
retention, bytes change as the plan moves); with ``threshold_tokens`` set, nothing is
compressed until the conversation grows past it (compaction).
"""

from __future__ import annotations

from contextzip.compressors.agent.compressor import DEFAULT_MIN_TOKENS, AgentCompressor
from contextzip.compressors.agent.kinds import sniff_kind
from contextzip.compressors.agent.plan import PlanStep, extract_plan, referenced_facts

__all__ = [
    "DEFAULT_MIN_TOKENS",
    "AgentCompressor",
    "PlanStep",
    "extract_plan",
    "referenced_facts",
    "sniff_kind",
]
