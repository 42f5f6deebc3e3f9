"""Multi-process training through PyTorch's own machinery: `torchrun` starts the processes, a process group
(gloo on CPU, NCCL on GPU) links them, `DistributedDataParallel` averages the gradients and a
`DistributedSampler` deals the rows. Nothing here is home-made distribution.

- `World`: this process's rank among how many; `env_world()` reads what torchrun set (RANK, WORLD_SIZE,
  LOCAL_RANK); `current_world()` is the group a fit takes part in (a world of one unless a process group is up).
- `distributed_session()`: join the group torchrun prepared for the length of a command, then leave it.
- `EpochBatches`: which rows this process trains on, batch by batch, each epoch. The `batch_size` a user sets is
  the *effective* batch, split evenly over the processes, so the same seed and batch size give the same
  training as one process: the sampler's permutation (seed + epoch, `set_epoch` every epoch) is the one a
  single process uses, the rows of global batch k are dealt round-robin over the ranks, the sampler's padding
  (rows repeated so every rank gets as many) is dropped so each row counts once per epoch, and each rank's loss
  is its rows' sum over the global batch's row count times the number of processes, so DDP's gradient average
  is the one-process batch mean. What differs is only the order of floating-point additions (and the dropout
  masks, drawn per process).
- `wrap_for_training(net, world, device)`: the network itself alone, or inside `DistributedDataParallel`.
- `sync_batch_norm(net, world, device)`, `broadcast_buffers(net, world)`: batch norm in a group (the CNN).
- `reduce_epoch(values, world)`: one all-reduce per epoch so every rank sees the same epoch figures and takes the
  same early-stopping decision.

Torch is imported inside functions only.
"""
from __future__ import annotations

import math
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

from core.common import ModelDeckError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch


@dataclass(frozen=True)
class World:
    """This process's place among the processes that train one model together."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes runs, progress and output."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def env_world() -> World:
    """The world torchrun describes in this process's environment (a world of one without torchrun)."""
    try:
        size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise ModelDeckError("WORLD_SIZE, RANK and LOCAL_RANK must be whole numbers; start multi-process "
                             "training with torchrun --standalone --nproc_per_node N -m core train ….") from None
    return World(rank, max(size, 1), local)


def current_world() -> World:
    """The process group a fit in this thread trains with: the default group when one is up (and this is the main
    thread: fits started from worker threads, e.g. parallel cross-validation, train alone), else a world of one."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or threading.current_thread() is not threading.main_thread():
        return World()
    return World(dist.get_rank(), dist.get_world_size(), env_world().local_rank)


def backend_for_this_machine() -> str:
    """gloo on CPU; NCCL for CUDA tensors when there is a GPU (gloo still carries the CPU tensors)."""
    import torch
    import torch.distributed as dist

    if torch.cuda.is_available() and dist.is_nccl_available():
        return "cpu:gloo,cuda:nccl"
    return "gloo"


@contextmanager
def distributed_session() -> Iterator[World]:
    """Join the process group torchrun prepared (rendezvous from its environment) and leave it at the end.

    Without torchrun (WORLD_SIZE unset or 1) this yields a world of one and touches nothing.
    """
    world = env_world()
    if not world.distributed:
        yield world
        return
    import torch
    import torch.distributed as dist

    backend = backend_for_this_machine()
    if "nccl" in backend:
        torch.cuda.set_device(world.local_rank % torch.cuda.device_count())
    dist.init_process_group(backend=backend)
    try:
        yield World(dist.get_rank(), dist.get_world_size(), world.local_rank)
        dist.barrier()      # every rank is done before any tears the group down (a peer leaving mid-way aborts gloo)
    finally:
        dist.destroy_process_group()


def local_batch_size(batch_size: int, world: World) -> int:
    """The rows per step on each process for an effective batch of `batch_size` rows."""
    if batch_size % world.size:
        lower = batch_size - batch_size % world.size
        raise ModelDeckError(
            f"A batch of {batch_size} rows does not split evenly over {world.size} processes. Pick a batch size "
            f"that is a multiple of {world.size} (e.g. {lower or world.size} or {lower + world.size}), so the "
            "training matches a one-process run with the same batch size.")
    return batch_size // world.size


class EpochBatches:
    """The rows this process trains on, batch by batch, in each epoch (see the module docstring).

    `epoch_order(epoch)` gives this rank's rows for the epoch (indices into the training rows), `batches()` the
    (start, stop) slices of that order for each step and the number of rows the whole step covers over every
    process. Every rank takes the same number of steps (some may get no row in the last one).
    """

    def __init__(self, n_rows: int, batch_size: int, world: World, seed: int):
        from torch.utils.data.distributed import DistributedSampler

        self.n, self.batch, self.world = int(n_rows), int(batch_size), world
        self.local = local_batch_size(self.batch, world)
        self.sampler = DistributedSampler(range(self.n), num_replicas=world.size, rank=world.rank, shuffle=True,
                                          seed=int(seed), drop_last=False)
        self.keep = len(range(world.rank, self.n, world.size))   # this rank's rows without the sampler's padding
        self.steps = math.ceil(self.n / self.batch)

    def epoch_order(self, epoch: int) -> "torch.Tensor":
        import torch

        self.sampler.set_epoch(epoch)
        if self.world.size == 1:   # the sampler's own permutation, without its round trip through a list (~80 µs)
            return torch.randperm(self.n, generator=torch.Generator().manual_seed(self.sampler.seed + epoch))
        return torch.tensor(list(self.sampler)[:self.keep], dtype=torch.int64)

    def batches(self) -> Iterator[tuple[int, int, int]]:
        """(start, stop) into this rank's epoch order, and the rows of the whole step over every process."""
        for step in range(self.steps):
            yield step * self.local, (step + 1) * self.local, min(self.batch, self.n - step * self.batch)


def wrap_for_training(net, world: World, device: "torch.device"):
    """The module a training step calls: `net` itself, or `net` in DistributedDataParallel (which broadcasts rank
    0's weights once and averages the gradients during backward)."""
    if not world.distributed:
        return net
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index if device.index is not None else 0] if device.type == "cuda" else None
    return DistributedDataParallel(net, device_ids=ids)


def sync_batch_norm(net, world: World, device: "torch.device"):
    """The module to train: on GPUs in a group, `net` with PyTorch's SyncBatchNorm (batch statistics over every
    process's pictures; it shares `net`'s weights and buffers); otherwise `net` itself. SyncBatchNorm runs on GPUs
    only, so on the CPU each process normalises by its own share of the batch (PyTorch's default under DDP): a
    network with batch norm then trains close to, not exactly like, one process."""
    if not world.distributed or device.type != "cuda":
        return net
    from torch import nn

    return nn.SyncBatchNorm.convert_sync_batchnorm(net)


def broadcast_buffers(net, world: World) -> None:
    """Copy rank 0's buffers (batch-norm running statistics) to every process, so all evaluate the model rank 0
    keeps."""
    if not world.distributed:
        return
    import torch.distributed as dist

    for buffer in net.buffers():
        dist.broadcast(buffer, src=0)


def reduce_epoch(values: "torch.Tensor", world: World, summed: int = 1) -> "torch.Tensor":
    """All-reduce one epoch's figures: the first `summed` entries are added over the processes, the rest averaged
    (each rank computed them on the same rows with the same weights, so the average only guards the decisions)."""
    if not world.distributed:
        return values
    import torch.distributed as dist

    dist.all_reduce(values)
    values[summed:] /= world.size
    return values
