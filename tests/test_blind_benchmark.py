"""The blind benchmarks' plumbing: ``benchmarks/levin_blind.py --options`` reaches the estimator."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

import unblur

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def levin_blind(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    before = set(sys.modules)
    import levin_blind

    yield levin_blind
    for name in set(sys.modules) - before:  # the benchmarks' top-level modules
        if name in ("levin_blind", "levin", "_common"):
            del sys.modules[name]


def test_options_parsed_as_numbers_then_strings(levin_blind):
    got = levin_blind.parse_options("refine_iter=3, kernel_reg=0.5,encoding=linear,")
    assert got == {"refine_iter": 3, "kernel_reg": 0.5, "encoding": "linear"}
    assert isinstance(got["refine_iter"], int)
    assert levin_blind.parse_options(None) == {}


def test_options_reach_the_estimator_and_the_results_file(levin_blind, monkeypatch, tmp_path):
    data = SHARED_DATA / "levin2009"
    if not data.is_dir():
        pytest.skip("the Levin et al. data are not in ../shared/data")
    calls = []

    def fake(y, size=None, **kwargs):
        calls.append((size, kwargs))
        k = np.zeros((3, 3))
        k[1, 1] = 1.0
        return k

    monkeypatch.setattr(unblur, "estimate_psf", fake)
    out = tmp_path / "r.json"
    argv = ["--data", str(data), "--pairs", "1", "--rows", "sized,default", "--no-progress",
            "--options", "refine_iter=0,kernel_reg=4", "--json", str(out)]  # fmt: skip
    assert levin_blind.main(argv) == 0
    assert [c[0] for c in calls] == [19, None]  # pair 1: kernel 1 is 19 x 19
    assert all(c[1]["refine_iter"] == 0 and c[1]["kernel_reg"] == 4 for c in calls)
    assert json.loads(out.read_text())["options"] == {"refine_iter": 0, "kernel_reg": 4}
