"""The model zoo: every model family behind the scikit-learn estimator interface.

- The zoo (`_zoo`): `FAMILIES` describes each family (`Family`) and its knobs (`Param`) once, for the
  pages, the CLI and the tuner; a `ModelSpec` (family + params + seed) is small, JSON-serialisable and
  hashable, and `make_estimator(spec, task)` builds the same seeded, unfitted estimator from it.
  `DEFAULT_LEADERBOARD` is the families a leaderboard trains by default. `has_category_splits(model)`: a fitted
  gradient boosting model that splits on categories itself (its cleaning gives it category codes).
- The PyTorch MLP (`torch_mlp`): `TorchMLPClassifier` and `TorchMLPRegressor`, scikit-learn estimators with
  a per-epoch progress callback, early stopping, a choice of optimizers and schedules, and a GPU when present.
  `build_mlp` builds the bare seeded network (reused by compression and export).
- The PyTorch CNN (`torch_cnn`): `TorchCNNClassifier` for image data sets (pixel rows in, pictures inside), the
  same training manners as the MLP plus per-picture augmentation and transfer learning (`init_weights`,
  `freeze_features`, `features_lr`); `build_cnn` / `cnn_arch` build its network; `check_feature_weights` refuses
  starting weights of another shape. Transfer learning against training from scratch: `transfer_study`.
- `OPTIMIZERS` / `OPTIMIZER_TITLES`: the optimizers the product offers and their names for people.
- `intra_op_threads(n)`: run a block on n torch threads, then restore the caller's setting.
- Multi-process training (`_distributed`): under `torchrun`, `distributed_session()` joins the process group (gloo
  on CPU, NCCL on GPU) and the MLP's fit trains with DistributedDataParallel; `World` says this process's rank,
  `env_world()` reads it from torchrun's environment, `local_batch_size` checks a batch splits over the processes.

Importing this package is light: scikit-learn ensembles and torch are imported inside the functions that use them.
"""
from core.models._device import intra_op_threads
from core.models._distributed import World, distributed_session, env_world, local_batch_size
from core.models._nets import build_mlp
from core.models._optim import OPTIMIZER_TITLES, OPTIMIZERS
from core.models._zoo import (
    DEFAULT_LEADERBOARD,
    FAMILIES,
    IMAGE_FAMILIES,
    Family,
    ModelSpec,
    Param,
    default_params,
    family,
    has_category_splits,
    make_estimator,
)
from core.models.torch_mlp import InvalidInputError, TorchMLPClassifier, TorchMLPRegressor, TrainingDivergedError
from core.models._cnn_net import build_cnn, cnn_arch, count_cnn_params, infer_image_shape
from core.models.torch_cnn import TorchCNNClassifier, check_feature_weights
from core.models._transfer import (STARTS, PretrainedFeatures, TransferResult, label_budget_rows, transfer_study,
                                   weights_from_safetensors)

__all__ = [
    # the zoo
    "DEFAULT_LEADERBOARD", "FAMILIES", "Family", "ModelSpec", "Param", "default_params", "family", "make_estimator",
    "has_category_splits",
    # optimizers the product offers
    "OPTIMIZERS", "OPTIMIZER_TITLES",
    # the PyTorch MLP
    "TorchMLPClassifier", "TorchMLPRegressor", "InvalidInputError", "TrainingDivergedError", "build_mlp",
    "intra_op_threads",
    # multi-process training (torchrun + DistributedDataParallel)
    "World", "distributed_session", "env_world", "local_batch_size",
    # the PyTorch CNN (image data sets)
    "IMAGE_FAMILIES", "TorchCNNClassifier", "build_cnn", "cnn_arch", "count_cnn_params", "infer_image_shape", "check_feature_weights",
    "STARTS", "TransferResult", "label_budget_rows", "transfer_study", "PretrainedFeatures", "weights_from_safetensors",
]
