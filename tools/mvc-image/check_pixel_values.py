"""mvc-image on wide.png with pan-and-scan: its .npy must equal transformers' pixel values."""
import subprocess
import sys
from pathlib import Path

import numpy as np

tool, fixtures, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
out = work / "wide.pixel_values.npy"
subprocess.run([tool, str(fixtures / "wide.png"), "--preprocessor-config",
                str(fixtures / "preprocessor_config_pan_and_scan.json"), "--out", str(out)],
               check=True)
got = np.load(out)
want = np.load(fixtures / "wide.png.pan_and_scan_pixel_values.npy")
assert got.shape == want.shape, (got.shape, want.shape)
assert np.array_equal(got, want), float(np.abs(got - want).max())
print("mvc-image: pixel values identical to transformers'", got.shape)
