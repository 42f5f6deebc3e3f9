"""Tree SHAP for histogram gradient boosting that splits on categories itself (issue 14).

shap's TreeExplainer reads a boosting tree's numeric thresholds only: on a category split ("code in {2, 5, 7} goes
left") its values no longer add up (measured: off by 4 in log-odds). `CategorySplitTrees` hands shap the same trees
with every category split rewritten as a threshold on a yes/no column of its own ("does this row go left here?",
computed with scikit-learn's own rule: the left set, then known categories right, missing and unseen values where
the split sends missing ones); afterwards each yes/no column's values are added to the category column it asks
about, as one-hot columns' values are added back to their column. The values then add up exactly to the model's
raw margin, and a category column is explained as one column.
"""
from __future__ import annotations

import numpy as np

# the fields of scikit-learn's predictor nodes read here (sklearn.ensemble._hist_gradient_boosting.common)
_FIELDS = ("value", "count", "feature_idx", "num_threshold", "missing_go_to_left", "left", "right", "is_leaf",
           "is_categorical", "bitset_idx")


def _in_bitset(bitsets: np.ndarray, row: int, codes: np.ndarray) -> np.ndarray:
    words = bitsets[row][codes // 32]
    return ((words >> (codes % 32).astype(np.uint32)) & 1).astype(bool)


class CategorySplitTrees:
    """The model's trees as shap's dictionary format, category splits as thresholds on extra yes/no columns."""

    def __init__(self, model):
        self.model, self.n_features = model, int(model.n_features_in_)
        self.splits: list[tuple[object, dict]] = []          # (predictor, node) of each category split, in order
        self.known, self.f_idx_map = model._bin_mapper.make_known_categories_bitsets()
        per_class = len(model._predictors[0])
        trees = []
        for iteration in model._predictors:
            for k, predictor in enumerate(iteration):
                trees.append(self._tree(predictor, k, per_class))
        base = np.asarray(model._baseline_prediction, dtype=float).ravel()
        self.shap_model = {"trees": trees, "base_offset": base if per_class > 1 else float(base[0]),
                           "tree_output": "raw_value", "input_dtype": np.float64, "internal_dtype": np.float64}

    def _tree(self, predictor, k: int, per_class: int) -> dict:
        nodes = predictor.nodes
        leaf = nodes["is_leaf"].astype(bool)
        features = np.where(leaf, -2, nodes["feature_idx"]).astype(int)
        thresholds = nodes["num_threshold"].astype(float)
        for i in np.flatnonzero(~leaf & nodes["is_categorical"].astype(bool)):
            features[i], thresholds[i] = self.n_features + len(self.splits), 0.5    # 0 = goes left, 1 = right
            self.splits.append((predictor, {f: nodes[f][i] for f in _FIELDS}))
        left, right = nodes["left"].astype(int), nodes["right"].astype(int)
        values = np.zeros((len(nodes), per_class))
        values[:, k] = nodes["value"]
        return {"children_left": np.where(leaf, -1, left), "children_right": np.where(leaf, -1, right),
                "children_default": np.where(leaf, -1, np.where(nodes["missing_go_to_left"] == 1, left, right)),
                "features": features, "thresholds": thresholds, "values": values if per_class > 1 else values[:, :1],
                "node_sample_weight": nodes["count"].astype(float)}

    def _goes_right(self, X: np.ndarray, predictor, node: dict) -> np.ndarray:
        """scikit-learn's routing of a category split (see `_predict_one_from_raw_data`), as 0 (left) / 1."""
        values = X[:, node["feature_idx"]]
        missing = np.isnan(values) | (values < 0)
        codes = np.clip(np.nan_to_num(values, nan=0.0), 0, 255).astype(np.int64)
        left = _in_bitset(predictor.raw_left_cat_bitsets, node["bitset_idx"], codes)
        known = _in_bitset(self.known, self.f_idx_map[node["feature_idx"]], codes)
        goes_left = np.where(missing | ~(left | known), bool(node["missing_go_to_left"]), left)
        return (~goes_left).astype(float)

    def augment(self, X: np.ndarray) -> np.ndarray:
        """The rows with one yes/no column per category split appended (what `shap_model` reads)."""
        X = np.asarray(X, dtype=float)
        extra = [self._goes_right(X, p, n) for p, n in self.splits]
        return np.column_stack([X] + extra) if extra else X

    def grouping(self) -> np.ndarray:
        """(m + splits, m) 0/1: each column, and each split's yes/no column, to the column it comes from."""
        owners = np.concatenate([np.arange(self.n_features), [n["feature_idx"] for _, n in self.splits]]).astype(int)
        grouping = np.zeros((len(owners), self.n_features))
        grouping[np.arange(len(owners)), owners] = 1.0
        return grouping
