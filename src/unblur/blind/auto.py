r"""``model="auto"``: choose between the parametric blurs and a free-form kernel from the data.

Both are estimated: the parametric fits (Gaussian, straight motion, defocus disk; the best by
its Bayesian information criterion, :func:`~unblur.blind.parametric.estimate_parametric`) and
the free-form camera-shake kernel (:func:`~unblur.blind.kernel.estimate_kernel`, its extent
found from the data, within the size when one is given). The free kernel is kept when

* **it is stable**: the kernel of the last pyramid level agrees with the one of the level
  before, magnified (normalised cross-correlation at the best shift at least
  ``_STABLE``). On data that determine the kernel the alternation converges to it at every
  scale; where it does not (too much noise for the blur's size, too few edges, a blur the
  model does not describe) it wanders from scale to scale;
* **separate windows agree**, when the image holds two that share at most half their
  pixels (the runner-up window's kernel at half resolution correlates with the first's at
  least ``_WINDOWS``; see the ``windows`` check of :mod:`unblur.blind.confidence`): a kernel
  that one window's edges cannot pin down comes out different from another window's, however
  stable it is across scales;
* **its shape is not the parametric one**: its correlation with the parametric kernel is
  below ``_SAME_SHAPE``. On a Gaussian or defocus blur the free estimate is a noisier copy
  of the parametric kernel, and the parametric fit, with one or two parameters, is the
  more accurate of the two;
* **the refinement keeps it**: the kernel after the full-resolution refinement agrees with
  the pyramid's finest kernel (same measure, at least ``_REFINED``): the two estimators
  (L0 and TV latent images) see the same kernel in data that determine it;
* **it is not degenerate**: not a single point (no blur found) and not cut off by its
  support (``checks`` of :mod:`unblur.blind.confidence`).

Otherwise the parametric kernel is returned. When it is returned because the free kernel
failed the stability, refinement or window check and the parametric fit is a straight motion or
almost no blur (participation number below ``_WEAK_BLUR``), neither model describes the blur:
the failed agreement is then passed on as the ``free_levels``, ``free_refinement`` or
``free_windows`` check, so
that ``info["confidence"]`` is low (:mod:`unblur.blind.confidence`). When the fit returned
after a failed check is a substantial Gaussian or disk, the free kernel's level agreement is
passed on as ``free_unstable`` and judged at the limit of the ``levels`` check: below it the
shake estimator found nothing stable, and the blur rests on the spectrum alone.

**Starts that agree.** Where the free kernel failed an agreement check and the fallback is
itself doubtful (a straight motion, almost no blur, or a fit whose free kernel found nothing
stable), and the image can determine a kernel (its ``signal`` and ``orientations`` checks
pass), the free estimate is run again from a delta and a diagonal starting kernel
(``_CONSENSUS_STARTS``; the alternation is not convex, and its fixed point depends on where
it starts). When the three kernels land on one (the kernel whose smaller similarity to the
other two is largest reaches ``_CONSENSUS``) and it is not degenerate, that kernel is
returned: three estimates from different starts vouch for it where the agreement of
successive levels or of two windows did not (``info["consensus"]``: the similarities, the
start chosen, the check the first kernel failed, whether it was kept). The time of the
estimate then about triples; a photograph whose first free kernel passes, or whose
fallback is trusted, is not affected.

The free kernel's power transfer is also scored in the parametric models' log-periodogram regression
(:func:`~unblur.blind.parametric.score_kernel`) and reported in ``info["scores"]``, but not
used: on the broad validation set a free kernel that restores 5 dB better than the
parametric fit can score worse there (its fine structure differs from the truth's), so the
spectrum does not tell a good free kernel from a bad one. The thresholds were set on the
quick subset of the broad set (see ``docs/notes/blind_kernel.md``).

With ``anchor`` > 0 (an option; ``_ANCHOR``, off, by default), where the analysed window is
noisier than Levin et al.'s photographs, the free kernel is sized by an anchored pass and its
noisy pyramid levels are held to the coarser ones, and the level, refinement and window
agreements above are those of an unanchored pass on the same support (anchored levels agree
by construction, so their own agreement would not catch a wrong kernel).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._common import check_size
from .confidence import THRESHOLDS, assess
from .kernel import estimate_kernel
from .kernel_step import crop_centre, similarity
from .parametric import estimate_parametric, score_kernel

__all__ = ["estimate_auto"]

#: The free kernel must agree with its previous pyramid level at least this well ...
_STABLE = THRESHOLDS["free_levels"]
#: ... and survive the full-resolution refinement this well ...
_REFINED = THRESHOLDS["free_refinement"]
#: ... and with the runner-up window's kernel at least this well (when there is one) ...
_WINDOWS = THRESHOLDS["free_windows"]
#: ... and correlate with the parametric kernel less than this.
_SAME_SHAPE = 0.75
#: A parametric fit of participation number below this found almost no blur.
_WEAK_BLUR = 10.0
#: The free estimate's default ``anchor`` (see :func:`~unblur.blind.kernel.estimate_kernel`):
#: 0, off; 10 is the value measured, and why it is not adopted, in
#: ``docs/notes/blind_kernel.md``, section 7.
_ANCHOR = 0.0
#: Where the free kernel failed an agreement check and the parametric fallback is doubtful,
#: the free estimate is run from these starting kernels too (the first is the default's) ...
_CONSENSUS_STARTS = ("horizontal", "delta", "diagonal")
#: ... and the kernel whose smaller similarity to the others is the largest is kept when that
#: similarity is at least this (0 turns the rule off).
_CONSENSUS = 0.75


#: The checks that say a free kernel is degenerate (a single point, or cut off by its support).
_DEGENERATE = ("participation", "border_mass")


def _parametric_size(size: tuple[int, int] | None) -> int | None:
    return None if size is None else max(size)


def _failures(checks: dict[str, float], names: tuple[str, ...]) -> list[str]:
    """The reasons :func:`~unblur.blind.confidence.assess` gives for the checks ``names`` of
    ``checks`` (those present) that fail."""
    return assess({name: checks[name] for name in names if name in checks})["reasons"]


def _against_parametric(
    grey: np.ndarray,
    k_free: np.ndarray,
    k_par: np.ndarray,
    par_info: dict[str, Any],
    pair: tuple[int, int] | None,
) -> tuple[dict[str, Any], float, float]:
    """The free kernel's score in the parametric models' log-periodogram regression, its BIC
    gain per sample over the parametric winner's, and its correlation with that kernel."""
    score = score_kernel(grey, k_free, size=_parametric_size(pair))
    samples = par_info["crop_shape"][0] * (par_info["crop_shape"][1] // 2 + 1)
    gain = (par_info["scores"][par_info["model"]]["bic"] - score["bic"]) / samples
    return score, gain, similarity(k_free, k_par)


def estimate_auto(
    grey: np.ndarray,
    size: Any,
    *,
    saturated: np.ndarray | None = None,
    noise: float | None = None,
    callback: Callable[[int, np.ndarray], Any] | None = None,
    info: dict[str, Any] | None = None,
    **options: Any,
) -> np.ndarray:
    """The parametric or the free-form kernel of ``grey``, whichever the data support.

    See the module documentation for the criterion. ``options`` go to
    :func:`~unblur.blind.kernel.estimate_kernel` (``anchor`` defaults to ``_ANCHOR`` here).
    """
    pair = check_size(size, grey.shape, half=False) if size is not None else None
    par_info: dict[str, Any] = {}
    k_par = estimate_parametric(grey, size=_parametric_size(pair), info=par_info)
    if pair is not None and k_par.shape != pair:
        k_par = crop_centre(k_par, pair)
    best = par_info["model"]  # the BIC winner, or the disk where its zero ring overturns it
    if pair is not None and (pair[0] > grey.shape[0] // 2 or pair[1] > grey.shape[1] // 2):
        if info is not None:  # a free-form kernel needs the image to be twice its size
            info.update(par_info)
            info["reason"] = f"{best}: the size is too large for a free-form kernel"
        return k_par
    free_info: dict[str, Any] = {}
    k_free = estimate_kernel(
        grey, pair, saturated=saturated, noise=noise, callback=callback, info=free_info,
        **{"anchor": _ANCHOR, **options},
    )  # fmt: skip
    free_score, gain, shape = _against_parametric(grey, k_free, k_par, par_info, pair)
    checks = free_info.get("checks", {})
    stable = checks.get("levels", 1.0)
    degenerate = _failures(checks, _DEGENERATE)
    failed: tuple[str, float] | None = None  # the agreement check the free kernel failed
    if stable < _STABLE:
        failed = ("free_levels", stable)
        reason = (
            f"{best}: the free-form kernel is unstable across scales (agreement "
            f"{stable:.2f} < {_STABLE})"
        )
    elif checks.get("windows", 1.0) < _WINDOWS:
        failed = ("free_windows", checks["windows"])
        reason = (
            f"{best}: the free-form kernels of two windows disagree (agreement "
            f"{checks['windows']:.2f} < {_WINDOWS})"
        )
    elif shape >= _SAME_SHAPE:
        reason = f"{best}: the free-form kernel has its shape (correlation {shape:.2f})"
    elif checks.get("refinement", 1.0) < _REFINED:
        failed = ("free_refinement", checks["refinement"])
        reason = (
            f"{best}: the free-form kernel changed in its full-resolution refinement "
            f"(agreement {checks['refinement']:.2f} < {_REFINED})"
        )
    elif degenerate:
        reason = f"{best}: the free-form kernel is degenerate ({degenerate[0]})"
    else:
        reason = (
            f"free-form: stable across scales (agreement {stable:.2f}) and unlike the best "
            f"parametric model, {best} (correlation {shape:.2f})"
        )
    free = reason.startswith("free-form")
    k = k_free if free else k_par
    # the fallback after a failed agreement check is itself suspect when it is a straight
    # motion or almost no blur: neither model then describes the blur
    unresolved: dict[str, float] = {}
    weak = best == "motion" or 1.0 / float(np.sum(k_par * k_par)) < _WEAK_BLUR
    if failed is not None and weak:
        unresolved[failed[0]] = failed[1]
    elif failed is not None:
        # a substantial Gaussian or disk, returned because the free kernel failed: that kernel's
        # level agreement is judged at the limit any trusted kernel must pass (``levels``)
        unresolved["free_unstable"] = stable
    consensus: dict[str, Any] | None = None
    doubtful = bool(assess(unresolved)["reasons"])
    # an image that cannot determine a kernel (too little signal, edges in too few
    # directions) makes every start land on the same undetermined one: no evidence; and the
    # caller's own choice of starts is left alone
    eligible = (
        not _failures(checks, ("signal", "orientations"))
        and options.get("starts", 1) == 1
        and options.get("start", _CONSENSUS_STARTS[0]) == _CONSENSUS_STARTS[0]
    )
    if failed is not None and doubtful and eligible and _CONSENSUS:
        k_agreed, agreed_info, consensus = _consensus(
            grey, pair, k_free, free_info, {"saturated": saturated, "noise": noise, **options}
        )
        consensus["failed"] = {failed[0]: failed[1]}
        if k_agreed is not None and agreed_info is not None:
            k_free, free_info = k_agreed, agreed_info
            free_score, gain, shape = _against_parametric(grey, k_free, k_par, par_info, pair)
            checks = free_info.get("checks", {})
            stable = checks.get("levels", 1.0)
            reason = (
                f"free-form: the estimates from the {', '.join(_CONSENSUS_STARTS)} starting "
                f"kernels agree (similarity {consensus['agreement']:.2f} >= {_CONSENSUS}), "
                f"though the first failed a check ({reason.split(': ', 1)[1]})"
            )
            free, k, unresolved = True, k_free, {}
    if info is not None:
        chosen = free_info if free else par_info
        info.update(
            model="free" if free else best,
            parameters={} if free else dict(par_info["parameters"]),
            size=list(k.shape),
            size_estimated=free_info.get("size_estimated", size is None) if free else size is None,
            reason=reason,
            scores={**par_info["scores"], "free": free_score},
            evidence={
                "level_agreement": stable,
                "window_agreement": checks.get("windows"),
                "shape_correlation": shape,
                "bic_gain_per_sample": gain,
            },
            candidates={
                "parametric": {
                    "model": best,
                    "parameters": dict(par_info["parameters"]),
                    "shape": list(k_par.shape),
                },
                "free": {n: v for n, v in free_info.items() if n != "levels"},
            },
            crop_shape=par_info["crop_shape"],
            noise_sigma=par_info["noise_sigma"],
            levels=free_info.get("levels", []),
            checks=dict(free_info.get("checks", {})) if free else None,
            fallback_checks=unresolved,
        )
        if consensus is not None:
            info["consensus"] = consensus
        if not free:
            info.update({n: v for n, v in chosen.items() if n in ("criterion", "blur_evidence")})
    return k


def _consensus(
    grey: np.ndarray,
    pair: tuple[int, int] | None,
    k_first: np.ndarray,
    first_info: dict[str, Any],
    options: dict[str, Any],
) -> tuple[np.ndarray | None, dict[str, Any] | None, dict[str, Any]]:
    """The free kernel the starting kernels agree on (None where they do not), its estimate's
    ``info``, and a record of the comparison.

    The estimate is run again from the other ``_CONSENSUS_STARTS`` (``k_first`` is the first
    start's); the kernel whose smaller similarity to the others is the largest is returned
    when that similarity is at least ``_CONSENSUS`` and the kernel is not degenerate. The
    alternation is not convex and which fixed point it reaches depends on the start:
    estimates from different starts that land on one kernel vouch for it, as a second
    window's estimate does, where the level and window checks alone could not.
    """
    kernels = [k_first]
    infos = [first_info]
    options = {"anchor": _ANCHOR, **options, "callback": None}
    for start in _CONSENSUS_STARTS[1:]:
        details: dict[str, Any] = {}
        kernels.append(estimate_kernel(grey, pair, info=details, start=start, **options))
        infos.append(details)
    pairs = [[similarity(a, b) for b in kernels] for a in kernels]
    worst = [min(row[:i] + row[i + 1 :]) for i, row in enumerate(pairs)]
    best = int(np.argmax(worst))
    record = {
        "starts": list(_CONSENSUS_STARTS),
        "similarities": pairs,
        "agreement": worst[best],
        "chosen": _CONSENSUS_STARTS[best],
    }
    record["kept"] = worst[best] >= _CONSENSUS and not _failures(
        infos[best].get("checks", {}), _DEGENERATE
    )
    if not record["kept"]:
        return None, None, record
    return kernels[best], infos[best], record
