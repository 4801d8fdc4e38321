"""Set-up every workflow script runs first (``import _bootstrap``).

Put this checkout's library (src/) first on sys.path, so scripts use the code that
Snakemake tracks, whatever else is installed or inherited. Snakemake puts scripts/ on
sys.path; it also passes on its own sys.path, which may hold another checkout's src/
(an editable install), so the entry is moved to the front even when already present."""

import os
import sys
from pathlib import Path

# Reproducibility: floating-point sums depend on how many threads split them, and the
# thread count differs between a laptop, a CI runner and a SLURM node. Every script runs
# its numerical libraries on one thread (the rules that want parallelism, DuckDB in the
# linkage, set it explicitly), so results are byte-identical wherever they run.
for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "RAYON_NUM_THREADS",
):
    os.environ[_var] = "1"

_SRC = str(Path(__file__).resolve().parents[1] / "src")
while _SRC in sys.path:
    sys.path.remove(_SRC)
sys.path.insert(0, _SRC)
for _name in [m for m in sys.modules if m == "pbr" or m.startswith("pbr.")]:
    del sys.modules[_name]  # drop a pbr imported from elsewhere before this ran
