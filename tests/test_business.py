"""Profit over thresholds and cumulative gains, checked against hand-computed small examples."""
import numpy as np
import pytest

from core.evaluate import Economics, best_threshold, gains_sentence, gains_table, profit_curve, profit_sentence
from core.common import ModelDeckError

Y = np.array(["yes", "no", "yes", "no", "no", "yes", "no", "no", "no", "no"])
S = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])


def test_profit_by_hand():
    econ = Economics(value_tp=100, cost_fp=10, cost_fn=50)
    curve = profit_curve(Y, S, "yes", econ, thresholds=[0.65, 0.35, 1.1])
    # >=0.65: flags 0.9,0.8,0.7 -> tp 2, fp 1, fn 1 -> 200 - 10 - 50 = 140
    # >=0.35: flags 6 rows -> tp 3, fp 3, fn 0 -> 300 - 30 = 270 ; >=1.1: nothing -> fn 3 -> -150
    assert curve["profit"].tolist() == [140, 270, -150]
    assert best_threshold(curve)["threshold"] == 0.35
    assert "0.35" in profit_sentence(profit_curve(Y, S, "yes", econ, thresholds=[0.35, 0.5]), econ)


def test_gains_and_lift_by_hand():
    gains = gains_table(Y, S, "yes", bins=5)
    # top 20% = 2 rows (0.9 yes, 0.8 no) -> 1 of 3 caught; top 40% = 4 rows -> 2 of 3; top 60% -> 3 of 3
    assert gains["caught"].tolist() == [1, 2, 3, 3, 3]
    assert gains["gain"].iloc[0] == pytest.approx(1 / 3) and gains["lift"].iloc[0] == pytest.approx((1 / 3) / 0.2)
    assert "top 20%" in gains_sentence(gains, "yes") and "33%" in gains_sentence(gains, "yes")


def test_one_class_gets_a_message():
    with pytest.raises(ModelDeckError, match="both classes"):
        profit_curve(np.array(["no"] * 4), np.zeros(4), "yes", Economics())
