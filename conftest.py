"""Root pytest set-up: the environment nbval's notebook kernels inherit.

nbval starts one kernel per notebook as a child of the pytest worker, so the settings
``scripts/execute.py`` uses to produce the stored outputs are made here, before any
kernel starts: a fixed hash seed, and no MPLBACKEND override (ipykernel then picks
matplotlib's inline backend, as in JupyterLab).  The sanitize file named in
pyproject.toml is found from the repository root whatever the working directory.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent

os.environ["PYTHONHASHSEED"] = "0"
os.environ.pop("MPLBACKEND", None)
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")


def pytest_configure(config):
    sanitize = getattr(config.option, "nbval_sanitize_with", None)
    if sanitize and not Path(sanitize).is_absolute() and not Path(sanitize).exists():
        config.option.nbval_sanitize_with = str(ROOT / sanitize)
