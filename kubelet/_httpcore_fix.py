"""Work around a per-request import in httpcore 1.0 that is costly at scale.

httpcore's ``current_async_library()`` runs ``import sniffio`` on every connection
acquisition; anyio 4.x no longer installs sniffio, so each call searches sys.path and
fails (~0.3 ms). Under 1,000 pods' writes that was a tenth of the simulated nodes' CPU.
A ``None`` entry in ``sys.modules`` makes that import fail at once; httpcore then falls
back to "asyncio", exactly what it does now. (Installing sniffio would fix it as well.)
"""

from __future__ import annotations

import importlib.util
import sys


def apply() -> None:
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]
