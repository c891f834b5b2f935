"""Uncompressed TIFFs with packed samples (12 bits, as many scientific cameras write them)."""

from __future__ import annotations

import numpy as np
import tifffile

from unblur.io import read_header, read_image


def test_packed_12_bit_tiff_is_read_not_called_corrupt(tmp_path):
    # before: "corrupt TIFF (a 16 x 10 page needs 320 bytes of samples, but the file lists
    # 240; truncated file or damaged header)": the check assumed 2 bytes per 12-bit sample
    counts = np.arange(160, dtype=np.uint16).reshape(16, 10) * 25  # up to 3975 < 4096
    tifffile.imwrite(tmp_path / "c12.tif", counts, bitspersample=12)
    with tifffile.TiffFile(tmp_path / "c12.tif") as tif:
        assert tif.pages[0].bitspersample == 12
    assert read_header(tmp_path / "c12.tif").shape == (16, 10)
    data, info = read_image(tmp_path / "c12.tif")
    assert info.value_range == (0.0, 4095.0)
    np.testing.assert_array_equal(np.rint(data * 4095).astype(np.uint16), counts)


def test_packed_12_bit_tiff_is_written_back_on_its_own_scale(tmp_path):
    # before: read as counts / 4095 but written as x * 65535: every count multiplied by 16
    from unblur.io import write_image

    counts = np.arange(160, dtype=np.uint16).reshape(16, 10) * 25
    tifffile.imwrite(tmp_path / "c12.tif", counts, bitspersample=12)
    data, info = read_image(tmp_path / "c12.tif")
    write_image(tmp_path / "back.tif", data, info=info)
    with tifffile.TiffFile(tmp_path / "back.tif") as tif:
        assert tif.pages[0].bitspersample == 12
        np.testing.assert_array_equal(tif.asarray(), counts)
    write_image(tmp_path / "view.png", data, info=info)  # a 16-bit PNG spans its range
    back, png_info = read_image(tmp_path / "view.png")
    assert png_info.dtype == "uint16"
    np.testing.assert_array_equal(np.rint(back * 65535), np.rint(counts / 4095 * 65535))
