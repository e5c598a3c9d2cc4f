"""Tableaus are consistent and have the order they declare."""
import numpy as np
import pytest

from lib.tableaus import BUTCHER_RK5, DORMAND_PRINCE_54, TABLEAUS, Tableau


def order_conditions(A, b, c, order):
    """Residuals of the rooted-tree order conditions up to order 5."""
    conds = [
        (b.sum(), 1.0),
        (b @ c, 1 / 2),
        (b @ c**2, 1 / 3), (b @ A @ c, 1 / 6),
        (b @ c**3, 1 / 4), (b @ (c * (A @ c)), 1 / 8), (b @ A @ c**2, 1 / 12), (b @ A @ A @ c, 1 / 24),
        (b @ c**4, 1 / 5), (b @ (c**2 * (A @ c)), 1 / 10), (b @ ((A @ c) ** 2), 1 / 20),
        (b @ (c * (A @ c**2)), 1 / 15), (b @ A @ c**3, 1 / 20), (b @ (c * (A @ A @ c)), 1 / 30),
        (b @ A @ (c * (A @ c)), 1 / 40), (b @ A @ A @ c**2, 1 / 60), (b @ A @ A @ A @ c, 1 / 120),
    ]
    n_by_order = {1: 1, 2: 2, 3: 4, 4: 8, 5: 17}
    return np.array([v - t for v, t in conds[: n_by_order[order]]])


@pytest.mark.parametrize("tab", list(TABLEAUS.values()), ids=list(TABLEAUS))
def test_order_conditions_hold(tab):
    assert np.allclose(order_conditions(tab.A, tab.b, tab.c, tab.order), 0, atol=1e-14)


def test_dormand_prince_embedded_solution_is_fourth_not_fifth_order():
    tab = DORMAND_PRINCE_54
    b_hat = tab.b - tab.e
    assert np.allclose(order_conditions(tab.A, b_hat, tab.c, 4), 0, atol=1e-14)
    assert np.abs(order_conditions(tab.A, b_hat, tab.c, 5)).max() > 1e-6


def test_paper_tableau_matches_protocol_and_fsal_flags():
    assert BUTCHER_RK5.stages == 6 and not BUTCHER_RK5.fsal and not BUTCHER_RK5.adaptive
    assert np.allclose(BUTCHER_RK5.b * 90, [7, 0, 32, 12, 32, 7])
    assert DORMAND_PRINCE_54.fsal and DORMAND_PRINCE_54.evaluations_per_step == 6


@pytest.mark.parametrize("kwargs, message", [
    (dict(A=[[0, 1], [0, 0]], b=[0.5, 0.5], c=[0, 0]), "lower triangular"),
    (dict(A=[[0, 0], [1, 0]], b=[0.5, 0.5], c=[0, 0.5]), "sum to c"),
    (dict(A=[[0, 0], [1, 0]], b=[0.5, 0.6], c=[0, 1]), "sum to one"),
    (dict(A=[[0, 0], [1, 0]], b=[0.5, 0.5], c=[0, 1], e=[0.1, 0.1], error_order=1), "sum to zero"),
])
def test_invalid_tableaus_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Tableau(name="bad", order=2, **kwargs)
