"""Issue 11: real, messy columns read as a data scientist would — every column's fate stated, overridable, and the
advisor flagging what a careful reader would (a passenger-like frame: id, name, ticket code, mostly empty cabin, a
leaked copy of the target)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.common import ModelDeckError
from core.data import PrepOptions, column_plan, inputs_of, make_dataset, plan_table, split_dataset
from core.models import ModelSpec


def passengers(n: int = 891, seed: int = 0) -> pd.DataFrame:
    """Passenger-like rows: an id, unique names, ticket codes (mostly unique), a cabin 77% empty, a home town with a
    long tail, and 'Outcome', a yes/no copy of the 0/1 target."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["male", "female"], n, p=[0.65, 0.35])
    pclass = rng.choice([1, 2, 3], n, p=[0.24, 0.21, 0.55])
    age = np.where(rng.random(n) < 0.2, np.nan, rng.normal(30, 14, n).clip(1, 80).round())
    logit = -0.5 + 2.4 * (sex == "female") - 0.9 * (pclass - 2)
    survived = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    names = [f"Surname{i:04d}, {'Mrs.' if s == 'female' else 'Mr.'} {f}"
             for i, s, f in zip(rng.permutation(n), sex, rng.choice(["John", "Mary", "Owen", "Anna"], n))]
    tickets = [f"{rng.choice(['A/5 ', 'PC ', ''])}{rng.integers(1000, 400000)}" for _ in range(n)]
    cabins = np.where(rng.random(n) < 0.77, None, rng.choice([f"{d}{k}" for d in "ABCDE" for k in range(1, 9)], n))
    towns = [f"town_{k}" for k in range(40)]
    weights = np.r_[np.full(10, 0.085), np.full(30, 0.15 / 30)]               # 10 common towns, a long tail
    return pd.DataFrame({"PassengerId": np.arange(1, n + 1), "Survived": survived, "Pclass": pclass, "Name": names,
                         "Sex": sex, "Age": age, "Ticket": tickets, "Fare": rng.gamma(2, 15, n).round(2),
                         "Cabin": cabins, "Embarked": rng.choice(["S", "C", "Q"], n, p=[0.72, 0.19, 0.09]),
                         "HomeTown": rng.choice(towns, n, p=weights / weights.sum()),
                         "Outcome": np.where(survived == 1, "yes", "no")})


@pytest.fixture(scope="module")
def ship():
    return make_dataset(passengers(), "Survived", task="classification", name="passengers")


def fates(dataset, prep=None) -> dict:
    return {f.column: f for f in column_plan(dataset, prep or PrepOptions())}


def test_ids_names_and_codes_are_left_out_with_the_reason(ship):
    plan = fates(ship)
    assert plan["PassengerId"].use == "drop" and "consecutive (1 to 891)" in plan["PassengerId"].reason
    assert plan["Name"].use == "drop" and "891 distinct values in 891" in plan["Name"].reason
    assert plan["Ticket"].use == "drop" and "most values occur once" in plan["Ticket"].reason
    assert {plan[c].use for c in ("Pclass", "Age", "Fare")} == {"numeric"}
    assert plan["Sex"].use == plan["Embarked"].use == "one_hot"
    split = split_dataset(ship, PrepOptions())
    assert not {"PassengerId", "Name", "Ticket"} & set(split.X_train.columns)


def test_the_encoder_rule_is_stated_and_applied(ship):
    plan = fates(ship)
    # 40 cabins spread evenly over the 23% filled rows: the commonest 20 cover about half -> target encoding
    assert plan["Cabin"].use == "target_encode" and "cross-fitted" in plan["Cabin"].reason
    # 40 towns, 10 of them common: the commonest 20 cover over 80% -> frequent one-hot, the rest grouped
    assert plan["HomeTown"].use == "frequent_one_hot" and "grouped" in plan["HomeTown"].reason
    from core.train import build_pipeline
    split = split_dataset(ship, PrepOptions())
    pipeline = build_pipeline(ship, ModelSpec.create("linear"), PrepOptions()).fit(split.X_train, split.y_train)
    names = list(pipeline.named_steps["prep"].get_feature_names_out())
    assert "Cabin" in names                                          # one target-encoded column
    town_columns = [n for n in names if n.startswith("HomeTown_")]
    assert 10 <= len(town_columns) <= 21 and "HomeTown_infrequent_sklearn" in town_columns
    encoder = pipeline.named_steps["prep"].named_transformers_["cat_target"].named_steps["encode"]
    assert type(encoder).__name__ == "TargetEncoder"


def test_the_user_can_override_any_decision(ship):
    prep = PrepOptions(column_uses={"Ticket": "target_encode", "Cabin": "drop", "Age": "drop"})
    plan = fates(ship, prep)
    assert plan["Ticket"].use == "target_encode" and plan["Ticket"].overridden and "your choice" in plan["Ticket"].reason
    assert plan["Cabin"].use == "drop" and plan["Age"].use == "drop"
    assert {"Ticket"} <= set(inputs_of(column_plan(ship, prep))) and "Age" not in split_dataset(ship, prep).X_test
    with pytest.raises(ModelDeckError, match="'Name' is identifier; it can be used as"):
        column_plan(ship, PrepOptions(column_uses={"Name": "date_parts"}))
    table = plan_table(column_plan(ship, prep))
    assert list(table.columns) == ["column", "type", "used as", "distinct", "missing", "why"] and len(table) == 11


def test_the_leak_and_the_risky_columns_are_flagged(ship):
    from core.share import advise, evidence_for
    rules = {a.rule: a for a in advise(evidence_for(ship))}
    assert "leakage_suspect" in rules and rules["leakage_suspect"].evidence["feature"] == "Outcome"
    assert "bare_code_labels" in rules                    # 0/1 classes
    assert "identifier_input" not in rules                # the rules already left the ids out
    # the same data read the old way (everything one-hot, the ticket codes as a category) is flagged
    legacy = make_dataset(passengers(), "Survived", task="classification",
                          column_types=dict(ship.column_types) | {"Ticket": "categorical", "PassengerId": "numeric"})
    old = {a.rule: a for a in advise(evidence_for(legacy, prep=PrepOptions.from_dict({})))}
    assert {"identifier_input", "high_cardinality"} <= set(old)
    assert old["high_cardinality"].evidence["column"] == "Ticket"


def test_dates_are_left_out_with_a_note_or_become_parts():
    rng = np.random.default_rng(1)
    days = pd.date_range("2021-01-01", periods=300, freq="D")
    frame = pd.DataFrame({"signed": rng.permutation(days).astype(str), "x": rng.normal(size=300),
                          "y": rng.choice(["a", "b"], 300)})
    ds = make_dataset(frame, "y")
    assert fates(ds)["signed"].use == "drop" and "year / month / day of week" in fates(ds)["signed"].reason
    prep = PrepOptions(column_uses={"signed": "date_parts"})
    from core.train import train_model
    model = train_model(ds, ModelSpec.create("linear"), prep, cv_folds=0)
    names = list(model.pipeline.named_steps["prep"].get_feature_names_out())
    assert {"signed_year", "signed_month", "signed_day_of_week"} <= set(names)
    split = split_dataset(ds, prep)
    from core.explain import ShapEngine, explain_split
    expl = explain_split(ShapEngine(model.pipeline, split.X_train, "classification", "y"), split, max_rows=20)
    assert "signed" in expl.features and expl.values.shape[1] == 2        # three parts summed back into one column


def test_infinite_numbers_are_missing_with_a_note():
    frame = pd.DataFrame({"x": [1.0, np.inf, 3.0, -np.inf] * 10, "z": np.arange(40) % 7,
                          "y": ["a", "b"] * 20})
    ds = make_dataset(frame, "y")
    assert ds.frame["x"].isna().sum() == 20 and any("infinite value(s) (inf) were treated as missing" in n
                                                    for n in ds.notes)


def test_old_runs_keep_their_encoding():
    old = PrepOptions.from_dict({"one_hot": True, "seed": 1})
    assert old.categories == "one_hot" and old.column_uses == {}
    assert PrepOptions().categories == "auto" and PrepOptions.from_dict(PrepOptions().to_dict()).categories == "auto"


# ---------------------------------------------------------------- the Data page (AppTest)
def _upload(name: str, data: bytes):
    from tests.test_pages import open_page
    at = open_page("pages/data.py")
    at.file_uploader[0].upload(name, data, "text/csv")
    return at.run()


def _said(at) -> str:
    return " ".join([i.value for i in at.info] + [c.value for c in at.caption] + [e.value for e in at.error])


def test_broken_quotes_get_a_clear_message_in_the_page(fresh_home):
    rows = "\n".join(f"{i % 9},name {i},{'a' if i % 2 else 'b'}" for i in range(60))
    at = _upload("broken.csv", ("x,name,label\n" + rows.replace("name 30", '"name 30')).encode())
    assert not at.exception and at.error
    assert 'A double quote (") opened on line 32 is never closed' in at.error[0].value
    swallowed = rows.replace("name 30", '"name 30').replace("name 33", 'name 33"')
    at = _upload("swallowed.csv", ("x,name,label\n" + swallowed).encode())
    assert not at.exception and not at.error
    assert "span several lines" in _said(at)


def test_infinite_values_are_missing_with_a_note_in_the_page(fresh_home):
    from tests.test_pages import button
    rows = "\n".join(f"{i % 9},{'inf' if i % 10 == 0 else i * 0.5},{'a' if i % 2 else 'b'}" for i in range(60))
    at = _upload("inf.csv", ("x,ratio,label\n" + rows).encode())
    button(at, "upload_use").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Column 'ratio': 6 infinite value(s) (inf) were treated as missing" in _said(at)


def test_the_data_page_shows_every_column_fate_and_takes_overrides(fresh_home):
    from tests.test_pages import button
    at = _upload("passengers.csv", passengers().to_csv(index=False).encode())
    next(s for s in at.selectbox if s.key == "upload_target").select("Survived").run()
    button(at, "upload_use").click().run()
    assert not at.exception
    # the only red box is the advisor's: the leaked copy of the target
    assert [e.value[:40] for e in at.error] == ["**'Outcome' alone predicts the target al"]
    table = next(d.value for d in at.dataframe if "used as" in d.value.columns)
    fate = dict(zip(table["column"], table["used as"]))
    assert fate["PassengerId"] == fate["Name"] == fate["Ticket"] == "left out"
    assert fate["Cabin"] == "target-encoded" and fate["HomeTown"] == "one-hot, top 20 + other"
    assert any("Not used as model inputs: 'PassengerId' (identifier)" in c.value for c in at.caption)
    next(s for s in at.selectbox if s.key == "fate_column").select("Ticket").run()
    next(s for s in at.selectbox if s.key == "fate_use_Ticket").select("target_encode").run()
    button(at, "fate_apply").click().run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "used as" in d.value.columns)
    assert dict(zip(table["column"], table["used as"]))["Ticket"] == "target-encoded"
    assert any("Your choices: 'Ticket'" in c.value for c in at.caption)
    assert at.session_state["prep_column_uses"] == {"Ticket": "target_encode"}   # travels with the cleaning options
