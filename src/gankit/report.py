"""`gankit report RUN`: one self-contained HTML page of a run that a person opens in a browser: what was trained on
what, for how long, its loss curves (stats.jsonl), its evaluation metrics over time (metrics.jsonl, when
train.eval_every was set), its sample grids over training and its config. Charts are inline SVG and pictures are
embedded: the page loads nothing from anywhere. Written at the end of every training run too (report.html).
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

from .errors import GankitError
from .outputs import check_file, write_atomically

MAX_GRIDS = 9  # sample grids shown: evenly spaced over the run, the last one always


def _rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # a line cut by a crash: the rows before it still count
                continue
            if isinstance(row, dict) and isinstance(row.get("step"), (int, float)):
                rows.append(row)
    return rows


def _duration(rows: list[dict[str, Any]]) -> float:
    """Seconds of training: the sum of the gaps between logged rows, leaving out pauses (a gap over ten times the
    median, as between a stop and its resume)."""
    times = [r["time"] for r in rows if isinstance(r.get("time"), (int, float))]
    gaps = sorted(b - a for a, b in zip(times, times[1:]) if b >= a)
    if not gaps:
        return 0.0
    median = gaps[len(gaps) // 2]
    return sum(g for g in gaps if g <= 10 * max(median, 1e-9)) + median  # + the first interval, not logged


def _chart(name: str, points: list[tuple[float, float]], width: int = 360, height: int = 180) -> str:
    """One series as an SVG line chart with its range written on the axes."""
    points = [(x, y) for x, y in points if math.isfinite(y)]
    if not points:
        return ""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + abs(y0) * 0.01 + 1e-9)
    left, bottom, top, right = 56, 28, 22, 10
    sx = lambda x: left + (x - x0) / (x1 - x0) * (width - left - right)  # noqa: E731
    sy = lambda y: height - bottom - (y - y0) / (y1 - y0) * (height - bottom - top)  # noqa: E731
    line = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
    fmt = lambda v: f"{v:.4g}"  # noqa: E731
    return (f'<figure><svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{html.escape(name)}">'
            f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{height - top - bottom}" '
            f'fill="#fafafa" stroke="#ccc"/>'
            f'<polyline points="{line}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>'
            f'<text x="4" y="{top + 10}" font-size="11">{fmt(y1)}</text>'
            f'<text x="4" y="{height - bottom}" font-size="11">{fmt(y0)}</text>'
            f'<text x="{left}" y="{height - 8}" font-size="11">step {fmt(x0)}</text>'
            f'<text x="{width - right}" y="{height - 8}" font-size="11" text-anchor="end">{fmt(x1)}</text>'
            f'<text x="{left}" y="14" font-size="12" font-weight="bold">{html.escape(name)}</text>'
            f'</svg></figure>')


def _charts(rows: list[dict[str, Any]]) -> str:
    keys: list[str] = []
    for row in rows:
        keys += [k for k, v in row.items() if k not in ("step", "time") and k not in keys
                 and isinstance(v, (int, float)) and not isinstance(v, bool)]
    return "".join(_chart(k, [(r["step"], float(r[k])) for r in rows if isinstance(r.get(k), (int, float))])
                   for k in keys)


def _grids(samples: Path) -> str:
    grids = sorted(samples.glob("step_*.png")) if samples.is_dir() else []
    if len(grids) > MAX_GRIDS:
        pick = sorted({round(i * (len(grids) - 1) / (MAX_GRIDS - 1)) for i in range(MAX_GRIDS)})
        grids = [grids[i] for i in pick]
    out = []
    for path in grids:
        data = base64.b64encode(path.read_bytes()).decode()
        out.append(f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(path.stem)}">'
                   f'<figcaption>step {int(path.stem.split("_")[1])}</figcaption></figure>')
    return "".join(out)


def build(run_dir: str | Path) -> str:
    """The page, as a string."""
    run_dir = Path(run_dir)
    config_path = run_dir / "config.yaml"
    if not config_path.is_file():
        raise GankitError(f"{run_dir} is not a run folder (no config.yaml)")
    import yaml

    config_text = config_path.read_text()
    try:
        cfg = yaml.safe_load(config_text) or {}
    except yaml.YAMLError:
        cfg = {}
    model = (cfg.get("model") or {}).get("name", "?")
    data = (cfg.get("data") or {}).get("spec", "?")
    planned = (cfg.get("train") or {}).get("steps", "?")
    stats, metrics = _rows(run_dir / "stats.jsonl"), _rows(run_dir / "metrics.jsonl")
    steps = sorted(int(p.name[5:]) for p in (run_dir / "checkpoints").glob("step_*") if p.name[5:].isdigit()) \
        if (run_dir / "checkpoints").is_dir() else []
    trained = steps[-1] if steps else (stats[-1]["step"] if stats else 0)
    seconds = _duration(stats)
    title = f"{model} on {data}"
    metric_rows = ""
    if metrics:
        keys = [k for k, v in metrics[-1].items() if k not in ("step", "time") and isinstance(v, (int, float))]
        head = "".join(f"<th>{html.escape(k)}</th>" for k in ["step", *keys])
        body = "".join("<tr>" + "".join(f"<td>{r.get(k, ''):.4g}</td>" if isinstance(r.get(k), float)
                                       else f"<td>{html.escape(str(r.get(k, '')))}</td>" for k in ["step", *keys])
                       + "</tr>" for r in metrics)
        metric_rows = (f"<h2>Evaluation during training</h2><div class=charts>{_charts(metrics)}</div>"
                       f"<table><tr>{head}</tr>{body}</table>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} - gankit report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
.charts {{ display: flex; flex-wrap: wrap; gap: 8px; }}
figure {{ margin: 0 8px 12px 0; }} figcaption {{ font-size: 12px; color: #555; }}
.grids img {{ max-width: 360px; image-rendering: pixelated; border: 1px solid #ccc; }}
.grids {{ display: flex; flex-wrap: wrap; }}
table {{ border-collapse: collapse; font-size: 13px; }} td, th {{ border: 1px solid #ddd; padding: 2px 6px; }}
pre {{ background: #f6f6f6; padding: 1em; overflow: auto; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p id="summary">Run <code>{html.escape(str(run_dir))}</code>: {trained} of {html.escape(str(planned))} steps trained,
{seconds / 60:.1f} minutes of training ({len(stats)} logged rows; pauses between a stop and a resume not counted).</p>
<h2>Losses and speed</h2><div class="charts">{_charts(stats) or "<p>No stats logged yet.</p>"}</div>
{metric_rows}
<h2>Samples over training</h2><div class="grids">{_grids(run_dir / "samples") or "<p>No sample grids yet.</p>"}</div>
<h2>Config</h2><pre>{html.escape(config_text)}</pre>
<p><small>Written by gankit report; everything on this page is inside this file.</small></p>
</body></html>
"""


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the page to `out` (default RUN/report.html) and return its path."""
    out = check_file(out if out is not None else Path(run_dir) / "report.html")
    page = build(run_dir)
    write_atomically(out, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    return out
