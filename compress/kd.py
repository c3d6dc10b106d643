"""Multi-label knowledge distillation loss.

Each class is an independent Bernoulli, so the soft targets are the teacher's sigmoid
probabilities at temperature T (not a softmax): ``(1 - alpha) * BCE(student, labels) +
alpha * T^2 * BCE(sigmoid(student / T), sigmoid(teacher / T))``.  The T^2 factor keeps
the soft term's gradient scale independent of T, as in Hinton et al.
"""

from __future__ import annotations

import torch
from torch.nn import functional


def multilabel_kd_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor, temperature: float, alpha: float
) -> torch.Tensor:
    """Hard-label BCE blended with temperature-scaled BCE against the teacher's probabilities."""
    hard = functional.binary_cross_entropy_with_logits(student_logits, labels)
    soft_targets = torch.sigmoid(teacher_logits / temperature)
    soft = functional.binary_cross_entropy_with_logits(student_logits / temperature, soft_targets)
    return (1.0 - alpha) * hard + alpha * temperature**2 * soft
