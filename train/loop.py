"""The training loop: seeded, resumable, early-stopped on validation macro AUC.

Each epoch draws its shuffling, augmentation and dropout from generators seeded by
(seed, epoch), and a checkpoint is written atomically after every epoch, so a run killed
at any point and resumed with ``--resume`` ends with the same weights (bitwise on CPU) as
one that was never interrupted.
"""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from runtime.atomic import atomic_write_bytes, atomic_write_text
from runtime.errors import ToolkitError, UsageError
from runtime.metrics import macro_auc
from runtime.progress import end_line, inline, log
from train.config import FitConfig
from train.data import SplitArrays, augment, random_crop

CHECKPOINT = "checkpoint.pt"
Resume = bool | Literal["auto"]  # "auto": continue a checkpoint of the same run, else start afresh
METRICS_LOG = "metrics.jsonl"

LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray], torch.Tensor]


class Normalized(nn.Module):
    """Per-lead standardization in front of a network: takes raw millivolts, returns logits."""

    def __init__(self, net: nn.Module, mean: np.ndarray, std: np.ndarray) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("normalize_mean", torch.tensor(np.array(mean), dtype=torch.float32).reshape(1, -1, 1))
        self.register_buffer("normalize_std", torch.tensor(np.array(std), dtype=torch.float32).reshape(1, -1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.normalize_mean) / self.normalize_std)


class TrainingDiverged(ToolkitError):
    """The loss became NaN or infinite."""


@dataclass
class FitResult:
    best_state: dict[str, torch.Tensor]
    best_epoch: int
    best_val_auc: float
    epochs_run: int
    history: list[dict[str, Any]]
    seconds: float


def bce_loss(logits: torch.Tensor, x: torch.Tensor, labels: torch.Tensor, rows: np.ndarray) -> torch.Tensor:
    """Multi-label binary cross-entropy on logits (the default objective)."""
    return nn.functional.binary_cross_entropy_with_logits(logits, labels)


@dataclass(frozen=True)
class Distributed:
    """Process layout under ``torchrun`` (RANK / WORLD_SIZE / LOCAL_RANK); one process otherwise.

    With several processes the model is wrapped in DistributedDataParallel, each rank trains
    on its share of every batch (gradients are averaged), rank 0 evaluates, checkpoints and
    exports, and the validation AUC is broadcast so early stopping stays in step.
    """

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls) -> Distributed:
        import os

        return cls(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                   int(os.environ.get("LOCAL_RANK", 0)))  # fmt: skip

    @property
    def main(self) -> bool:
        return self.rank == 0

    def setup(self, model: nn.Module, device: torch.device) -> nn.Module:
        """Initialize the process group and wrap ``model`` when running multi-process."""
        if self.world == 1:
            return model
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel

        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    def broadcast(self, value: float) -> float:
        """Rank 0's value on every rank."""
        if self.world == 1:
            return value
        import torch.distributed as dist

        tensor = torch.tensor([value], dtype=torch.float64)
        dist.broadcast(tensor, src=0)
        return float(tensor.item())


def choose_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def predict_torch(model: nn.Module, split: SplitArrays, device: torch.device, batch: int = 512) -> np.ndarray:
    """Sigmoid probabilities of a split (eval mode, no gradients)."""
    model.eval()
    parts = []
    with torch.no_grad():
        for start in range(0, len(split), batch):
            x = split.millivolts(slice(start, start + batch)).to(device)
            parts.append(torch.sigmoid(model(x)).cpu().numpy())
    return np.concatenate(parts)


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True`` (no code in checkpoints is ever run)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UsageError(f"{path}: not a readable checkpoint ({' '.join(str(exc).split())[:120]})") from None


def fit(
    model: Normalized,
    train: SplitArrays,
    val: SplitArrays,
    config: FitConfig,
    run_dir: Path,
    identity: dict[str, Any],
    loss_fn: LossFn = bce_loss,
    resume: Resume = False,
    progress: bool = True,
    notes: dict[str, Any] | None = None,
) -> FitResult:
    """Train ``model`` in place; return the best (validation macro AUC) weights and history."""
    if config.threads:
        torch.set_num_threads(config.threads)
    cluster = Distributed.from_env()
    device = choose_device(config.device, cluster.local_rank)
    model.to(device)
    trainer = cluster.setup(model, device)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer: torch.optim.Optimizer
    if config.optimizer == "adamw":
        optimizer = torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    else:
        optimizer = torch.optim.Adadelta(parameters, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    checkpoint_path = run_dir / CHECKPOINT
    for stale in run_dir.glob(".*.tmp"):  # temp files of a run killed mid-write (never read as results)
        stale.unlink(missing_ok=True)
    start_epoch, best_auc, best_epoch, bad_epochs = 0, -math.inf, -1, 0
    best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    history: list[dict[str, Any]] = []
    if resume == "auto":
        # resume a checkpoint of this very run (same identity); anything else starts afresh
        resume = checkpoint_path.is_file() and load_checkpoint(checkpoint_path).get("identity") == identity
    if resume:
        if not checkpoint_path.is_file():
            raise UsageError(f"--resume: no checkpoint at {checkpoint_path}")
        saved = load_checkpoint(checkpoint_path)
        if saved.get("identity") != identity:
            theirs = saved.get("identity", {})
            differing = sorted(k for k in set(theirs) | set(identity) if theirs.get(k) != identity.get(k))
            raise UsageError(f"--resume: {checkpoint_path} belongs to another run (differs in {', '.join(differing)})")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        start_epoch, best_auc, best_epoch = saved["epoch"] + 1, saved["best_auc"], saved["best_epoch"]
        bad_epochs, best_state, history = saved["bad_epochs"], saved["best_state"], saved["history"]
        log(f"resuming from epoch {start_epoch} (best val AUC {best_auc:.4f} at epoch {best_epoch})")
    started = time.perf_counter()
    labels_all = torch.from_numpy(train.labels)
    for epoch in range(start_epoch, config.epochs):
        if bad_epochs >= config.patience:
            break
        epoch_started = time.perf_counter()
        generator = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        torch.manual_seed(config.seed * 7_919 + epoch)
        order = torch.randperm(len(train), generator=generator).numpy()
        model.train()
        total, batches = 0.0, 0
        steps = math.ceil(len(order) / config.batch_size)
        for step in range(steps):
            rows = np.sort(order[step * config.batch_size : (step + 1) * config.batch_size])[
                cluster.rank :: cluster.world
            ]
            x = train.millivolts(rows)
            if config.crop:
                x = random_crop(x, config.crop, generator)
            if config.augment:
                x = augment(x, generator)
            y = labels_all[rows]
            logits = trainer(x.to(device))
            loss = loss_fn(logits, x, y.to(device), rows)
            if not torch.isfinite(loss):
                kept = (
                    f"the last good checkpoint is {checkpoint_path} (epoch {history[-1]['epoch']})"
                    if history and checkpoint_path.is_file()
                    else "no checkpoint was written yet"
                )
                raise TrainingDiverged(f"loss became {loss.item()} at epoch {epoch} step {step}; {kept}; lower --lr")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.item())
            batches += 1
            if progress and cluster.main and (step % 20 == 0 or step == steps - 1):
                inline(f"epoch {epoch + 1}/{config.epochs} step {step + 1}/{steps} loss {total / batches:.4f}")  # fmt: skip
        scheduler.step()
        val_auc = cluster.broadcast(macro_auc(val.labels, predict_torch(model, val, device)) if cluster.main else 0.0)
        improved = val_auc > best_auc
        if improved:
            best_auc, best_epoch, bad_epochs = val_auc, epoch, 0
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        else:
            bad_epochs += 1
        record = {
            "epoch": epoch, "train_loss": total / max(batches, 1), "val_macro_auc": val_auc,
            "lr": optimizer.param_groups[0]["lr"], "seconds": round(time.perf_counter() - epoch_started, 2),
            "records_per_s": round(len(order) / (time.perf_counter() - epoch_started), 1),
        }  # fmt: skip
        history.append(record)
        if progress and cluster.main:
            inline(
                f"epoch {epoch + 1}/{config.epochs} loss {record['train_loss']:.4f} val AUC {val_auc:.4f}"
                f"{' *' if improved else ''} ({record['seconds']}s)"
            )
            end_line()  # fmt: skip
        if not cluster.main:
            continue
        _save_checkpoint(checkpoint_path, {
            "epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "best_state": best_state, "best_auc": best_auc,
            "best_epoch": best_epoch, "bad_epochs": bad_epochs, "identity": identity, "history": history,
            "config": asdict(config), "notes": notes or {},
        })  # fmt: skip
        atomic_write_text(run_dir / METRICS_LOG, "".join(json.dumps(h) + "\n" for h in history))
    return FitResult(best_state, best_epoch, best_auc, len(history), history, time.perf_counter() - started)
