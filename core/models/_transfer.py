"""Transfer learning without downloads: a CNN trained on one image set starts the training on another.

`transfer_study` takes a fitted source CNN and a target set already brought to the source's picture size and
channels (`core.data.resize_images`), keeps a seeded, stratified budget of labelled training pictures per class
(e.g. 50 and 200), and trains on exactly those pictures, with the same seed and settings, (a) from scratch and
(b) from the source's convolution layers (frozen, at a tenth of the learning rate, or all fine-tuned), with a
fresh head. Every model is
scored once on the target's test split; the result says what the pretrained start bought at each budget.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.common import ModelDeckError, Progress, no_progress, sub_progress

STARTS = {"scratch": "from scratch", "frozen": "pretrained, convolutions frozen",
          "lower_lr": "pretrained, convolutions at 1/10 of the learning rate",
          "all": "pretrained, every layer fine-tuned"}
_SETTINGS = {"scratch": {}, "frozen": {"freeze_features": True}, "lower_lr": {"features_lr": 0.1},
             "all": {"features_lr": 1.0}}


@dataclass
class TransferResult:
    """Test accuracy of each start at each label budget, on the same labelled pictures and the same test split."""

    source: str
    target: str
    rows: list[dict] = field(default_factory=list)   # budget, labelled, start, accuracy, epochs, seconds
    test_pictures: int = 0
    classes: int = 0

    def budget_words(self, budget: int, labelled: int) -> str:
        """'50 per class' or, when a class has fewer training pictures, 'up to 200 per class (all there are)'."""
        if self.classes and labelled < budget * self.classes:
            return f"up to {budget} per class: {labelled:,} pictures, all some classes have"
        return f"{budget} per class"

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def gain(self, per_class: int, start: str) -> float:
        table = self.table()
        at = table[table["budget"] == per_class].set_index("start")["accuracy"]
        return float(at[start] - at["scratch"])

    def sentence(self) -> str:
        """What the pretrained start bought, budget by budget, in points of test accuracy."""
        table = self.table()
        parts = []
        for budget, group in table.groupby("budget", sort=True):
            at = group.set_index("start")
            scratch = at.loc["scratch", "accuracy"]
            best = at.drop(index="scratch")["accuracy"].idxmax()
            gain = at.loc[best, "accuracy"] - scratch
            labelled = int(at.loc["scratch", "labelled"])
            effect = (f"bought {gain * 100:.1f} points of test accuracy" if gain >= 0.005 else
                      f"cost {-gain * 100:.1f} points of test accuracy" if gain <= -0.005 else
                      f"made little difference ({gain * 100:+.1f} points)")
            parts.append(f"with {labelled:,} labelled pictures ({self.budget_words(budget, labelled)}) the best pretrained start "
                         f"({STARTS[best]}) {effect}: {at.loc[best, 'accuracy']:.1%} against {scratch:.1%} from scratch")
        text = "; ".join(parts)
        return (f"Starting from the CNN trained on {self.source}: {text}. Measured once on the same "
                f"{self.test_pictures:,} test pictures of {self.target}; every model saw the same labelled pictures.")


@dataclass
class PretrainedFeatures:
    """Feature-layer weights with the architecture they belong to (a user's safetensors file)."""

    arch_: dict
    weights: dict
    name: str = "uploaded weights"

    def feature_weights(self) -> dict:
        return self.weights


def weights_from_safetensors(data: bytes, image_shape, width: int = 16, blocks: int = 0, dense: int = 64,
                             name: str = "uploaded weights") -> PretrainedFeatures:
    """Read a safetensors file (never a pickle) and keep its feature layers if they fit a CNN for these pictures."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    from core.models._cnn_net import build_cnn, cnn_arch, feature_names
    from core.models.torch_cnn import check_feature_weights

    try:
        tensors = load(bytes(data))
    except (SafetensorError, ValueError, TypeError) as exc:
        raise ModelDeckError(f"'{name}' is not a safetensors file ({exc}). Save the weights with "
                             "safetensors (e.g. `safetensors.torch.save_file`); pickles are never loaded.") from None
    arch = cnn_arch(image_shape, 2, width, blocks, dense)
    net = build_cnn(**arch)
    check_feature_weights(net, tensors)
    return PretrainedFeatures(arch, {k: tensors[k] for k in feature_names(net)}, name)


def label_budget_rows(y: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Indices of up to `per_class` seeded picks per class (all of a class when it has fewer)."""
    rng = np.random.default_rng(seed)
    y = np.asarray(y).astype(str)
    picks = [rng.permutation(np.flatnonzero(y == label))[:per_class] for label in np.unique(y)]
    return np.sort(np.concatenate(picks))


def _accuracy(model, X, y) -> float:
    return float(np.mean(model.predict(X).astype(str) == np.asarray(y).astype(str)))


def transfer_study(source, X_train: np.ndarray, y_train, X_test: np.ndarray, y_test, *, budgets=(50, 200),
                   starts=("frozen", "lower_lr", "all"), params: dict | None = None, seed: int = 0, source_name: str = "",
                   target_name: str = "", progress: Progress | None = None) -> TransferResult:
    """Scratch against pretrained starts at each label budget (pictures already at the source's geometry)."""
    from core.models.torch_cnn import TorchCNNClassifier

    progress = progress or no_progress
    if not hasattr(source, "feature_weights") or not hasattr(source, "arch_"):
        raise ModelDeckError("Transfer learning starts from a trained CNN; train one on the Train page first.")
    expected = int(np.prod(source.arch_["image_shape"]))
    if X_train.shape[1] != expected:
        raise ModelDeckError(f"The target pictures have {X_train.shape[1]} pixels but the source CNN reads {expected}; "
                             "resize them to the source's picture size first.")
    unknown = set(starts) - set(STARTS) | ({"scratch"} & set(starts))
    if unknown:
        raise ModelDeckError(f"Unknown start(s) {sorted(unknown)}; choose from {', '.join(k for k in STARTS if k != 'scratch')}.")
    weights, arch = source.feature_weights(), source.arch_
    # a fixed number of epochs and no validation split: with 50 labelled pictures a class, holding some out for
    # early stopping wastes labels and stops on noise; every start gets the same steps
    base = {"width": arch["convs"][0], "blocks": len(arch["convs"]), "dense": arch["dense"], "epochs": 30,
            "early_stopping": False, "random_state": seed} | (params or {})
    runs = [(b, s) for b in budgets for s in ("scratch", *starts)]
    result = TransferResult(source_name or "the source set", target_name or "the target set",
                            test_pictures=len(X_test), classes=len(np.unique(np.asarray(y_train).astype(str))))
    for i, (budget, start) in enumerate(runs):
        rows = label_budget_rows(y_train, int(budget), seed)
        model = TorchCNNClassifier(**(base | _SETTINGS[start]))
        began = time.perf_counter()
        step = sub_progress(progress, i, len(runs), f"{budget} per class, {STARTS[start]}")
        model.fit(X_train[rows], np.asarray(y_train)[rows], progress=lambda f, m, h=None, s=step: s(f, m),
                  init_weights=None if start == "scratch" else weights)
        result.rows.append({"budget": int(budget), "labelled": len(rows), "start": start,
                            "accuracy": _accuracy(model, X_test, y_test), "epochs": model.n_iter_,
                            "seconds": time.perf_counter() - began})
    progress(1.0, "Transfer study done")
    return result
