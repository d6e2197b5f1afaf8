#!/usr/bin/env python
"""Challenge 2024 entry points; the work is done by the ecgvision package (ecgvision/challenge)."""

from ecgvision.challenge.entry import load_models, run_models, train_models

__all__ = ["train_models", "load_models", "run_models"]
