"""`faceswap-parts train` on real faces and its one-line errors for bad input."""
from __future__ import annotations

import pytest

from faceswap_parts.cli import main
from faceswap_parts.io.images import write_image
from faceswap_parts.models.checkpoint import load_checkpoint

FAST = ["--capacity", "lite", "--no-self-attention", "--batch-size", "2", "--device", "cpu", "--precision", "fp32",
        "--no-perceptual", "--preview-interval", "0", "--workers", "1", "--no-progress"]


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main(["train", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *words):
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture(scope="module")
def trained_workdir(tmp_path_factory, real_facesets):
    """A workdir trained for 1 iteration through the CLI."""
    workdir = tmp_path_factory.mktemp("cli") / "w"
    code = main(["train", "--a", str(real_facesets[0]), "--b", str(real_facesets[1]), "--workdir", str(workdir),
                 "--iterations", "1", *FAST])
    assert code == 0
    return workdir


def test_train_then_resume_to_the_total(trained_workdir, capsys):
    code, out, _ = run_cli(capsys, "--workdir", trained_workdir, "--iterations", 2, "--no-progress")
    assert code == 0
    assert "resuming" in out and "at iteration 1 of 2" in out
    state = load_checkpoint(trained_workdir / "checkpoint.pt")
    assert state["iteration"] == 2 and state["model_config"]["capacity"] == "lite"
    assert state["train_config"]["batch_size"] == 2  # options of the first run kept
    code, out, _ = run_cli(capsys, "--workdir", trained_workdir, "--iterations", 2, "--no-progress")
    assert code == 0 and load_checkpoint(trained_workdir / "checkpoint.pt")["iteration"] == 2


def test_other_architecture_in_workdir(trained_workdir, real_facesets, capsys):
    code, _, err = run_cli(capsys, "--a", real_facesets[0], "--b", real_facesets[1], "--workdir", trained_workdir,
                           "--iterations", 3, "--capacity", "standard")
    assert_one_line_error(code, err, "another architecture", "capacity='standard'")


def test_bad_inputs_are_one_line_errors(tmp_path, real_facesets, astronaut, capsys):
    good = real_facesets[0]
    empty = tmp_path / "empty"
    empty.mkdir()
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "readme.txt").write_text("no faces here")
    (junk / "clip.mp4").write_bytes(b"\x00" * 100)
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    write_image(tiny / "small.png", astronaut[:40, :30])
    work = tmp_path / "w"
    cases = [
        (["--a", tmp_path / "missing", "--b", good], ["face folder A", "does not exist"]),
        (["--a", good, "--b", empty], ["face folder B", "no usable face image", "no files"]),
        (["--a", junk, "--b", good], ["no usable face image", "2 non-image files"]),
        (["--a", tiny, "--b", good], ["no usable face image", "1 images under 64 px"]),
        (["--a", good, "--b", good, "--resolution", 96], ["resolution must be one of 64, 128, 256"]),
        (["--a", good, "--b", good, "--batch-size", 3], ["--batch-size must be an even number"]),
        (["--b", good], ["--a required"]),
        (["--a", good, "--b", good, "--iterations", 0], ["--iterations must be >= 1"]),
    ]
    for args, words in cases:
        if "--iterations" not in args:
            args = [*args, "--iterations", 1]
        code, _, err = run_cli(capsys, *FAST, "--workdir", work, *args)
        assert_one_line_error(code, err, *words)
    assert not (work / "checkpoint.pt").exists()


def test_help_says_iterations_is_a_total(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "TOTAL number of iterations" in capsys.readouterr().out


def test_set_and_config_file_reach_the_checkpoint(real_facesets, tmp_path, capsys):
    a, b = map(str, real_facesets)
    toml = tmp_path / "train.toml"
    toml.write_text('[train]\nw_eyes = 20\nmotion_blur_prob = 0.0\nschedule = [{start = 0.0, perceptual = false}]\n')
    code, _, err = run_cli(capsys, "--a", a, "--b", b, "--workdir", tmp_path / "w", "--iterations", 1,
                           "--config", toml, "--set", "w_eyes=35", "--set", "cycle=true", *FAST)
    assert code == 0, err
    saved = load_checkpoint(tmp_path / "w" / "checkpoint.pt")["train_config"]
    assert saved["w_eyes"] == 35.0  # --set wins over the file
    assert saved["motion_blur_prob"] == 0.0 and saved["cycle"] is True
    assert saved["w_cycle"] == 10.0  # v2.2's cycle weight unless set
    assert len(saved["schedule"]) == 1 and saved["schedule"][0]["perceptual"] is False


@pytest.mark.parametrize("args, words", [
    (["--set", "w_eye=3"], "w_eye is not a training setting (did you mean w_eyes?)"),
    (["--set", "w_eyes=high"], "w_eyes='high': expected a float"),
    (["--set", "cycle=1"], "cycle=1: expected a bool"),
    (["--set", "noequals"], "--set needs FIELD=VALUE"),
    (["--set", "workdir=x"], "workdir is not a training setting"),
    (["--config", "missing.toml"], "--config missing.toml"),
])
def test_bad_settings_are_one_line_errors(real_facesets, tmp_path, capsys, args, words):
    a, b = map(str, real_facesets)
    code, _, err = run_cli(capsys, "--a", a, "--b", b, "--workdir", tmp_path / "w", "--iterations", 1, *args, *FAST)
    assert_one_line_error(code, err, words)
    assert not (tmp_path / "w").exists()


def test_config_file_that_is_not_toml(real_facesets, tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("w_eyes = = 3\n")
    code, _, err = run_cli(capsys, "--a", str(real_facesets[0]), "--b", str(real_facesets[1]), "--workdir",
                           tmp_path / "w", "--iterations", 1, "--config", bad, *FAST)
    assert_one_line_error(code, err, "is not valid TOML")


def test_resume_rules_are_the_same_from_the_cli_and_from_a_notebook(real_facesets, tmp_path, capsys):
    """One rule (config.resume_config): the checkpoint's settings, with what the caller gave on top."""
    from faceswap_parts.config import TrainConfig
    from faceswap_parts.training import Trainer

    workdir = tmp_path / "w"
    a, b = map(str, real_facesets)
    assert main(["train", "--a", a, "--b", b, "--workdir", str(workdir), "--iterations", "1", *FAST,
                 "--set", "w_eyes=5", "--set", "lr_g=2e-4"]) == 0
    capsys.readouterr()

    def settings(trainer):
        trainer.close()
        return trainer.config.w_eyes, trainer.config.lr_g, trainer.config.batch_size

    # a notebook's config from its form: defaults everywhere but the folders
    assert settings(Trainer(TrainConfig(a_dir=a, b_dir=b, workdir=str(workdir)))) == (5.0, 2e-4, 2)
    assert settings(Trainer(TrainConfig(a_dir=a, b_dir=b, workdir=str(workdir), w_eyes=7.0))) == (7.0, 2e-4, 2)
    # a value equal to the default, named as given, wins too
    assert settings(Trainer(TrainConfig(workdir=str(workdir), w_eyes=30.0), given=("w_eyes",))) == (30.0, 2e-4, 2)
    # the CLI: options left out keep the checkpoint's values, given ones win
    assert main(["train", "--workdir", str(workdir), "--iterations", "2", "--no-progress"]) == 0
    saved = load_checkpoint(workdir / "checkpoint.pt")["train_config"]
    assert (saved["w_eyes"], saved["lr_g"], saved["batch_size"]) == (5.0, 2e-4, 2)
    assert main(["train", "--workdir", str(workdir), "--iterations", "3", "--no-progress", "--set", "w_eyes=7"]) == 0
    saved = load_checkpoint(workdir / "checkpoint.pt")["train_config"]
    assert (saved["w_eyes"], saved["lr_g"], saved["batch_size"]) == (7.0, 2e-4, 2)
