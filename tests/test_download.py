"""Weight download cache: TORCH_HOME, checksum verification, clear failures."""
import hashlib

import pytest

from faceswap_parts.io import download
from faceswap_parts.errors import FaceswapError


@pytest.fixture()
def weights_file(tmp_path):
    src = tmp_path / "src" / "weights.bin"
    src.parent.mkdir()
    src.write_bytes(b"fake weights " * 1000)
    return src, hashlib.sha256(src.read_bytes()).hexdigest()


def test_cache_dir_honours_torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert download.cache_dir() == tmp_path / "th" / "faceswap_parts"
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert download.cache_dir() == tmp_path / "xdg" / "torch" / "faceswap_parts"


def test_fetch_downloads_verifies_and_caches(tmp_path, monkeypatch, weights_file):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    src, digest = weights_file
    path = download.fetch(src.as_uri(), "w.bin", digest, fix="install it", progress=False)
    assert path == tmp_path / "th" / "faceswap_parts" / "w.bin"
    assert path.read_bytes() == src.read_bytes()
    src.unlink()  # a cached, verified file is used without the network
    assert download.fetch(src.as_uri(), "w.bin", digest, fix="install it", progress=False) == path


def test_fetch_rejects_wrong_checksum_and_keeps_cache_clean(tmp_path, monkeypatch, weights_file):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    src, _ = weights_file
    with pytest.raises(FaceswapError, match="checksum mismatch.*pip install foo"):
        download.fetch(src.as_uri(), "w.bin", "0" * 64, fix="Run pip install foo.", progress=False)
    assert list((tmp_path / "th" / "faceswap_parts").iterdir()) == []


def test_fetch_tries_mirrors_and_replaces_corrupt_cache(tmp_path, monkeypatch, weights_file):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    src, digest = weights_file
    cached = tmp_path / "th" / "faceswap_parts" / "w.bin"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"truncated")
    path = download.fetch([(tmp_path / "missing.bin").as_uri(), src.as_uri()], "w.bin", digest, fix="x",
                          progress=False)
    assert download.sha256sum(path) == digest


def test_fetch_unreachable_is_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    with pytest.raises(FaceswapError) as err:
        download.fetch("http://127.0.0.1:9/none.pt", "none.pt", "0" * 64, fix="Copy the file by hand.",
                       progress=False, timeout=2)
    assert "\n" not in str(err.value) and str(err.value).endswith("Copy the file by hand.")
