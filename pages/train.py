"""Train: one model with live curves, a leaderboard of several, or the same network with each optimizer."""
import streamlit as st

from core.models import DEFAULT_LEADERBOARD, FAMILIES, OPTIMIZER_TITLES, ModelSpec
from ui.common import caption, current_dataset, current_prep, param_widgets, user_errors
from ui.training import estimate_seconds, processes_picker, train_controls

st.title("Train")
dataset = current_dataset()
prep = current_prep()
from ui import images as image_ui  # noqa: E402  (issue 13: pictures get the CNN, augmentation and transfer views)
if image_ui.is_image(dataset):
    from ui.image_training import train_view
    train_view(dataset, prep)
    st.stop()
caption(f"Train models on **{dataset.name}** to predict '{dataset.target}' ({dataset.task}). "
           f"Cleaning: {prep.describe(bool(dataset.categorical_features))} (change it on the Data page).")

tab_one, tab_board, tab_opt = st.tabs(["One model", "Leaderboard", "Compare optimizers"], key="train_tab")

with tab_one:
    family_key = st.selectbox("Model", list(FAMILIES), format_func=lambda k: FAMILIES[k].title[dataset.task],
                              key="train_family", persist_state="session")
    caption(FAMILIES[family_key].summary)
    with st.expander("Settings", expanded=family_key == "mlp"):
        params = param_widgets(family_key, "one")
        cv_folds = st.slider("Cross-validation folds (0 = skip)", 0, 10, 5, key="train_cv", persist_state="session")
    with user_errors():
        spec = ModelSpec.create(family_key, seed=prep.seed, **params)
    estimate = estimate_seconds(dataset, spec, cv_folds)
    train_controls(dataset, spec, prep, cv_folds, estimate=estimate, key="train",
                   processes=processes_picker(dataset, family_key))

with tab_board:
    caption("Train several models on the same split in one click. They are ranked by cross-validation on the "
            "training rows; only the chosen one is then scored on the test rows, once.")
    chosen = st.multiselect("Models", list(FAMILIES), default=list(DEFAULT_LEADERBOARD),
                            format_func=lambda k: FAMILIES[k].title[dataset.task], key="board_models",
                            persist_state="session")
    from core.train import SORT_METRICS
    metric = st.selectbox("Rank by", SORT_METRICS[dataset.task], key="board_metric", persist_state="session",
                          format_func=lambda m: m.replace("_", " "))
    if not chosen:
        st.info("Pick at least one model to put on the leaderboard.", icon=":material/info:")
    budget = st.number_input("Time budget for the whole leaderboard (seconds)", 5, 3600, 120, step=5,
                             key="board_budget", persist_state="session",
                             help="A model expected to overrun what is left is skipped; a model still training when "
                                  "the time runs out is stopped. The models that finished are kept and shown.")
    if st.button("Train leaderboard", type="primary", key="board_go", disabled=not chosen):
        from ui.training import train_leaderboard
        train_leaderboard(dataset, chosen, prep, budget_seconds=budget)
    caption("The leaderboard trains in the background: you can leave this page or close the tab, and find it here "
            "again.")
    from ui.training import leaderboard_view
    leaderboard_view(dataset, metric)

with tab_opt:
    caption("The same network, data and seed trained with each optimizer: which one learns fastest here?")
    params = param_widgets("mlp", "opt", skip=("optimizer",))
    optimizers = st.multiselect("Optimizers", list(OPTIMIZER_TITLES), default=list(OPTIMIZER_TITLES),
                                format_func=OPTIMIZER_TITLES.get, key="opt_list", persist_state="session")
    with user_errors():
        base = ModelSpec.create("mlp", seed=prep.seed, **params)
    if st.button("Compare optimizers", type="primary", key="opt_go", disabled=not optimizers):
        from ui.training import compare_optimizers_job
        compare_optimizers_job(dataset, base, prep, optimizers)
    from ui.training import optimizer_view
    optimizer_view(dataset)
