"""Train / validation / test splits that never split a patient.

``strat_fold``: PTB-XL's own folds (1-8 train, 9 validation, 10 test); PTB-XL assigned
them per patient.  ``iterstrat``: iterative stratification over the label matrix at
patient level (the seed study's choice), mapped to ten folds the same way.
"""

from __future__ import annotations

import numpy as np

from runtime.errors import DataError, UsageError

SPLIT_PROTOCOLS = ("strat_fold", "iterstrat")
TRAIN_FOLDS = tuple(range(1, 9))
VALIDATION_FOLD = 9
TEST_FOLD = 10
SPLIT_NAMES = ("train", "val", "test")


def split_mask(folds: np.ndarray, split: str) -> np.ndarray:
    """Boolean mask of the records in ``split`` (train, val or test)."""
    if split == "train":
        return (folds >= TRAIN_FOLDS[0]) & (folds <= TRAIN_FOLDS[-1])
    if split in ("val", "validation"):
        return folds == VALIDATION_FOLD
    if split == "test":
        return folds == TEST_FOLD
    raise UsageError(f"unknown split {split!r}; use train, val or test")


def assign_folds(
    strat_folds: np.ndarray, patient_ids: np.ndarray, labels: np.ndarray, protocol: str, seed: int = 0
) -> np.ndarray:
    """Return the fold (1-10) of every record under ``protocol``."""
    if protocol == "strat_fold":
        folds = np.asarray(strat_folds, dtype=np.int8)
    elif protocol == "iterstrat":
        folds = _iterstrat_folds(patient_ids, labels, seed)
    else:
        raise UsageError(f"unknown split protocol {protocol!r}; use one of {', '.join(SPLIT_PROTOCOLS)}")
    _check_patients(folds, patient_ids)
    return folds


def _iterstrat_folds(patient_ids: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    try:
        from iterstrat.ml_stratifiers import MultilabelStratifiedKFold
    except ImportError:
        raise UsageError(
            "--folds iterstrat needs the iterative-stratification package: pip install 'ecg-shrink[train]'"
        ) from None
    patients, inverse = np.unique(patient_ids, return_inverse=True)
    if len(patients) < 10:
        raise DataError(f"iterative stratification into 10 folds needs >= 10 patients, got {len(patients)}")
    patient_labels = np.zeros((len(patients), labels.shape[1]), dtype=np.uint8)
    np.maximum.at(patient_labels, inverse, labels)
    splitter = MultilabelStratifiedKFold(n_splits=10, shuffle=True, random_state=seed)
    patient_fold = np.zeros(len(patients), dtype=np.int8)
    for fold, (_, held_out) in enumerate(splitter.split(np.zeros(len(patients)), patient_labels), start=1):
        patient_fold[held_out] = fold
    return patient_fold[inverse]


def _check_patients(folds: np.ndarray, patient_ids: np.ndarray) -> None:
    split_of = np.select(
        [split_mask(folds, "train"), split_mask(folds, "val"), split_mask(folds, "test")], [0, 1, 2], -1
    )
    seen: dict[int, int] = {}
    for patient, split in zip(patient_ids.tolist(), split_of.tolist(), strict=True):
        if seen.setdefault(patient, split) != split:
            raise DataError(f"patient {patient} has records in two splits; the folds must be assigned per patient")
