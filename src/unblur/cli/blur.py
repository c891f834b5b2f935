"""``unblur blur``: simulate a blurred (and noisy) photograph."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from ._files import check_writable, psf_files, split_alpha, with_alpha
from ._options import dtype_option, force_option, json_option, output_option
from ._output import echo_json, shape_text


@click.command("blur")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@output_option
@click.option("--psf", "psf_spec", required=True, metavar="SPEC", help="PSF spec or file.")
@click.option(
    "--boundary",
    type=click.Choice(("reflect", "periodic", "valid")),
    default="reflect",
    show_default=True,
    help="periodic: wrap around; reflect: mirror; valid: no assumption, the output is "
    "smaller by the PSF size - 1.",
)
@click.option(
    "--noise",
    type=float,
    default=0.0,
    metavar="SIGMA",
    help="Standard deviation of added Gaussian noise, in [0, 1] units (0.01 is 1%).",
)
@click.option(
    "--poisson",
    type=float,
    default=None,
    metavar="PHOTONS",
    help="Add Poisson (shot) noise for this photon count at intensity 1.",
)
@click.option("--seed", type=int, default=None, help="Seed of the noise, for repeatable runs.")
@dtype_option
@force_option
@json_option
def blur_command(
    input_path: Path,
    output: Path,
    psf_spec: str,
    boundary: str,
    noise: float,
    poisson: float | None,
    seed: int | None,
    dtype: str | None,
    force: bool,
    as_json: bool,
) -> None:
    """Blur INPUT with a PSF (and add noise): simulate a blurred photograph.

    Colour images are blurred channel by channel with the same PSF; an alpha channel is kept
    as it is (cropped like the image for --boundary valid). With --poisson, the blurred
    intensities are first clipped at zero.

    \b
    Examples:
      unblur blur photo.png -o blurred.png --psf gaussian:sigma=2
      unblur blur photo.png -o blurred.tif --psf motion:length=15,angle=30 \\
          --boundary periodic --noise 0.01 --seed 0 --dtype float32 --json
      unblur blur cells.tif -o low_light.tif --psf psf3d.npy --poisson 100 --seed 1
    """
    from .. import psf as psf_models
    from ..forward import add_noise, blur
    from ..io import OutputSet, encode_image, read_header, read_image

    staged = OutputSet([output], inputs=[input_path, *psf_files(psf_spec)], force=force)
    check_writable([output], like=read_header(input_path), dtype=dtype)  # before the work
    k = psf_models.parse_spec(psf_spec)
    image, info = read_image(input_path)
    colour, alpha, axis = split_alpha(image, info)
    y = blur(colour, k, boundary=boundary, channel_axis=axis)
    if noise or poisson is not None:
        if poisson is not None:
            y = np.maximum(y, 0)  # FFT round-off can leave -1e-17 where the image is black
        y = add_noise(y, gaussian=noise, poisson=poisson, rng=seed)
    if alpha is not None and boundary == "valid":  # crop the alpha channel as blur did
        alpha = alpha[
            tuple(
                slice(p - 1 - p // 2, n - p // 2)
                for p, n in zip(k.shape, alpha.shape[:-1], strict=True)
            )
        ]
    y = with_alpha(y, alpha)
    with staged:
        staged.write(output, encode_image(output, y, info=info, dtype=dtype))
        staged.commit()
    if as_json:
        echo_json(
            {
                "input": input_path,
                "output": output,
                "psf": psf_spec,
                "psf_shape": list(k.shape),
                "shape": list(y.shape),
                "boundary": boundary,
                "noise": noise,
                "poisson": poisson,
                "seed": seed,
            }
        )
        return
    click.echo(f"wrote {output} ({shape_text(y.shape)}, PSF {k.shape[0]}x{k.shape[-1]})")
