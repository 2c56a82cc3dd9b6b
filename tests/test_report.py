"""gankit report: one self-contained HTML page of a run, also written at the end of training."""

import re

import gankit
from gankit.cli import main

from .conftest import TINY


def test_every_run_ends_with_a_self_contained_report(tmp_path, capsys):
    gankit.train("dcgan", "digits", overrides=TINY, steps=8, out=tmp_path / "run", device="cpu", progress=False)
    page = (tmp_path / "run" / "report.html").read_text()
    assert "dcgan on digits" in page and "8 of 8 steps trained" in page
    assert len(re.findall("<svg", page)) >= 3  # D's and G's losses and the speed, at least
    assert len(re.findall('src="data:image/png;base64,', page)) == 3  # the grids of steps 0, 4 and 8
    assert "model:" in page and "z_dim" in page  # the config
    assert not re.search(r"(src|href)=\"(https?:)?//", page) and "<script" not in page  # nothing loaded from anywhere
    assert main(["report", str(tmp_path / "run"), "--out", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").read_text() == page
    capsys.readouterr()
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert "is not a run folder" in err and err.count("\n") == 1
