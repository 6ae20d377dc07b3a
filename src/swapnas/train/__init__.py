"""``swapnas train``: train a DARTS genotype from scratch with the DARTS evaluation recipe.

The implementation is in :mod:`swapnas.train.loop` (see its docstring); this package re-exports its public names.
"""

from .loop import (
    CHECKPOINT_FORMAT, CIFAR_FILES, CIFAR_FOLDER, CIFAR_MEAN, CIFAR_ORIGIN, CIFAR_STD, IMAGE_SUFFIXES, IMAGENET_MEAN,
    IMAGENET_ORIGIN, IMAGENET_STD, RECIPES, SCHEDULES, FolderSplit, TensorSplit, TrainConfig, TrainData,
    _batch_indices, _batches, _cmd_train, _train_step, add_train_parser, build_model, config_from_args,
    count_params_m, cutout, drop_path_at, evaluate, load_cifar10, load_data, load_genotype, load_imagenet, lr_at,
    random_crop_flip, random_flip, synthetic_data, train,
)

__all__ = [
    "CHECKPOINT_FORMAT", "CIFAR_FILES", "CIFAR_FOLDER", "CIFAR_MEAN", "CIFAR_ORIGIN", "CIFAR_STD", "IMAGE_SUFFIXES",
    "IMAGENET_MEAN", "IMAGENET_ORIGIN", "IMAGENET_STD", "RECIPES", "SCHEDULES", "FolderSplit", "TensorSplit",
    "TrainConfig", "TrainData", "add_train_parser", "build_model", "config_from_args", "count_params_m", "cutout",
    "drop_path_at", "evaluate", "load_cifar10", "load_data", "load_genotype", "load_imagenet", "lr_at",
    "random_crop_flip", "random_flip", "synthetic_data", "train",
]
