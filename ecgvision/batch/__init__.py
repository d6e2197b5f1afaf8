"""Production batch inference: many records, several processes, shards, resume and a run log."""

from ecgvision.batch.outputs import save_outputs
from ecgvision.batch.runner import BatchSummary, RecordResult, Shard, parse_shard, run_batch, select_shard

__all__ = [
    "BatchSummary",
    "RecordResult",
    "Shard",
    "parse_shard",
    "run_batch",
    "save_outputs",
    "select_shard",
]
