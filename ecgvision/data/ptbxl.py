"""PTB-XL (+ PTB-XL+) tables -> the Challenge 2024 labels and demographics of each ecg_id.

The mapping follows section 3 of the Challenge contract (docs/challenge-2024.md):

1. `NORM` if NORM is a diagnostic superclass (every `scp_codes` key whose statement has
   `diagnostic == 1` maps to its `diagnostic_class`; likelihoods are ignored);
2. `Acute MI` if the raw 12SL `statements` string contains, as a substring, an acronym that
   the 12SL -> SNOMED table gives for one of `ACUTE_MI_STATEMENT_NUMBERS`;
3. `Old MI` if MI is a superclass and the record is not acute;
4. `STTC`, `CD`, `HYP` superclasses;
5. `PAC`, `PVC`, `AFIB/AFL` (AFIB, AFLT), `TACHY` (STACH, SVTAC, PSVT), `BRADY` (SBRAD) SCP codes.

Labels come out in the order of `ecgvision.constants.CLASSES`.
"""

from __future__ import annotations

import ast
import logging
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from ecgvision.constants import CLASSES
from ecgvision.data.archives import shared_data_dir

log = logging.getLogger(__name__)

DATABASE_FILE = "ptbxl_database.csv"
STATEMENTS_FILE = "scp_statements.csv"
STATEMENTS_12SL_FILE = "ptbxl_plus/12sl_statements.csv.xz"
SNOMED_MAP_FILE = "ptbxl_plus/12slv23ToSNOMED.csv"

# 12SL v23 statement numbers the Challenge counts as acute MI / injury (several are absent
# from the mapping table; only the ones it lists contribute acronyms).
ACUTE_MI_STATEMENT_NUMBERS: frozenset[int] = frozenset(
    {821, 822, 823, 827, 829, 902, 903, 904, 963, 964, 965, 966, 967, 968}
)
SUPERCLASS_LABELS: tuple[str, ...] = ("STTC", "CD", "HYP")
# Challenge class -> the SCP-ECG codes (rhythm / form statements) that set it.
SCP_CODE_LABELS: dict[str, tuple[str, ...]] = {
    "PAC": ("PAC",),
    "PVC": ("PVC",),
    "AFIB/AFL": ("AFIB", "AFLT"),
    "TACHY": ("STACH", "SVTAC", "PSVT"),
    "BRADY": ("SBRAD",),
}
# PTB-XL codes sex as 0 = male, 1 = female.
SEX_NAMES: dict[int, str] = {0: "Male", 1: "Female"}
UNKNOWN = "Unknown"


def ptbxl_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The `ptbxl/` folder of the shared data (or of `data_dir`), checked to exist."""
    path = Path(data_dir or shared_data_dir()) / "ptbxl"
    if not path.is_dir():
        raise FileNotFoundError(f"no PTB-XL folder at {path} (set ECGVISION_SHARED_DATA or pass data_dir)")
    return path


def _require_file(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"missing PTB-XL table {path}")
    return path


def load_database(folder: Path) -> pd.DataFrame:
    """`ptbxl_database.csv` indexed by ecg_id, with `scp_codes` parsed into dicts."""
    table = pd.read_csv(_require_file(folder / DATABASE_FILE), index_col="ecg_id")
    table["scp_codes"] = table["scp_codes"].map(ast.literal_eval)
    return table


def load_superclass_map(folder: Path) -> dict[str, str]:
    """SCP code -> diagnostic superclass (NORM, MI, STTC, CD, HYP) for `diagnostic == 1` statements."""
    table = pd.read_csv(_require_file(folder / STATEMENTS_FILE), index_col=0)
    diagnostic = table[table["diagnostic"] == 1]
    return {str(code): str(cls) for code, cls in diagnostic["diagnostic_class"].items()}


@lru_cache(maxsize=4)
def load_12sl_statements(path: Path) -> dict[int, str]:
    """ecg_id -> raw 12SL `statements` string (e.g. "['NSR', 'NML']"); parsed once per process."""
    table = pd.read_csv(_require_file(path), usecols=["ecg_id", "statements"], index_col="ecg_id")
    return {int(ecg_id): str(text) for ecg_id, text in table["statements"].items()}


def _find_column(table: pd.DataFrame, *needles: str) -> str:
    """First column whose lower-cased name contains every needle (the table has no fixed schema)."""
    for column in table.columns:
        name = str(column).lower().replace(" ", "")
        if all(needle in name for needle in needles):
            return str(column)
    raise ValueError(f"no column matching {needles} in 12SL mapping table columns {list(table.columns)}")


def load_acute_mi_acronyms(path: Path) -> frozenset[str]:
    """12SL acronyms of `ACUTE_MI_STATEMENT_NUMBERS` from the 12SL v23 -> SNOMED table."""
    table = pd.read_csv(_require_file(path), encoding="utf-8-sig")
    number_column = _find_column(table, "statement", "number")
    acronym_column = _find_column(table, "acronym")
    numbers = pd.to_numeric(table[number_column], errors="coerce")
    acronyms = table.loc[numbers.isin(ACUTE_MI_STATEMENT_NUMBERS), acronym_column].dropna()
    found = frozenset(str(a).strip() for a in acronyms if str(a).strip())
    if not found:
        raise ValueError(f"{path} lists none of the acute MI statement numbers")
    return found


def superclasses_of(scp_codes: Iterable[str], superclass_map: dict[str, str]) -> set[str]:
    return {superclass_map[code] for code in scp_codes if code in superclass_map}


def is_acute_mi(statements_12sl: str | None, acute_acronyms: Iterable[str]) -> bool:
    """Substring test on the raw 12SL string, as the Challenge does; no 12SL row -> not acute."""
    if statements_12sl is None:
        return False
    return any(acronym in statements_12sl for acronym in acute_acronyms)


def map_labels(
    scp_codes: Iterable[str],
    superclass_map: dict[str, str],
    statements_12sl: str | None,
    acute_acronyms: Iterable[str],
) -> list[str]:
    """Challenge classes of one record, in `CLASSES` order (may be empty)."""
    codes = set(scp_codes)
    superclasses = superclasses_of(codes, superclass_map)
    acute = is_acute_mi(statements_12sl, acute_acronyms)
    found = {label for label in ("NORM", *SUPERCLASS_LABELS) if label in superclasses}
    if acute:
        found.add("Acute MI")
    elif "MI" in superclasses:
        found.add("Old MI")
    found |= {label for label, triggers in SCP_CODE_LABELS.items() if codes & set(triggers)}
    return [label for label in CLASSES if label in found]


def format_number(value: object) -> str:
    """A PTB-XL number as the Challenge headers write it: `56.0` -> `56`, NaN -> `Unknown`."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return UNKNOWN
    if not math.isfinite(number):
        return UNKNOWN
    return str(int(number)) if number.is_integer() else f"{number:g}"


def format_sex(value: object) -> str:
    try:
        return SEX_NAMES.get(int(value), UNKNOWN)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return UNKNOWN


@dataclass(frozen=True)
class Demographics:
    """Header strings of a record: age in years, sex, height in cm, weight in kg ('Unknown' if missing)."""

    age_years: str
    sex: str
    height_cm: str
    weight_kg: str

    def comment_lines(self) -> list[str]:
        """`Age: 56`, `Sex: Female`, ... (no leading '#'; the WFDB writer adds it)."""
        return [
            f"Age: {self.age_years}",
            f"Sex: {self.sex}",
            f"Height: {self.height_cm}",
            f"Weight: {self.weight_kg}",
        ]


class PtbxlLabeler:
    """Loads the PTB-XL / PTB-XL+ tables once and answers labels and demographics per ecg_id."""

    def __init__(self, data_dir: str | os.PathLike | None = None) -> None:
        folder = ptbxl_dir(data_dir)
        self.database = load_database(folder)
        self.superclass_map = load_superclass_map(folder)
        self.statements_12sl = load_12sl_statements((folder / STATEMENTS_12SL_FILE).resolve())
        self.acute_acronyms = load_acute_mi_acronyms(folder / SNOMED_MAP_FILE)

    def __contains__(self, ecg_id: int) -> bool:
        return int(ecg_id) in self.database.index

    def _row(self, ecg_id: int) -> pd.Series:
        if int(ecg_id) not in self.database.index:
            raise KeyError(f"ecg_id {ecg_id} is not in {DATABASE_FILE}")
        return self.database.loc[int(ecg_id)]

    def labels(self, ecg_id: int) -> list[str]:
        """Challenge classes of `ecg_id` in `CLASSES` order (may be empty); KeyError if unknown."""
        scp_codes = self._row(ecg_id)["scp_codes"]
        statements = self.statements_12sl.get(int(ecg_id))
        return map_labels(scp_codes, self.superclass_map, statements, self.acute_acronyms)

    def demographics(self, ecg_id: int) -> Demographics:
        row = self._row(ecg_id)
        return Demographics(
            age_years=format_number(row["age"]),
            sex=format_sex(row["sex"]),
            height_cm=format_number(row["height"]),
            weight_kg=format_number(row["weight"]),
        )

    def fold(self, ecg_id: int) -> int:
        return int(self._row(ecg_id)["strat_fold"])

    def ecg_ids(self, folds: Iterable[int] | None = None) -> list[int]:
        """Sorted ecg_ids of the given strat_folds (all when None)."""
        table = self.database
        if folds is not None:
            table = table[table["strat_fold"].isin(list(folds))]
        return sorted(int(i) for i in table.index)

    def label_counts(self, ecg_ids: Iterable[int]) -> dict[str, int]:
        """Number of records per class (`CLASSES` order) over `ecg_ids`."""
        counts = dict.fromkeys(CLASSES, 0)
        for ecg_id in ecg_ids:
            for label in self.labels(ecg_id):
                counts[label] += 1
        return counts
