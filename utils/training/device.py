"""Where training runs: the device, torchrun's process group, and the precision of the model.

* :func:`resolve_device`: ``"auto"`` is CUDA when available, else the CPU; asking for CUDA
  without it is a clear error.
* :class:`Dist`: world size, rank and device of this process.  Plain ``python`` is one process;
  under ``torchrun`` (WORLD_SIZE > 1) each process takes the GPU of its local rank (NCCL) or,
  with ``--device=cpu``, a CPU share (gloo).  Only rank 0 writes files.
* :func:`autocast_dtype`: what ``amp`` (off | bf16 | auto) runs the model in on a device.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as td

from utils.training.config import AMP_MODES

__all__ = ["Dist", "resolve_device", "autocast_dtype"]


@dataclass
class Dist:
    """Process-group facts: world size 1 unless launched by torchrun (WORLD_SIZE > 1)."""

    world: int
    rank: int
    device: torch.device
    owns_group: bool = False

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, device: str) -> "Dist":
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls(1, 0, resolve_device(device))
        rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        dev = resolve_device(device)
        if dev.type == "cuda":                        # one GPU per process, chosen by torchrun
            n_gpus = torch.cuda.device_count()
            if local_rank >= n_gpus:
                raise ValueError(f"torchrun started process {local_rank} on this node but it has only "
                                 f"{n_gpus} CUDA device(s): use --nproc_per_node at most {n_gpus}, "
                                 f"or train on the CPU with --device=cpu")
            dev = torch.device("cuda", local_rank)
            torch.cuda.set_device(dev)
        owns = not td.is_initialized()
        if owns:
            td.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
        return cls(world, rank, dev, owns)

    def barrier(self) -> None:
        if self.active:
            td.barrier()

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        if self.active:
            td.all_reduce(t, op=td.ReduceOp.SUM)
        return t

    def close(self) -> None:
        if self.owns_group:
            td.destroy_process_group()


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but CUDA is not available; use --device=cpu or --device=auto")
    return dev


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The dtype ``amp`` runs the model in on ``device`` (None: float32, no autocast).

    ``"auto"`` means bfloat16 only on a CPU with native bfloat16 matrix instructions (AMX or
    AVX512-BF16), where oneDNN runs the convolutions ~1.7-2x faster; elsewhere bfloat16 would be
    emulated (slower), so float32.
    """
    if amp == "off":
        return None
    if amp == "bf16":
        return torch.bfloat16
    if amp == "auto":
        native = device.type == "cpu" and (torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())
        return torch.bfloat16 if native else None
    raise ValueError(f"amp must be one of {AMP_MODES}, got {amp!r}")
