from ecgvision.data.hidden import hidden_header, hide_folder
from ecgvision.io.headers import get_list, parse_header


def test_hidden_copy_keeps_only_what_the_challenge_keeps(tmp_path, challenge_examples):
    records = hide_folder(challenge_examples, tmp_path)
    assert records == ["00005_hr", "00666_hr"]
    text = (tmp_path / "00005_hr.hea").read_text()
    assert text.splitlines()[0] == "00005_hr 12 500 5000"
    assert text.splitlines()[1] == "00005_hr.dat 16 1000.0(0)/mV 16 0    I"
    assert "# Age" not in text and "# Labels" not in text and get_list(text, "Image") == ["00005_hr-0.png"]
    assert parse_header(text).signal_names[3] == "AVR"
    assert (tmp_path / "00005_hr-0.png").is_file() and not (tmp_path / "00005_hr.dat").exists()


def test_labels_can_be_kept():
    header = "r 1 100 10\nr.dat 16 1000.0(0)/mV 16 0 0 0 0 I\n# Age: 3\n# Labels: NORM\n# Image: r-0.png\n"
    assert get_list(hidden_header(header, keep_labels=True), "Labels") == ["NORM"]
