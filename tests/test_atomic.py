"""Files and folders written whole: replaced only once the new one is complete, and a refusal of the operating
system (a full disk, a name too long, ...) is one error naming the path and the cause."""

import errno
import os

import pytest
import torch

from gankit.atomic import WriteError, write_file, write_folder
from gankit.train import checkpoint
from tests.small_disk import fill_up, small_disk


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


# ----- errors of the operating system: one line naming the path and the cause, the old file kept -----

def _leftovers(folder):
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith("."))


def test_a_checkpoint_on_a_full_disk_is_one_line_and_the_old_one_still_loads(tmp_path):
    with small_disk(tmp_path / "disk") as disk:
        path = disk / "run" / "ckpt.pt"
        checkpoint.save({"nets": {}, "config": {"recipe": "gan"}, "step": 1, "nimg": 64}, path)
        with pytest.raises(WriteError, match=r"^cannot write .*ckpt\.pt: no space left on the device holding it "
                                             r"\([\d,]+ bytes free\)$") as caught:
            checkpoint.save({"nets": {"G": {"w": torch.zeros(1_000_000)}}, "config": {"recipe": "gan"}, "step": 2,
                             "nimg": 128}, path)
        assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(path)
        assert checkpoint.load(path)["step"] == 1
        assert _leftovers(disk) == []


def test_a_folder_on_a_full_disk_is_one_line_and_the_old_one_stays(tmp_path):
    with small_disk(tmp_path / "disk") as disk:
        out = disk / "export"
        write_folder(out, lambda d: (d / "generator.safetensors").write_text("v1"), marker="generator.safetensors")
        fill_up(disk, leave=4096)
        with pytest.raises(WriteError, match=r"export: no space left on the device holding it"):
            write_folder(out, lambda d: (d / "generator.safetensors").write_bytes(b"x" * 100_000),
                         marker="generator.safetensors")
        assert (out / "generator.safetensors").read_text() == "v1"
        assert _leftovers(disk) == []


# what torch.save and safetensors raise on a full disk: neither is an OSError, and torch's names no cause
WRAPPED = [RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 534"),
           Exception("Error while serializing: I/O error: No space left on device (os error 28)")]


@pytest.mark.parametrize("error", WRAPPED, ids=["torch", "safetensors"])
def test_a_full_disk_is_named_whatever_the_writer_raises(tmp_path, monkeypatch, error):
    import shutil

    path = tmp_path / "ckpt.pt"
    write_file(path, lambda tmp: open(tmp, "w").write("good"))
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(3 << 20, 3 << 20, 0))

    def full(tmp):
        open(tmp, "w").write("ha")
        raise error

    with pytest.raises(WriteError, match=r"ckpt\.pt: no space left on the device holding it \(0 bytes free\)"):
        write_file(path, full)
    assert path.read_text() == "good" and _leftovers(tmp_path) == []


def test_an_error_that_is_not_the_disk_stays_itself(tmp_path):
    with pytest.raises(RuntimeError, match="unexpected pos"):  # plenty of space: no reason to blame the disk
        write_file(tmp_path / "a.pt", lambda tmp: (_ for _ in ()).throw(WRAPPED[0]))
    with pytest.raises(ValueError, match="a bug"):
        write_file(tmp_path / "a.pt", lambda tmp: (_ for _ in ()).throw(ValueError("a bug")))


@pytest.mark.parametrize("code, cause", [
    (errno.ENOSPC, "no space left on the device holding it"),
    (errno.EDQUOT, "disk quota"),
    (errno.EROFS, "read-only"),
    (errno.EACCES, "permission denied"),
    (errno.EPERM, "not permitted"),
    (errno.EFBIG, "too large for its file system"),
])
def test_each_refusal_of_the_system_names_the_path_and_cause(tmp_path, code, cause):
    path = tmp_path / "out" / "grid.png"

    def refused(tmp):
        raise OSError(code, os.strerror(code), tmp)  # names the temporary file, which means nothing to a user

    with pytest.raises(WriteError, match=rf"^cannot write {path}: .*{cause}") as caught:
        write_file(path, refused)
    assert ".tmp" not in str(caught.value) and caught.value.errno == code
    assert isinstance(caught.value, OSError)  # code that catches OSError still does
    with pytest.raises(WriteError, match=rf"^cannot write {tmp_path / 'folder'}: .*{cause}"):
        write_folder(tmp_path / "folder", refused, marker="m")
    assert _leftovers(tmp_path) == []


def test_a_name_too_long_is_one_line(tmp_path):
    path = tmp_path / ("x" * 300 + ".png")
    with pytest.raises(WriteError, match=r"x\.png: a name in the path is too long for its file system"):
        write_file(path, lambda tmp: open(tmp, "w").write("x"))
    with pytest.raises(WriteError, match=r"x\.png: a name in the path is too long"):
        write_folder(path, lambda d: None, marker="m")


def test_a_folder_that_cannot_be_moved_into_place_puts_the_old_one_back(tmp_path, monkeypatch):
    out = tmp_path / "export"
    write_folder(out, lambda d: (d / "generator.safetensors").write_text("v1"), marker="generator.safetensors")
    real_replace, calls = os.replace, []

    def second_fails(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", second_fails)
    with pytest.raises(WriteError, match=r"export: Input/output error"):
        write_folder(out, lambda d: (d / "generator.safetensors").write_text("v2"), marker="generator.safetensors")
    assert (out / "generator.safetensors").read_text() == "v1"
    assert _leftovers(tmp_path) == []


def test_a_file_missing_elsewhere_is_not_called_a_write_error(tmp_path):
    def reads_a_missing_input(tmp):
        open(tmp_path / "elsewhere" / "input.txt").read()

    with pytest.raises(FileNotFoundError, match="input.txt") as caught:
        write_file(tmp_path / "out" / "a.txt", reads_a_missing_input)
    assert not isinstance(caught.value, WriteError)


def test_a_folder_that_cannot_be_made_above_the_file_is_a_write_error(tmp_path, monkeypatch):
    from pathlib import Path

    def refused(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(tmp_path / "runs"))

    monkeypatch.setattr(Path, "mkdir", refused)
    with pytest.raises(WriteError, match=r"cannot write .*runs/a/config\.json: permission denied "
                                         r"\(making the folder .*runs\)$"):
        write_file(tmp_path / "runs" / "a" / "config.json", lambda tmp: None)
