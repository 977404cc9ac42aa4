"""Root pytest set-up: the environment nbval's notebook kernels inherit.

nbval starts one kernel per notebook as a child of the pytest worker, so the settings
``scripts/execute.py`` uses to produce the stored outputs (``execute.kernel_env``: a fixed
hash seed, matplotlib's inline backend as in JupyterLab, this venv first on PATH) are made
here, before any kernel starts, from the same function.  The sanitize file named in
pyproject.toml is found from the repository root whatever the working directory.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "scripts"))

from execute import kernel_env  # noqa: E402

kernel_env()


def pytest_collection_modifyitems(config, items):
    """Chapter 09 trains on Fashion-MNIST: without Debian's dataset-fashion-mnist its nbval
    cells are skipped with a reason naming the package (under CI=true they run and fail)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from _requires import fashion_mnist_present

    if fashion_mnist_present() or os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        return
    import pytest

    skip = pytest.mark.skip(reason="Fashion-MNIST's IDX files are not installed: install the Debian package "
                                   "'dataset-fashion-mnist' (sudo apt-get install -y dataset-fashion-mnist)")
    for item in items:
        if "09_training" in str(getattr(item, "fspath", "")):
            item.add_marker(skip)


def pytest_configure(config):
    sanitize = getattr(config.option, "nbval_sanitize_with", None)
    if sanitize and not Path(sanitize).is_absolute() and not Path(sanitize).exists():
        config.option.nbval_sanitize_with = str(ROOT / sanitize)
