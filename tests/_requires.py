"""A test that needs a system package (Chromium, Node.js, the Fashion-MNIST files) calls
:func:`require_system`: it skips with a reason that says exactly what to install — except
under ``CI=true``, where a missing package is a failure, because CI installs them
(``scripts/setup.sh``, which the README's first command runs)."""

import os
import shutil

import pytest


def require_system(present: bool, what: str, package: str) -> None:
    """Skip (fail under CI=true) unless ``present``; the reason names the Debian package."""
    if present:
        return
    message = (f"{what} is not installed: install the Debian package '{package}' "
               f"(sudo apt-get install -y {package}, or run scripts/setup.sh as root)")
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def fashion_mnist_present() -> bool:
    """Are the four Fashion-MNIST IDX files where descent.train looks (DESCENT_DATA, or
    Debian's /usr/share/datasets/fashion-mnist)?"""
    from descent.train import data

    try:
        return all(p.is_file() for split in ("train", "test") for p in data.files(split))
    except data.DataMissing:
        return False


def require_c_compiler() -> None:
    """descent.torch compiles its fused CPU steps with the system's C compiler."""
    require_system(shutil.which("cc") is not None or shutil.which("gcc") is not None, "A C compiler", "gcc")
