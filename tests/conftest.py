"""Shared fixtures and helpers of the tests.

``f64``: run torch as an oracle in float64.  torch keeps some optimizer state (NAdam's
``mu_product``, the ``step`` counters) in the *default* dtype, so the default is switched
to float64 for the test and restored afterwards.
"""

import pytest


@pytest.fixture
def f64():
    import torch
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield torch
    finally:
        torch.set_default_dtype(old)

