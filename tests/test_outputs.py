"""Output locations are checked before any work, and a write that fails half-way leaves nothing under its name."""

import shutil
from pathlib import Path

import pytest
import torch

from gankit.errors import ArgumentError, GankitError
from gankit.outputs import check_file, check_folder, write_atomically
from gankit.tasks.files import save_image, writing_into


def test_the_checks_create_nothing_and_name_the_fix(tmp_path):
    assert check_file(tmp_path / "a" / "b" / "x.png") == tmp_path / "a" / "b" / "x.png"
    assert check_folder(tmp_path / "c" / "d") == tmp_path / "c" / "d"
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "f").write_text("x")
    with pytest.raises(ArgumentError, match="is a file, and this writes a folder"):
        check_folder(tmp_path / "f")
    with pytest.raises(ArgumentError, match="is a folder; give a file name"):
        check_file(tmp_path)
    with pytest.raises(ArgumentError, match="is a file, so nothing can be created below it"):
        check_file(tmp_path / "f" / "x.png")
    with pytest.raises(ArgumentError, match="cannot write in /proc"):
        check_folder("/proc/gankit-test/run")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ArgumentError, match="exists and is not empty"):
        check_folder(tmp_path / "full", empty=True)


def test_too_little_free_space_is_refused_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 10**6, 10**6))
    check_folder(tmp_path, need_bytes=10**5)
    with pytest.raises(ArgumentError, match="has 1 MB free, and this needs about 5 MB"):
        check_folder(tmp_path / "new", need_bytes=5 * 10**6)


def test_a_failed_write_leaves_nothing_under_the_final_name(tmp_path):
    def broken(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_atomically(tmp_path / "out.png", broken)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "out.png").write_bytes(b"old")
    with pytest.raises(OSError):
        write_atomically(tmp_path / "out.png", broken)
    assert (tmp_path / "out.png").read_bytes() == b"old" and len(list(tmp_path.iterdir())) == 1


def test_a_folder_output_that_fails_half_way_says_what_was_written(tmp_path, monkeypatch):
    import gankit.outputs as outputs

    written, real_replace, calls = [], outputs.os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(outputs.os, "replace", replace)
    with pytest.raises(GankitError, match=r"stopped after 2 of 5 files .*No space left on device.* no file was left "
                                          "half-written"):
        with writing_into(tmp_path, written, 5):
            for i in range(5):
                save_image(torch.rand(3, 4, 4), tmp_path / f"{i}.png")
                written.append(tmp_path / f"{i}.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.png", "1.png"]
