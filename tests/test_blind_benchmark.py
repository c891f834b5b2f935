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


@pytest.fixture
def heldout(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    before = set(sys.modules)
    import blind_heldout

    yield blind_heldout
    for name in set(sys.modules) - before:
        if name in ("blind_heldout", "blind_broad", "blind_cases", "_common"):
            del sys.modules[name]


def test_the_kernel_error_rule_is_scored_both_ways(heldout):
    """``restore_and_score`` of a noisy free-form estimate of an 8-bit photograph records the
    raised weight's factor and the score at the noise's own weight, which is the score of the
    restoration with ``model_error`` at its default (in linear light, as the estimate's
    ``encoding`` says); the held-out summary takes their difference per case."""
    bb = heldout.bb
    spec = heldout.CaseSpec("t", 5, "camera", False, "S", "shake", 21, 0.01, None, False, True)
    case = spec.build()
    info = {"model": "free", "confidence": "high", "encoding": "srgb",
            "candidates": {"free": {"window_noise": 0.012}}}  # fmt: skip
    ruled = bb.restore_and_score(case, case.kernel, info)
    plain = bb.restore_and_score(case, case.kernel, None, encoding="srgb")
    assert ruled["kernel_error_factor"] > 1.0
    assert ruled["without_kernel_error"]["psnr_q"] == plain["psnr_q"]
    assert ruled["psnr_q"] != plain["psnr_q"]
    assert "without_kernel_error" not in plain

    def entry(name, psnr, without=None):
        row = {"psnr": psnr, "psnr_q": psnr, "gap": 1.0, "gap_q": 1.0, "gain": 0.5,
               "gain_q": 0.5, "info": {"confidence": "high"}}  # fmt: skip
        if without is not None:
            row["without_kernel_error"] = {"psnr": without, "psnr_q": without}
        score = {"psnr": 20.0, "psnr_q": 20.0}
        return {"case": name, "spec": {"blur": "shake"}, "blurred": score, "true": score,
                "default": row}  # fmt: skip

    summary = heldout.summary([entry("a", 21.0, 20.5), entry("b", 22.0)])
    assert summary["kernel_error_cases"] == {"a": pytest.approx(0.5)}
    assert summary["kernel_error_change_q"] == pytest.approx(0.25)
