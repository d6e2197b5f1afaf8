"""`ecgvision digitize` on a real Challenge image with the bundled default model."""

import numpy as np

from ecgvision.cli.main import main
from ecgvision.io.records import load_signals


def test_digitize_writes_signals_overlay_and_diagnoses(tmp_path, challenge_examples, capsys):
    image = challenge_examples / "00005_hr-0.png"
    (tmp_path / "bad.png").write_bytes(b"not an image")
    code = main(
        ["digitize", str(image), str(tmp_path / "bad.png"), "-o", str(tmp_path / "out"), "--fs", "250"]
    )
    assert code == 0
    printed = capsys.readouterr()
    assert "leads read: I, II, III, aVR" in printed.out and "diagnoses: NORM" in printed.out
    assert "bad.png: not read" in printed.err
    signal, fs = load_signals(tmp_path / "out" / "00005_hr-0")
    assert signal.shape == (2500, 12) and fs == 250.0
    assert np.isfinite(signal[:, 1]).mean() > 0.9, "lead II (rhythm strip) is read over the whole record"
    assert (tmp_path / "out" / "00005_hr-0-overlay.png").stat().st_size > 10_000
    assert (tmp_path / "out" / "00005_hr-0.csv").read_text().startswith("time_s,I,II,III,aVR")
