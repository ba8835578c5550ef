"""The trained network as one portable file: its resolved config plus its weights.

Loads on CPU or any number of devices, with `weights_only=True`, and without Lightning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from torch import nn

from dlforge import class_names


def save_net(path: str | Path, net_config: dict[str, Any], net: nn.Module) -> None:
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    stored = {
        **net_config,
        "_target_": class_names.stable(net_config["_target_"]),
    }  # a stable class name (dlforge.class_names)
    torch.save({"net": stored, "state_dict": state}, path)


def load_net(path: str | Path) -> nn.Module:
    blob = torch.load(path, map_location="cpu", weights_only=True)
    net = instantiate({**blob["net"], "_target_": class_names.resolve(blob["net"]["_target_"])})
    net.load_state_dict(blob["state_dict"])
    return net.eval()
