"""What ``unblur deconvolve --report`` costs: the same command with and without the report.

For each case (an image size, colour or grey, and a method), one run of

    unblur deconvolve blurred.png -o restored.png --psf gaussian:sigma=2 -m METHOD

and one of the same command with ``--report report.html --reference sharp.png`` (the report
with its reference: the convergence monitor records the relative change and the PSNR at every
iteration, then the page is drawn; ``--no-reference``: the report alone), alternated
``--repeat`` times so that the machine's load drifts over both alike. Measured per run: wall
time and the CPU time (user + system) of the child process. Printed: medians, and the ratio
``with / without`` of each, measured in the same run. The images are the astronaut of
scikit-image (``skimage.data.astronaut()``), rescaled, blurred by a Gaussian (sigma 2, reflect
boundary) with 1 % Gaussian noise (seed 0), written as 8-bit PNG into a temporary folder.

Run ``python benchmarks/report_overhead.py`` (about 10 minutes on 2 busy cores) or
``--quick`` (one case, two repeats). Results go to a JSON file. The children run with their
bytecode cached in the run's temporary folder (``PYTHONPYCACHEPREFIX``), as an installed
package runs; ``--source-imports`` keeps an inherited ``PYTHONDONTWRITEBYTECODE`` (every module
compiled from source in every run, as on the machines that gave the figures before the next
table: it added 43-75 ms of compiling the report's modules to each report).

``--parts`` times the report's own work inside fresh processes (``time.process_time`` around
its modules' imports, every call of the convergence monitor, the reference's reading and
``write_report``; the process's CPU from ``getrusage``), the plain run, the report alone and
the report with its reference alternated: single runs spread by more than the report costs,
its parts much less.

Measured on 2026-12-07, stop 29 (``--parts --case 2 --case 1 --repeat 5 --baseline
/work/main``, ``main`` = 1e4e9e2, load 0.4-1.4; CPU ms, medians; share of the plain run, the
baseline in brackets):

======================  ==========  ==================  ==================  ===================
case                    plain run   alone               reference           whole, reference
======================  ==========  ==================  ==================  ===================
grey RL                 1533        77, 5.0 % (5.9)     129, 8.4 % (11.1)   1.067 (1.100)
colour tv               2252        82, 3.6 % (5.5)     187, 8.3 % (12.2)   1.099 (1.129)
======================  ==========  ==================  ==================  ===================

With a reference, grey: imports 9, record 49, reading the reference 9.5 (11.8), page 61
(98.5); colour: record 48 (51), reading 21 (32), page 110 (189). The changes, each its own
commit (figures in one process, least of several, unless said):

* **The restored output's 8-bit PNG file is the restored picture**: the CLI encodes the output
  to bytes first when a report is asked for and the output is a PNG, and the page embeds
  those bytes (``from_float``'s clip, scale and rounding are the page's ``eight_bit``; a
  16-bit, alpha or linear-light output is encoded for the page as before; tested by decoding
  the page's picture): 8-10 ms grey, 25-27 ms colour.
* **The page's SSIMs in single precision** (``ssim_many(..., precision="single")``: float32
  filters and local indices, sums in float64): banded grey 44 -> 26 ms, compiled colour 65 ->
  49 ms; within 1.5e-6 of float64 on these images (the page shows four decimals). The compiled
  pass takes its working precision from its weights' dtype (one source, three signatures).
* **Each array checked once**: the metrics check finiteness by ``max`` and ``min`` (NaN and
  infinities propagate; no mask) and reuse the magnitude for their scaling; the report's two
  PSNRs and SSIMs share one check of the reference (``metrics._scores``; it was checked five
  times, each estimate twice).
* **The three large pictures written straight to the file** (``DeferredPictures``: markers in
  the page's text, their base64 written between its pieces; the page is byte-identical):
  a 1024^2 colour page's ~6 MB of base64 was copied a dozen times as text, each copy in fresh
  pages: ``write_report`` colour 119 -> ~100 ms.
* **8-bit grey and RGB PNGs decoded by libpng** (imagecodecs, as 16-bit ones were), to Pillow's
  values (tested with tRNS, gAMA, interlacing; decoding alone a 1024^2 RGB file 52 ms by
  Pillow, 16 by libpng): ``read_image`` of the 1024^2 reference grey
  11.6 -> ~9 ms, colour 28 -> ~20 ms (the input's reading gains as much, in both runs).

Measured and not kept: the spectra's mirror and shift by gathered indices (11.9 against
3.9 ms: the slices and ``fftshift`` are faster); a luminance plane by matrix-vector product
(0.6 against 2.2 ms, but the sums differ in the last bit, and 2 ms is not the cost).

Measured on 2026-12-07, after the changes below (branch ``refov``; ``--case 2 --case 1
--repeat 5 --baseline /work/main [--no-reference] [--source-imports]``, ``main`` = 8d224a3
alternated in the same run; CPU ratios ``with / without``, medians, ``main`` in brackets;
runs A at load 7-8, B at load 2-4, C at load 5-8 with ``--source-imports``):

==============  ===============  ===============  ===============  ===============  ===============
case            alone, A         alone, B         reference, A     reference, B     reference, C
==============  ===============  ===============  ===============  ===============  ===============
grey RL         1.089 (1.082)    1.062 (1.080)    1.130 (1.197)    1.129 (1.140)    1.140 (1.175)
colour tv       1.092 (1.033)    1.050 (1.062)    1.108 (1.092)    1.086 (1.185)    1.114 (1.126)
==============  ===============  ===============  ===============  ===============  ===============

Single runs still spread by more than the report costs (the medians of main moved by 0.09
between runs A and B); the parts, timed in fresh processes (``time.process_time`` around
each, CPU of the whole process from ``getrusage``; bytecode cached; two processes each after
a warm-up round, both versions alternated, load 3-6), are steadier. The report's own CPU
(its modules' imports, the convergence record, reading the reference, ``write_report``) over
the plain run:

==========  ==============  ===================  ==============  ==============
case        plain run       alone (main)         reference       (main)
==========  ==============  ===================  ==============  ==============
grey RL     1.40 s (1.41)   109 ms 7.8 % (8.3)   199 ms 14.2 %   221 ms 15.7 %
colour tv   2.86 s (2.93)   133 ms 4.7 % (5.8)   285 ms 10.0 %   360 ms 12.3 %
==========  ==============  ===================  ==============  ==============

(main's record does not include the loop's copy of each estimate, which it still made, in the
restoration's time: about 0.3 ms per 1024^2 iteration.) The parts with a reference, grey:
``write_report`` 111 ms (the two exact SSIMs 50-60, the spectra 29-31, the restored picture's
PNG 8-10, two PSNRs 6), the record 58 ms (of which the per-iteration PSNR about 15), reading
the reference 12 ms, the report's imports 5 ms in one quiet measurement (17-33 ms in the
parts' processes, the same in both versions: that figure is noisy).
Colour: ``write_report`` 192 ms (SSIMs by the compiled pass 79-81, spectra 33-35, the restored
picture 27, PSNRs 15-17, the page's write 9-10), record 44-54 ms (its first call loads the
compiled pass, 15 ms), reading the reference 33 ms (Pillow's 8-bit PNG decoder; libpng
through imagecodecs decodes the same file in 16 ms, not changed here: the reader is shared).
Issue 20's 10 % is met by the report alone (5-8 % by parts, medians 1.05-1.09) and missed with
a reference: 14 % by parts on the grey case (medians 1.13-1.14), 10 % on the colour one
(medians 1.09-1.11) at this load, 13 % at load 1.3 (below).

What changed (each its own commit; figures in fresh processes unless said):

* **The input's and the reference's 8-bit PNG files embedded as they are.** ``read_image``
  of an 8-bit grey or RGB PNG without alpha, ICC profile or EXIF returns its samples / 255,
  which the page's picture turns back into the same samples (tested for all 256 values), so
  the file shows the same pixels: ``write_report(png_files=...)`` embeds such a file where it
  has the picture's size and only chunks that change nothing in a browser (no colour
  management, transparency, orientation or animation). Picture encoding 30-31 -> 13 ms (grey
  with reference), 86-94 -> 37-38 ms (colour); the two 8-bit conversions skipped as well
  (2 x 0.8 / 2 x 2.4 ms). The files are usually smaller than our level-1 encoding.
* **The spectra's block means** by strided row and column sums (a 1024^2 float32 spectrum
  4.6 -> 0.6 ms, as close to float64 as before) **and colour map** by segment and fraction
  (7.7 -> 1.7 ms for 341^2 values, equal to ``np.interp`` to the bit): ``section_spectra``
  37-39 -> 29-31 ms (grey), 46-51 -> 36-37 ms (colour). The spectra pictures differ from
  main's in 5 (grey) and 1 (colour) of 116 281 pixels, by one level of one channel.
* **No copy of each estimate for the monitor.** ``IterationLoop`` hands a callback whose
  ``borrows_estimate`` is true the cropped working array (the monitor recording by NumPy, the
  CLI's progress bar); the monitor walks a view with gaps between rows by blocks of rows:
  copy + record per 1024^2 iteration 1.28-1.40 -> 1.02-1.12 ms alone, 1.76-1.92 -> 1.51-1.76
  ms with a reference (in one process). With Numba loaded the loop still copies: the
  compiled pass wants a contiguous array.
* **The JSON summary's PSNR** taken from the report's scores (``write_report(info=...)``), not
  computed a third time: 2.7-3.2 ms (grey), 8.8-9.8 ms (colour).
* **The banded SSIM's pass along the rows over up to four strips at once** (each product still
  under OpenBLAS's threshold for threading): ``ssim_many`` of two 1024^2 grey estimates
  49.6-53.6 -> 44.2-45.0 ms (least of 4, three alternated processes per version), the same
  sums to the bit. Made after the two tables above, which do not include it; the grey
  case's parts measured again with it (four alternated rounds, the first dropped, load 1.4):
  plain run 1.58 s (main 1.55), report alone 119 ms, 7.5 % (main 130 ms, 8.4 %), with a
  reference 198 ms, 12.5 % (main 237 ms, 15.3 %; ``write_report`` 101 against 140 ms); the
  whole processes' CPU with a reference 1.089x (main 1.148x), medians of three. The
  benchmark right after (load 1.2-1.5, ``--case 2 --case 1 --repeat 5 --baseline``): with a
  reference 1.096 grey (main 1.147) and 1.164 colour (main 1.160). At that load the colour
  plain run takes 2.24-2.42 s of CPU instead of 2.9-3.1 (tv's threads get the second core), so
  the same report weighs more: by parts (three alternated rounds, the first dropped) 158 ms
  alone, 7.1 % (main 186 ms, 8.3 %), 297 ms with a reference, 13.3 % (main 364 ms, 16.2 %).

Measured and not kept: one pass of ``np.subtract(..., dtype=float64)`` in the PSNR instead of
a copy and a subtraction (no faster: 6.3 against 6.4 ms for 1024^2 x 3 float32); the PNGs by
zlib's Huffman-only strategy and the Paeth filter (15-25 % faster and smaller on photographs,
but an all-black 512^2 RGB picture grows from 1.7 kB to 99 kB, measured); ``np.dot`` for the
monitor's float32 block sums (2.7 against 6 us per 32k block, and single-threaded in this
OpenBLAS, but float64 blocks wake its threads: 68 us of CPU against 11 for ``einsum``).
What remains with a reference is arithmetic the page shows: the exact float64 SSIMs, the
per-iteration record and PSNR, the spectra, the restored picture, and reading the reference.

Measured on 2026-12-07, earlier (load 7-11; ``--case 2 --case 1 --repeat 5 --baseline
/work/main [--no-reference]``, ``main`` = 11aa2f0; every module compiled in every run; this
checkout adds the SSIM's banded products, the JPEG screen of the noise estimate and the lazy
SciPy imports, which make the plain run 0.1-0.3 s cheaper as well): CPU ratios ``with /
without``, medians (main in brackets)

======================  =================  =================  =================  =================
case                    report alone       with reference     alone, load ~1     reference, load ~1
======================  =================  =================  =================  =================
grey RL                 1.107 (1.190)      1.168 (1.201)      1.079 (1.108)      1.153 (1.210)
colour tv               1.048 (1.106)      1.257 (1.126)      1.193 (1.081)      1.207 (1.224)
======================  =================  =================  =================  =================

In the first two columns wall times ran 2-5x the CPU times (the machine saturated); the last
two were measured at load 0.1-1.3 with ``--baseline`` the stop's starting commit 11aa2f0 in a
worktree. The colour report alone (1.19x) is within the runs' spread: by its parts in fresh
processes (two each) it adds 0.2 s to a 3.1-3.5 s run (monitor 46-64 ms, spectra 60 ms,
pictures 60 ms, the page and its modules 30-50 ms), in both versions; the colour plain run
lost 0.3 s of its noise estimate (three calls, 515-566 -> 184-296 ms) and 0.1-0.2 s of
imports. In process (``time.process_time`` around each part, fresh processes of the grey
case, three runs each): the plain run 1.74-1.98 s (imports 0.37-0.40 s); the report alone adds
its modules' imports 19-50 ms, the convergence record 44-73 ms, the spectra 43-53 ms, the
pictures 21-22 ms and the page 6 ms; with a reference, the scores 79-85 ms (of which the two
SSIMs 64 ms, least of 5 in one process, against 110 ms by SciPy's correlations before), the
record 60-93 ms and the pictures 32-33 ms. The banded products' sizes (16-row strips,
16-column blocks) keep every product under OpenBLAS's threshold for threading: with 32-row
strips, a 1024^2 pass took 0.35 s instead of 50 ms once on the busy machine (the library's
idle threads spinning against the work).

Measured on 2026-12-07 (2-core machine shared with helper sessions, load 6-14; ``--case 2
--case 1 --repeat 6 --baseline /work/main [--no-reference]``, ``main`` = commit 5a21428, the
code before the three changes below, alternated in the same run; CPU-time ratios ``with /
without``, medians, the ratio of the least CPU times in brackets):

======================  =============================  =============================
case                    report alone (main)            with reference (main)
======================  =============================  =============================
grey RL, run 1 (load 4)  1.080 [1.098] (1.219 [1.090])  1.178 [1.171] (1.202 [1.258])
grey RL, run 2 (load 10) 0.984 [1.074] (1.270 [1.199])  1.187 [1.173] (1.372 [1.345])
colour tv, run 1         1.053 [1.105] (1.149 [1.069])  1.229 [1.194] (1.276 [1.272])
colour tv, run 2         1.152 [0.944] (1.205 [1.214])  1.143 [1.129] (1.316 [1.158])
======================  =============================  =============================

(Run 1 had the page sequential and the monitor's blocks, before the spectra's half plane.)
What changed, each measured in fresh processes (one restoration and one report per process,
CPU user + system, five alternated processes per version):

* **The page's threads were a loss.** ``write_report`` ran the scores and the spectra in two
  worker threads beside the pictures. Each thread's temporaries come from its own malloc arena,
  i.e. fresh pages: about 7000 page faults per 1024^2 report with a reference (900 in the
  calling thread), 0.1-0.3 s of system time, for no wall-time gain in a fresh process (0.22-0.57
  s threaded, 0.22-0.24 s sequential; the earlier 0.28 -> 0.19 s was timed on repeated calls in
  one process, where the arenas are warm). Now sequential: ``write_report`` 0.24-0.59 s (median
  0.56) -> 0.24-0.31 s (0.28) with a reference, 0.09-0.39 s (0.29) -> 0.072-0.077 s alone.
* **The monitor's NumPy sums in blocks** of 32k values (the differences stay in the cache, no
  image-sized buffer): 30 iterations of 1024^2, least of 5, 65 -> 45 ms with a reference and
  39 -> 29 ms without.
* **The spectra from the real transform's half plane**, the other half by Hermitian symmetry:
  ``log_spectrum`` of a 1024^2 float32 plane 19.5 -> 12.2 ms (least of 15, both versions in
  one process; the evening's note below had found the gathered halves slower, 19.4 against
  12.0 ms: a slower gather, not confirmed here).

What remains with a reference, in fresh processes: the two SSIMs 0.11-0.12 s (SciPy's
``correlate1d`` in float64, 16 passes of the 11-tap window; strips transposed to filter along
rows, or the column pass by shifted slices, measured no faster; a float32 FFT filter was
slower as written and off by 4e-6), the pictures 35 ms, the spectra 25 ms, the reference's
reading 20 ms, the per-iteration PSNR 0.5 ms per 1024^2 iteration: 15-19 % of the grey
Richardson-Lucy run. Issue 20's 10 % is missed with a reference; the report alone is 5-7 % by
its parts.

Measured on 2026-12-06, late evening, after the PNGs moved to libpng (imagecodecs), the
monitor's pass got its signatures and the page's scores and spectra its threads (2-core machine
shared with helper sessions, load 2-10; CPU-time ratios ``with / without``, medians of the
alternated runs; ``previous``: the previous stop's code, commit 5727c55, alternated in the same
run with ``--baseline``; runs A-D of ``--case 1 --case 2 --repeat N [--no-reference]``):

======================  ===========  ==========================  ==============================
run (repeats, load)     case         report alone (previous)     with reference (previous)
======================  ===========  ==========================  ==============================
A (4, 5-10)             colour tv    1.046 (1.063)               1.134 (1.155), 1.072 (1.167)
A (4, 5-10)             grey RL      1.115 (1.095)               1.133 (1.309)
B (5, 3-10)             colour tv    1.126                       1.307
B (5, 3-10)             grey RL      1.286                       1.285
C (4, 2-3)              grey RL      1.088 (1.124)
D (8, 4-5)              colour tv    1.143 (least: 1.215)        1.263 (least: 1.286)
D (8, 4-5)              grey RL      1.181 (least: 1.125)        1.282 (least: 1.287)
======================  ===========  ==========================  ==============================

Single runs spread by several tenths of a second, the size of the report's whole cost; the
report's own work timed in process is steadier: at 1024 x 1024 colour with a reference,
``write_report`` 0.29-0.31 s (scores 0.10 s: SSIM pass 65-78 ms, two PSNRs 7 ms each;
pictures 93 ms: 25 ms per 1024^2 PNG by libpng, Up filter, level 1, run-length strategy,
against 74 ms by Pillow's per-row filter choice; spectra 55 ms), the monitor 0.04-0.05 s,
reading the reference 25-30 ms, the report's imports 35 ms: 0.28-0.42 s with a reference,
0.19-0.21 s alone (``write_report`` 0.14-0.15 s at colour), against plain runs of 3.5-3.8 s
(colour) and 1.9-2.0 s (grey): 7-10 % alone, 11-14 % with a reference. The monitor's Numba
pass, compiled lazily at its first call, cost 100-130 ms of typing even when loaded from the
disk cache; with its two signatures given, 12-13 ms. The convergence record: 0.5-0.6 ms per
1024^2 iteration by the compiled pass, 1.7-2.3 ms by NumPy. The page's two threads (scores and
spectra beside the pictures), measured in process at load 0.5, medians of 7 alternated calls:
wall 0.276 -> 0.187 s with a reference and 0.139 -> 0.092 s alone, for 0.269 -> 0.280 s and
0.133 -> 0.139 s of CPU.

(Run A came before the threads.) Earlier the same evening (load 4-5; CPU-time ratios
``with / without``, medians of 3 alternated runs, two runs of each; ``before``: commit 32e32f0,
the code before the monitor's compiled pass, its kept buffers and the float32
spectra, measured in the same session alternating with the new code; command:
``report_overhead.py --case 1 --case 2 --repeat 3 [--no-reference]``):

==========================  ============  ============  ============  ==============  ==============
case                        CPU s, plain  report alone  before        with reference  before
==========================  ============  ============  ============  ==============  ==============
1024 x 1024 colour, tv      3.4-4.1       1.23, 1.06    1.11, 1.14    1.33, 1.24      1.34, 1.26
1024 x 1024 grey, RL 30 it  1.8-2.1       1.14, 1.14    1.13, 1.22    1.17, 1.21      1.25, 1.35
==========================  ============  ============  ============  ==============  ==============

The same code gave 1.03-1.09 (report alone) and 1.10-1.18 (with reference) on the colour case
an hour earlier under a load of 8-10: single runs spread by +-0.3 s, which is the size of the
report's cost, so two runs of three decide little; the grey case with a reference is the one
where the gain stands out of the noise (0.33-0.37 s against 0.44-0.61 s of extra CPU).
Issue 20's target (at most +10 %) is missed on both cases today.

Where the report's CPU goes, in process (1024 x 1024 colour with reference, same evening):
``write_report`` 0.39-0.45 s, of which the six PNGs 0.33 s (the three 1024 x 1024 pictures
55-72 ms each: Pillow's per-row adaptive filter choice is about two thirds of that, zlib alone
on Up-filtered rows takes 24 ms; a hand-written encoder was measured and not kept, see below),
the two SSIMs and PSNRs 0.16 s, the spectra 64 ms (82 ms with float64 planes: now computed in
the plane's precision, log10 values within 5e-5 of float64 on the astronaut; the spectrum
itself, measured later that evening: 12.0 ms per 1024 x 1024 float32 plane by the complex FFT
and ``fftshift``, against 19.4 ms for the real transform's halves gathered by hand, which was
then dropped). The monitor:
0.5-0.6 ms per 1024 x 1024 iteration with a reference by one compiled pass (float64 sums of the
change, the norm and the error, and the copy of the estimate) when the run has loaded Numba,
1.7 ms by NumPy otherwise (Numba is not imported for it: 0.45 s); its buffers are kept from
channel to channel (new 4 MB arrays cost page faults, i.e. system time, more than the
arithmetic). The page's atomic write: one ``write`` call of the encoded page already; its fsync
takes 4-5 ms of wall and under 1 ms of system time for a 2.5 MB page on this disk (measured),
so it is not the 0.1-0.15 s of system time once attributed to it: that is the spread of page
faults between identical runs (0.12-0.59 s of system time for the same command). The
report's modules add 35 ms of imports (``-X importtime``); Pillow is imported by the image
writer anyway, SciPy's FFT by the restoration.

Measured earlier the same day (load 8-10; ``main``: the code before these changes, commit 8aec62c):

==========================  ============  ============  ==============  ===============
case                        CPU s, plain  report alone  with reference  with reference,
                                                                        main
==========================  ============  ============  ==============  ===============
512 x 512 colour, tv        2.4-2.5       0.94, 1.04    0.98, 1.04      1.30
1024 x 1024 colour, tv      3.4-4.3       1.09, 1.03    1.18, 1.10      2.32
1024 x 1024 grey, RL 30 it  1.7-1.8       1.29, 1.40    1.26, 1.50      2.39
==========================  ============  ============  ==============  ===============

What the report cost at 1024 x 1024 colour then (CPU, in process): the two
SSIMs against the reference 60 ms (scikit-image's float64 ``structural_similarity``: 1.5 s
each; now one compiled row pass that shares the reference's statistics, or strips of SciPy
1-D correlations when Numba is not loaded: the last axis first, then the others on the
contiguous result, 12 ms per 1024^2 float64 map where transposing to filter along rows took
29 ms), PSNR 2 x 12 ms (``np.dot`` in it woke BLAS
threads that spun: 0.05-0.4 s per call; now ``einsum``), the three pictures 3 x 33 ms (a
hand-written PNG encoder, Up filter and zlib's run-length strategy, measured for these figures
and then replaced by Pillow at level 1 with the same strategy, about 55 ms each: about +2 % on
the 1024 x 1024 colour case). Earlier fixes: ``np.linalg.norm`` in the monitor
woke BLAS threads that spun against the FFT threads (the doubling), matplotlib imported and
three figures rendered, PNGs at zlib level 9.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import RESULTS_DIR, machine_info, now_iso, write_json
from rich.console import Console
from rich.table import Table

#: (side in pixels, colour, method)
CASES = [(512, True, "auto"), (1024, True, "auto"), (1024, False, "richardson_lucy")]


def make_images(folder: Path, side: int, colour: bool) -> tuple[Path, Path]:
    """The sharp and blurred PNG files of one case."""
    import skimage.data
    import skimage.transform

    import unblur
    from unblur.io import write_image

    x = skimage.data.astronaut().astype(np.float64) / 255
    x = np.clip(skimage.transform.resize(x, (side, side), anti_aliasing=True), 0, 1)
    if not colour:
        x = x.mean(axis=-1)
    axis = -1 if colour else None
    y = unblur.blur(x, unblur.psf.gaussian(sigma=2.0), boundary="reflect", channel_axis=axis)
    y = np.clip(unblur.add_noise(y, gaussian=0.01, rng=0), 0, 1)
    name = f"{side}{'rgb' if colour else 'grey'}"
    sharp, blurred = folder / f"{name}_sharp.png", folder / f"{name}_blurred.png"
    write_image(sharp, x, dtype="uint8", force=True)
    write_image(blurred, y, dtype="uint8", force=True)
    return sharp, blurred


def child_env(pycache: Path | None) -> dict[str, str]:
    """The children's environment: with ``pycache``, Python's bytecode cached there
    (``PYTHONPYCACHEPREFIX``, so no ``__pycache__`` folder is written into the checkouts) even
    where ``PYTHONDONTWRITEBYTECODE`` is set, as an installed package runs; without, as
    inherited (with that variable set, every module is compiled from source in every run)."""
    env = dict(os.environ)
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def run_once(
    args: list[str], src: Path | None = None, env: dict[str, str] | None = None
) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one ``unblur`` child process (the package of
    ``src``, a ``src`` folder of another checkout, when given; in ``env``)."""
    env = dict(os.environ if env is None else env)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "unblur", *args], check=True, capture_output=True, env=env
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


#: the report's parts timed by ``--parts``, in the order they are printed
PARTS = ("imports", "record", "read reference", "page")


def child_parts(cli_args: list[str]) -> None:
    """Run ``unblur CLI_ARGS`` in this process, timing the report's parts (CPU time,
    ``time.process_time``, around each): its modules' imports (after the ones the plain run
    imports anyway), every call of the convergence monitor, the reference's reading (the
    second ``read_image``) and ``write_report``; then print ``PARTS {json}`` on stderr with
    the process's whole CPU time (``getrusage``), all in milliseconds."""
    import functools
    import json

    parts: dict[str, float] = {}
    if "--report" in cli_args:
        import imagecodecs  # noqa: F401  what the plain run imports anyway
        import scipy.fft  # noqa: F401

        import unblur.api
        import unblur.cli.single
        import unblur.colour
        import unblur.io
        import unblur.noise
        import unblur.restore

        start = time.process_time()
        import unblur._ssim
        import unblur.metrics
        import unblur.report as report

        parts["imports"] = time.process_time() - start

        def timed(owner, name: str, key: str, after: int = 0) -> None:
            function, calls = getattr(owner, name), [0]

            @functools.wraps(function)
            def wrapper(*a, **k):
                calls[0] += 1
                begin = time.process_time()
                try:
                    return function(*a, **k)
                finally:
                    if calls[0] > after:
                        parts[key] = parts.get(key, 0.0) + time.process_time() - begin

            setattr(owner, name, wrapper)

        timed(report, "write_report", "page")
        timed(report.ConvergenceMonitor, "__call__", "record")
        timed(unblur.io, "read_image", "read reference", after=1)  # the first is the input's
    from unblur.cli import main as cli_main

    try:
        cli_main(cli_args)
    except SystemExit:
        pass
    usage = resource.getrusage(resource.RUSAGE_SELF)
    parts["cpu"] = usage.ru_utime + usage.ru_stime
    sys.stderr.write("PARTS " + json.dumps({k: v * 1000 for k, v in parts.items()}) + "\n")


def run_parts(args: list[str], src: Path | None, env: dict[str, str]) -> dict[str, float]:
    """:func:`child_parts` of one ``unblur`` command in a fresh process (the package of
    ``src`` when given): the parts and the whole CPU time, in milliseconds."""
    import json

    env = dict(env)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    done = subprocess.run(
        [sys.executable, __file__, "--child-parts", *args],
        check=True, capture_output=True, text=True, env=env,
    )  # fmt: skip
    line = [row for row in done.stderr.splitlines() if row.startswith("PARTS ")][-1]
    return json.loads(line[len("PARTS ") :])


def parts_rows(case: str, name: str, runs: dict[str, list[dict[str, float]]]) -> list[dict]:
    """Medians of the parts of each mode against the plain run's CPU time."""
    plain = statistics.median(r["cpu"] for r in runs["plain"])
    rows = []
    for mode in ("alone", "reference"):
        if not runs.get(mode):
            continue
        parts = {k: statistics.median(r.get(k, 0.0) for r in runs[mode]) for k in PARTS}
        total = sum(parts.values())
        rows.append(
            {
                "case": case,
                "code": name,
                "mode": mode,
                "cpu_plain_ms": plain,
                **parts,
                "report_ms": total,
                "share": total / plain,
                "cpu_ratio": statistics.median(r["cpu"] for r in runs[mode]) / plain,
                "runs": {"plain": runs["plain"], mode: runs[mode]},
            }
        )
    return rows


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child-parts":
        child_parts(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one case (512 colour), 2 repeats")
    parser.add_argument(
        "--no-reference", action="store_true", help="the report without --reference"
    )
    parser.add_argument("--cases", type=int, default=len(CASES), help="the first N cases only")
    parser.add_argument(
        "--case", type=int, action="append", help="only the case of this index (repeatable)"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (its src/ folder is put first on PYTHONPATH) measured in the "
        "same run, its runs alternated with this checkout's",
    )
    parser.add_argument(
        "--source-imports",
        action="store_true",
        help="no bytecode cache for the children where PYTHONDONTWRITEBYTECODE is set (every "
        "module compiled in every run, as these sessions' machines run Python)",
    )
    parser.add_argument(
        "--parts",
        action="store_true",
        help="time the report's parts inside fresh processes (plain, report alone, report "
        "with reference; alternated) instead of whole processes",
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "report_overhead.json")
    args = parser.parse_args()
    cases = CASES[:1] if args.quick else CASES[: args.cases]
    if args.case:
        cases = [CASES[i] for i in args.case]
    repeat = 2 if args.quick else args.repeat
    console = Console(width=170)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = child_env(None if args.source_imports else folder / "pycache")
        for side, colour, method in cases:
            sharp, blurred = make_images(folder, side, colour)
            base = ["deconvolve", str(blurred), "-o", str(folder / "out.png"), "--force",
                    "--psf", "gaussian:sigma=2", "-m", method]  # fmt: skip
            report = ["--report", str(folder / "report.html")]
            if not args.no_reference:
                report += ["--reference", str(sharp)]
            versions = [("this checkout", None)]
            if args.baseline is not None:
                versions.append((f"baseline {args.baseline}", args.baseline.resolve() / "src"))
            if args.parts:
                alone = ["--report", str(folder / "report.html")]
                modes = {"plain": base, "alone": base + alone,
                         "reference": base + alone + ["--reference", str(sharp)]}  # fmt: skip
                got = {name: {mode: [] for mode in modes} for name, _ in versions}
                for _, src in versions:  # untimed: fills the Numba and bytecode caches
                    run_parts(modes["reference"], src, env)
                for _ in range(repeat):
                    for name, src in versions:
                        for mode, command in modes.items():
                            got[name][mode].append(run_parts(command, src, env))
                label = f"{side}x{side} {'colour' if colour else 'grey'} {method}"
                for name, _ in versions:
                    rows += parts_rows(label, name, got[name])
                console.print(f"{label}: done")
                continue
            runs = {name: ([], []) for name, _ in versions}
            for _, src in versions:  # untimed: fills each checkout's Numba and bytecode caches
                run_once(base + report, src, env)
            for _ in range(repeat):
                for name, src in versions:
                    runs[name][0].append(run_once(base, src, env))
                    runs[name][1].append(run_once(base + report, src, env))
            for name, (plain, with_report) in runs.items():
                med = {
                    key: tuple(statistics.median(r[i] for r in got) for i in (0, 1))
                    for key, got in (("plain", plain), ("report", with_report))
                }
                rows.append(
                    {
                        "image": f"{side}x{side} {'colour' if colour else 'grey'}",
                        "method": method,
                        "code": name,
                        "wall_plain": med["plain"][0],
                        "wall_report": med["report"][0],
                        "cpu_plain": med["plain"][1],
                        "cpu_report": med["report"][1],
                        "wall_ratio": med["report"][0] / med["plain"][0],
                        "cpu_ratio": med["report"][1] / med["plain"][1],
                        # the least CPU time of each: what the work costs when the machine
                        # adds least (contention and page faults only ever add)
                        "cpu_ratio_min": min(r[1] for r in with_report) / min(r[1] for r in plain),
                        "runs": {"plain": plain, "report": with_report},
                    }
                )
            console.print(f"{rows[-1]['image']} {method}: done")
    if args.parts:
        table = Table(title=f"the report's parts, CPU ms (medians of {repeat} alternated runs)")
        for col in ("case", "code", "mode", "plain run", *PARTS, "report", "share",
                    "whole ratio"):  # fmt: skip
            table.add_column(col, justify="left" if col in ("case", "code", "mode") else "right")
        for r in rows:
            table.add_row(
                r["case"], r["code"], r["mode"], f"{r['cpu_plain_ms']:.0f}",
                *(f"{r[k]:.1f}" for k in PARTS), f"{r['report_ms']:.0f}",
                f"{100 * r['share']:.1f} %", f"{r['cpu_ratio']:.3f}",
            )  # fmt: skip
        console.print(table)
        write_json(args.out, {"date": now_iso(), "machine": machine_info(), "parts": True,
                              "rows": rows})  # fmt: skip
        console.print(f"wrote {args.out}")
        return
    what = "--report" if args.no_reference else "--report --reference"
    imports = "modules compiled in every run" if args.source_imports else "bytecode cached"
    table = Table(title=f"{what} overhead (median of {repeat} alternated runs; {imports})")
    for col in ("image", "method", "code", "wall s", "with report", "ratio", "CPU s",
                "with report", "ratio", "ratio of minima"):  # fmt: skip
        table.add_column(col, justify="left" if col in ("image", "method", "code") else "right")
    for r in rows:
        table.add_row(
            r["image"], r["method"], r["code"], f"{r['wall_plain']:.2f}", f"{r['wall_report']:.2f}",
            f"{r['wall_ratio']:.3f}", f"{r['cpu_plain']:.2f}", f"{r['cpu_report']:.2f}",
            f"{r['cpu_ratio']:.3f}", f"{r['cpu_ratio_min']:.3f}",
        )  # fmt: skip
    console.print(table)
    write_json(
        args.out,
        {"date": now_iso(), "machine": machine_info(), "reference": not args.no_reference,
         "bytecode_cached": not args.source_imports, "rows": rows},
    )  # fmt: skip
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
