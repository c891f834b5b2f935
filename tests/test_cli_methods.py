"""``unblur methods``: parameters and docstrings rendered as terminal text (issue #20, item 6).

Before, the list broke values mid-token at 80 columns ("beta_rate=1.4142135623 / 730951") and
``unblur methods tv`` printed raw reStructuredText and LaTeX (``.. math::``, ``:func:``).
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from rich.cells import cell_len
from rich.text import Text

import unblur
from unblur.cli import cli
from unblur.cli.methods import _default_text, inline_markup, latex_to_text
from unblur.restore import get_method

#: what must not reach the terminal: directives, roles, literals and LaTeX commands
LEFTOVERS = re.compile(r"\.\. \w+::|:\w+:`|``|\\[A-Za-z]+|\\[|{}]|\$")


@pytest.fixture
def run(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")

    def invoke(*args: str) -> str:
        result = CliRunner().invoke(cli, list(args), prog_name="unblur")
        assert result.exit_code == 0, result.output
        return result.stdout

    return invoke


def test_list_keeps_every_default_whole_at_80_columns(run):
    text = run("methods")
    lines = text.splitlines()
    assert max(map(cell_len, lines)) <= 80
    for name in unblur.available_methods():
        method = get_method(name)
        assert any(re.search(rf"\b{name}\b", line) for line in lines)
        for param, p in method.parameters.items():
            token = f"{param}={_default_text(p)}"
            assert any(token in line for line in lines), token  # never folded mid-token
    assert "beta_rate=1.41421" in text and "1.4142135623" not in text
    assert "epsilon=None" in text and "beta_init=1.0" in text


@pytest.mark.parametrize("name", sorted(unblur.available_methods()))
def test_method_documentation_is_terminal_text(run, name):
    text = run("methods", name)
    method = get_method(name)
    kind = "iterative" if method.iterative else "direct"
    assert text.startswith(f"{name} ({kind})\n")
    assert method.summary.split()[0] in text
    lines = text.splitlines()
    assert max(map(cell_len, lines)) <= 80
    leftovers = [line for line in lines if LEFTOVERS.search(line) and not line.startswith(">>>")]
    assert leftovers == []
    for param, p in method.parameters.items():
        # "name : type" or, documented together, "name, other : type"
        entry = re.compile(rf"^(\w+, )*{param}(, \w+)* : ")
        at = next((i for i, line in enumerate(lines) if entry.match(line)), None)
        assert at is not None, param
        header = " ".join(x.strip() for x in lines[at : at + 3])  # a long one wraps
        default = _default_text(p)
        assert f"(default: {default})" in header or f"{param}={default}" in header
    for hidden in ("image", "psf", "callback", "info"):  # set by unblur deconvolve, not -p
        assert not any(line.startswith(f"{hidden} : ") for line in lines)


def test_tv_documentation_reads_as_maths(run):
    text = run("methods", "tv")
    assert "    ½ ‖M(Hx - y)‖² + λ Σⱼ ‖(∇x)ⱼ‖₂ + λ s Σⱼ ‖(∇²x)ⱼ‖_F" in text
    assert "Weight λ > 0 of the TV term" in text
    assert "unblur.noise.estimate_noise()" in text
    # a reference is one entry, re-flowed (its source lines joined)
    joined = " ".join(text.split())
    assert "unknown boundaries using the alternating direction method of multipliers" in joined


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        (r"\lambda \propto \sigma_{eff}^{4/3}", "λ ∝ σ_(eff)^(4/3)"),
        (r"\|x_k - x_{k-1}\| / \|x_k\|", "‖xₖ - xₖ₋₁‖ / ‖xₖ‖"),
        (r"\hat X = \overline{H} Y / (|H|^2 + \epsilon)", "X̂ = H̄ Y / (|H|² + ε)"),
        (r"y = k \circledast x", "y = k ⊛ x"),
        (r"\frac{\lVert x \rVert_2}{\max(a, \epsilon)}", "(‖ x ‖₂)/(max(a, ε))"),
        (r"\tau\, H^\top M \nabla^2 x", "τ Hᵀ M ∇²x"),
        (r"\operatorname{round}(255 y) / 255", "round(255 y) / 255"),
        (r"\mathrm{PSNR} = 10 \log_{10}(1 / \mathrm{MSE})", "PSNR = 10 log₁₀(1 / MSE)"),
        (r"\sqrt{a + b} \le \infty", "√(a + b) ≤ ∞"),
    ],
)
def test_latex_to_text(tex, text):
    assert latex_to_text(tex) == text


def test_inline_markup_escapes_literal_brackets():
    markup = inline_markup("values in [0, 1] and [bold], see :class:`~unblur.report.Panel`")
    assert Text.from_markup(markup).plain == "values in [0, 1] and [bold], see Panel"
