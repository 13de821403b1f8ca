"""Converted output says it is synthetic: the metadata tag in videos (through the audio mux and the join of
segments) and images, read back by ``faceswap-parts inspect``, and the visible ``--label``."""
from __future__ import annotations

import json

import numpy as np
import pytest

from faceswap_parts.cli import main
from faceswap_parts.conversion import ConverterConfig, VideoConverter
from faceswap_parts.conversion.label import add_label
from faceswap_parts.io.images import read_image, write_image
from faceswap_parts.io.provenance import SOURCE_TYPE, read_tag
from faceswap_parts.io.video import probe, read_frames


def _check_record(record, workdir=None):
    assert record["synthetic"] is True and record["digital_source_type"] == SOURCE_TYPE
    assert record["tool"] == "faceswap-parts" and record["version"]
    assert record["model_architecture"] == "64 px lite"
    if workdir is not None:
        assert record["model"] == workdir.name and record["model_iteration"] == 0


def test_a_converted_video_carries_the_tag_through_the_audio_mux_and_inspect_reads_it(video_a_3s, workdir, tmp_path,
                                                                                      capsys):
    plain, labelled = tmp_path / "plain.mp4", tmp_path / "labelled.mkv"
    for out, extra in ((plain, []), (labelled, ["--label", "AI-generated"])):
        assert main(["convert", str(video_a_3s), "--model", str(workdir), "--out", str(out), "--max-frames", "6",
                     "--quiet", *extra]) == 0
        assert probe(out).has_audio  # the tag is written in the same pass as the audio
    capsys.readouterr()
    assert main(["inspect", str(plain), str(labelled), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for entry in records:
        _check_record(entry["tag"], workdir)
    assert "visible_label" not in records[0]["tag"] and records[1]["tag"]["visible_label"] == "AI-generated"
    assert main(["inspect", str(plain)]) == 0
    assert "Synthetic media: faces replaced by faceswap-parts" in capsys.readouterr().out

    # the label is drawn in the lower-left corner only
    a, b = (np.stack(read_frames(p)[0]).astype(float) for p in (plain, labelled))
    h, w = a.shape[1:3]
    corner = np.abs(a - b)[:, int(h * 0.9):, : int(w * 0.3)].mean()
    rest = np.abs(a - b)[:, : int(h * 0.8)].mean()
    assert corner > 20 and rest < 2

    # a video that is not ours: no tag, exit 1 (scripts can check), and it says a missing tag proves nothing
    assert main(["inspect", str(video_a_3s)]) == 1
    assert "no synthetic-media tag" in capsys.readouterr().out


def test_segments_converted_at_once_keep_the_tag_after_their_join(video_a_3s, model, tmp_path):
    result = VideoConverter(model, ConverterConfig(workers=2, max_frames=16, progress_bar=False,
                                                   batch_size=8)).convert(video_a_3s, tmp_path / "two.mp4")
    assert result.workers == 2 and result.audio
    _check_record(read_tag(result.path))


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp"])
def test_a_converted_image_carries_the_tag(grace_hopper, workdir, tmp_path, suffix):
    source, out = tmp_path / "in.png", tmp_path / f"out{suffix}"
    write_image(source, grace_hopper)
    assert read_tag(source) is None
    assert main(["convert", str(source), "--model", str(workdir), "--out", str(out), "--label", "AI"]) == 0
    record = read_tag(out)
    _check_record(record, workdir)
    assert record["visible_label"] == "AI" and read_image(out).shape == grace_hopper.shape


def test_an_image_format_without_metadata_is_refused_before_the_model_loads(grace_hopper, tmp_path, capsys):
    source = tmp_path / "in.png"
    write_image(source, grace_hopper)
    assert main(["convert", str(source), "--model", str(tmp_path / "no_model"), "--out", str(tmp_path / "o.bmp")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot hold; write one of .png, .jpg, .jpeg, .webp" in err
    assert main(["inspect", str(tmp_path / "missing.mp4")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_the_label_darkens_a_box_and_writes_in_it():
    frame = np.full((240, 320, 3), 200, np.uint8)
    out = add_label(frame, "AI-generated")
    changed = np.argwhere(np.any(out != frame, axis=2))
    assert (frame == 200).all() and changed.size  # a copy, not the input
    assert changed[:, 0].min() > 240 * 0.8 and changed[:, 1].max() < 320 * 0.6
    assert out.max() == 255 and add_label(frame, "") is frame


def test_every_notebook_opens_with_the_consent_note_and_offers_the_runtime_field():
    from pathlib import Path

    import nbformat

    from faceswap_parts.options import RUNTIMES

    root = Path(__file__).resolve().parents[1]
    notebooks = sorted(root.glob("*.ipynb")) + sorted((root / "colab").glob("*.ipynb"))
    assert len(notebooks) == 5
    for path in notebooks:
        cells = nbformat.read(path, as_version=4).cells
        assert cells[0].cell_type == "markdown"
        assert "Use only faces you have the right to use" in cells[0].source, path.name
        assert "disallow" in cells[0].source and "Kaggle" in cells[0].source, path.name
        field = "RUNTIME = \"auto\"  #@param [" + ", ".join(f'"{r}"' for r in RUNTIMES) + "]"
        assert any(field in cell.source for cell in cells if cell.cell_type == "code"), path.name
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "Use only faces you have the right to use" in readme and "## Where it runs" in readme


c2pa_needed = pytest.mark.skipif(not __import__("faceswap_parts.io.c2pa_manifest", fromlist=["x"]).available(),
                                 reason="the provenance extra (c2pa-python, cryptography) is not installed")


@c2pa_needed
def test_a_signed_c2pa_manifest_says_trained_algorithmic_media_and_is_read_back(video_a_3s, workdir, grace_hopper,
                                                                               tmp_path, monkeypatch, capsys):
    from faceswap_parts.io import c2pa_manifest

    monkeypatch.setattr(c2pa_manifest, "local_signer_dir", lambda: tmp_path / "cache")
    out = tmp_path / "signed.mp4"
    assert main(["convert", str(video_a_3s), "--model", str(workdir), "--out", str(out), "--max-frames", "4",
                 "--quiet"]) == 0
    said = capsys.readouterr().out
    assert "C2PA manifest (digital source type trainedAlgorithmicMedia) signed with the local untrusted" in said
    manifest = c2pa_manifest.read(out)
    assert manifest["digital_source_type"] == c2pa_manifest.DIGITAL_SOURCE_TYPE
    assert manifest["signer"] == "faceswap-parts local signer" and "signingCredential.untrusted" in manifest["validation"]
    _check_record(read_tag(out), workdir)  # the container's tag outlives the signing
    assert probe(out).has_audio and len(read_frames(out)[0]) == 4
    assert (tmp_path / "cache" / "local_key.pem").stat().st_mode & 0o077 == 0  # the key is the user's alone
    assert main(["inspect", str(out)]) == 0
    assert "C2PA manifest: digital source type http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia" \
        in capsys.readouterr().out

    # the user's own chain and key (here another local pair, made in a folder of its own)
    chain, key = c2pa_manifest.local_signer(tmp_path / "mine")
    source, image_out = tmp_path / "in.png", tmp_path / "out.jpg"
    write_image(source, grace_hopper)
    assert main(["convert", str(source), "--model", str(workdir), "--out", str(image_out), "--sign-cert", str(chain),
                 "--sign-key", str(key)]) == 0
    assert f"signed with {chain}" in capsys.readouterr().out
    assert c2pa_manifest.read(image_out)["digital_source_type"] == c2pa_manifest.DIGITAL_SOURCE_TYPE
    _check_record(read_tag(image_out), workdir)

    # MKV is not a C2PA format: the metadata tag only
    mkv = tmp_path / "plain.mkv"
    assert main(["convert", str(video_a_3s), "--model", str(workdir), "--out", str(mkv), "--max-frames", "2",
                 "--quiet"]) == 0
    assert c2pa_manifest.read(mkv) is None and read_tag(mkv)["synthetic"] is True


def test_signing_options_are_checked_before_any_frame(video_a_3s, workdir, tmp_path, monkeypatch, capsys):
    from faceswap_parts.io import c2pa_manifest

    args = ["convert", str(video_a_3s), "--model", str(workdir), "--out", str(tmp_path / "o.mp4"), "--quiet"]
    assert main([*args, "--sign-cert", str(tmp_path / "c.pem")]) == 1
    assert "--sign-cert and --sign-key go together" in capsys.readouterr().err
    monkeypatch.setattr(c2pa_manifest, "available", lambda: False)
    assert main([*args, "--sign-cert", "c.pem", "--sign-key", "k.pem"]) == 1
    err = capsys.readouterr().err
    assert "needs the provenance extra: pip install 'faceswap-parts[provenance]'" in err and not (tmp_path / "o.mp4").exists()
    # without the extra and without a certificate: the metadata tag alone, no error
    result = VideoConverter(workdir, ConverterConfig(max_frames=2, progress_bar=False)).convert(video_a_3s,
                                                                                              tmp_path / "o.mp4")
    assert result.c2pa_signer is None and read_tag(result.path)["synthetic"] is True
