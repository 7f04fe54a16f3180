"""Folders written whole: an export or classifier folder is replaced only once the new one is complete."""

import pytest

from gankit.atomic import write_folder


def test_failed_fill_keeps_the_old_folder(tmp_path):
    out = tmp_path / "export"
    write_folder(out, lambda d: (d / "generator.safetensors").write_text("v1"), marker="generator.safetensors")

    def broken(d):
        (d / "generator.safetensors").write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_folder(out, broken, marker="generator.safetensors")
    assert (out / "generator.safetensors").read_text() == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_a_foreign_folder_is_never_replaced(tmp_path):
    out = tmp_path / "photos"
    out.mkdir()
    (out / "holiday.jpg").write_text("precious")
    with pytest.raises(FileExistsError, match="photos"):
        write_folder(out, lambda d: (d / "generator.safetensors").write_text("x"), marker="generator.safetensors")
    assert (out / "holiday.jpg").read_text() == "precious"
