"""Shared fixtures and helpers of the tests.

``f64``: run torch as an oracle in float64.  torch keeps some optimizer state (NAdam's
``mu_product``, the ``step`` counters) in the *default* dtype, so the default is switched
to float64 for the test and restored afterwards.

``one_thread``: torch on one intra-op thread for a module (tiny tensors: more threads only
add scheduling noise on a shared machine); a module opts in with
``pytestmark = pytest.mark.usefixtures("one_thread")``.
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



@pytest.fixture(scope="module")
def one_thread():
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
