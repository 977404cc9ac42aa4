"""Root pytest set-up: the environment nbval's notebook kernels inherit.

nbval starts one kernel per notebook as a child of the pytest worker, so the settings
``scripts/execute.py`` uses to produce the stored outputs (``execute.kernel_env``: a fixed
hash seed, matplotlib's inline backend as in JupyterLab, this venv first on PATH) are made
here, before any kernel starts, from the same function.  The sanitize file named in
pyproject.toml is found from the repository root whatever the working directory.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "scripts"))

from execute import kernel_env  # noqa: E402

kernel_env()


def pytest_configure(config):
    sanitize = getattr(config.option, "nbval_sanitize_with", None)
    if sanitize and not Path(sanitize).is_absolute() and not Path(sanitize).exists():
        config.option.nbval_sanitize_with = str(ROOT / sanitize)
