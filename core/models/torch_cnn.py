"""A small convolutional network behind the scikit-learn estimator interface, for image data sets.

`TorchCNNClassifier` reads the flat pixel rows of an image ``Dataset`` (the same rows every other model gets),
reshapes them to pictures inside the network, and trains like `TorchMLPClassifier`: the same optimizers and
schedules (`_optim`), early stopping on a seeded validation split that restores the best weights, a per-epoch
``progress(fraction, message, history)`` callback with the same history records, and a GPU with mixed precision
when present (`_device`). Its size comes from the picture size (`_cnn_net.cnn_arch`). Augmentation
(``aug_*`` parameters, `core.data.Augment`) is applied on the fly to each training batch, one random draw per
picture, from a seeded generator; validation and prediction see the pictures as they are.

Multi-process training: inside a torchrun process group (`core.models.distributed_session`) every process calls
fit on the same pictures; the network trains in DistributedDataParallel, a DistributedSampler (`set_epoch` every
epoch) deals each batch over the processes and `batch_size` stays the effective batch, as for the MLP
(`_distributed`). On the CPU each process's batch norm sees its half of the batch (SyncBatchNorm needs GPUs), so two
processes train close to one, not bit for bit; rank 0's batch-norm statistics are copied to all after each epoch.

Transfer learning: ``fit(X, y, init_weights=...)`` starts the feature layers (convolutions and batch norms)
from another CNN's weights (a name -> array dict, e.g. `feature_weights()` of a fitted CNN or a safetensors
file checked by `check_feature_weights`), with ``freeze_features=True`` (convolutions fixed) or
``features_lr`` < 1 (convolutions learn at that share of the learning rate); the head always starts fresh.

Saved runs name this class by its path, `core.models.torch_cnn.TorchCNNClassifier`: keep it here under this
name. `__getstate__` holds only plain values and numpy weights (skops, pickle, deepcopy); `__setstate__`
rebuilds the network on the CPU. Torch is imported inside functions only.
"""
from __future__ import annotations

import math
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from core.common import ModelDeckError, Progress
from core.models._cnn_net import build_cnn, cnn_arch, conv_parameters, feature_names, infer_image_shape
from core.models._device import intra_op_threads, resolve_device
from core.models._distributed import (EpochBatches, broadcast_buffers, current_world, reduce_epoch, sync_batch_norm,
                                      wrap_for_training)
from core.models._nets import NetState, save_safetensors
from core.models._optim import MLP_OPTIMIZERS, SCHEDULES, make_optimizer, make_scheduler, step_function
from core.models.torch_mlp import InvalidInputError, TrainingDivergedError, _check_finite

_PREDICT_CHUNK = 2048   # pictures per forward pass at prediction time


class TorchCNNClassifier(NetState, ClassifierMixin, BaseEstimator):
    """Conv → pool blocks and a small dense head, trained with PyTorch; pictures arrive as flat pixel rows.

    Fitted attributes: classes_, n_features_in_, net_, arch_, history_ (epoch, train_loss, val_loss,
    val_score = accuracy, lr, seconds), n_iter_, best_epoch_, pixel_range_, device_, processes_, fit_seconds_.
    """

    trains_distributed = True  # fit joins a torchrun process group (DistributedDataParallel), see _distributed

    def __init__(self, width=16, blocks=0, dense=64, dropout=0.25, optimizer="adam", lr=1e-3, momentum=0.9,
                 schedule="none", step_size=10, gamma=0.1, weight_decay=1e-4, batch_size=64, epochs=30,
                 early_stopping=True, patience=6, validation_fraction=0.1, aug_shift=0.0, aug_rotation=0.0,
                 aug_flip="none", aug_brightness=0.0, aug_contrast=0.0, aug_noise=0.0, aug_blur=0.0,
                 image_shape=None, freeze_features=False, features_lr=1.0, random_state=0, device="auto",
                 mixed_precision=True, threads=None):
        self.width = width
        self.blocks = blocks
        self.dense = dense
        self.dropout = dropout
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.schedule = schedule
        self.step_size = step_size
        self.gamma = gamma
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.aug_shift = aug_shift
        self.aug_rotation = aug_rotation
        self.aug_flip = aug_flip
        self.aug_brightness = aug_brightness
        self.aug_contrast = aug_contrast
        self.aug_noise = aug_noise
        self.aug_blur = aug_blur
        self.image_shape = image_shape
        self.freeze_features = freeze_features
        self.features_lr = features_lr
        self.random_state = random_state
        self.device = device
        self.mixed_precision = mixed_precision
        self.threads = threads

    # ----- checks
    def augment(self):
        """The augmentation these parameters describe (`core.data.Augment`)."""
        from core.data import Augment
        return Augment.from_params(self.get_params())

    def _check_params(self) -> None:
        if self.optimizer not in MLP_OPTIMIZERS:
            raise ValueError(f"Unknown optimizer '{self.optimizer}'. Choose one of: {', '.join(MLP_OPTIMIZERS)}.")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"Unknown schedule '{self.schedule}'. Choose one of: {', '.join(SCHEDULES)}.")
        if not 0.0 <= float(self.dropout) < 1.0 or float(self.lr) <= 0 or not 0.0 <= float(self.features_lr) <= 1.0:
            raise ValueError("dropout must be in [0, 1), lr positive and features_lr in [0, 1].")
        if min(int(self.batch_size), int(self.epochs), int(self.patience), int(self.width), int(self.dense)) < 1:
            raise ValueError("batch_size, epochs, patience, width and dense must be at least 1.")
        self.augment()

    def _validate_X(self, X, reset: bool) -> np.ndarray:
        X = validate_data(self, X, reset=reset, dtype=np.float32, ensure_all_finite=False)
        _check_finite(X)
        return X

    def _encode_targets(self, y) -> np.ndarray:
        from sklearn.utils.validation import column_or_1d

        y = column_or_1d(y, warn=True)
        classes, y_enc = np.unique(y.astype(str) if y.dtype.kind == "O" else y, return_inverse=True)
        if len(classes) < 2:
            raise InvalidInputError(f"The target has only {len(classes)} class; a classifier needs at least 2.")
        self.classes_ = classes
        return y_enc.astype(np.int64)

    # ----- training
    def fit(self, X, y, progress: Progress | None = None, init_weights: dict | None = None):
        """Train on flat pixel rows X and labels y; ``progress(fraction, message, history)`` after every epoch."""
        import torch

        start = time.perf_counter()
        self._check_params()
        X = self._validate_X(X, reset=True)
        y_enc = self._encode_targets(y)
        if len(y_enc) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y_enc)}.")
        try:
            shape = tuple(int(v) for v in self.image_shape) if self.image_shape else infer_image_shape(X.shape[1])
            self.arch_ = cnn_arch(shape, len(self.classes_), self.width, self.blocks, self.dense, self.dropout)
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from None
        rng = check_random_state(self.random_state)
        split_seed, torch_seed = (int(s) for s in rng.randint(0, 2**31 - 1, size=2))
        X_tr, y_tr, X_val, y_val = self._holdout(X, y_enc, split_seed)
        self.pixel_range_ = (float(X_tr.min()), float(X_tr.max()))
        device = resolve_device(self.device)
        net = build_cnn(**self.arch_, seed=torch_seed)
        if init_weights is not None:
            check_feature_weights(net, init_weights)
            keep = set(feature_names(net))   # the head always starts fresh
            net.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in init_weights.items() if k in keep},
                                strict=False)
        net = net.to(device)
        world = current_world()
        fork = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=fork), intra_op_threads(self._threads(device)):
            torch.manual_seed(torch_seed + world.rank)   # dropout draws from the global RNG: seeded inside a fork
            self._train(net, X_tr, y_tr, X_val, y_val, device, torch_seed, progress, start,
                        transfer=init_weights is not None, world=world)
        if any(isinstance(m, torch.nn.SyncBatchNorm) for m in net.modules()):   # back to plain batch norm
            plain = build_cnn(**self.arch_).to(device)
            plain.load_state_dict(net.state_dict())
            net = plain
        net.eval()
        self.net_, self.device_, self.processes_ = net, str(device), world.size
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def _holdout(self, X, y_enc, seed):
        if not self.early_stopping:
            return X, y_enc, None, None
        from sklearn.model_selection import train_test_split

        try:
            X_tr, X_val, y_tr, y_val = train_test_split(X, y_enc, test_size=float(self.validation_fraction),
                                                        random_state=seed, stratify=y_enc)
        except ValueError:   # a class too rare to stratify
            X_tr, X_val, y_tr, y_val = train_test_split(X, y_enc, test_size=float(self.validation_fraction),
                                                        random_state=seed)
        return X_tr, y_tr, X_val, y_val

    def _optimizer(self, net, device, transfer: bool):
        """One parameter group, or two when transferred features learn slower (or not at all)."""
        conv = conv_parameters(net) if transfer else []
        conv_ids = {id(p) for p in conv}
        rest = [p for p in net.parameters() if id(p) not in conv_ids]
        kwargs = dict(lr=float(self.lr), momentum=float(self.momentum), weight_decay=float(self.weight_decay),
                      device=device)
        if transfer and (self.freeze_features or float(self.features_lr) == 0.0):
            for p in conv:
                p.requires_grad_(False)
            return make_optimizer(self.optimizer, rest, **kwargs)
        optimizer = make_optimizer(self.optimizer, rest, **kwargs)
        if conv:
            optimizer.add_param_group({"params": conv, "lr": float(self.lr) * float(self.features_lr)})
        return optimizer

    def _train(self, net, X_tr, y_tr, X_val, y_val, device, seed, progress, start, transfer, world):
        import torch
        import torch.nn.functional as F

        use_amp = bool(self.mixed_precision) and device.type == "cuda"
        Xt = torch.from_numpy(np.ascontiguousarray(X_tr)).to(device)
        yt = torch.from_numpy(y_tr).to(device)
        has_val = X_val is not None
        if has_val:
            Xv, yv = torch.from_numpy(np.ascontiguousarray(X_val)).to(device), torch.from_numpy(y_val).to(device)
        optimizer = self._optimizer(net, device, transfer)
        scheduler = make_scheduler(self.schedule, optimizer, step_size=self.step_size, gamma=float(self.gamma),
                                   epochs=int(self.epochs))
        step = step_function(optimizer, self.optimizer, amp=use_amp, lean=self._lean_steps)
        scaler = torch.amp.GradScaler("cuda") if use_amp else None
        aug_gen = torch.Generator(device=device).manual_seed(seed + 1 + world.rank)
        aug, shape = self.augment(), [len(Xt)] + self.arch_["image_shape"]
        n, epochs = len(Xt), int(self.epochs)
        batches = EpochBatches(n, int(self.batch_size), world, seed)
        # Batch norm needs two pictures per process in a step: a step with fewer is skipped on every process.
        # Each step's loss is the batch mean; in a group, this process's sum times processes / the step's rows, so
        # DistributedDataParallel's gradient average is the one-process batch mean (see _distributed).
        steps = [(lo, hi, rows) for lo, hi, rows in batches.batches() if rows >= 2 * world.size]
        trained_rows = sum(rows for _lo, _hi, rows in steps)
        model = wrap_for_training(sync_batch_norm(net, world, device), world, device)
        history: list[dict] = []
        best_loss, best_epoch, best_state, stale = math.inf, 0, None, 0
        for epoch in range(1, epochs + 1):
            lr_now = float(optimizer.param_groups[0]["lr"])
            model.train()
            order = batches.epoch_order(epoch).to(device)      # set_epoch: a new shuffle every epoch
            running = torch.zeros((), device=device)
            for lo, hi, rows in steps:
                idx = order[lo:hi]
                xb = Xt[idx]
                if aug.active:              # one random draw per picture, training batches only
                    xb = _augment(xb, shape, aug, aug_gen, self.pixel_range_)
                optimizer.zero_grad(set_to_none=True)
                with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=use_amp):
                    if world.distributed:
                        loss = F.cross_entropy(model(xb), yt[idx], reduction="sum") * (world.size / rows)
                    else:
                        loss = F.cross_entropy(model(xb), yt[idx])
                if scaler is None:
                    loss.backward()
                    step()
                else:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                running += loss.detach().float() * (rows / world.size)
            if scheduler is not None:
                scheduler.step()
            broadcast_buffers(net, world)   # every process validates (and rank 0 keeps) rank 0's batch-norm statistics
            val_loss = val_score = math.nan
            if has_val:
                val_loss, val_score = self._evaluate(net, Xv, yv)
            figures = reduce_epoch(torch.tensor([float(running), val_loss, val_score], dtype=torch.float64,
                                                device=device), world)
            train_total, val_loss, val_score = figures.tolist()
            train_loss = train_total / max(trained_rows, 1)
            if not has_val:
                val_loss = val_score = None
            if not math.isfinite(train_loss):
                raise TrainingDivergedError(f"Training diverged in epoch {epoch}: the loss became {train_loss}. "
                                            f"Lower the learning rate (now {self.lr}).")
            history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_score": val_score,
                            "lr": lr_now, "seconds": time.perf_counter() - start})
            stop = False
            if has_val and val_loss < best_loss:
                best_loss, best_epoch, stale = val_loss, epoch, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            elif has_val:
                stale += 1
                stop = stale >= int(self.patience)
            else:
                best_epoch = epoch
            if progress is not None:
                progress(1.0 if stop else epoch / epochs, _message(history[-1], epochs, stop, best_epoch,
                                                                   int(self.patience)), list(history))
            if stop:
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        self.history_, self.n_iter_, self.best_epoch_ = history, len(history), best_epoch

    @staticmethod
    def _evaluate(net, X, y) -> tuple[float, float]:
        import torch
        import torch.nn.functional as F

        net.eval()
        with torch.inference_mode():
            out = torch.cat([net(X[lo:lo + _PREDICT_CHUNK]).float() for lo in range(0, len(X), _PREDICT_CHUNK)])
            loss = F.cross_entropy(out, y)
            score = (out.argmax(1) == y).double().mean()
            return float(loss), float(score)

    def _threads(self, device) -> int | None:
        """`threads` when set; else one intra-op thread for pictures up to 32×32 on the CPU: a 64-picture step of a
        28×28 CNN took 13 ms on two threads of an idle 2-core machine but 100-350 ms when other processes kept the
        cores busy, and 17 ms on one (`python -m benchmarks images` compares both)."""
        if getattr(self, "threads", None):     # runs saved before this parameter existed have no attribute
            return int(self.threads)
        _c, height, width = self.arch_["image_shape"]
        return 1 if device.type == "cpu" and height * width <= 32 * 32 else None

    # ----- inference
    def _forward_numpy(self, X) -> np.ndarray:
        import torch

        check_is_fitted(self, "net_")
        X = self._validate_X(X, reset=False)
        device = next(self.net_.parameters()).device
        outs = []
        with torch.inference_mode(), intra_op_threads(self._threads(device)):
            for lo in range(0, max(len(X), 1), _PREDICT_CHUNK):
                xb = torch.from_numpy(np.ascontiguousarray(X[lo:lo + _PREDICT_CHUNK])).to(device)
                outs.append(self.net_(xb).float().cpu().numpy())
        return np.concatenate(outs, axis=0)

    def decision_function(self, X) -> np.ndarray:
        """Class logits (what attributions explain)."""
        return self._forward_numpy(X)

    def predict_proba(self, X) -> np.ndarray:
        from core.common import softmax
        return softmax(self._forward_numpy(X).astype(np.float64))

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self._forward_numpy(X), axis=1)]

    # ----- transfer and persistence
    def feature_weights(self) -> dict[str, np.ndarray]:
        """The feature layers' weights (convolutions and batch norms) as name -> array, for `fit(init_weights=…)`."""
        check_is_fitted(self, "net_")
        state = self.net_.state_dict()
        return {k: state[k].detach().cpu().numpy().copy() for k in feature_names(self.net_)}

    def save_weights(self, path) -> None:
        """Every weight of the network as a safetensors file (the architecture is in `arch_`)."""
        check_is_fitted(self, "net_")
        save_safetensors(self.net_, path)

    def _build_net(self):
        return build_cnn(**self.arch_)


def _augment(xb, shape, aug, generator, value_range):
    from core.data import augment_batch

    pictures = xb.view(len(xb), *shape[1:])
    return augment_batch(pictures, aug, generator, value_range).reshape(len(xb), -1)


def _message(record: dict, epochs: int, stopped: bool, best_epoch: int, patience: int) -> str:
    parts = [f"Epoch {record['epoch']}/{epochs}", f"train loss {record['train_loss']:.4f}"]
    if record["val_loss"] is not None:
        parts += [f"validation loss {record['val_loss']:.4f}", f"validation accuracy {100 * record['val_score']:.1f}%"]
    message = " · ".join(parts)
    if stopped:
        message += f" · stopped early: no improvement for {patience} epochs, keeping the weights from epoch {best_epoch}"
    return message


def check_feature_weights(net, weights: dict) -> None:
    """Refuse starting weights that do not fit the feature layers of `net` (names and shapes), saying what differs."""
    expected = {k: tuple(v.shape) for k, v in net.state_dict().items() if k in set(feature_names(net))}
    given = {k: tuple(np.shape(v)) for k, v in weights.items()}
    missing = sorted(set(expected) - set(given))
    wrong = [f"{k}: {given[k]} instead of {expected[k]}" for k in sorted(set(expected) & set(given))
             if given[k] != expected[k]]
    if missing or wrong:
        detail = "; ".join(wrong[:3]) or f"missing {', '.join(missing[:4])}"
        raise ModelDeckError(f"These weights do not fit this CNN's convolution layers ({detail}). Use weights saved "
                             "from a ModelDeck CNN with the same picture size, channels, width and blocks.")
