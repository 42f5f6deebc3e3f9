"""PyTorch multi-layer perceptrons behind the scikit-learn estimator interface.

`TorchMLPClassifier` and `TorchMLPRegressor` fit, predict and score like any scikit-learn model
(`clone`, `get_params`, pipelines, grid search), and add what scikit-learn's MLP lacks: a per-epoch
`progress(fraction, message, history)` callback, a choice of optimizers and schedules, dropout,
early stopping, a GPU with mixed precision when present, and multi-process training. This module holds
the estimators (their input checks, training loop, inference and persistence); the network is in
`_nets` (`build_mlp`), device, precision and threads in `_device`, optimizers and schedules in `_optim`,
the process group in `_distributed`.

Early stopping (`early_stopping=True`): with `validation_fraction` > 0, on the validation loss of a
held-out share of the rows, restoring the best epoch's weights; with `validation_fraction=0`, the way
scikit-learn's MLPClassifier stops by default: no row held out, stop once the training loss has improved
by less than `tol` for `patience` epochs. On small tables the second keeps every row for training
(benchmarks/bench_train.py compares both with scikit-learn). `init="glorot"` (the default for new
models) initialises like scikit-learn; models saved before it existed keep `init="torch"`.

Devices: the device is chosen once per fit (`device="auto"`: the GPU when there is one). On a GPU the
rows go through pinned memory with non-blocking copies and training and inference run under automatic
mixed precision (bf16 where supported, else fp16 with a gradient scaler); on the CPU the same lines run
with autocast and the scaler switched off (`_device.Precision`).

Multi-process training: inside a torchrun process group (`core.models.distributed_session`) every
process calls fit on the same rows; the network trains in DistributedDataParallel, a DistributedSampler
(`set_epoch` every epoch) deals each batch over the processes, and `batch_size` stays the effective
batch, so a run of N processes equals a one-process run up to float32 rounding (`_distributed`).

Saved runs name these classes by their path, `core.models.torch_mlp.TorchMLPClassifier` (and
Regressor), and restore their instance `__dict__`: the classes stay defined here, with the same
attribute names and fitted-state layout.

Torch is imported inside functions only, so importing this module costs no more than scikit-learn.

Speed on small tables (a 64-row batch of a small MLP costs ~150-200 µs, mostly per-op overhead): the
training data become tensors on the device once, each epoch shuffles them with one permutation and
one gather, batches are slices (views), dropout masks are drawn for many batches at once (`DropoutMasks`),
the forward pass skips nn.Module dispatch (`forward_plan`), optimizers use PyTorch's fused kernels and,
after the first step, its update without the step() wrappers (`LeanStep`), the running loss stays a
tensor (one host sync per epoch), validation runs under `inference_mode`, and small networks train on one
intra-op thread (`intra_op_threads`), because OpenMP threads make tiny matmuls several times slower, and
10x+ slower on a busy machine.

Persistence: `__getstate__` returns only plain Python and numpy values (parameters, fitted
attributes and the weights as name -> array), so fitted models go through `skops.io`, pickle and
`copy.deepcopy` without any torch object; `__setstate__` rebuilds the network on the CPU.
"""
from __future__ import annotations

import math
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from core.common import ModelDeckError, Progress
from core.models._device import intra_op_threads, precision_for, resolve_device, threads_for, to_device
from core.models._distributed import EpochBatches, current_world, reduce_epoch, wrap_for_training
from core.models._nets import (ACTIVATIONS, INITS, DropoutMasks, NetState, build_mlp, forward_plan, hidden_tuple,
                               save_safetensors)
from core.models._optim import MLP_OPTIMIZERS, SCHEDULES, make_optimizer, make_scheduler, step_function

_intra_op_threads = intra_op_threads  # old name, kept until core.explain, core.compress and benchmarks switch

_PREDICT_CHUNK = 65_536  # rows per forward pass at prediction time (bounds memory on big inputs)


class InvalidInputError(ModelDeckError, ValueError):
    """Bad training or prediction data. A ValueError for scikit-learn, a ModelDeckError for the pages."""


class TrainingDivergedError(ModelDeckError, FloatingPointError):
    """The training loss became NaN or infinite (usually a learning rate too large for the optimizer)."""


# --------------------------------------------------------------------------- input checks


def _check_finite(X: np.ndarray, what: str = "X") -> None:
    if np.isfinite(X).all():
        return
    n_nan = int(np.isnan(X).sum())
    n_inf = int(np.isinf(X).sum())
    cols = np.flatnonzero(~np.isfinite(X).all(axis=0))[:5].tolist()
    kind = "missing values (NaN)" if n_nan else "infinite values"
    raise InvalidInputError(
        f"{what} contains {n_nan + n_inf} {kind if not (n_nan and n_inf) else 'missing or infinite values'} "
        f"(first affected column positions: {cols}). The neural network cannot use them: fill them in first, "
        "e.g. with an imputer in the preprocessing, or drop those rows."
    )


def _has_missing_labels(y: np.ndarray) -> bool:
    if y.dtype.kind == "f":
        return bool(np.isnan(y).any())
    if y.dtype.kind == "O":
        return any(v is None or (isinstance(v, float) and v != v) for v in y)
    return False


# --------------------------------------------------------------------------- estimators


class _TorchMLPBase(NetState, BaseEstimator):
    """Shared parameters, training loop and persistence; subclasses define the task."""

    trains_distributed = True  # fit joins a torchrun process group (DistributedDataParallel), see _distributed

    def __init__(self, hidden=(64, 32), activation="relu", dropout=0.0, weight_decay=0.0,
                 optimizer="adam", lr=1e-3, momentum=0.9, schedule="none", step_size=30, gamma=0.1,
                 batch_size=64, epochs=100, early_stopping=True, patience=10,
                 validation_fraction=0.1, random_state=0, device="auto", mixed_precision=True, init="glorot",
                 tol=1e-4):
        self.hidden = hidden
        self.activation = activation
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.schedule = schedule
        self.step_size = step_size
        self.gamma = gamma
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.device = device
        self.mixed_precision = mixed_precision
        self.init = init
        self.tol = tol

    # ----- task hooks (overridden)
    def _encode_targets(self, y) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _n_outputs(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _stratify(self, y_enc: np.ndarray):
        return None

    def _loss_fn(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _loss_terms_per_row(self) -> int:
        """How many terms one row adds to the loss (its mean is over rows × this)."""
        return 1

    def _score_tensor(self, out, target):  # pragma: no cover - abstract
        raise NotImplementedError

    def _target_tensor(self, y_enc: np.ndarray, device):  # pragma: no cover - abstract
        raise NotImplementedError

    # ----- checks
    def _check_params(self) -> tuple[int, ...]:
        widths = hidden_tuple(self.hidden)
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"Unknown activation '{self.activation}'. Choose one of: {', '.join(ACTIVATIONS)}.")
        if self.init not in INITS:
            raise ValueError(f"Unknown init '{self.init}'. Choose one of: {', '.join(INITS)}.")
        precision_for(resolve_device("cpu"), self.mixed_precision)   # checks the value
        if self.optimizer not in MLP_OPTIMIZERS:
            raise ValueError(f"Unknown optimizer '{self.optimizer}'. Choose one of: {', '.join(MLP_OPTIMIZERS)}.")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"Unknown schedule '{self.schedule}'. Choose one of: {', '.join(SCHEDULES)}.")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}.")
        if float(self.tol) < 0:
            raise ValueError(f"tol must be 0 or more, got {self.tol}.")
        if float(self.lr) <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}.")
        if int(self.batch_size) < 1 or int(self.epochs) < 1 or int(self.patience) < 1:
            raise ValueError("batch_size, epochs and patience must be at least 1.")
        if self.early_stopping and not 0.0 <= float(self.validation_fraction) < 1.0:
            raise ValueError(f"validation_fraction must be at least 0 and below 1, got {self.validation_fraction}.")
        return widths

    def _validate_X(self, X, reset: bool) -> np.ndarray:
        X = validate_data(self, X, reset=reset, dtype=np.float32, ensure_all_finite=False)
        _check_finite(X)
        return X

    # ----- training
    def fit(self, X, y, progress: Progress | None = None):
        """Train on X, y; call progress(fraction, message, history) after every epoch. Returns self.

        Inside a process group (torchrun + `core.models.distributed_session`) every process calls fit on the same
        data and the processes train one network together with DistributedDataParallel (`_distributed`).
        """
        import torch

        start = time.perf_counter()
        widths = self._check_params()
        X = self._validate_X(X, reset=True)
        if y is None:
            raise ValueError(f"{type(self).__name__} needs a target y to fit.")
        y_enc = self._encode_targets(y)
        if len(y_enc) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y_enc)}.")

        rng = check_random_state(self.random_state)
        split_seed, torch_seed = (int(s) for s in rng.randint(0, 2**31 - 1, size=2))
        X_tr, y_tr, X_val, y_val = self._holdout(X, y_enc, split_seed)

        world = current_world()
        device = resolve_device(self.device)
        precision = precision_for(device, self.mixed_precision)
        self._net_arch = {"n_in": int(X.shape[1]), "n_out": int(self._n_outputs()), "hidden": list(widths),
                          "activation": str(self.activation), "dropout": float(self.dropout), "init": str(self.init)}
        net = build_mlp(**self._net_arch, generator=torch.Generator().manual_seed(torch_seed)).to(device)

        # Dropout draws from the device's global RNG: seed it inside a fork so that the caller's global random
        # state is the same after fit as before (each process of a group draws its own masks).
        fork_devices = [device.index] if device.type == "cuda" else []
        threads = threads_for(int(self.batch_size), self._net_arch, device)
        with torch.random.fork_rng(devices=fork_devices), intra_op_threads(threads):
            torch.manual_seed(torch_seed + world.rank)
            self._train(net, X_tr, y_tr, X_val, y_val, precision, world, torch_seed, progress, start)

        net.eval()
        self.net_ = net
        self.device_ = str(device)
        self.precision_ = precision.name
        self.processes_ = world.size
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def _holdout(self, X, y_enc, seed):
        if not self.early_stopping or float(self.validation_fraction) == 0.0:
            return X, y_enc, None, None
        from sklearn.model_selection import train_test_split

        if len(X) < 2:
            raise InvalidInputError("Early stopping needs at least 2 rows to hold some out; add data or "
                                    "set early_stopping=False.")
        frac = float(self.validation_fraction)
        try:
            X_tr, X_val, y_tr, y_val = train_test_split(X, y_enc, test_size=frac, random_state=seed,
                                                        stratify=self._stratify(y_enc))
        except ValueError:  # a class too rare to stratify: fall back to a plain random split
            X_tr, X_val, y_tr, y_val = train_test_split(X, y_enc, test_size=frac, random_state=seed)
        return X_tr, y_tr, X_val, y_val

    def _train(self, net, X_tr, y_tr, X_val, y_val, precision, world, seed, progress, start):
        import torch

        device = precision.device
        Xt, yt = to_device(X_tr, device), self._target_tensor(y_tr, device)
        has_val = X_val is not None
        if has_val:
            Xv, yv = to_device(X_val, device), self._target_tensor(y_val, device)

        loss_fn, per_row = self._loss_fn(), self._loss_terms_per_row()
        optimizer = make_optimizer(self.optimizer, net.parameters(), lr=float(self.lr),
                                   momentum=float(self.momentum), weight_decay=float(self.weight_decay),
                                   device=device)
        scheduler = make_scheduler(self.schedule, optimizer, step_size=self.step_size, gamma=float(self.gamma),
                                   epochs=int(self.epochs))
        scaler = precision.grad_scaler()

        n, epochs, patience = len(Xt), int(self.epochs), int(self.patience)
        tol = float(self.tol) if self.early_stopping and not has_val else None   # stop on the training loss
        batches = EpochBatches(n, int(self.batch_size), world, seed)
        # Each step's loss is the batch mean of one process. In a group: this process's sum over the rows of the
        # step on every process, times the processes (DistributedDataParallel averages the gradients over them).
        # `terms` converts a step's loss back to its sum, for the epoch's training loss.
        steps = [(lo, hi, None if not world.distributed else world.size / (rows * per_row),
                  rows * per_row / world.size) for lo, hi, rows in batches.batches()]
        params = [p for group in optimizer.param_groups for p in group["params"]]
        model = wrap_for_training(net, world, device)
        train_forward = model if world.distributed else forward_plan(net, training=True)
        # One process: dropout masks drawn per epoch, not per batch (DistributedDataParallel calls the modules)
        masks = (DropoutMasks(net, batches.keep, device, precision.dtype)
                 if float(self.dropout) > 0 and not world.distributed else None)
        eval_forward = forward_plan(net, training=False)
        step = step_function(optimizer, self.optimizer, amp=scaler.is_enabled(), lean=self._lean_steps)
        history: list[dict] = []
        best_loss, best_epoch, best_state, stale = math.inf, 0, None, 0
        nan_val = torch.full((), float("nan"), device=device)

        for epoch in range(1, epochs + 1):
            lr_now = float(optimizer.param_groups[0]["lr"])
            model.train()
            order = batches.epoch_order(epoch).to(device, non_blocking=True)
            Xs, ys = Xt.index_select(0, order), yt.index_select(0, order)  # one gather an epoch; batches are views
            running = torch.zeros((), device=device)
            if masks is not None:
                masks.new_epoch()
            for lo, hi, scale, terms in steps:
                xb, yb = Xs[lo:hi], ys[lo:hi]
                for p in params:  # zero_grad(set_to_none=True) without its wrappers
                    p.grad = None
                with precision.autocast():
                    out = train_forward(xb) if masks is None else train_forward(xb, masks.batch(lo, hi))
                    loss = loss_fn(out, yb) if scale is None else loss_fn(out, yb, reduction="sum") * scale
                if scaler.is_enabled():
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    step()
                running.add_(loss.detach().float(), alpha=terms)
            if scheduler is not None:
                scheduler.step()

            if has_val:
                net.eval()
                with torch.inference_mode(), precision.autocast():
                    out = eval_forward(Xv)
                    val_loss = loss_fn(out.float(), yv).float()
                    val_score = self._score_tensor(out, yv)
            else:
                val_loss = val_score = nan_val
            metrics = reduce_epoch(torch.stack([running.double(), val_loss.double(), val_score.double()]), world)
            train_total, v_loss, v_score = metrics.tolist()  # the epoch's one host sync
            train_loss = train_total / (n * per_row)
            if not math.isfinite(train_loss):
                raise TrainingDivergedError(
                    f"Training diverged in epoch {epoch}: the loss became {train_loss}. Lower the learning rate "
                    f"(now {self.lr}) or choose another optimizer, e.g. 'adam' with lr=0.001.")
            record = {"epoch": epoch, "train_loss": train_loss,
                      "val_loss": v_loss if has_val else None, "val_score": v_score if has_val else None,
                      "lr": lr_now, "seconds": time.perf_counter() - start}
            history.append(record)

            stop = False
            if has_val:
                if v_loss < best_loss:
                    best_loss, best_epoch, stale = v_loss, epoch, 0
                    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                else:
                    stale += 1
                    stop = stale >= patience
            else:
                best_epoch = epoch
                if tol is not None:  # scikit-learn's rule: the training loss stopped improving by tol
                    stale = stale + 1 if train_loss > best_loss - tol else 0
                    best_loss = min(best_loss, train_loss)
                    stop = stale >= patience
            if progress is not None:
                fraction = 1.0 if stop else epoch / epochs
                progress(fraction, self._progress_message(record, epochs, stop, best_epoch), list(history))
            if stop:
                break

        if best_state is not None:
            net.load_state_dict(best_state)
        self.history_ = history
        self.n_iter_ = len(history)
        self.best_epoch_ = best_epoch

    def _progress_message(self, record: dict, epochs: int, stopped: bool, best_epoch: int) -> str:
        parts = [f"Epoch {record['epoch']}/{epochs}", f"train loss {record['train_loss']:.4f}"]
        if record["val_loss"] is not None:
            parts.append(f"validation loss {record['val_loss']:.4f}")
            parts.append(self._score_phrase(record["val_score"]))
        message = " · ".join(parts)
        if stopped and record["val_loss"] is None:
            message += (f" · stopped: the training loss improved by less than {self.tol:g} for {self.patience} "
                        "epochs in a row")
        elif stopped:
            message += (f" · stopped early: no improvement for {self.patience} epochs,"
                        f" keeping the weights from epoch {best_epoch}")
        return message

    def _score_phrase(self, score: float) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    # ----- inference
    def _forward_numpy(self, X) -> np.ndarray:
        """Raw network outputs for X as a float32 numpy array (chunked, no autograd)."""
        import torch

        check_is_fitted(self, "net_")
        X = self._validate_X(X, reset=False)
        net = self.net_
        device = next(net.parameters()).device
        precision = precision_for(device, getattr(self, "mixed_precision", True))
        outs = []
        threads = threads_for(min(len(X), _PREDICT_CHUNK), self._net_arch, device)
        with torch.inference_mode(), intra_op_threads(threads), precision.autocast():
            for lo in range(0, max(len(X), 1), _PREDICT_CHUNK):
                outs.append(net(to_device(X[lo:lo + _PREDICT_CHUNK], device)).float())
        return torch.cat(outs).cpu().numpy()

    # ----- persistence (plain values only: skops, pickle, deepcopy; see NetState)
    def _build_net(self):
        return build_mlp(**self._net_arch)

    def _upgrade_state(self, state: dict) -> dict:
        state.setdefault("init", "torch")   # models fitted before `init` existed started from nn.Linear's law …
        state.setdefault("tol", 1e-4)       # … and could not stop on the training loss (validation_fraction > 0)
        return state

    def save_weights(self, path) -> None:
        """Write the network weights to a safetensors file (architecture is in get_params / _net_arch)."""
        check_is_fitted(self, "net_")
        save_safetensors(self.net_, path)

    def load_weights(self, path) -> "_TorchMLPBase":
        """Load weights written by save_weights into this fitted model (same architecture)."""
        from safetensors.torch import load_file

        check_is_fitted(self, "net_")
        device = next(self.net_.parameters()).device
        self.net_.load_state_dict(load_file(str(path), device=str(device)))
        return self


class TorchMLPClassifier(ClassifierMixin, _TorchMLPBase):
    """A PyTorch MLP classifier (softmax output, cross-entropy loss) with scikit-learn manners.

    Any labels work (strings included); `classes_` is their sorted order and the column order of
    `predict_proba`. Fitted attributes: classes_, n_features_in_, net_, history_ (one dict per
    epoch: epoch, train_loss, val_loss, val_score = accuracy, lr, seconds), n_iter_, best_epoch_,
    device_, fit_seconds_.
    """

    def _encode_targets(self, y) -> np.ndarray:
        from sklearn.utils.validation import column_or_1d

        y = column_or_1d(y, warn=True)
        if _has_missing_labels(y):
            raise InvalidInputError("The target has missing labels; drop those rows or fill them in first.")
        classes, y_enc = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise InvalidInputError(f"The target has only {len(classes)} distinct value; a classifier needs "
                                    "at least 2 classes.")
        self.classes_ = classes
        return y_enc.astype(np.int64)

    def _n_outputs(self) -> int:
        return len(self.classes_)

    def _stratify(self, y_enc):
        return y_enc

    def _loss_fn(self):
        import torch.nn.functional as F

        return F.cross_entropy

    def _target_tensor(self, y_enc, device):
        return to_device(y_enc, device, np.int64)

    def _score_tensor(self, out, target):
        return (out.argmax(dim=1) == target).sum().double() / len(target)

    def _score_phrase(self, score: float) -> str:
        return f"validation accuracy {100 * score:.1f}%"

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, one column per entry of classes_ (rows sum to 1)."""
        logits = self._forward_numpy(X).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self._forward_numpy(X), axis=1)]


class TorchMLPRegressor(RegressorMixin, _TorchMLPBase):
    """A PyTorch MLP regressor (mean squared error on a standardised target) with scikit-learn manners.

    y may be 1-D or 2-D (several targets). history_'s val_score is R² on the validation split.
    Fitted attributes: n_features_in_, y_mean_, y_scale_, net_, history_, n_iter_, best_epoch_,
    device_, fit_seconds_.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _encode_targets(self, y) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1-D or 2-D, got shape {y.shape}.")
        if not np.isfinite(y).all():
            raise InvalidInputError("The target has missing or infinite values; drop those rows or fill them in first.")
        self._y_ndim = y.ndim
        y2 = y.reshape(len(y), -1)
        self.y_mean_ = y2.mean(axis=0)
        scale = y2.std(axis=0)
        self.y_scale_ = np.where(scale > 0, scale, 1.0)
        return ((y2 - self.y_mean_) / self.y_scale_).astype(np.float32)

    def _n_outputs(self) -> int:
        return len(self.y_mean_)

    def _loss_fn(self):
        import torch.nn.functional as F

        return F.mse_loss

    def _loss_terms_per_row(self) -> int:
        return len(self.y_mean_)

    def _target_tensor(self, y_enc, device):
        return to_device(y_enc, device, np.float32)

    def _score_tensor(self, out, target):
        out = out.float()
        ss_res = ((target - out) ** 2).sum(dim=0)
        ss_tot = ((target - target.mean(dim=0)) ** 2).sum(dim=0).clamp_min(1e-12)
        return (1.0 - ss_res / ss_tot).mean()

    def _score_phrase(self, score: float) -> str:
        return f"validation R² {score:.3f}"

    def predict(self, X) -> np.ndarray:
        out = self._forward_numpy(X).astype(np.float64) * self.y_scale_ + self.y_mean_
        return out.ravel() if self._y_ndim == 1 else out
