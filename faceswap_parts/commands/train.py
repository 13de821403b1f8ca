"""`faceswap-parts train`: train (or resume) a faceswap-GAN v2.2 model on two face sets."""
from __future__ import annotations

import argparse
from pathlib import Path

from faceswap_parts.commands.arguments import finite_float
from faceswap_parts.config import ModelConfig, TrainConfig
from faceswap_parts.options import (AUGMENT_ON, AUGMENT_PARTS, CAPACITIES, GAN_LOSSES, INIT_PARTS, NORMS, PERCEPTUAL_NETS,
                                    PRECISIONS, RESOLUTIONS, SCHEDULE_NAMES)

HELP = "train a faceswap-GAN v2.2 model on face sets A and B (resumes the workdir's checkpoint)"

#: Options that define the architecture (taken from the checkpoint when resuming).
MODEL_OPTIONS = ("resolution", "capacity", "norm", "self_attention", "coverage")
#: Options stored in TrainConfig; left out on a resume they keep the checkpoint's values.
TRAIN_OPTIONS = ("a_dir", "b_dir", "batch_size", "perceptual", "perceptual_net", "perceptual_weights", "gan_loss",
                 "cycle", "preview_interval", "save_interval", "backup_interval", "keep_backups", "device", "precision",
                 "seed", "workers", "augment", "parts_augment", "parts_prob", "parts_knn", "init_from", "init_parts",
                 "pretrain_dirs")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Defaults stay None so a resume can tell what was given, and values are checked by the configs (one-line
    # errors); the help lists the options' choices and the configs' own defaults.
    m, d = ModelConfig(), TrainConfig()
    parser.add_argument("--a", dest="a_dir", metavar="DIR_A",
                        help="faces of A: an extract output folder, its aligned_faces folder, or a plain "
                             "folder of face images (required for a new workdir)")
    parser.add_argument("--b", dest="b_dir", metavar="DIR_B", help="faces of B, as --a")
    parser.add_argument("--workdir", required=True, metavar="W",
                        help="where checkpoint.pt, previews and loss history go; an existing checkpoint is resumed")
    parser.add_argument("--iterations", type=int, required=True, metavar="N",
                        help="TOTAL number of iterations to reach: a resumed run continues up to N "
                             "(not N more); the v2.2 schedule is laid out over N")
    arch = parser.add_argument_group("architecture (new workdir only; a resume takes it from the checkpoint)")
    arch.add_argument("--resolution", type=int, help=f"{', '.join(map(str, RESOLUTIONS))} (default {m.resolution})")
    arch.add_argument("--capacity", help=f"{', '.join(map(str, CAPACITIES))} (default {m.capacity})")
    arch.add_argument("--norm", help=f"{', '.join(map(str, NORMS))} (default {m.norm})")
    arch.add_argument("--self-attention", dest="self_attention", action=argparse.BooleanOptionalAction,
                      default=None, help=f"self-attention layers (default {'on' if m.self_attention else 'off'})")
    arch.add_argument("--coverage", type=finite_float, help="central fraction of the aligned face the model sees "
                                                     f"(default {m.coverage})")
    start = parser.add_argument_group("starting point (new workdir only)")
    start.add_argument("--init-from", dest="init_from", metavar="W2",
                       help="start from another model's weights (its workdir or checkpoint.pt; e.g. a --pretrain "
                            "run): its architecture, fresh iteration count and optimisers")
    start.add_argument("--init-parts", dest="init_parts",
                       help=f"what --init-from copies: {', '.join(INIT_PARTS)} (default {d.init_parts}: encoder, "
                            "decoders and discriminators; encoder: the shared encoder only)")
    start.add_argument("--pretrain", dest="pretrain_dirs", nargs="+", metavar="DIR",
                       help="pretrain on a pool of many people's face folders instead of --a/--b: both decoders "
                            "see every face; the result is a starting point for pairs (--init-from)")
    train = parser.add_argument_group("training (left out on a resume: the checkpoint's values)")
    train.add_argument("--schedule", choices=SCHEDULE_NAMES,
                       help="loss schedule laid over --iterations: v2.2 (default) or short (v2.2 without its "
                            "decoder swap, for runs of a few thousand iterations)")
    train.add_argument("--batch-size", type=int, help=f"even number, default {d.batch_size}")
    train.add_argument("--perceptual", action=argparse.BooleanOptionalAction, default=None,
                       help="perceptual loss in the phases that use it (default on; skipped with a warning "
                            "when no perceptual network can be loaded)")
    train.add_argument("--perceptual-net", dest="perceptual_net", metavar="NET",
                       help=f"{', '.join(map(str, PERCEPTUAL_NETS))} (default {d.perceptual_net}): auto uses VGGFace2 "
                            "where its weights are given, cached or downloadable, else dlib's face-recognition "
                            "ResNet (offline); a resumed run keeps the network it was trained with")
    train.add_argument("--perceptual-weights", metavar="FILE",
                       help="local copy of facenet-pytorch's 20180402-114759-vggface2.pt for the perceptual loss")
    train.add_argument("--gan-loss", help=f"{', '.join(map(str, GAN_LOSSES))} (default {d.gan_loss})")
    train.add_argument("--cycle", action=argparse.BooleanOptionalAction, default=None,
                       help="add the cycle-consistency loss (default off)")
    train.add_argument("--preview-interval", type=int,
                       help=f"iterations between previews (default {d.preview_interval}; 0 = never)")
    train.add_argument("--save-interval", type=int, help=f"iterations between checkpoints (default {d.save_interval})")
    train.add_argument("--backup-interval", type=int,
                       help=f"iterations between numbered backups in W/backups (default {d.backup_interval}; 0 = none)")
    train.add_argument("--keep-backups", type=int, help=f"numbered backups kept (default {d.keep_backups})")
    train.add_argument("--device", help="auto (default), cpu, cuda or cuda:N")
    train.add_argument("--precision",
                       help=f"{', '.join(map(str, PRECISIONS))}; auto (default): bf16 where the CPU/GPU supports it, "
                            "fp16 on older GPUs, else fp32")
    train.add_argument("--seed", type=int, help=f"random seed (default {d.seed})")
    train.add_argument("--workers", type=int, help=f"threads preparing batches (default {d.workers})")
    train.add_argument("--augment", help=f"where augmentation runs: {', '.join(map(str, AUGMENT_ON))} (default auto: on a CUDA "
                                         "GPU when training on one)")
    train.add_argument("--parts-augment", metavar="PARTS",
                       help=f"look-alike parts augmentation: swap these parts ({', '.join(AUGMENT_PARTS)}; "
                            "comma-separated) in from the other person's most alike faces (default: off)")
    train.add_argument("--parts-prob", type=finite_float, metavar="P",
                       help=f"share of the samples so augmented (default {d.parts_prob})")
    train.add_argument("--parts-knn", type=int, metavar="K", help=f"look-alikes per face to draw from (default {d.parts_knn})")
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


def _given(args, names) -> dict:
    return {k: getattr(args, k) for k in names if getattr(args, k) is not None}


def run(args) -> int:
    from faceswap_parts.errors import FaceswapError
    from faceswap_parts.training import launcher

    if args.iterations < 1:
        raise FaceswapError(f"--iterations must be >= 1, got {args.iterations}")
    if args.devices < 1:
        raise FaceswapError(f"--devices must be >= 1, got {args.devices}")
    requested_model = _given(args, MODEL_OPTIONS)
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

    options = {**parse_overrides(args.overrides, args.config_file), **_given(args, TRAIN_OPTIONS)}
    if args.schedule:
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
