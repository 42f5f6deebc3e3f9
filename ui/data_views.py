"""The Data page's sections: the CSV upload form, every column's fate (and changing it), names and units for people,
the cleaning choices and their preview, and oversampling offered for imbalanced classes."""
from __future__ import annotations

import streamlit as st

from core.data import IMPUTERS, SCALERS
from core.data import charts as charts_data
from ui.common import (attempt, caption, chart, current_prep, empty_uploader, forget_display_names, select,
                       to_json, uploader_key, user_errors)
from ui.data import (balancing, cleaning, column_choices, set_column_choices, store_class_names, store_labels,
                     store_upload)


def upload_section() -> None:
    from core.data import infer_task, make_dataset, read_csv
    from core.data import upload_limits
    uploaded = st.file_uploader(f"CSV file (comma, semicolon, tab or pipe separated; {upload_limits()})",
                                type=["csv", "txt", "tsv"], key=uploader_key("upload_file"))
    if uploaded is None:
        return
    read = attempt(read_csv, uploaded.getvalue(), uploaded.name)
    if read is None:
        return
    for note in read.notes:
        st.info(note)
    caption(f"Read {len(read.frame):,} rows × {read.frame.shape[1]} columns "
               f"(separator: {read.delimiter_name}, encoding {read.encoding}, "
               f"{'header row found' if read.has_header else 'no header row: columns numbered'}).")
    st.dataframe(read.frame.head(20), height=240)
    columns = list(read.frame.columns)
    target = st.selectbox("Target column (what the model should predict)", columns, index=len(columns) - 1,
                          key="upload_target")
    guessed = infer_task(read.frame[target])
    task = st.radio("Task", ["classification", "regression"], index=0 if guessed == "classification" else 1,
                    horizontal=True, key=f"upload_task_{target}",
                    help=f"Guessed from the target column: {guessed}.")
    if st.button("Use this data set", type="primary", key="upload_use"):
        description = f"Uploaded from {uploaded.name}: {len(read.frame):,} rows, predicting '{target}'."
        dataset = attempt(make_dataset, read.frame, target, task=task, name=uploaded.name.rsplit(".", 1)[0],
                          description=description)
        if dataset is not None:
            with user_errors():
                select("data", store_upload(dataset))
                empty_uploader("upload_file")
                st.toast(f"Now using '{dataset.name}'.", icon=":material/check:")
            select("run", None)
            st.rerun()


def column_table(dataset, fates, prof) -> None:
    """Every column's fate in one table, and a way to change any of them."""
    from core.data import ALLOWED, USES, plan_table
    table = plan_table(fates)
    st.dataframe(table, hide_index=True, height=min(460, 36 * (len(table) + 1)),
                 column_config={"why": st.column_config.TextColumn(width=1200), "type": st.column_config.TextColumn(
                                    width=85), "used as": st.column_config.TextColumn(width=165),
                                "distinct": st.column_config.NumberColumn(width=65),
                                "missing": st.column_config.NumberColumn(format="percent")})
    caption("Rules: identifiers, near-unique codes, free text, constant and empty columns are left out; dates too "
            "(or year / month / day of week if you choose); categories with at most 15 values get a 0/1 column "
            "each; with more, the 20 commonest get a column each when they cover 80% of rows, otherwise each value "
            "becomes the average target of the training rows with it (cross-fitted target encoding). Gradient "
            "boosting reads the first two kinds as one column of category codes instead of 0/1 columns.")
    a, b, c = st.columns([2, 2, 1])
    column = a.selectbox("Change the use of", [f.column for f in fates], key="fate_column")
    fate = next(f for f in fates if f.column == column)
    allowed = list(ALLOWED.get(fate.kind, ("drop",)))
    current = fate.use if fate.use in allowed else allowed[0]
    use = b.selectbox("Use it as", allowed, index=allowed.index(current), format_func=USES.get,
                      key=f"fate_use_{column}")
    choices = column_choices(dataset.key)
    if c.button("Apply", key="fate_apply", disabled=use == fate.use):
        set_column_choices(dataset.key, choices | {column: use})
        st.rerun()
    if choices:
        caption("Your choices: " + ", ".join(f"'{k}' → {USES[v]}" for k, v in choices.items()) + ".")
        if st.button("Back to the rules", key="fate_reset"):
            set_column_choices(dataset.key, {})
            st.rerun()
    if prof.missing.sum():
        chart(charts_data.missing_figure(prof))
    else:
        caption("No missing values: nothing to impute.")


def labels_editor(dataset) -> None:
    """Human labels and units, given once; every chart and sentence in the app uses them."""
    import pandas as pd

    from core.data import load_labels
    from ui.common import labels_owner
    labels = load_labels(dataset.key, labels_owner())
    columns = [*dataset.features, dataset.target]
    table = pd.DataFrame({"column": columns, "label": [labels.get(c, ("", ""))[0] for c in columns],
                          "unit": [labels.get(c, ("", ""))[1] for c in columns]})
    edited = st.data_editor(table, disabled=["column"], hide_index=True, key=f"labels_{dataset.key}",
                            height=min(420, 36 * (len(columns) + 1)))
    if st.button("Save names and units", key="labels_save", icon=":material/save:"):
        with user_errors():
            store_labels(dataset.key, {r.column: (r.label or "", r.unit or "") for r in edited.itertuples()}, columns)
            forget_display_names()
        st.success("Saved: charts and sentences now use these names.")


def class_names_section(dataset) -> None:
    """Names for classes that are bare codes (0/1, small integers), asked for once: shown openly until every class
    has a name, then kept in an expander to change them. Saved for this user; every view of a class uses them."""
    from core.data import bare_codes
    from ui.common import class_names
    if dataset.task != "classification":
        return
    classes = list(dict.fromkeys(str(c) for c in dataset.frame[dataset.target].dropna().unique()))   # distinct first
    if not bare_codes(classes) or len(classes) > 20:
        return
    classes.sort(key=float)
    names = class_names(dataset.key)
    missing = [c for c in classes if c not in names]
    box = st.container(border=True) if missing else st.expander("Class names", icon=":material/sell:")
    with box:
        if missing:
            st.markdown(f"**What do the classes of '{dataset.target}' mean?** They are bare codes "
                        f"({', '.join(classes[:6])}); name them once and the confusion matrix, the scores per class, "
                        "the story and the predictions say the names.")
        import pandas as pd
        table = pd.DataFrame({"class": classes, "name": [names.get(c, "") for c in classes]})
        edited = st.data_editor(table, disabled=["class"], hide_index=True, key=f"class_names_{dataset.key}")
        if st.button("Save class names", key="class_names_save", icon=":material/save:"):
            with user_errors():
                store_class_names(dataset.key, {r[0]: r[1] or "" for r in edited.itertuples(index=False)}, classes)
            st.success("Saved: charts, tables and sentences now name the classes.", icon=":material/check:")
            st.rerun()


def cleaning_controls(dataset) -> None:
    """The cleaning and normalization choices (kept in the session; every model's pipeline applies them)."""
    defaults = current_prep()
    a, b, c = st.columns(3)
    with a:
        kept = {"persist_state": "session"}
        st.checkbox("Drop duplicate rows", defaults.drop_duplicates, key="prep_drop_duplicates", **kept)
        st.checkbox("Clip outliers (1.5 × IQR)", defaults.clip_outliers, key="prep_clip_outliers", **kept)
        if dataset.categorical_features:
            st.checkbox("One-hot encode categories", defaults.one_hot, key="prep_one_hot", **kept)
    with b:
        st.selectbox("Fill missing numbers with", IMPUTERS, index=IMPUTERS.index(defaults.impute_numeric),
                     key="prep_impute_numeric", persist_state="session", format_func=lambda v: v.replace("_", " "))
        if dataset.categorical_features:
            st.selectbox("Fill missing categories with", ("none", "most_frequent"),
                         index=("none", "most_frequent").index(defaults.impute_categorical),
                         key="prep_impute_categorical", persist_state="session",
                         format_func=lambda v: v.replace("_", " "))
        st.selectbox("Scaling", SCALERS, index=SCALERS.index(defaults.scaling), key="prep_scaling",
                     persist_state="session")
    with c:
        st.select_slider("Test split (share of rows held out)", [round(0.05 * i, 2) for i in range(2, 11)],
                         value=round(defaults.test_size, 2), key="prep_test_size", persist_state="session",
                         format_func=lambda v: f"{v:.0%}")
        st.number_input("Random seed", 0, 2**31 - 1, defaults.seed, key="prep_seed", persist_state="session")


def balance_section(dataset, data_advice: list) -> None:
    """Offered when the advisor sees imbalanced classes: oversampling of the training folds, compared side by side."""
    from core.train import RESAMPLERS, balancing_sentence
    imbalance = next((a for a in data_advice if a.rule == "class_imbalance"), None)
    if dataset.task != "classification" or (imbalance is None and current_prep().resample == "none"):
        return
    st.markdown("**Imbalanced classes**")
    options = list(RESAMPLERS)
    st.selectbox("Oversample the rare classes (training folds only)", options,
                 index=options.index(current_prep().resample), format_func=RESAMPLERS.get, key="prep_resample",
                 persist_state="session")
    if st.button("Compare with the plain model", key="balance_go"):
        st.session_state["balance_shown"] = dataset.key
    if st.session_state.get("balance_shown") == dataset.key:
        with user_errors():
            table = balancing(dataset.key, to_json(current_prep().to_dict()))
        recall = next(c for c in table.columns if c.startswith("recall of"))
        shown = table.drop(columns=["method"]).assign(**{"training rows by class": table["training rows by class"].map(
            lambda d: ", ".join(f"{k}: {v:,}" for k, v in d.items()))})
        st.dataframe(shown, hide_index=True, column_config={
            "balanced_accuracy": st.column_config.NumberColumn("balanced accuracy (CV)", format="percent"),
            "balanced_accuracy_std": st.column_config.NumberColumn("± std", format="percent"),
            recall: st.column_config.NumberColumn(f"{recall} (out-of-fold)", format="percent")})
        caption(balancing_sentence(table) + " Logistic regression, 5-fold cross-validation; the test rows are not "
                "used.")


def cleaning_preview(dataset) -> None:
    """What the chosen cleaning does to the training rows: a sentence, one column before and after, statistics."""
    prep = current_prep()
    with user_errors():
        preview = cleaning(dataset.key, to_json(prep.to_dict()))
    caption(preview.sentence())
    if len(preview.before.columns):
        column = st.selectbox("Compare a column before and after", list(preview.before.columns), key="clean_column")
        chart(charts_data.before_after_figure(preview, column))
        st.dataframe(preview.stats.round(3), height=240)
