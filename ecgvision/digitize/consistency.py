"""Einthoven consistency: II = I + III and aVR + aVL + aVF = 0 hold sample by sample.

Within a printed column the three leads of a relation are simultaneous, so their residual measures
the digitizer's error there. A lead missing from a relation whose two partners were read is
reconstructed; a relation whose residual is large is flagged (which lead is wrong is not decided).
Optionally the residual is spread equally over the three leads (the least-squares projection onto
the consistent subspace), which lowers independent reading noise when no lead is grossly wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# (coefficients, leads): sum(c * lead) = 0
RELATIONS: tuple[tuple[tuple[float, ...], tuple[str, ...]], ...] = (
    ((1.0, -1.0, 1.0), ("I", "II", "III")),
    ((1.0, 1.0, 1.0), ("aVR", "aVL", "aVF")),
)


@dataclass(frozen=True)
class ConsistencyConfig:
    fill_missing: bool = True  # reconstruct a lead from its two partners where it is NaN
    project: bool = False  # spread small residuals over the three leads
    # residual RMS / mean lead RMS above this flags the relation. Three independent reading errors of
    # RMS e give a residual of sqrt(3) e, so 1.0 flags leads read below ~5 dB SNR: worth less than
    # their NaN only when misread (0.5 also dropped good low-amplitude pages: scan 11.8 -> 14.0 dB)
    flag_ratio: float = 1.0
    # A reading that breaks Einthoven is mostly wrong, and a wrong lead scores below 0 dB where NaN
    # scores 0: drop the flagged relation's leads where they overlap. The precordial leads stay even
    # when every relation is flagged: dropping the whole page then (as before stop 11) cost photo and
    # b/w renders 0.3 dB (11 of 12 such pages of 90 read above 0 dB with V1-V6 kept).
    drop_flagged: bool = True


@dataclass
class ConsistencyReport:
    residual_rms_mv: dict[str, float] = field(
        default_factory=dict
    )  # relation name -> RMS over shared samples
    flagged: list[str] = field(default_factory=list)  # relations with a large residual
    filled: dict[str, int] = field(default_factory=dict)  # lead -> samples reconstructed


def _columns(lead_names: list[str], leads: tuple[str, ...]) -> list[int] | None:
    index = {name.casefold(): j for j, name in enumerate(lead_names)}
    found = [index.get(lead.casefold()) for lead in leads]
    return None if any(j is None for j in found) else found


def check_consistency(
    signal_mv: np.ndarray, lead_names: list[str], config: ConsistencyConfig | None = None
) -> tuple[np.ndarray, ConsistencyReport]:
    """(signal, report): the signal (num_samples, num_leads) with missing leads filled / projected."""
    config = config or ConsistencyConfig()
    out = signal_mv.copy()
    report = ConsistencyReport()
    for coefficients, leads in RELATIONS:
        columns = _columns(lead_names, leads)
        if columns is None:
            continue
        name = " + ".join(f"{c:+.0f}*{lead}" for c, lead in zip(coefficients, leads, strict=True))
        values = out[:, columns]
        coeffs = np.asarray(coefficients)
        if config.fill_missing:
            _fill_missing(out, values, coeffs, columns, leads, report)
            values = out[:, columns]
        shared = np.isfinite(values).all(axis=1)
        if not shared.any():
            continue
        residual = values[shared] @ coeffs
        rms = float(np.sqrt(np.mean(residual**2)))
        report.residual_rms_mv[name] = rms
        scale = float(np.sqrt(np.mean(values[shared] ** 2)))
        if rms > config.flag_ratio * max(scale, 1e-6):
            report.flagged.append(name)
            if config.drop_flagged:
                out[np.flatnonzero(shared)[:, None], columns] = np.nan
        elif config.project:
            # least-squares projection onto c . v = 0: v -= c (c . v) / |c|^2
            out[np.flatnonzero(shared)[:, None], columns] = values[shared] - np.outer(
                residual, coeffs
            ) / float(coeffs @ coeffs)
    return out, report


def _fill_missing(out, values, coeffs, columns, leads, report) -> None:
    """Where exactly one lead of a relation is NaN and the two others are read, solve for it."""
    finite = np.isfinite(values)
    for k in range(len(leads)):
        others = [i for i in range(len(leads)) if i != k]
        rows = ~finite[:, k] & finite[:, others].all(axis=1)
        if rows.any():
            out[rows, columns[k]] = -(values[rows][:, others] @ coeffs[others]) / coeffs[k]
            report.filled[leads[k]] = int(rows.sum())
