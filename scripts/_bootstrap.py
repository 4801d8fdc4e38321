"""Put this checkout's library (src/) first on sys.path, so scripts use the code that
Snakemake tracks, whatever else is installed. Snakemake puts scripts/ on sys.path."""

import sys
from pathlib import Path

_SRC = str(Path(__file__).resolve().parents[1] / "src")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)
