"""descent.report: a printed bound is also a checked one."""

import math

import numpy as np
import pytest
from descent import report


def test_below_prints_the_bound_and_checks_it():
    assert report.below(3e-16, 1e-12) == "< 1e-12"
    assert report.below(np.array([1e-17, -4e-16]), 1e-12) == "< 1e-12"
    with pytest.raises(AssertionError, match="gap = 0.002 is not below 0.001"):
        report.below(-0.002, 1e-3, what="gap")
    with pytest.raises(AssertionError):
        report.below(math.nan, 1.0)


def test_above_checks_the_smallest_entry():
    assert report.above([0.9, 0.8], 0.75) == "> 0.75"
    with pytest.raises(AssertionError, match="accuracy = 0.7 is not above 0.75"):
        report.above([0.9, 0.7], 0.75, what="accuracy")


@pytest.mark.parametrize("bad", [0, -1e-3, "1e-12", None])
def test_bound_must_be_a_positive_number(bad):
    with pytest.raises(ValueError, match="Invalid bound"):
        report.below(0.0, bad)
