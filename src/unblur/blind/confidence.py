r"""Does a blind estimate deserve trust? Checks that flag the cases where it cannot.

A blind estimator always returns *a* kernel. :func:`assess` says whether the data could have
determined it, from evidence the estimation leaves behind:

``signal``
    Is there anything but noise? The variance of the analysed grey image beyond the noise,
    :math:`(\operatorname{var} y - \hat\sigma^2)/\hat\sigma^2` (:math:`\hat\sigma` from
    :func:`unblur.noise.estimate_noise`). Pure noise scores about 0; a photograph hundreds.
``orientations``
    Is the kernel determined in every direction? An edge only constrains the kernel across
    it (its projection on the edge normal), so the gradients must cover the orientations. The
    smaller over the larger eigenvalue of the structure tensor
    :math:`\sum \nabla y_s \nabla y_s^\top` of the image smoothed by a Gaussian of 1 px
    (after removing the noise's share, :math:`\hat\sigma^2` times the derivative filter's
    gain, from both eigenvalues): about 0 for a single straight edge, 0.2-1 for photographs.
``levels``
    Do the pyramid levels agree? The normalised cross-correlation (best shift,
    :func:`~unblur.blind.kernel_step.similarity`) of the final kernel with the second-finest
    level's kernel magnified to full resolution. An alternation that wanders between
    solutions, as it does on data that cannot determine the kernel, loses this agreement.
``refinement``
    Do the two estimators agree? The same measure between the pyramid's finest kernel (L0
    latent images) and the kernel after the full-resolution refinement (TV latent images) that
    follows it. Each corrects the other's bias slightly; when the refinement moves the kernel
    far from the pyramid's, the data do not pin it down. Reported, and used by
    ``model="auto"`` to reject a free-form kernel, but not judged on its own.
``windows``
    Do separate windows agree (same measure)? When the image holds a second textured window
    that overlaps the first by at most a quarter (or, where there is none, by at most a half:
    a photograph of about 1000 x 700 px whose best 512 px window is central has no other
    window of the first kind), the pyramid also runs on it down to half resolution, and its
    kernel is compared with the first window's at that level. A blur that varies over the
    image (rotation, depth) fails it, and so does an estimate that the data of one window
    cannot pin down.
``first_windows``
    Did the windows agree when the size was found? The ``windows`` measure of the first pass
    of an estimate without a size (the generous support that the second pass's size comes
    from), judged at the same threshold. Windows whose kernels disagree there give the
    sizing to one window's data, and a wrong kernel can come out of it that the second
    pass's windows then agree on. Judged here only: ``model="auto"`` does not reject a free
    kernel for it (the measurements are in ``docs/notes/blind_kernel.md``, section 12).
``residual``
    Does the result explain the data? The RMS of :math:`k * \hat x - y` over the valid,
    unsaturated pixels, over :math:`\hat\sigma`, for the final latent image :math:`\hat x`.
    Far above 1 the uniform-blur model does not hold.
``free_levels``, ``free_refinement``, ``free_windows``
    Did the blur escape both models? Present only where ``model="auto"`` returned its
    parametric fit *because* the free-form kernel failed its stability (levels, refinement)
    or window check (:mod:`unblur.blind.auto`), and that fit is a straight motion or a blur of
    participation number below 10 (a Gaussian of :math:`\sigma` < 0.9 px, a disk of radius
    < 1.8 px): the value is the free kernel's failed agreement. The spectrum then found no
    substantial blur, or only the straight-line summary of one, while the shake estimator found
    a blur it could not pin down: such a fallback restores little, and may restore worse than
    the input (measured in ``docs/notes/blind_kernel.md``). True Gaussian and defocus blurs
    of the sizes that matter fit with larger participation numbers and are not concerned.
``free_unstable``
    Does more than the spectrum vouch for a Gaussian or disk fit? Present only where
    ``model="auto"`` returned a Gaussian or disk fit of participation number 10 or more
    because the free-form kernel failed its stability, refinement or window check: the value
    is the free kernel's level agreement, judged at the ``levels`` limit (0.5), the stability
    every trusted free kernel must have. Above it, the free estimate wandered only between
    neighbouring solutions, as it does on the true Gaussian and defocus blurs of the broad
    validation set. Below it the shake estimator found no consistent kernel at all, and the
    parametric fit rests on the spectrum alone, which reads a scene that is smooth by nature
    (a phase-contrast cell, a sharp photograph of one) as a Gaussian blur of several pixels;
    restored at full strength, such a fit made sharp or slightly blurred photographs much
    worse (measured in ``docs/notes/blind_kernel.md``, section 18), and at half strength still
    worse than the input, so :func:`unblur.api.conservative_rule` returns the input (section
    26).
``blur_evidence``
    When a Gaussian fit is returned: how much of the radial log-spectrum's misfit the blur
    explains, :math:`(C_0 - C_\sigma)/C_\sigma` with :math:`C` the residual without blur and
    with it (nuisance parameters refitted for each). Below 1 the blur explains less
    than what is left, and the small curvature it fits may be the scene's own departure from a
    power law, as on many sharp photographs, while a Gaussian blur whose width the fit finds
    explains more than that (the measurements, and the sharp scenes it does not catch, are in
    ``docs/notes/blind_kernel.md``, section 24). Not judged for the disk and motion fits,
    whose zeros fit a scene's spectrum otherwise.
``degenerate``
    Did the estimate collapse? A kernel with a participation number :math:`1/\sum k^2` below 1.5
    (a delta: "no blur found") or with more than 10 % of its mass on the border of its
    support (cut off: the blur is larger than the support).

Each failed check adds a reason, in words, with what to try; ``confidence`` is ``"low"`` when
any check failed and ``"high"`` otherwise, and ``warning`` is then one line that says so (the
command line prints it). The thresholds are set so that the checks stay
silent on every photograph of the broad validation set whose estimate restores within 1.5 dB
of the true kernel, and fire on pure noise and on a flat image with a single edge
(``tests/test_blind_confidence.py``). The residual limit is 12: at 6 it fired on 7 of the 32
Levin et al. photographs and one broad-set case, all restored 0.8-14 dB above the input
(their noise is low, so a small model error is many noise levels).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from ..noise import estimate_noise

__all__ = ["THRESHOLDS", "assess", "image_checks", "kernel_checks", "warning_text"]

#: A check fails below (or, for ``residual`` and the border mass, above) these values.
THRESHOLDS = {
    "signal": 2.0,
    "orientations": 0.05,
    "levels": 0.5,
    "windows": 0.5,
    "first_windows": 0.5,
    "residual": 12.0,
    "free_levels": 0.85,
    "free_refinement": 0.9,
    "free_windows": 0.7,
    "free_unstable": 0.5,
    "blur_evidence": 1.0,
    "participation": 1.5,
    "border_mass": 0.1,
}

_ADVICE = {
    "signal": (
        "the image holds almost nothing but noise (signal-to-noise variance ratio {:.2f}): "
        "there is no structure to read a blur from"
    ),
    "orientations": (
        "the edges run in too few directions (orientation coverage {:.3f}): the blur along "
        "them is undetermined; give the PSF, or estimate it on a more varied region"
    ),
    "levels": (
        "the kernel changed between the last two scales (agreement {:.2f}): the estimate is "
        "unstable; try giving --psf-size"
    ),
    "windows": (
        "separate regions of the image give different kernels (agreement {:.2f}): the blur "
        "may vary across the image; restore a crop, or give the PSF"
    ),
    "first_windows": (
        "separate regions of the image gave different kernels while the kernel's size was "
        "found (agreement {:.2f}): the size and shape rest on one region's data; try giving "
        "--psf-size, or restore a crop"
    ),
    "residual": (
        "the restored image does not explain the data (residual {:.1f} x the noise): the "
        "uniform-blur model may not hold (varying blur, saturation, processing)"
    ),
    "free_levels": (
        "no blur model fits: the free-form kernel changed between scales (agreement {:.2f}) "
        "and the parametric fit is a straight motion or almost no blur; try giving --psf-size"
    ),
    "free_refinement": (
        "no blur model fits: the free-form kernel changed in its full-resolution refinement "
        "(agreement {:.2f}) and the parametric fit is a straight motion or almost no blur; try "
        "giving --psf-size"
    ),
    "free_windows": (
        "no blur model fits: the free-form kernels of two regions disagree (agreement "
        "{:.2f}) and the parametric fit is a straight motion or almost no blur; the blur may "
        "vary across the image; restore a crop, or give the PSF"
    ),
    "free_unstable": (
        "only the spectrum supports the blur: the free-form estimate is unstable across scales "
        "(agreement {:.2f}), and a smooth or sharp scene can look like a Gaussian or defocus blur "
        "there; the image may not be blurred, or not this way; try giving --psf-size"
    ),
    "blur_evidence": (
        "the Gaussian blur found explains little of the image's spectrum (evidence {:.2f} < "
        "1): its curvature may be the scene's rather than a blur's, and the image may be "
        "sharp; give the PSF if you know it"
    ),
    "participation": (
        "the kernel is a single point (participation {:.2f}): no blur was found; if the image "
        "is blurred, the estimate failed"
    ),
    "border_mass": (
        "{:.0%} of the kernel lies on the border of its support: the blur is larger than the "
        "kernel size; give a larger --psf-size"
    ),
}


def image_checks(grey: np.ndarray, sigma: float | None = None) -> dict[str, float]:
    """``signal`` and ``orientations`` of a grey image (see the module documentation)."""
    y = np.asarray(grey, dtype=np.float64)
    if sigma is None:
        sigma = estimate_noise(y)
    noise = max(float(sigma), 1e-12)
    signal = max(0.0, float(np.var(y)) - noise**2) / noise**2
    g0 = ndimage.gaussian_filter(y, 1.0, order=(1, 0))
    g1 = ndimage.gaussian_filter(y, 1.0, order=(0, 1))
    j = np.array([[np.sum(g0 * g0), np.sum(g0 * g1)], [np.sum(g0 * g1), np.sum(g1 * g1)]])
    # white noise through a first-derivative-of-Gaussian filter of scale s: variance
    # sigma^2 / (8 pi s^4) per axis
    floor = noise**2 / (8 * np.pi) * y.size
    eig = np.clip(np.linalg.eigvalsh(j) - floor, 0.0, None)
    orientations = float(eig[0] / eig[1]) if eig[1] > 0 else 0.0
    return {"signal": signal, "orientations": orientations}


def kernel_checks(kernel: np.ndarray) -> dict[str, float]:
    """``participation`` and ``border_mass`` of a kernel (see the module documentation)."""
    k = np.asarray(kernel, dtype=np.float64)
    k = k / k.sum()
    border = np.ones(k.shape, dtype=bool)
    border[1:-1, 1:-1] = False
    return {
        "participation": float(1.0 / np.sum(k * k)),
        "border_mass": float(k[border].sum()) if min(k.shape) > 2 else 0.0,
    }


def warning_text(reasons: list[str]) -> str | None:
    """One line for a low-confidence estimate: what is wrong and what to try (None if trusted)."""
    if not reasons:
        return None
    more = f" (and {len(reasons) - 1} more reasons)" if len(reasons) > 1 else ""
    return (
        "the estimated PSF is not trusted and a restoration with it may be worse than the "
        f"input: {reasons[0]}{more}"
    )


def assess(checks: dict[str, float]) -> dict[str, Any]:
    """``confidence`` (``"high"``/``"low"``), ``reasons``, ``warning`` and the ``checks``."""
    reasons = []
    for name, value in checks.items():
        limit = THRESHOLDS.get(name)
        if limit is None or value is None:
            continue
        above = name in ("residual", "border_mass")
        if (value > limit) if above else (value < limit):
            reasons.append(_ADVICE[name].format(value))
    return {
        "confidence": "low" if reasons else "high",
        "reasons": reasons,
        "warning": warning_text(reasons),
        "checks": dict(checks),
    }
