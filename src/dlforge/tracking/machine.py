"""What a run's figures depend on beyond code, data and seed: the CPU and torch's thread count.

Same machine, same seed: metrics repeat bit for bit. Another CPU (other SIMD kernels) or another
thread count (parallel reductions add in another order) can change the last digits, and over many
epochs the chosen epoch; these tags say which was used (docs/reliability.md).
"""

from __future__ import annotations

import platform
from pathlib import Path

from dlforge import keys as K


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def tags() -> dict[str, str]:
    import torch

    return {
        K.CPU: cpu_model(),
        K.TORCH_THREADS: str(torch.get_num_threads()),
        K.TORCH_VERSION: torch.__version__,
    }
