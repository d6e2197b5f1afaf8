"""ecgvision: paper ECG images to calibrated 12-lead signals and Challenge 2024 diagnoses."""

__version__ = "0.1.0"
