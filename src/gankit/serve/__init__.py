"""`gankit serve RUN|MODEL`: a local web page and HTTP API over what a trained model does (its declared tasks),
documented in docs/deployment.md. Needs the `serve` extra (Starlette and uvicorn): `pip install "gankit[serve]"`.

app.py: the app, its limits and its concurrency; endpoints.py: each task's endpoints and parameters;
uploads.py: uploaded images, read and refused with a reason; page.html: the page."""

from __future__ import annotations

from pathlib import Path

from ..errors import GankitError


def serve(path: str | Path, host: str = "127.0.0.1", port: int = 8000, device: str = "auto", **limits: int) -> None:
    """Load the model at `path` (a run or model folder) once and serve it until Ctrl-C. `limits`: fields of
    app.Limits (max_upload_bytes, max_pixels, workers, queue)."""
    try:
        from .app import Limits, run_server
    except ImportError as e:
        missing = (e.name or "starlette").split(".")[0]
        raise GankitError(f"gankit serve needs the serve extra ({missing} is not installed): "
                          "pip install \"gankit[serve]\"") from None
    from ..modelio import load

    model = load(path, device=device)
    run_server(model, host, port, Limits(**limits))
