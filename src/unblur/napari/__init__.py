"""unblur in napari: restore images while looking at them.

An npe2 plugin (manifest ``napari.yaml`` beside this file, registered through the
``napari.manifest`` entry point; ``pip install "unblur[napari]"``) with four dock widgets, a
reader, a writer and sample data:

* *PSF* (:class:`~unblur.napari._psf_widget.PSFWidget`): every model of :mod:`unblur.psf`
  with its parameters, microscope PSFs sampled at an image layer's voxel size, or a PSF file;
* *Deconvolve* (:class:`~unblur.napari._deconvolve_widget.DeconvolveWidget`): an image layer,
  a PSF layer or spec, any registered method with its own parameters (automatic values are
  shown as such once a run has chosen them), the device; iterative methods show their current
  estimate every few iterations;
* *Estimate PSF* (:class:`~unblur.napari._estimate_widget.EstimatePSFWidget`): blind estimation
  on the whole image or a rectangle drawn in a Shapes layer;
* *Compare* (:class:`~unblur.napari._compare_widget.CompareWidget`): PSNR and SSIM against a
  reference layer.

Every job runs in a worker thread with a progress bar and a cancel button
(:mod:`unblur.napari._jobs`), so the viewer never freezes. Results are new layers named after
what made them, with the input's scale, translate and units, and the parameters under
``layer.metadata["unblur"]``. Bad input shows the library's one-line message as a napari
notification and adds no layer.

This subpackage is a thin front end over the public API (:func:`unblur.deconvolve`,
:func:`unblur.estimate_psf`, :mod:`unblur.psf`, :mod:`unblur.metrics`, :mod:`unblur.io`);
nothing below it imports Qt or napari. Its modules are imported by napari on demand, so this
file imports nothing.
"""
