"""Generate ``data/churn.csv``: a SYNTHETIC telecom customer-churn data set.

Every row is invented by this script (seed ``SEED = 7``); no real customer is in it.
Run ``python data/make_churn.py`` to rebuild the file byte for byte.

How churn was planted
---------------------
Each customer churns with probability ``sigmoid(logit)`` where

    logit = INTERCEPT                                  (-2.50)
            - 0.045 * tenure_months                    short tenure -> more churn
            + 1.20  * [contract == "month-to-month"]   no commitment -> more churn
            - 1.30  * [contract == "two-year"]         long commitment -> less churn
            + 0.45  * support_calls_90d                each support call -> more churn
            + 0.025 * monthly_charges                  higher bill (USD) -> more churn
            - 0.35  * (num_products - 1)               more products -> less churn

("one-year" is the reference contract, coefficient 0.)  About 25% of customers churn.

What has NO effect
------------------
``region``, ``age``, ``payment_method`` and ``paperless_billing`` are drawn independently of
everything else and never enter the logit, so a model that ranks them high has found noise.
``internet_service`` has no direct effect; it raises ``monthly_charges`` (fiber costs more),
so it is linked to churn only through the bill.  ``total_charges`` is about
``tenure_months * monthly_charges``: it carries the tenure and bill signals but adds none of
its own.  ``customer_id`` and ``signup_date`` are bookkeeping (signup_date = 2025-06-30 minus
the tenure).

Mess added on purpose (for the data-preparation demo)
-----------------------------------------------------
* about 4% missing ``total_charges``, 3% missing ``age`` and 3% missing ``internet_service``
  (missing completely at random, after churn was drawn);
* 20 exact duplicate rows (same customer_id and every other field), 3,020 rows in all.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 7
N_CUSTOMERS = 3000
N_DUPLICATES = 20
OUTPUT = Path(__file__).resolve().parent / "churn.csv"
REFERENCE_DATE = pd.Timestamp("2025-06-30")

INTERCEPT = -2.50
COEFFICIENTS: dict[str, float] = {
    "tenure_months": -0.045,
    "contract=month-to-month": 1.20,
    "contract=two-year": -1.30,
    "support_calls_90d": 0.45,
    "monthly_charges": 0.025,
    "num_products": -0.35,
}

PLANTED_DRIVERS: dict[str, str] = {
    "tenure_months": "Newer customers churn more: each extra month as a customer lowers the odds of churn by about 4%.",
    "contract": "Month-to-month contracts churn most; two-year contracts churn least (one-year sits between).",
    "support_calls_90d": "Every support call in the last 90 days raises the odds of churn by about 57%.",
    "monthly_charges": "A higher monthly bill raises churn: +10 USD a month raises the odds by about 28%.",
    "num_products": "Each additional product lowers the odds of churn by about 30%.",
}

NO_EFFECT: list[str] = ["region", "age", "payment_method", "paperless_billing"]

MISSING_RATES: dict[str, float] = {"total_charges": 0.04, "age": 0.03, "internet_service": 0.03}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _tenure(contract: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Months as a customer; longer contracts go with longer tenure, as in real telecoms."""
    month_to_month = rng.exponential(16.0, contract.size) + 1
    one_year = rng.uniform(6, 72, contract.size)
    two_year = rng.uniform(12, 72, contract.size)
    tenure = np.select(
        [contract == "month-to-month", contract == "one-year"], [month_to_month, one_year], two_year
    )
    return np.clip(np.round(tenure), 1, 72).astype(int)


def churn_logit(frame: pd.DataFrame) -> np.ndarray:
    """The planted log-odds of churn for each row (uses only the documented drivers)."""
    c = COEFFICIENTS
    return (
        INTERCEPT
        + c["tenure_months"] * frame["tenure_months"].to_numpy(float)
        + c["contract=month-to-month"] * (frame["contract"] == "month-to-month").to_numpy(float)
        + c["contract=two-year"] * (frame["contract"] == "two-year").to_numpy(float)
        + c["support_calls_90d"] * frame["support_calls_90d"].to_numpy(float)
        + c["monthly_charges"] * frame["monthly_charges"].to_numpy(float)
        + c["num_products"] * (frame["num_products"].to_numpy(float) - 1)
    )


def _customers(n: int, rng: np.random.Generator) -> pd.DataFrame:
    contract = rng.choice(["month-to-month", "one-year", "two-year"], n, p=[0.5, 0.27, 0.23])
    tenure = _tenure(contract, rng)
    internet = rng.choice(["fiber optic", "dsl", "none"], n, p=[0.45, 0.35, 0.20])
    num_products = rng.choice([1, 2, 3, 4, 5], n, p=[0.35, 0.30, 0.20, 0.10, 0.05])
    internet_price = np.select([internet == "fiber optic", internet == "dsl"], [50.0, 28.0], 0.0)
    monthly = np.clip(20 + internet_price + 6 * (num_products - 1) + rng.normal(0, 8, n), 18, 130)
    monthly = np.round(monthly, 2)
    total = np.round(monthly * tenure * rng.uniform(0.92, 1.04, n), 2)
    signup = REFERENCE_DATE - pd.to_timedelta(np.round(tenure * 30.44 + rng.uniform(0, 29, n)), unit="D")
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in rng.permutation(np.arange(1, n + 1))],
            "signup_date": signup.strftime("%Y-%m-%d"),
            "tenure_months": tenure,
            "monthly_charges": monthly,
            "total_charges": total,
            "contract": contract,
            "payment_method": rng.choice(
                ["electronic check", "mailed check", "bank transfer", "credit card"], n
            ),
            "internet_service": internet,
            "support_calls_90d": rng.poisson(1.3, n),
            "num_products": num_products,
            "age": np.clip(np.round(rng.normal(45, 14, n)), 18, 85).astype(int),
            "region": rng.choice(["north", "south", "east", "west"], n),
            "paperless_billing": rng.choice(["yes", "no"], n, p=[0.6, 0.4]),
        }
    )


def _add_missing(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    frame = frame.copy()
    for column, rate in MISSING_RATES.items():
        rows = rng.choice(len(frame), int(round(rate * len(frame))), replace=False)
        if frame[column].dtype.kind in "iu":
            frame[column] = frame[column].astype("Int64")  # keeps "40", not "40.0", in the CSV
            frame.loc[frame.index[rows], column] = pd.NA
            continue
        frame.loc[frame.index[rows], column] = np.nan
    return frame


def make_churn(n: int = N_CUSTOMERS, seed: int = SEED, n_duplicates: int = N_DUPLICATES) -> pd.DataFrame:
    """Build the synthetic churn table (deterministic for a given seed)."""
    rng = np.random.default_rng(seed)
    frame = _customers(n, rng)
    frame["churned"] = np.where(rng.random(n) < _sigmoid(churn_logit(frame)), "yes", "no")
    frame = _add_missing(frame, rng)
    duplicates = frame.iloc[rng.choice(n, n_duplicates, replace=False)]
    frame = pd.concat([frame, duplicates], ignore_index=True)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


def main() -> None:
    frame = make_churn()
    frame.to_csv(OUTPUT, index=False, lineterminator="\n")
    rate = (frame["churned"] == "yes").mean()
    print(f"wrote {OUTPUT} ({len(frame):,} rows, {rate:.1%} churned)")


if __name__ == "__main__":
    main()
