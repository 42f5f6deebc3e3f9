"""Why the model says what it says, in the data set's own columns.

- Choosing an explainer: `choose_method` / `available_methods` pick the SHAP method that fits a fitted
  pipeline (Tree SHAP for forests and boosting, Linear SHAP for linear models, Deep SHAP for the PyTorch
  nets, Permutation / Kernel SHAP for anything); `METHOD_TITLES` and `METHOD_NOTES` name and describe them.
- Computing: `ShapEngine(pipeline, X_train, task, target, method)` explains raw rows (never changing itself:
  a cached engine is shared); the sampled estimators `permutation_shap`, `kernel_shap` and `expected_gradients`
  draw only from a ``numpy.random.Generator`` passed in; `explain_split`
  (a seeded sample of a run's rows) and `explain_frame` (any rows) return an `Explanation`: SHAP values
  per original column, the explained output, additivity error, predictions and the raw values.
- Storing with the run (no pickles): `explanation_stem`, `save_explanation`, `load_explanation`,
  `latest_explanation`; `save_json` / `load_json` and `save_interactions` / `load_interactions`.
- Telling: `row_summary`, `global_summary` and one `*_summary` sentence per chart, `row_table`,
  `fmt_value`, `entity_words` ("patient", "patients"); picking rows: `locate_row`, `surprising_rows`,
  `filter_rows`.
- Cross-checks: permutation importance on the test rows (`permutation_importance_test`, `rank_agreement`),
  Tree SHAP interaction values (`interaction_values`), LIME for one row (`explain_row_lime`).
- What-if: `edit_row` validates an edited row; `counterfactual` finds the smallest change that flips it.

- Pictures (a run's CNN): `picture_model` (the network from the picture side), `attribute` (captum Integrated
  Gradients / GradientShap), `deep_shap_check` (SHAP DeepExplainer on the logits, sums checked) with `reference`,
  `agreement` and `agreement_sentence`, `lime_regions` (LIME on a grid or SLIC regions), `explain_picture`
  (`PictureExplanation`: top-3 classes, maps, a caption from `where_caption`) and `confident_mistakes`; `where_it_looks` (the average
  map over many pictures, for the story);
  `IMAGE_METHODS` names the methods. Their heat maps are in `core.explain.image_charts`.

Figures live in `core.explain.charts`; the `explain` command line in `core.explain._cli`. Importing this
package is light: shap, lime, torch and scikit-learn's ensembles are imported inside the functions.
"""
from core.explain._methods import (DEFAULT_MAX_ROWS, EXACT_METHODS, METHOD_NOTES, METHOD_TITLES, available_methods,
                                   choose_method, default_rows, is_agnostic, single_threaded)
from core.explain._features import FeatureMap, OutputSpec, feature_map
from core.explain._engine import ADDITIVITY_TOL, ShapBatch, ShapEngine
from core.explain._sampling import expected_gradients, kernel_shap, permutation_shap
from core.explain._result import (Explanation, all_rows, explain_frame, explain_split, filter_rows, locate_row,
                                  sample_explained, sample_positions, surprising_rows)
from core.explain._store import (FORMAT_VERSION, explanation_stem, latest_explanation, load_explanation,
                                 load_interactions, load_json, save_explanation, save_interactions, save_json)
from core.explain._narrate import (beeswarm_summary, dependence_summary, entity_words, feature_direction, fmt_push,
                                   fmt_value, global_summary, importance_summary, percentile_phrase, prediction_phrase,
                                   row_summary, row_table, strongest_interaction, unused_columns_note,
                                   waterfall_summary)
from core.explain._permutation import (PermutationResult, permutation_importance_test, permutation_summary,
                                       rank_agreement)
from core.explain._interactions import InteractionResult, interaction_summary, interaction_values
from core.explain._lime import LimeResult, explain_row_lime, lime_summary
from core.explain._whatif import Counterfactual, counterfactual, edit_row
from core.explain._images import METHODS as IMAGE_METHODS
from core.explain._images import (LimeRegions, Mistake, PictureExplanation, PictureModel, ShapCheck, agreement,
                                  agreement_sentence, attribute, confident_mistakes, deep_shap_check, explain_picture,
                                  lime_regions, picture_model, reference, segmentation_for, where_caption,
                                  WhereItLooks, where_it_looks)

__all__ = [
    # choosing an explainer
    "DEFAULT_MAX_ROWS", "EXACT_METHODS", "METHOD_NOTES", "METHOD_TITLES", "available_methods", "choose_method",
    "default_rows", "is_agnostic", "single_threaded",
    # computing
    "FeatureMap", "OutputSpec", "feature_map", "ADDITIVITY_TOL", "ShapBatch", "ShapEngine",
    "permutation_shap", "kernel_shap", "expected_gradients",
    "Explanation", "all_rows", "explain_frame", "explain_split", "filter_rows", "locate_row", "sample_positions",
    "sample_explained", "surprising_rows",
    # storing
    "FORMAT_VERSION", "explanation_stem", "latest_explanation", "load_explanation", "load_interactions", "load_json",
    "save_explanation", "save_interactions", "save_json",
    # telling
    "beeswarm_summary", "dependence_summary", "entity_words", "feature_direction", "fmt_push", "fmt_value",
    "global_summary", "importance_summary", "percentile_phrase", "prediction_phrase", "row_summary", "row_table",
    "strongest_interaction", "unused_columns_note", "waterfall_summary",
    # cross-checks
    "PermutationResult", "permutation_importance_test", "permutation_summary", "rank_agreement",
    "InteractionResult", "interaction_summary", "interaction_values",
    "LimeResult", "explain_row_lime", "lime_summary",
    # what-if
    "Counterfactual", "counterfactual", "edit_row",
    # pictures (a run's CNN)
    "IMAGE_METHODS", "PictureModel", "picture_model", "attribute", "ShapCheck", "deep_shap_check", "reference",
    "agreement", "agreement_sentence", "LimeRegions", "lime_regions", "segmentation_for", "PictureExplanation",
    "explain_picture", "where_caption", "Mistake", "confident_mistakes", "WhereItLooks", "where_it_looks",
]
