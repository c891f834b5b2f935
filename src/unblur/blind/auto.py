r"""``model="auto"``: choose between the parametric blurs and a free-form kernel from the data.

Both are estimated: the parametric fits (Gaussian, straight motion, defocus disk; the best by
its Bayesian information criterion, :func:`~unblur.blind.parametric.estimate_parametric`) and
the free-form camera-shake kernel (:func:`~unblur.blind.kernel.estimate_kernel`, size found
from the data when not given). Two pieces of evidence then decide:

* **the spectrum**: the free kernel's power transfer :math:`|K(f)|^2` is put in the same
  log-periodogram regression as the parametric models
  (:func:`~unblur.blind.parametric.score_kernel`). Camera shake has an irregular, anisotropic
  spectrum with zeros that no Gaussian, disk or line reproduces; a free kernel that found the
  shake explains the periodogram better than any of them (lower BIC);
* **the shape**: the normalised cross-correlation of the free kernel with the parametric one,
  maximised over shifts. On a Gaussian or defocus blur the free estimate is a noisier copy of
  the parametric kernel (high correlation), and the parametric fit, with one or two
  parameters, is the more accurate of the two.

The free kernel is kept when its spectral criterion beats the best parametric one by
``_BIC_MARGIN`` per frequency sample and its shape differs from the parametric kernel
(correlation below ``_SAME_SHAPE``); otherwise the parametric kernel is returned. ``info``
records both candidates, the evidence and the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._common import check_size
from .kernel import estimate_kernel
from .kernel_step import crop_centre, similarity
from .parametric import estimate_parametric, score_kernel

__all__ = ["estimate_auto"]

#: The free kernel must beat the best parametric BIC by this much per frequency sample ...
_BIC_MARGIN = 0.0
#: ... and correlate with the parametric kernel less than this.
_SAME_SHAPE = 0.9


def _parametric_size(size: tuple[int, int] | None) -> int | None:
    return None if size is None else max(size)


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
    :func:`~unblur.blind.kernel.estimate_kernel`.
    """
    pair = check_size(size, grey.shape, half=False) if size is not None else None
    par_info: dict[str, Any] = {}
    k_par = estimate_parametric(grey, size=_parametric_size(pair), info=par_info)
    if pair is not None and k_par.shape != pair:
        k_par = crop_centre(k_par, pair)
    best = min(par_info["scores"], key=lambda m: par_info["scores"][m]["bic"])
    if pair is not None and (pair[0] > grey.shape[0] // 2 or pair[1] > grey.shape[1] // 2):
        if info is not None:  # a free-form kernel needs the image to be twice its size
            info.update(par_info)
            info["reason"] = f"{best}: the size is too large for a free-form kernel"
        return k_par
    free_info: dict[str, Any] = {}
    k_free = estimate_kernel(
        grey, pair, saturated=saturated, noise=noise, callback=callback, info=free_info,
        **options,
    )  # fmt: skip
    free_score = score_kernel(grey, k_free, size=_parametric_size(pair))
    par_bic = par_info["scores"][best]["bic"]
    n = par_info["crop_shape"][0] * (par_info["crop_shape"][1] // 2 + 1)
    gain = (par_bic - free_score["bic"]) / n
    shape = similarity(k_free, k_par)
    free = gain > _BIC_MARGIN and shape < _SAME_SHAPE
    if free:
        reason = (
            f"free-form: its spectrum fits better than the best parametric model ({best}) by "
            f"{gain:.4f} per sample and its shape differs from it (correlation {shape:.2f})"
        )
    elif gain <= _BIC_MARGIN:
        reason = (
            f"{best}: the free-form kernel does not fit the spectrum better "
            f"({gain:+.4f} per sample)"
        )
    else:
        reason = f"{best}: the free-form kernel has the same shape (correlation {shape:.2f})"
    k = k_free if free else k_par
    if info is not None:
        chosen = free_info if free else par_info
        info.update(
            model="free" if free else best,
            parameters={} if free else dict(par_info["parameters"]),
            size=list(k.shape),
            size_estimated=free_info.get("size_estimated", size is None) if free else size is None,
            reason=reason,
            scores={**par_info["scores"], "free": free_score},
            evidence={"bic_gain_per_sample": gain, "shape_correlation": shape},
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
        )
        if not free:
            info.update({n: v for n, v in chosen.items() if n in ("criterion",)})
    return k
