"""`faceswap-parts train`: train (or resume) a faceswap-GAN v2.2 model on two face sets."""
from __future__ import annotations

import argparse
from pathlib import Path

from faceswap_parts.config import ModelConfig, TrainConfig
from faceswap_parts.options import SCHEDULE_NAMES
from faceswap_parts.settings import add_setting_arguments, given_settings, option_fields

HELP = "train a faceswap-GAN v2.2 model on face sets A and B (resumes the workdir's checkpoint)"

#: TrainConfig's options that start a new run from something else than --a/--b.
START_OPTIONS = ("init_from", "init_parts", "pretrain_dirs")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # The options of the configs come from their fields (help, choices, ranges, defaults), and stay None when
    # left out, so that a resume can tell what was given; the configs check the values (one-line errors).
    add_setting_arguments(parser, TrainConfig, ("a_dir", "b_dir"))
    parser.add_argument("--workdir", required=True, metavar="W",
                        help="where checkpoint.pt, previews and loss history go; an existing checkpoint is resumed")
    parser.add_argument("--iterations", type=int, required=True, metavar="N",
                        help="TOTAL number of iterations to reach: a resumed run continues up to N "
                             "(not N more); the v2.2 schedule is laid out over N")
    arch = parser.add_argument_group("architecture (new workdir only; a resume takes it from the checkpoint)")
    add_setting_arguments(arch, ModelConfig)
    start = parser.add_argument_group("starting point (new workdir only)")
    add_setting_arguments(start, TrainConfig, START_OPTIONS)
    train = parser.add_argument_group("training (left out on a resume: the checkpoint's values)")
    train.add_argument("--schedule", metavar="|".join(SCHEDULE_NAMES),
                       help="loss schedule laid over --iterations: v2.2 (default) or short (v2.2 without its "
                            "decoder swap, for runs of a few thousand iterations)")
    add_setting_arguments(train, TrainConfig, [f.name for f in option_fields(TrainConfig)
                                               if f.name not in ("a_dir", "b_dir", *START_OPTIONS)])
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                       help="any training setting: loss weights, augmentation probabilities, the schedule... "
                            "(VALUE as JSON), e.g. --set w_eyes=30 --set motion_blur_prob=0; recorded in the "
                            "checkpoint")
    train.add_argument("--config", dest="config_file", metavar="FILE.toml",
                       help="training settings from a TOML file (top-level keys or a [train] table); "
                            "--set and the options above win over it")
    parser.add_argument("--devices", type=int, default=1, metavar="N",
                        help="train on N GPUs (or N CPU processes) with DistributedDataParallel; the batch size "
                             "is the total over all of them (default 1; under torchrun, torchrun's count)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    from faceswap_parts.errors import FaceswapError
    from faceswap_parts.training import launcher

    if args.iterations < 1:
        raise FaceswapError(f"--iterations must be >= 1, got {args.iterations}")
    if args.devices < 1:
        raise FaceswapError(f"--devices must be >= 1, got {args.devices}")
    requested_model = given_settings(args, ModelConfig)  # the architecture: a resume takes the checkpoint's
    ModelConfig.from_dict(requested_model)  # validates the values before any file is read
    planned = _train_config(args)
    if planned is None:
        return 0
    config, given = planned
    training_run = launcher.TrainingRun(config.to_dict(), requested_model, args.iterations, given)
    if args.devices > 1 and not launcher.launched_by_torchrun():
        return _launch(args, config, training_run)
    if launcher.launched_by_torchrun():
        rank, result = launcher.run_under_torchrun(training_run)
        if rank == 0:
            print(f"iteration {result.iteration} of {result.total}; checkpoint {_checkpoint(config)}")
        return 0
    return _train_here(args, config, requested_model, given)


def _checkpoint(config: TrainConfig):
    from faceswap_parts.models.checkpoint import checkpoint_path

    return checkpoint_path(Path(config.workdir).expanduser())


def _train_config(args) -> tuple[TrainConfig, tuple[str, ...]] | None:
    """The run's TrainConfig and the settings given (``--config``, ``--set``
    and the options), as :func:`~faceswap_parts.config.resume_config` merges
    them over a checkpoint's; None when the checkpoint is already at
    ``--iterations``. Checked before any face is loaded."""
    from faceswap_parts.config import SCHEDULES, parse_overrides, resume_config
    from faceswap_parts.errors import FaceswapError
    from faceswap_parts.models.checkpoint import checkpoint_path, load_checkpoint

    options = {**parse_overrides(args.overrides, args.config_file), **given_settings(args, TrainConfig)}
    if args.schedule:
        if args.schedule not in SCHEDULES:
            raise FaceswapError(f"--schedule must be one of {', '.join(SCHEDULES)}, got {args.schedule!r}")
        options["schedule"] = SCHEDULES[args.schedule]()
    workdir = Path(args.workdir).expanduser()
    if workdir.exists() and not workdir.is_dir():  # before minutes of loading faces and building the model
        raise FaceswapError(f"--workdir {workdir} is a file; give a folder (it is created if missing)")
    path = checkpoint_path(workdir)
    if path.exists():
        saved_state = load_checkpoint(path, mmap=True)
        saved, done = saved_state["train_config"], int(saved_state["iteration"])
        if done > args.iterations:
            raise FaceswapError(f"{path} is already at iteration {done}; --iterations is the total to reach, "
                                f"so give more than {done} to train on")
        if done == args.iterations:
            print(f"{path} is already at iteration {done} of {args.iterations}: nothing to do "
                  f"(raise --iterations to train on)")
            return None
    else:
        missing = [f"--{k[0]}" for k in ("a_dir", "b_dir") if k not in options]
        if options.get("pretrain_dirs"):
            if len(missing) < 2:
                raise FaceswapError("--pretrain trains on its pool of face folders; leave out --a and --b")
            missing = []
        if missing:
            raise FaceswapError(f"{' and '.join(missing)} required: {path} does not exist yet, so this is a new run")
    config = TrainConfig.from_dict({**options, "workdir": args.workdir, "progress": not args.no_progress})
    if path.exists():  # the trainer applies the same rule; here it is for the checks before any face is loaded
        config = resume_config(saved, config, given=options)
    return config, tuple(options)


def _launch(args, config: TrainConfig, training_run) -> int:
    """``--devices N``: spawn the processes and wait for them."""
    import sys

    from faceswap_parts.models.checkpoint import load_checkpoint
    from faceswap_parts.training import distributed, launcher

    path = _checkpoint(config)
    distributed.check_split(config.batch_size, args.devices)  # before minutes of starting processes
    try:
        launcher.launch(args.devices, training_run)
    except KeyboardInterrupt:
        print(f"stopped; process 0 saved a checkpoint in {path} (run the same command to resume)", file=sys.stderr)
        raise
    state = load_checkpoint(path, mmap=True)
    print(f"iteration {int(state['iteration'])} of {args.iterations}; checkpoint {path}")
    return 0


def _train_here(args, config: TrainConfig, requested_model: dict, given: tuple[str, ...]) -> int:
    """Train in this process, saving a checkpoint on Ctrl-C or SIGTERM."""
    import signal
    import sys

    from faceswap_parts.training import Trainer
    from faceswap_parts.training.checkpoint import SaveInterrupted

    trainer = Trainer(config, requested_model=requested_model, given=given)
    config = trainer.config
    for faces in {id(f): f for f in trainer.faces.values()}.values():  # a --pretrain pool is both identities
        print(faces.summary({"mouth": config.w_mouth, "nose": config.w_nose}))
    if trainer.init_source and not trainer.iteration:
        src = trainer.init_source
        print(f"starting from {src['path']} (iteration {src['iteration']}; {src['parts']} networks)")
    if trainer.iteration:
        print(f"resuming {trainer.checkpoint_path} at iteration {trainer.iteration} of {args.iterations}")
    print(f"device {trainer.device}, precision {trainer.precision}, model {config.model.to_dict()}")
    # Cloud runtimes, schedulers and `timeout` stop a job with SIGTERM: treat it
    # like Ctrl-C, so the trainer saves a checkpoint before the process ends.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        result = trainer.train(args.iterations)
    except SaveInterrupted:
        kept = (f"the checkpoint of iteration {trainer.saved_iteration} is kept: {trainer.checkpoint_path}"
                if trainer.saved_iteration is not None else "no checkpoint was saved")
        print(f"stopped at iteration {trainer.iteration} of {args.iterations}: you interrupted the checkpoint's "
              f"save, so {kept} (run the same command to resume)", file=sys.stderr)
        raise
    except KeyboardInterrupt:
        print(f"stopped at iteration {trainer.iteration} of {args.iterations}; checkpoint saved: "
              f"{trainer.checkpoint_path} (run the same command to resume)", file=sys.stderr)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(f"iteration {result.iteration} of {result.total}; checkpoint {trainer.checkpoint_path}")
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt
