import numpy as np

from ecgvision.digitize.consistency import check_consistency

NAMES = ["I", "II", "III", "AVR", "AVL", "AVF"]


def limb_leads(n: int = 500) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n)
    lead_i, lead_ii = np.sin(t), 0.5 * np.cos(3 * t)
    return np.column_stack(
        [
            lead_i,
            lead_ii,
            lead_ii - lead_i,
            -(lead_i + lead_ii) / 2,
            lead_i - lead_ii / 2,
            lead_ii - lead_i / 2,
        ]
    )


def test_missing_lead_is_rebuilt_from_its_partners():
    signal = limb_leads()
    damaged = signal.copy()
    damaged[:, 2] = np.nan  # III
    fixed, report = check_consistency(damaged, NAMES)
    np.testing.assert_allclose(fixed[:, 2], signal[:, 2], atol=1e-12)
    assert report.filled == {"III": 500} and not report.flagged


def test_inconsistent_relation_is_flagged():
    signal = limb_leads()
    signal[:, 1] *= -1  # II read upside down
    _, report = check_consistency(signal, NAMES)
    assert report.flagged == ["+1*I + -1*II + +1*III"]
