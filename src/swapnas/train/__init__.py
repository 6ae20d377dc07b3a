"""``swapnas train``: train a DARTS genotype from scratch with the DARTS evaluation recipe.

From Python: :func:`run_train` does what the command does (load the data, apply the recipe
overrides, train, return the result); :func:`train` trains on a :class:`TrainData` you built.

Recipes (:data:`RECIPES`; every field can be overridden on the command line):

- ``cifar10`` — the DARTS CIFAR-10 evaluation (spec §4): 20 cells, 36 channels, 600 epochs,
  batch 96, SGD (momentum 0.9, no Nesterov) lr 0.025 with cosine annealing to 0 over the
  epochs, weight decay 3e-4, cutout 16, drop-path 0.2 (ramped linearly), auxiliary head
  weight 0.4, gradient-norm clipping 5.
- ``imagenet`` — the DARTS ImageNet mobile setting: 14 cells, 48 channels, 250 epochs,
  batch 128, SGD (momentum 0.9) lr 0.1 decayed by 0.97 after every epoch (the DARTS paper's
  step schedule; ``--schedule cosine`` is available), weight decay 3e-5, label smoothing 0.1,
  auxiliary weight 0.4, gradient clipping 5, no drop-path, no cutout. The DARTS ImageNet
  recipe also jitters colour (brightness/contrast/saturation 0.4, hue 0.2); this trainer
  does not (random-resized-crop 224 + flip only).

Schedules are per epoch and closed form (:func:`lr_at`): the learning rate of epoch ``e``
(0-based) is ``lr * (1 + cos(pi * e / epochs)) / 2`` (cosine) or ``lr * gamma ** e`` (step);
drop-path probability is ``drop_path * e / epochs``.

Data (nothing is downloaded at run time; normalisation statistics from :data:`swapnas.data.DATASETS`):

- CIFAR-10: the python version (``cifar-10-batches-py/data_batch_1..5, test_batch``, as
  torchvision's ``CIFAR10(root)`` stores it) under ``--data-root``. The images are held in
  memory and augmented per batch with torch ops on the training device: 4-pixel zero-padded
  random 32×32 crop, horizontal flip, normalisation, cutout (a ``cutout``×``cutout`` square,
  clipped at the border, zeroed after normalisation — as in DARTS). ``--workers`` is unused.
- ImageNet: an image folder ``--data-root/train/<class>/*.JPEG`` and ``val/<class>/*.JPEG``
  read with Pillow by ``--workers`` DataLoader processes; train: random-resized-crop 224
  (area 8–100 %, aspect 3/4–4/3) + flip; val: resize the shorter side to 256, centre crop 224.
- ``--synthetic N``: a deterministic random data set (N training and N test images, 10
  classes, each class a noisy colour), 32 px for ``cifar10`` (CIFAR augmentation) and
  224 px for ``imagenet`` (flip only), for tests and smoke runs.

Randomness: everything a run draws (initial weights, augmentation, drop-path, loader seeds)
comes from ``--seed`` through the run's own generators (:mod:`swapnas.train.rng`); evaluation's
loader has a fixed stream of its own, so the training does not depend on ``--eval-every``. The
library seeds nothing global and sets no cuDNN flag (the command turns cuDNN autotuning on).

Outputs in ``OUT``: ``checkpoint.pt`` after every epoch and on Ctrl-C or (under ``swapnas train``)
SIGTERM (a training step in progress is finished first; a batch still being loaded is redone on
resume from the RNG state before it), so on in-memory data a resumed run equals an uninterrupted
one (ImageNet loader workers are reseeded),
``history.json`` (per epoch: train loss — the optimised objective, auxiliary term and label
smoothing included — train accuracy, test loss/accuracy/top-5 when evaluated, lr,
drop-path, steps, seconds) and ``result.json`` at the end. Accuracies are percentages.
Rerunning the same command resumes from ``checkpoint.pt``; only ``--epochs`` may differ
(to extend a run: the schedule then follows the new length from the next epoch on — from the
rest of the interrupted epoch when the checkpoint was saved mid-epoch; a warning says so, and
``result.json``'s ``schedule_epochs`` lists each length the epochs ran on, ``[2, 4]`` for a 2-epoch
run extended to 4, which does not equal a fresh 4-epoch run).
``--max-steps N`` caps the training AND evaluation batches of every epoch (smoke runs;
``result.json`` then says ``complete: false``). AMP (float16 autocast + GradScaler) is used
on CUDA only.

Modules: :mod:`~swapnas.train.recipe` (recipes, schedules, network, genotype),
:mod:`~swapnas.train.data` (splits, loaders, augmentation, batching), :mod:`~swapnas.train.rng`
(the run's random streams), :mod:`~swapnas.train.checkpoint` (checkpoint files),
:mod:`~swapnas.train.loop` (the training loop, :func:`train`, :func:`evaluate`) and
:mod:`~swapnas.train.run` (:func:`run_train`; the ``swapnas train`` parser is in :mod:`swapnas.cli`).
"""

# the private names are re-exported for tests/test_train.py
from .checkpoint import CHECKPOINT_FORMAT
from .data import (
    CIFAR_FILES,
    CIFAR_FOLDER,
    CIFAR_MEAN,
    CIFAR_ORIGIN,
    CIFAR_STD,
    IMAGE_SUFFIXES,
    IMAGENET_MEAN,
    IMAGENET_ORIGIN,
    IMAGENET_STD,
    FolderSplit,
    TensorSplit,
    TrainData,
    cutout,
    load_cifar10,
    load_data,
    load_imagenet,
    random_crop_flip,
    random_flip,
    synthetic_data,
)
from .loop import evaluate, train
from .recipe import (
    RECIPES,
    SCHEDULES,
    TrainConfig,
    build_model,
    check_network,
    count_params_m,
    drop_path_at,
    load_genotype,
    lr_at,
)
from .rng import RunRng
from .run import run_train

__all__ = [
    "CHECKPOINT_FORMAT",
    "CIFAR_FILES",
    "CIFAR_FOLDER",
    "CIFAR_MEAN",
    "CIFAR_ORIGIN",
    "CIFAR_STD",
    "IMAGENET_MEAN",
    "IMAGENET_ORIGIN",
    "IMAGENET_STD",
    "IMAGE_SUFFIXES",
    "RECIPES",
    "SCHEDULES",
    "FolderSplit",
    "RunRng",
    "TensorSplit",
    "TrainConfig",
    "TrainData",
    "build_model",
    "check_network",
    "count_params_m",
    "cutout",
    "drop_path_at",
    "evaluate",
    "load_cifar10",
    "load_data",
    "load_genotype",
    "load_imagenet",
    "lr_at",
    "random_crop_flip",
    "random_flip",
    "run_train",
    "synthetic_data",
    "train",
]
