"""The CNN architectures, in torch (training only: inference runs the exported ONNX).

Both networks take log-mel patches ``(N, T, F)`` (frames x mel bands, the
layout of :mod:`genrekit.features.logmel`) and return class logits ``(N, C)``.

- :class:`SmallVGG` (``--init scratch``): input batch norm, four blocks of
  3x3 conv -> batch norm -> ReLU -> 2x2 max-pool (16, 32, 64, 64 channels),
  global mean + max pooling over time and frequency, dropout, linear. ~80k
  parameters: GTZAN-sized data (hundreds of tracks) cannot fit more.
- :class:`MusicnnNet` (``--init musicnn``): musicnn (Pons & Serra, 2019)
  layer for layer as :mod:`genrekit.musicnn.graph` builds it (same weights,
  same padding, batch-norm epsilon 1e-3), with the 50-tag output layer
  replaced by a new genre head on the 200-unit penultimate layer.
  :func:`load_musicnn` fills it from the converted weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from genrekit.models.cnn import FINE_TUNE_LEVELS

BN_EPSILON = 1e-3  # musicnn's (TensorFlow's) batch-norm epsilon
BN_MOMENTUM = 0.01  # TensorFlow's default decay 0.99, in torch's convention


class SmallVGG(nn.Module):
    """A small VGG-style CNN over ``(N, T, F)`` log-mel patches."""

    def __init__(self, n_classes: int, n_mels: int = 96, channels: tuple[int, ...] = (16, 32, 64, 64),
                 dropout: float = 0.3) -> None:
        super().__init__()
        self.input_bn = nn.BatchNorm2d(1)
        blocks: list[nn.Module] = []
        c_in = 1
        for c_out in channels:
            blocks += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                       nn.MaxPool2d(2, ceil_mode=True)]
            c_in = c_out
        self.body = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * c_in, n_classes)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.body(self.input_bn(mel.unsqueeze(1)))  # (N, C, T', F')
        x = x.flatten(2)
        x = torch.cat([x.mean(dim=2), x.amax(dim=2)], dim=1)
        return self.head(self.dropout(x))

    def param_groups(self, lr: float, pretrained_lr_scale: float) -> list[dict[str, Any]]:
        return [{"params": list(self.parameters()), "lr": lr}]


class _FrontendBranch(nn.Module):
    """musicnn front-end branch: conv -> ReLU -> batch norm -> max over frequency -> ``(N, C, T)``."""

    def __init__(self, kernel: tuple[int, int], filters: int, pad_time: tuple[int, int]) -> None:
        super().__init__()
        self.pad_time = pad_time
        self.conv = nn.Conv2d(1, filters, kernel)
        self.bn = nn.BatchNorm2d(filters, eps=BN_EPSILON, momentum=BN_MOMENTUM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (0, 0, *self.pad_time))  # (left, right) on frequency, (top, bottom) on time
        return self.bn(F.relu(self.conv(x))).amax(dim=3)


class _MidendConv(nn.Module):
    """musicnn mid-end layer: 1-D conv over time (kernel 7, zero-padded by 3) -> ReLU -> batch norm."""

    def __init__(self, c_in: int, filters: int = 64) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c_in, filters, 7, padding=3)
        self.bn = nn.BatchNorm1d(filters, eps=BN_EPSILON, momentum=BN_MOMENTUM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(F.relu(self.conv(x)))


class MusicnnNet(nn.Module):
    """musicnn with a genre head: log-mel ``(N, T, 96)`` -> genre logits ``(N, n_classes)``.

    ``fine_tune`` says how deep training reaches: ``head`` (the new head
    only), ``backend`` (+ pooling batch norm and the 200-unit dense layer),
    ``midend`` (+ the three mid-end convolutions) or ``all`` (+ the input batch
    norm and front-end). Layers below that level stay frozen throughout, their
    batch norms on their pretrained statistics. When the front-end is frozen
    (every level but ``all``) training can run from cached front-end outputs
    (:meth:`front_end` once per patch, :meth:`back_end` every step): the
    front-end is ~95 % of musicnn's compute, which is what makes fine-tuning
    fit a CPU budget.

    ``tags`` keeps musicnn's 50-tag output layer (for the parity test with
    :mod:`genrekit.musicnn.graph`); it is not used for genres.
    """

    PRETRAINED = ("input_bn", "frontend", "midend", "pool_bn", "dense", "dense_bn")
    _TUNED_PRETRAINED = {"head": (), "backend": ("pool_bn", "dense", "dense_bn"),
                         "midend": ("midend", "pool_bn", "dense", "dense_bn"), "all": PRETRAINED}

    def __init__(self, n_classes: int, dropout: float = 0.5, fine_tune: str = "head") -> None:
        super().__init__()
        if fine_tune not in FINE_TUNE_LEVELS:
            raise ValueError(f"unknown fine_tune {fine_tune!r}; choose from {', '.join(FINE_TUNE_LEVELS)}")
        self.fine_tune = fine_tune
        self.input_bn = nn.BatchNorm2d(1, eps=BN_EPSILON, momentum=BN_MOMENTUM)
        self.frontend = nn.ModuleDict({
            "timbral74": _FrontendBranch((7, 38), 204, (3, 3)),
            "timbral77": _FrontendBranch((7, 67), 204, (3, 3)),
            "temporal128": _FrontendBranch((128, 1), 51, (63, 64)),
            "temporal64": _FrontendBranch((64, 1), 51, (31, 32)),
            "temporal32": _FrontendBranch((32, 1), 51, (15, 16)),
        })
        self.midend = nn.ModuleDict({"midend1": _MidendConv(561), "midend2": _MidendConv(64),
                                     "midend3": _MidendConv(64)})
        self.pool_bn = nn.BatchNorm1d(1506, eps=BN_EPSILON, momentum=BN_MOMENTUM)
        self.dense = nn.Linear(1506, 200)
        self.dense_bn = nn.BatchNorm1d(200, eps=BN_EPSILON, momentum=BN_MOMENTUM)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(200, n_classes)
        self.tags: nn.Linear | None = None
        self.set_pretrained_trainable(False)

    @property
    def frozen_front_end(self) -> bool:
        """True when the input batch norm and front-end never train (their outputs can be cached)."""
        return self.fine_tune != "all"

    def front_end(self, mel: torch.Tensor) -> torch.Tensor:
        """Input batch norm and the five front-end branches: ``(N, T, 96)`` -> ``(N, 561, T)``."""
        x = self.input_bn(mel.unsqueeze(1))  # (N, 1, T, 96)
        return torch.cat([branch(x) for branch in self.frontend.values()], dim=1)

    def _penultimate_from_front(self, front: torch.Tensor) -> torch.Tensor:
        m1 = self.midend["midend1"](front)
        m2 = self.midend["midend2"](m1) + m1
        m3 = self.midend["midend3"](m2) + m2
        features = torch.cat([front, m1, m2, m3], dim=1)  # (N, 753, T)
        # TensorFlow's concat + flatten interleaves max and mean per feature: [max_0, mean_0, max_1, ...]
        pooled = torch.stack([features.amax(dim=2), features.mean(dim=2)], dim=2).flatten(1)
        pooled = self.dropout(self.pool_bn(pooled))
        return self.dense_bn(F.relu(self.dense(pooled)))

    def back_end(self, front: torch.Tensor) -> torch.Tensor:
        """Genre logits from front-end outputs ``(N, 561, T)``: mid-end, pooling, dense layer, head."""
        return self.head(self.dropout(self._penultimate_from_front(front)))

    def penultimate(self, mel: torch.Tensor) -> torch.Tensor:
        """The 200-unit penultimate layer (batch-normalised ReLU), ``(N, 200)``."""
        return self._penultimate_from_front(self.front_end(mel))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.back_end(self.front_end(mel))

    def _layers(self, names: tuple[str, ...]) -> list[nn.Module]:
        return [getattr(self, name) for name in names]

    def tuned_parameters(self) -> list[nn.Parameter]:
        """The pretrained parameters that ``fine_tune`` lets train (after the freeze epochs)."""
        return [p for layer in self._layers(self._TUNED_PRETRAINED[self.fine_tune]) for p in layer.parameters()]

    def param_groups(self, lr: float, pretrained_lr_scale: float) -> list[dict[str, Any]]:
        """The tuned pretrained layers learn ``pretrained_lr_scale`` times slower than the new head."""
        groups = [{"params": list(self.head.parameters()), "lr": lr}]
        tuned = self.tuned_parameters()
        return groups + ([{"params": tuned, "lr": lr * pretrained_lr_scale}] if tuned else [])

    def set_pretrained_trainable(self, trainable: bool) -> None:
        """Unfreeze (``True``) the layers ``fine_tune`` allows, or freeze every pretrained layer.

        Frozen layers get no gradients and their batch norms keep their
        pretrained statistics even in training mode.
        """
        tuned = set(self._TUNED_PRETRAINED[self.fine_tune]) if trainable else set()
        for name in self.PRETRAINED:
            for p in getattr(self, name).parameters():
                p.requires_grad_(name in tuned)
        self._trainable_pretrained = tuned
        self.train(self.training)

    def train(self, mode: bool = True) -> "MusicnnNet":
        super().train(mode)
        for name in self.PRETRAINED:
            if name not in getattr(self, "_trainable_pretrained", set(self.PRETRAINED)):
                for module in getattr(self, name).modules():
                    if isinstance(module, nn.modules.batchnorm._BatchNorm):
                        module.eval()
        return self


def _copy_bn(bn: nn.modules.batchnorm._BatchNorm, weights: dict[str, np.ndarray], layer: str) -> None:
    p = f"{layer}.bn."
    with torch.no_grad():
        bn.weight.copy_(torch.from_numpy(weights[p + "gamma"]))
        bn.bias.copy_(torch.from_numpy(weights[p + "beta"]))
        bn.running_mean.copy_(torch.from_numpy(weights[p + "moving_mean"]))
        bn.running_var.copy_(torch.from_numpy(weights[p + "moving_variance"]))


def load_musicnn(net: MusicnnNet, weights: dict[str, np.ndarray], *, keep_tags: bool = False) -> MusicnnNet:
    """Fill ``net`` with converted musicnn weights (:func:`genrekit.musicnn.weights.load_weights`).

    Kernels are transposed from TensorFlow's layout as in :mod:`genrekit.musicnn.graph`.
    ``keep_tags`` also attaches musicnn's 50-tag output layer as ``net.tags``.
    """
    def t(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    with torch.no_grad():
        _copy_bn(net.input_bn, weights, "input")
        for layer, branch in net.frontend.items():
            branch.conv.weight.copy_(t(weights[f"{layer}.kernel"].transpose(3, 2, 0, 1)))  # HWIO -> OIHW
            branch.conv.bias.copy_(t(weights[f"{layer}.bias"]))
            _copy_bn(branch.bn, weights, layer)
        for layer, conv in net.midend.items():
            conv.conv.weight.copy_(t(weights[f"{layer}.kernel"][:, :, 0, :].transpose(2, 1, 0)))  # -> (64, C, 7)
            conv.conv.bias.copy_(t(weights[f"{layer}.bias"]))
            _copy_bn(conv.bn, weights, layer)
        _copy_bn(net.pool_bn, weights, "pool")
        net.dense.weight.copy_(t(weights["dense.kernel"].T))
        net.dense.bias.copy_(t(weights["dense.bias"]))
        _copy_bn(net.dense_bn, weights, "dense")
        if keep_tags:
            net.tags = nn.Linear(200, weights["output.kernel"].shape[1])
            net.tags.weight.copy_(t(weights["output.kernel"].T))
            net.tags.bias.copy_(t(weights["output.bias"]))
    return net


ARCHITECTURES = ("scratch", "musicnn")


def build_network(init: str, n_classes: int, n_mels: int, **options: Any) -> nn.Module:
    """The untrained network for ``init`` (``scratch`` or ``musicnn``; musicnn gets its weights separately)."""
    if init == "scratch":
        return SmallVGG(n_classes, n_mels=n_mels, **options)
    if init == "musicnn":
        if n_mels != 96:
            raise ValueError("musicnn takes 96 mel bands")
        return MusicnnNet(n_classes, **options)
    raise ValueError(f"unknown --init {init!r}; choose from {', '.join(ARCHITECTURES)}")


def count_parameters(net: nn.Module) -> int:
    return int(sum(p.numel() for p in net.parameters()))


__all__ = ["ARCHITECTURES", "FINE_TUNE_LEVELS", "MusicnnNet", "SmallVGG", "build_network", "count_parameters", "load_musicnn"]
