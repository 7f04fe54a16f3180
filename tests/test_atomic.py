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


def test_files_in_a_written_folder_get_the_permissions_open_would_give(tmp_path):
    import os

    plain = tmp_path / "plain.txt"
    plain.write_text("x")

    def fill(folder):
        (folder / "a.bin").write_bytes(b"x")
        os.chmod(folder / "a.bin", 0o600)  # as safetensors' save_file leaves its files

    write_folder(tmp_path / "out", fill, marker="a.bin")
    assert os.stat(tmp_path / "out" / "a.bin").st_mode & 0o777 == os.stat(plain).st_mode & 0o777


def test_an_old_folder_that_cannot_be_removed_is_named_not_left_silently(tmp_path, monkeypatch):
    import shutil

    out = tmp_path / "export"
    write_folder(out, lambda d: (d / "generator.safetensors").write_text("v1"), marker="generator.safetensors")
    real_rmtree = shutil.rmtree

    def stubborn(path, *args, **kwargs):  # what a read-only file inside the old folder does to a non-root user
        if str(path).endswith(".export.old") and not kwargs.get("ignore_errors"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", stubborn)
    with pytest.warns(UserWarning, match=r"export: written, but the folder it replaced could not be removed .*"
                                         r"kept as .*\.export\.old, delete it by hand"):
        write_folder(out, lambda d: (d / "generator.safetensors").write_text("v2"), marker="generator.safetensors")
    assert (out / "generator.safetensors").read_text() == "v2"
