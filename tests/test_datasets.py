"""Unit tests for core.datasets: built-ins, CSV reading, type detection, validation, storage."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data import (
    BUILTINS,
    DEFAULT_DATASET,
    Dataset,
    clean_types,
    detect_column_types,
    infer_task,
    load_builtin,
    load_dataset,
    make_dataset,
    read_csv,
    save_upload,
)
from core.common import ModelDeckError

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- built-ins

EXPECTED = {
    # name: (rows, n_features, task, n_classes)
    "breast_cancer": (569, 30, "classification", 2),
    "wine": (178, 13, "classification", 3),
    "iris": (150, 4, "classification", 3),
    "digits": (1797, 64, "classification", 10),
    "diabetes": (442, 10, "regression", None),
    "churn": (3020, 11, "classification", 2),
}


def test_builtins_listed_in_order_with_default_first():
    assert list(BUILTINS) == list(EXPECTED)
    assert DEFAULT_DATASET == "breast_cancer"
    assert all(title and description for title, description in BUILTINS.values())


@pytest.mark.parametrize("name", list(EXPECTED))
def test_builtin_shape_task_and_classes(name):
    rows, n_features, task, n_classes = EXPECTED[name]
    ds = load_builtin(name)
    assert isinstance(ds, Dataset)
    assert ds.key == f"builtin:{name}"
    assert ds.name == BUILTINS[name][0]
    assert len(ds.frame) == rows
    assert len(ds.features) == n_features
    assert ds.X.shape == (rows, n_features)
    assert ds.y.name == ds.target and ds.target not in ds.features
    assert ds.task == task
    if n_classes is None:
        assert ds.classes is None
        assert ds.y.dtype.kind == "f"
    else:
        assert len(ds.classes) == n_classes
        assert all(isinstance(c, str) for c in ds.classes)
        assert set(ds.y.unique()) == set(ds.classes)
    assert set(ds.column_types) == set(ds.frame.columns) - {ds.target}


def test_builtin_labels_are_readable():
    assert load_builtin("breast_cancer").classes == ["benign", "malignant"]
    assert load_builtin("wine").classes == ["class_0", "class_1", "class_2"]
    assert load_builtin("iris").classes == ["setosa", "versicolor", "virginica"]
    assert load_builtin("digits").classes == [str(d) for d in range(10)]


def test_digits_keeps_all_64_pixels_as_image():
    ds = load_builtin("digits")
    assert ds.image_shape == (8, 8)
    assert ds.features[0] == "px_0_0" and ds.features[-1] == "px_7_7"
    assert ds.numeric_features == ds.features  # corner pixels are constant but must stay
    assert ds.X.to_numpy().max() == 16


def test_diabetes_has_readable_feature_names():
    ds = load_builtin("diabetes")
    assert "bmi" in ds.features and "blood_pressure" in ds.features
    assert ds.frame["age"].between(18, 90).all()  # unscaled: real ages


def test_churn_is_messy_on_purpose():
    ds = load_builtin("churn")
    assert ds.synthetic and "synthetic" in ds.description.lower()
    assert ds.column_types["customer_id"] == "identifier"
    assert ds.column_types["signup_date"] == "date"
    assert {"contract", "region", "payment_method", "internet_service"} <= set(ds.categorical_features)
    assert {"tenure_months", "monthly_charges", "age", "support_calls_90d"} <= set(ds.numeric_features)
    missing = ds.frame.isna().mean()
    assert 0.02 < missing["total_charges"] < 0.06
    assert 0.02 < missing["internet_service"] < 0.05
    assert ds.frame.duplicated().sum() >= 15
    share_yes = (ds.y == "yes").mean()
    assert ds.classes == ["no", "yes"] and 0.2 < share_yes < 0.3


def test_churn_script_documents_drivers():
    sys.path.insert(0, str(REPO / "data"))
    try:
        import make_churn
    finally:
        sys.path.remove(str(REPO / "data"))
    assert {"tenure_months", "contract", "support_calls_90d", "monthly_charges", "num_products"} <= set(
        make_churn.PLANTED_DRIVERS
    )
    assert {"region", "age"} <= set(make_churn.NO_EFFECT)
    assert not set(make_churn.PLANTED_DRIVERS) & set(make_churn.NO_EFFECT)
    assert "synthetic" in make_churn.__doc__.lower()
    fresh = make_churn.make_churn()
    stored = pd.read_csv(REPO / "data" / "churn.csv")
    assert fresh.shape == stored.shape
    assert list(fresh.columns) == list(stored.columns)
    assert (fresh["customer_id"] == stored["customer_id"]).all()  # same seed -> same file


def test_unknown_builtin_is_a_user_error():
    with pytest.raises(ModelDeckError, match="no built-in data set called 'mnist'"):
        load_builtin("mnist")


# --------------------------------------------------------------------------- fingerprint


def test_fingerprint_stable_and_content_sensitive():
    a, b = load_builtin("iris"), load_builtin("iris")
    assert a.fingerprint == b.fingerprint
    assert len(a.fingerprint) == 16 and int(a.fingerprint, 16) >= 0
    frame = a.frame.copy()
    frame.loc[0, "sepal length (cm)"] += 0.1
    changed = make_dataset(frame, "species")
    assert changed.fingerprint != a.fingerprint
    assert changed.key == f"upload:{changed.fingerprint}"


def test_fingerprint_depends_on_target_and_task():
    frame = load_builtin("iris").frame
    by_species = make_dataset(frame, "species", task="classification")
    by_width = make_dataset(frame, "petal width (cm)", task="regression")
    assert by_species.fingerprint != by_width.fingerprint


def test_fingerprint_is_the_same_in_another_process():
    code = "from core.data import load_builtin; print(load_builtin('wine').fingerprint)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == load_builtin("wine").fingerprint


# --------------------------------------------------------------------------- read_csv: good files


def test_semicolon_latin1_file_is_read_with_notes():
    text = "name;city;score;label\nJosé;Zürich;1,5;a\nFrançois;Genève;2,5;b\nMüller;Köln;3,0;a\n"
    result = read_csv(text.encode("latin-1"), "european.csv")
    assert result.delimiter == ";"
    assert result.encoding.lower().replace("-", "").replace("_", "") in {"cp1252", "latin1", "iso88591"}
    assert result.has_header
    assert result.frame["city"].tolist() == ["Zürich", "Genève", "Köln"]
    assert result.frame["score"].tolist() == [1.5, 2.5, 3.0]
    joined = " ".join(result.notes)
    assert "not UTF-8" in joined and "decimal comma" in joined


def test_tab_separated_file():
    data = b"a\tb\tlabel\n1\t2.5\tx\n3\t4.5\ty\n"
    result = read_csv(data, "t.tsv")
    assert result.delimiter == "\t"
    assert list(result.frame.columns) == ["a", "b", "label"]
    assert result.frame["b"].tolist() == [2.5, 4.5]


def test_pipe_separated_utf8_bom_file():
    data = "\ufeffx|y|z\n1|2|3\n4|5|6\n".encode("utf-8")
    result = read_csv(data)
    assert result.delimiter == "|" and result.encoding == "utf-8"
    assert list(result.frame.columns) == ["x", "y", "z"]


def test_file_without_header_gets_column_names():
    data = b"5.1,3.5,setosa\n6.2,2.9,versicolor\n5.9,3.0,virginica\n"
    result = read_csv(data, "noheader.csv")
    assert not result.has_header
    assert list(result.frame.columns) == ["column_1", "column_2", "column_3"]
    assert len(result.frame) == 3  # the first row is data, not lost
    assert any("column_1" in n for n in result.notes)


def test_quoted_values_with_commas():
    data = b'name,comment,y\nann,"likes a, b",1\nbob,"plain",0\n'
    result = read_csv(data)
    assert result.delimiter == ","
    assert result.frame["comment"].tolist() == ["likes a, b", "plain"]


def test_duplicate_column_names_are_renamed_with_a_note():
    result = read_csv(b"age,age,label\n1,2,a\n3,4,b\n", "dups.csv")
    assert list(result.frame.columns) == ["age", "age.1", "label"]
    assert any("'age' appears more than once" in n and "age.1" in n for n in result.notes)


def test_utf16_file_is_decoded():
    data = "a,b\n1,x\n2,y\n".encode("utf-16")
    result = read_csv(data)
    assert result.frame["b"].tolist() == ["x", "y"]


# --------------------------------------------------------------------------- read_csv: bad files


@pytest.mark.parametrize("data", [b"", b"   \n\n", b"\xef\xbb\xbf"])
def test_empty_file(data):
    with pytest.raises(ModelDeckError, match="'empty.csv' is empty"):
        read_csv(data, "empty.csv")


def test_header_only():
    with pytest.raises(ModelDeckError, match=r"column names \(a, b, c\) but no data rows"):
        read_csv(b"a,b,c\n", "head.csv")


def test_binary_png():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256))
    with pytest.raises(ModelDeckError, match="not a text file.*PNG image"):
        read_csv(png, "cat.png")


def test_excel_workbook_gets_save_as_csv_advice():
    with pytest.raises(ModelDeckError, match="Excel.*Save As > CSV"):
        read_csv(b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 40, "book.xlsx")


def test_binary_bytes_without_magic():
    with pytest.raises(ModelDeckError, match="not a text file"):
        read_csv(b"a,b\n" + b"\x00\x01\x02\x03" * 50, "blob.bin")


def test_too_large_file_says_size_and_limit():
    data = b"a,b\n" + b"1,2\n" * 300_000  # 1.1 MB
    with pytest.raises(ModelDeckError, match=r"is 1\.1 MB; the limit is 1\.0 MB"):
        read_csv(data, "big.csv", max_bytes=2**20)


@pytest.mark.parametrize("data, options, message", [
    (b"a:b:c\n1:2:3\n4:5:6\n", {}, r"Only one column.*comma \(,\).*'a:b:c'"),             # names the separator
    (b"a,b,c\n1,2,3\n4,5,6\n", {"delimiter": ";"}, r"Only one column.*semicolon"),        # a forced wrong one
    (b"a,b,c\n1,2,3\n4,5,6\n7,8,9,10\n", {}, r"Line 4 has 4 values but the lines before it have 3"),
    (b'a,b\n1,2\n"3,4\n5,6\n', {}, r"opened on line 3 is never closed"),
], ids=["single-column", "forced-delimiter", "ragged-rows", "unclosed-quote"])
def test_malformed_csv_says_what_is_wrong_and_where(data, options, message):
    with pytest.raises(ModelDeckError, match=message):
        read_csv(data, "file.csv", **options)


def test_exported_pandas_index_becomes_an_identifier():
    data = b",x,y\n" + b"".join(f"{i},{i % 7},{'ab'[i % 2]}\n".encode() for i in range(40))
    result = read_csv(data)
    assert list(result.frame.columns) == ["unnamed_1", "x", "y"]
    assert any("no name" in n for n in result.notes)
    assert make_dataset(result.frame, "y").features == ["x"]


def test_non_utf8_text_is_read_with_a_note():
    data = "produit,prix,catégorie\ncafé,2,boisson\nthé,3,boisson\ncrème,4,laitier\n".encode("cp1252")
    result = read_csv(data, "fr.csv")
    assert result.encoding != "utf-8"
    assert "catégorie" in result.frame.columns
    assert result.frame["produit"].tolist() == ["café", "thé", "crème"]
    assert any("not UTF-8" in note for note in result.notes)


def test_undecodable_garbage_is_a_user_error():
    data = bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D, 0x01, 0x02, 0x03, 0x04, 0x05]) * 30
    with pytest.raises(ModelDeckError):
        read_csv(data, "garbage.csv")


# --------------------------------------------------------------------------- column types


def test_mixed_numeric_column_is_converted_with_note():
    frame = pd.DataFrame({"price": ["1.5", "2", "?"] + [str(i) for i in range(60)], "y": ["a", "b"] * 31 + ["a"]})
    cleaned, types, notes = clean_types(frame, target="y")
    assert types == {"price": "numeric"}
    assert cleaned["price"].dtype.kind == "f"
    assert cleaned["price"].isna().sum() == 1
    assert any("'price'" in n and "'?'" in n for n in notes)


def test_currency_percent_and_thousands_become_numbers():
    frame = pd.DataFrame({"price": ["$1,200", "$35", "-$7.50", "€4"] * 10, "share": ["10%", "25.5%"] * 20})
    cleaned, types, notes = clean_types(frame)
    assert types == {"price": "numeric", "share": "numeric"}
    assert cleaned["price"].tolist()[:4] == [1200.0, 35.0, -7.5, 4.0]
    assert cleaned["share"].tolist()[:2] == [10.0, 25.5]
    assert len(notes) == 2 and all("removed" in n for n in notes)


def test_fractions_and_times_are_not_dates():
    frame = pd.DataFrame(
        {"frac": ["1/2", "3/4"] * 20, "clock": ["10:30", "11:45"] * 20, "when": ["3/13/24", "4/1/24"] * 20}
    )
    assert detect_column_types(frame) == {"frac": "categorical", "clock": "categorical", "when": "date"}


def test_mostly_text_column_stays_categorical():
    frame = pd.DataFrame({"size": ["S", "M", "L", "1"] * 10})
    assert detect_column_types(frame) == {"size": "categorical"}


def test_type_detection_covers_every_kind():
    n = 50
    frame = pd.DataFrame(
        {
            "user_id": [f"U{i:03d}" for i in range(n)],
            "row_id": np.arange(n),
            "joined": pd.date_range("2024-01-01", periods=n).strftime("%Y-%m-%d"),
            "joined_eu": pd.date_range("2024-01-01", periods=n).strftime("%d/%m/%Y"),
            "count": np.arange(n) % 4,
            "ratio": np.linspace(0, 1, n),
            "colour": ["red", "blue"] * (n // 2),
            "flag": [True, False] * (n // 2),
            "same": ["x"] * n,
            "nothing": [np.nan] * n,
            "y": [0, 1] * (n // 2),
        }
    )
    types = detect_column_types(frame, target="y")
    assert types == {
        "user_id": "identifier",
        "row_id": "identifier",
        "joined": "date",
        "joined_eu": "date",
        "count": "numeric",
        "ratio": "numeric",
        "colour": "categorical",
        "flag": "categorical",
        "same": "constant",
        "nothing": "empty",
    }


def test_empty_and_constant_columns_are_not_features():
    frame = pd.DataFrame(
        {"x": np.arange(40) % 7, "all_nan": [np.nan] * 40, "one": [3] * 40, "y": ["a", "b"] * 20}
    )
    ds = make_dataset(frame, "y")
    assert ds.column_types["all_nan"] == "empty"
    assert ds.column_types["one"] == "constant"
    assert ds.features == ["x"]


def test_small_numeric_columns_are_not_taken_for_ids():
    # issue 11 changed this on purpose: consecutive integers unique per row (0, 1, …, 99) are a row number, left out;
    # small numbers that repeat stay inputs
    frame = pd.DataFrame({"row": np.arange(100), "x": np.arange(100) % 7, "y": np.arange(100) * 2.5})
    ds = make_dataset(frame, "y")
    assert ds.features == ["x"] and ds.task == "regression" and ds.column_types["row"] == "identifier"


# --------------------------------------------------------------------------- task inference


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (np.linspace(0, 1, 100), "regression"),
        (np.arange(1000), "regression"),
        (np.arange(100) % 3, "classification"),
        (np.array([0.0, 1.0] * 50), "classification"),
        (np.array(["a", "b"] * 50), "classification"),
        (np.array([True, False] * 50), "classification"),
    ],
)
def test_infer_task(values, task):
    assert infer_task(pd.Series(values)) == task


# --------------------------------------------------------------------------- make_dataset validation


def _frame(target_values, n=None):
    n = n or len(target_values)
    return pd.DataFrame({"x": np.arange(n) % 5, "z": np.linspace(0, 1, n), "t": target_values})


def test_one_class_target():
    with pytest.raises(ModelDeckError, match=r"'t' has only 1 distinct value \('a'\)\. Pick a column with at least 2"):
        make_dataset(_frame(["a"] * 10), "t")


def test_single_sample_class_is_named():
    with pytest.raises(ModelDeckError, match=r"only 1 row: 'rare'.*merge"):
        make_dataset(_frame(["a", "b"] * 10 + ["rare"]), "t")


def test_regression_target_picked_as_classification():
    rng = np.random.default_rng(0)
    target = rng.normal(100, 30, 3000).round(2)
    with pytest.raises(ModelDeckError, match=r"has [\d,]+ distinct values; this looks like a regression target"):
        make_dataset(_frame(target), "t", task="classification")


def test_regression_on_text_target():
    with pytest.raises(ModelDeckError, match="holds text.*Choose classification"):
        make_dataset(_frame(["yes", "no"] * 10), "t", task="regression")


def test_target_missing_from_columns():
    with pytest.raises(ModelDeckError, match="'price' is not in the data. Columns are: 'x', 'z', 't'"):
        make_dataset(_frame(["a", "b"] * 5), "price")


def test_empty_frame_and_all_nan_target():
    with pytest.raises(ModelDeckError, match="empty"):
        make_dataset(pd.DataFrame(), "t")
    with pytest.raises(ModelDeckError, match="every value is missing"):
        make_dataset(_frame([np.nan] * 10), "t")


def test_rows_without_target_are_dropped_with_a_note():
    ds = make_dataset(_frame(["a", "b", None, "a", "b", "a"]), "t")
    assert len(ds.frame) == 5
    assert any("Dropped 1 row" in n for n in ds.notes)


def test_no_usable_features():
    frame = pd.DataFrame({"customer_id": [f"C{i}" for i in range(30)], "c": [1] * 30, "t": ["a", "b"] * 15})
    with pytest.raises(ModelDeckError, match="No column can be used as a model input.*identifier.*constant"):
        make_dataset(frame, "t")


def test_numeric_class_labels_become_strings_in_numeric_order():
    ds = make_dataset(_frame([1.0, 2.0, 10.0] * 10), "t")
    assert ds.task == "classification"
    assert ds.classes == ["1", "2", "10"]


def test_uploaded_csv_to_dataset_end_to_end():
    csv = b"id,age,city,income\n" + b"".join(
        f"{i},{20 + i % 50},{['Oslo', 'Rome'][i % 2]},{1000 + 37 * i}.5\n".encode() for i in range(200)
    )
    read = read_csv(csv, "people.csv")
    ds = make_dataset(read.frame, "income", name="People")
    assert ds.task == "regression"
    assert ds.column_types["id"] == "identifier"
    assert ds.features == ["age", "city"]


# --------------------------------------------------------------------------- persistence


def test_save_and_load_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELDECK_HOME", str(tmp_path))
    original = load_builtin("churn")
    uploaded = make_dataset(original.frame, "churned", name="My churn", description="from a test")
    key = save_upload(uploaded)
    assert key == f"upload:{uploaded.fingerprint}"
    assert (tmp_path / "datasets" / f"{uploaded.fingerprint}.csv").exists()
    assert (tmp_path / "datasets" / f"{uploaded.fingerprint}.json").exists()
    assert not list((tmp_path / "datasets").glob("*.tmp"))
    loaded = load_dataset(key)
    assert loaded.key == key
    assert loaded.name == "My churn" and loaded.description == "from a test"
    assert loaded.task == "classification" and loaded.target == "churned"
    assert loaded.column_types == uploaded.column_types
    pd.testing.assert_frame_equal(loaded.frame, uploaded.frame, check_dtype=False)
    assert loaded.fingerprint == uploaded.fingerprint


def test_round_trip_regression_with_numeric_text_labels(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELDECK_HOME", str(tmp_path))
    ds = make_dataset(_frame(["1", "2"] * 10), "t")
    loaded = load_dataset(save_upload(ds))
    assert loaded.classes == ["1", "2"]
    assert loaded.fingerprint == ds.fingerprint


def test_load_builtin_through_load_dataset():
    assert load_dataset("builtin:iris").fingerprint == load_builtin("iris").fingerprint


def test_missing_upload_says_it_is_no_longer_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELDECK_HOME", str(tmp_path))
    with pytest.raises(ModelDeckError, match="no longer stored"):
        load_dataset("upload:0123456789abcdef")
    with pytest.raises(ModelDeckError, match="not a valid data set reference"):
        load_dataset("upload:../../etc/passwd")
    with pytest.raises(ModelDeckError, match="Unknown data set"):
        load_dataset("s3://bucket/file.csv")
