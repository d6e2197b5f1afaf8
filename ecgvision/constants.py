"""Units, lead names and classes shared by every stage."""

LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")

# The 11 Challenge 2024 classes, exact strings, in the contract's order.
CLASSES: tuple[str, ...] = (
    "NORM",
    "Acute MI",
    "Old MI",
    "STTC",
    "CD",
    "HYP",
    "PAC",
    "PVC",
    "AFIB/AFL",
    "TACHY",
    "BRADY",
)

MM_PER_S = 25.0  # standard paper speed
MM_PER_MV = 10.0  # standard gain
MM_PER_INCH = 25.4
MINOR_GRID_MM = 1.0
MAJOR_GRID_MM = 5.0

# WFDB format-16 limits: values are stored in 0.001 mV steps; -32768 is the NaN sentinel.
WFDB_NAN_DIGITAL = -32768
MAX_ABS_MV = 32.767

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg")

# Records are 10 s; a header claiming far more is refused before any allocation.
MAX_RECORD_DURATION_S = 120.0
