"""Plain words for people who will never read a confusion matrix: the jargon list (each term with the words that
replace it), plain names for the model families, numbers in units people know, counts scaled to "out of 100", and
the question a data set asks.

The jargon list is the contract of the presentation: no slide headline, number, text, figure or speaker note may
contain a term of `JARGON` (tests check every built-in data set); the technical statement of each slide stays one
click away (`StoryStep.technical` and the page behind the slide).
"""
from __future__ import annotations

import math
import re

#: term (as a regular expression, matched case-insensitively on word boundaries) -> the plain words we use instead
JARGON: dict[str, str] = {
    r"SHAP": "how much each fact pushed the answer",
    r"LIME": "a simple stand-in model fitted around one case",
    r"log[- ]odds": "how sure the model is",
    r"logits?": "how sure the model is",
    r"AUC": "how well the model ranks cases",
    r"ROC": "the trade-off between catching cases and raising false alarms",
    r"F1": "a balance of cases caught and false alarms",
    r"fp32|fp16|bf16|float32|float16": "the full-size (or half-size) numbers inside the model",
    r"int8": "numbers stored as small whole numbers",
    r"ONNX( Runtime)?": "a fast, standard engine for running models",
    r"quanti[sz](ation|ed|e)": "storing the model's numbers with fewer digits",
    r"distill(ation|ed)?": "a small network trained to imitate the big one",
    r"students?": "the small imitating network",
    r"epochs?": "one pass over the training rows",
    r"p50|p90|p99|percentile": "a typical / slow request",
    r"PyTorch": "(the neural-network library)",
    r"MLP": "neural network",
    r"MAE|RMSE": "average miss",
    r"R²|R2|r2 score": "share of the ups and downs explained",
    r"cross[- ]validat(ion|ed)|folds?": "checked on rows held back in turn",
    r"hyper-?parameters?": "settings",
    r"precision": "how many alarms are real",
    r"recall": "how many cases are caught",
    r"bootstrap": "re-sampled",
    r"Spearman|ρ": "rank agreement",
    r"Pareto": "best trade-offs",
    r"latency": "response time",
    r"inference": "answering",
    r"batch(es)?": "a group of requests",
    r"softmax|sigmoid": "turning scores into chances",
    r"one-hot": "one yes/no column per category",
    r"logistic regression|ridge regression": "simple formula",
    r"gradient boosting|boosted": "many small decision trees",
    r"DeepLIFT|Deep SHAP|Tree SHAP|Permutation SHAP|Kernel SHAP": "how much each fact pushed the answer",
    r"additivity": "the pushes add up",
    r"prun(ing|ed)": "removing connections",
    r"regulari[sz](ation|e)|dropout|weight decay": "ways to stop memorising",
    r"overfit(ting)?|underfit(ting)?": "memorising / learning too little",
    r"confusion matrix": "table of right and wrong answers",
    r"calibrat(ion|ed)": "how well its chances match reality",
    r"baseline": "the original",
    r"variants?": "version",
    r"throughput": "answers per second",
    r"TorchScript|dynamo|skl2onnx|scikit-learn|sklearn": "(a software tool)",
}
_JARGON_RE = [(term, re.compile(rf"(?<![\w-])(?:{term})(?![\w-])", re.IGNORECASE)) for term in JARGON]

#: model family -> (short plain name for a chart, what it is in one phrase)
PLAIN_MODELS: dict[str, tuple[str, str]] = {
    "linear": ("Simple formula", "adds up the facts, each with a weight"),
    "hist_gb": ("Decision trees", "hundreds of small yes/no questions, each fixing the last one's mistakes"),
    "random_forest": ("Forest of trees", "many yes/no question trees that vote"),
    "mlp": ("Neural network", "layers of small units that learn patterns"),
    "knn": ("Look-alikes", "answers like the most similar past cases"),
    "svm": ("Boundary finder", "draws the widest line between the answers"),
    "cnn": ("Picture network", "a neural network that looks at pictures"),
}


def jargon_in(text: str) -> list[str]:
    """The jargon terms (as listed in JARGON) that occur in `text`."""
    return [term for term, pattern in _JARGON_RE if pattern.search(text or "")]


def plain_model(family: str) -> str:
    return PLAIN_MODELS.get(family, ("Model", ""))[0]


def model_phrase(family: str) -> str:
    return PLAIN_MODELS.get(family, ("", "a model"))[1]


# ---------------------------------------------------------------- numbers for people
def fmt_ms(ms: float) -> str:
    """'0.0062 ms' · '0.04 ms' · '2.5 ms' · '120 ms' (always milliseconds, 2 significant digits below 10)."""
    if not math.isfinite(ms):
        return "n/a"
    if ms >= 10:
        return f"{ms:,.0f} ms"
    text = f"{ms:.2g}"
    return f"{ms:.6f}".rstrip("0") + " ms" if "e" in text else f"{text} ms"


def fmt_size(n_bytes: float) -> str:
    """'820 bytes' · '7.7 KB' · '5.6 MB'."""
    if n_bytes < 1000:
        return f"{n_bytes:,.0f} bytes"
    for unit, scale in (("KB", 1024), ("MB", 1024 ** 2), ("GB", 1024 ** 3)):
        if n_bytes < 1000 * scale or unit == "GB":
            value = n_bytes / scale
            return f"{value:,.1f} {unit}" if value < 100 else f"{value:,.0f} {unit}"
    return f"{n_bytes:,.0f} bytes"


def fmt_times(ratio: float) -> str:
    """'2.2×' · '14×'."""
    return f"{ratio:.1f}×" if ratio < 10 else f"{ratio:,.0f}×"


def fmt_money(dollars: float) -> str:
    return f"${dollars:,.2f}" if dollars < 10 else f"${dollars:,.0f}"


def out_of_100(counts: dict[str, float]) -> dict[str, int]:
    """Counts scaled to whole numbers that add up to exactly 100 (largest remainder), keeping their order; a count
    above zero never rounds to 0 unless 100 icons cannot hold them all."""
    total = float(sum(counts.values()))
    if total <= 0:
        return {k: 0 for k in counts}
    exact = {k: 100.0 * v / total for k, v in counts.items()}
    whole = {k: int(math.floor(v)) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: exact[k] - whole[k], reverse=True)[:100 - sum(whole.values())]:
        whole[k] += 1
    for k, v in counts.items():           # a real but rare outcome stays visible: take one from the largest
        if v > 0 and whole[k] == 0:
            biggest = max(whole, key=whole.get)
            if whole[biggest] > 1:
                whole[biggest] -= 1
                whole[k] = 1
    return whole


def question_of(description: str, target: str) -> str:
    """The question a data set asks, from its description ('…; is the tumour malignant or benign?')."""
    if "?" in description:
        tail = description.rsplit(";", 1)[-1].strip() if ";" in description else description.strip()
        tail = tail[tail.rfind(". ") + 2:] if ". " in tail else tail
        return tail[0].upper() + tail[1:]
    return f"What is the {target.replace('_', ' ')}?"


def ease(text: str) -> float:
    """Flesch reading ease of a text (60 or more: plain English). Needs the optional `textstat` package."""
    import textstat
    return float(textstat.flesch_reading_ease(text))
