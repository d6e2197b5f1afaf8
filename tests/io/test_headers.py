from ecgvision.io.headers import get_list, get_variable, parse_header, reorder_to_header

TRAINING_HEADER = """00001_hr 12 500 5000 00:00:00 01/01/2000
00001_hr.dat 16 1000.0(0)/mV 16 0 -115 13047 0 I
00001_hr.dat 16 1000.0(0)/mV 16 0 -50 1 0 II
00001_hr.dat 16 1000.0(0)/mV 16 0 65 1 0 III
00001_hr.dat 16 1000.0(0)/mV 16 0 83 1 0 AVR
00001_hr.dat 16 1000.0(0)/mV 16 0 -90 1 0 AVL
00001_hr.dat 16 1000.0(0)/mV 16 0 8 1 0 AVF
00001_hr.dat 16 1000.0(0)/mV 16 0 0 1 0 V1
00001_hr.dat 16 1000.0(0)/mV 16 0 0 1 0 V2
00001_hr.dat 16 1000.0(0)/mV 16 0 0 1 0 V3
00001_hr.dat 16 1000.0(0)/mV 16 0 0 1 0 V4
00001_hr.dat 16 1000.0(0)/mV 16 0 0 1 0 V5
00001_hr.dat 16 1000.0(0)/mV 16 0 0 1 0 V6
# Age: 56
# Sex: Female
# Height: Unknown
# Weight: 63
# Labels: NORM, CD
# Image: 00001_hr-0.png, 00001_hr-1.png
"""

HIDDEN_HEADER = """00001_hr 12 250 2500
00001_hr.dat 16 1000.0(0)/mV 16 0    I
00001_hr.dat 16 1000.0(0)/mV 16 0    II
00001_hr.dat 16 1000.0(0)/mV 16 0    III
00001_hr.dat 16 1000.0(0)/mV 16 0    aVR
00001_hr.dat 16 1000.0(0)/mV 16 0    aVL
00001_hr.dat 16 1000.0(0)/mV 16 0    aVF
00001_hr.dat 16 1000.0(0)/mV 16 0    V1
00001_hr.dat 16 1000.0(0)/mV 16 0    V2
00001_hr.dat 16 1000.0(0)/mV 16 0    V3
00001_hr.dat 16 1000.0(0)/mV 16 0    V4
00001_hr.dat 16 1000.0(0)/mV 16 0    V5
00001_hr.dat 16 1000.0(0)/mV 16 0    V6
# Image: 00001_hr-0.png
"""


def test_training_header_fields():
    info = parse_header(TRAINING_HEADER)
    assert (info.record_name, info.num_signals, info.fs_hz, info.num_samples) == ("00001_hr", 12, 500.0, 5000)
    assert info.signal_names[3] == "AVR"
    assert info.signals[0].adc_gain == 1000.0 and info.signals[0].baseline == 0
    assert info.signals[0].units == "mV" and info.signals[0].fmt == "16"
    assert get_variable(TRAINING_HEADER, "Age") == "56"
    assert get_variable(TRAINING_HEADER, "Sex") == "Female"
    assert get_list(TRAINING_HEADER, "Labels") == ["NORM", "CD"]
    assert get_list(TRAINING_HEADER, "Image") == ["00001_hr-0.png", "00001_hr-1.png"]


def test_hidden_header_keeps_names_and_rate():
    info = parse_header(HIDDEN_HEADER)
    assert info.fs_hz == 250.0 and info.num_samples == 2500
    assert info.signal_names == ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    assert get_list(HIDDEN_HEADER, "Labels") == []
    assert get_variable(HIDDEN_HEADER, "Labels") is None


def test_empty_labels_line_is_unlabelled_and_last_line_wins():
    assert get_list("r 1 100 10\n# Labels: \n", "Labels") == []
    assert get_list("r 1 100 10\n# Labels: NORM\n# Labels: CD, STTC\n", "Labels") == ["CD", "STTC"]
    assert get_variable("r 1 100 10\n#Labelsx: A\n", "Labels") is None


def test_lead_names_match_case_insensitively_in_target_order():
    assert reorder_to_header(["I", "AVR", "V1"], ["aVR", "v1", "III"]) == [1, 2, None]


def test_malformed_headers_give_clear_errors():
    import pytest

    with pytest.raises(ValueError, match="record line"):
        parse_header("name 12\n")
    with pytest.raises(ValueError, match="non-numeric"):
        parse_header("name twelve 500 5000\n")
    with pytest.raises(ValueError, match="declares 2 signals"):
        parse_header("name 2 500 5000\nname.dat 16 1000/mV 16 0 0 0 0 I\n")
    with pytest.raises(ValueError, match="no record line"):
        parse_header("# Age: 3\n")
