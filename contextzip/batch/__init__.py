"""Batch compression of JSONL records: ``contextzip batch``, locally or on Ray Data.

Example:
    >>> import json, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "in.jsonl").write_text(json.dumps({"text": "one two three four"}) + "\\n")
    >>> job = BatchJob("truncate", rate=0.5)
    >>> stats = run_batch(folder / "in.jsonl", folder / "out.jsonl", job, progress=False)
    >>> stats.compressed, json.loads((folder / "out.jsonl").read_text())["compressed"]
    (1, 'one two')
"""

from contextzip.batch.records import BatchJob, compress_line
from contextzip.batch.run import ENGINES, BatchStats, run_batch

__all__ = ["ENGINES", "BatchJob", "BatchStats", "compress_line", "run_batch"]
