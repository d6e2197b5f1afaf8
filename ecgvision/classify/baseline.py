"""Label-prevalence baseline: a named, honest floor for classification (no image is looked at)."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ecgvision.constants import CLASSES
from ecgvision.io.atomic import atomic_write_text

BASELINE_FILE = "prevalence_baseline.json"


@dataclass
class PrevalenceBaseline:
    """Predicts every class whose training prevalence is at least `threshold`, else the most common one."""

    prevalence: dict[str, float] = field(default_factory=dict)
    threshold: float = 0.5
    num_records: int = 0

    @classmethod
    def fit(cls, label_lists: list[list[str]], threshold: float = 0.5) -> PrevalenceBaseline:
        labelled = [labels for labels in label_lists if labels]
        counts = Counter(label for labels in labelled for label in set(labels) if label in CLASSES)
        total = max(len(labelled), 1)
        return cls({c: counts.get(c, 0) / total for c in CLASSES}, threshold, len(labelled))

    def predict(self) -> list[str]:
        if not self.num_records:
            return []
        chosen = [c for c in CLASSES if self.prevalence.get(c, 0.0) >= self.threshold]
        return chosen or [max(CLASSES, key=lambda c: self.prevalence.get(c, 0.0))]

    def save(self, folder: str | os.PathLike) -> None:
        data = {
            "kind": "prevalence-baseline",
            "prevalence": self.prevalence,
            "threshold": self.threshold,
            "num_records": self.num_records,
        }
        atomic_write_text(Path(folder) / BASELINE_FILE, json.dumps(data, indent=2))

    @classmethod
    def load(cls, folder: str | os.PathLike) -> PrevalenceBaseline:
        data = json.loads((Path(folder) / BASELINE_FILE).read_text())
        return cls(data["prevalence"], data["threshold"], data["num_records"])
