"""Challenge labels and demographics from the PTB-XL / PTB-XL+ tables, checked on real records.

Each pinned record was checked by hand against its `scp_codes` row, the SCP statement table and
its raw 12SL statements (see the comment beside it).
"""

import math

import pytest

from ecgvision.constants import CLASSES
from ecgvision.data.ptbxl import (
    PtbxlLabeler,
    format_number,
    format_sex,
    map_labels,
)
from ecgvision.io.headers import get_variable, load_header
from ecgvision.io.records import load_labels

HAND_CHECKED: dict[int, list[str]] = {
    5: ["NORM"],  # Challenge example 00005_hr
    666: ["NORM"],  # Challenge example 00666_hr
    10: ["NORM"],  # NORM, SR; 12SL NSR SAR NML
    8: ["Old MI"],  # IMI (MI), ABQRS (form), SR; 12SL has no acute acronym
    39: ["Old MI", "STTC"],  # IMI + LNGQT, NST_, DIG (STTC)
    189: ["Acute MI"],  # ASMI, ILMI (MI); 12SL lists STEMI -> acute, so not Old MI
    234: ["Acute MI", "STTC", "CD"],  # ASMI, IMI, ANEUR (STTC), 1AVB (CD); 12SL STEMI
    920: ["NORM", "Acute MI", "BRADY"],  # NORM, SBRAD; 12SL SERYR2 (statement 903) -> acute
    26: ["STTC"],  # NST_, DIG
    41: ["CD"],  # LAFB
    30: ["HYP"],  # LVH
    170: ["STTC", "PVC"],  # NST_, PVC
    1184: ["NORM", "PAC"],  # NORM, PAC
    17: ["AFIB/AFL"],  # AFLT, AFIB, ABQRS; no diagnostic statement
    1173: ["AFIB/AFL", "TACHY"],  # AFLT, SVTAC
    849: ["STTC", "TACHY"],  # NDT (STTC), STD_ (form), STACH
    69: ["NORM", "BRADY"],  # NORM, SBRAD
    1033: ["Old MI", "STTC", "CD", "HYP", "PVC", "TACHY"],  # ASMI LVH ISC_ 1AVB PVC SVTAC
    144: [],  # PACE only: no Challenge class
}


@pytest.fixture(scope="module")
def labeler(shared_data):
    return PtbxlLabeler(shared_data)


@pytest.mark.parametrize("ecg_id", sorted(HAND_CHECKED))
def test_hand_checked_records_get_their_labels(labeler, ecg_id):
    assert labeler.labels(ecg_id) == HAND_CHECKED[ecg_id]


def test_acute_mi_acronyms_come_from_the_snomed_table(labeler):
    # 821, 902, 903, 963-967 are in the table; 822, 823, 827, 829, 904, 968 are not.
    assert labeler.acute_acronyms == {
        "STEMI", "SERYR1", "SERYR2", "IIOHAI", "AIOHAI", "LIOHAI", "ALIHAI", "ILIHAI",
    }  # fmt: skip


@pytest.mark.parametrize("name, ecg_id", [("00005_hr", 5), ("00666_hr", 666)])
def test_challenge_examples_match_labels_and_demographics(labeler, challenge_examples, name, ecg_id):
    header = load_header(challenge_examples / name)
    assert labeler.labels(ecg_id) == load_labels(challenge_examples / name)
    lines = labeler.demographics(ecg_id).comment_lines()
    for key, value in (line.split(": ", 1) for line in lines):
        assert get_variable(header, key) == value, key


def test_demographics_formatting(labeler):
    # ecg_id 5: age 19.0, sex 1, height NaN, weight 70.0 in ptbxl_database.csv
    demo = labeler.demographics(5)
    assert (demo.age_years, demo.sex, demo.height_cm, demo.weight_kg) == ("19", "Female", "Unknown", "70")
    assert labeler.demographics(8).sex == "Male"  # sex 0
    assert demo.comment_lines() == ["Age: 19", "Sex: Female", "Height: Unknown", "Weight: 70"]


def test_number_and_sex_formatting_rules():
    assert format_number(56.0) == "56"
    assert format_number(72.5) == "72.5"
    assert format_number(math.nan) == "Unknown"
    assert format_number(None) == "Unknown"
    assert [format_sex(v) for v in (0, 1, 0.0, math.nan, 7)] == [
        "Male",
        "Female",
        "Male",
        "Unknown",
        "Unknown",
    ]


def test_map_labels_rules_without_tables():
    superclass = {"NORM": "NORM", "IMI": "MI", "LVH": "HYP"}
    # MI without a 12SL row is old; an acute acronym anywhere in the raw string makes it acute.
    assert map_labels({"IMI"}, superclass, None, {"STEMI"}) == ["Old MI"]
    assert map_labels({"IMI"}, superclass, "['NSR', 'STEMI']", {"STEMI"}) == ["Acute MI"]
    # Output follows CLASSES order whatever the input order.
    assert map_labels(["SBRAD", "LVH", "NORM", "AFIB"], superclass, "", {"STEMI"}) == [
        "NORM", "HYP", "AFIB/AFL", "BRADY",
    ]  # fmt: skip


def test_unknown_ecg_id_is_a_clear_error(labeler):
    assert 137 not in labeler  # in PTB-XL v1.0.1 only, dropped from the v1.0.3 table
    with pytest.raises(KeyError, match="137"):
        labeler.labels(137)


def test_fold9_labels_are_ordered_classes_and_mi_is_exclusive(labeler):
    ecg_ids = labeler.ecg_ids([9])
    assert len(ecg_ids) == 2183  # shared data README: fold 9 holds 2,183 records
    for ecg_id in ecg_ids:
        labels = labeler.labels(ecg_id)
        assert labels == [c for c in CLASSES if c in labels]
        assert not {"Acute MI", "Old MI"} <= set(labels)
    counts = labeler.label_counts(ecg_ids)
    assert list(counts) == list(CLASSES) and all(counts[c] > 0 for c in CLASSES)
