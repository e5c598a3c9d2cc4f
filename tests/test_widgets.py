"""The book's interactive explorers (lib.widgets): structure, links, live callbacks."""
import itertools
import math
import struct
import subprocess
import sys

import ipywidgets as widgets
import numpy as np
from ipywidgets.widgets import widget as widget_module
from ipywidgets.widgets.widget_link import Link
import pytest

import lib
from lib import widgets as W
from lib.experiments import paper_temperatures

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DPI = 40  # small figures keep the quick tests quick

# Small static grids, one entry per explorer: (function, keyword arguments,
# static parameter names in nesting order, their values, renderer of one leaf).
SMALL = {
    "landscape": (W.landscape_explorer,
                  dict(heights=(5.0, 10.0), widths=(2.0,), impacts=(0.0, 2.0), dpi=DPI),
                  ("U0", "lam", "s"), ((5.0, 10.0), (2.0,), (0.0, 2.0)),
                  lambda U0, lam, s: W._landscape_png(U0, lam, s, dpi=DPI)),
    "trajectory": (W.trajectory_explorer,
                   dict(particle_energies=(4.0, 12.0), oscillator_energies=(0.0,), phases=(0.0, math.pi),
                        dpi=DPI),
                   ("E_particle", "E_oscillator", "phase"), ((4.0, 12.0), (0.0,), (0.0, math.pi)),
                   lambda E_particle, E_oscillator, phase: W._trajectory_png(
                       E_particle, E_oscillator, phase, 1.0, 2.0, dpi=DPI)),
    "phase_space": (W.phase_space_explorer,
                    dict(phases=(0.0, math.pi / 2), impacts=(0.0, 2.0), masses=(1.0,), grid=12, dpi=DPI),
                    ("phase", "s", "M"), ((0.0, math.pi / 2), (0.0, 2.0), (1.0,)),
                    lambda phase, s, M: W._phase_space_png(phase, s, M, grid=12, dpi=DPI, live=False)),
    "transmission": (W.transmission_explorer,
                     dict(experiments=("frozen", "thermal"), impacts=(2.0,), masses=(0.2, 5.0),
                          n_temperatures=5, trials=100, dpi=DPI),
                     ("experiment", "s", "M"), (("frozen", "thermal"), (2.0,), (0.2, 5.0)),
                     lambda experiment, s, M: W._transmission_png(
                         experiment, s, M, temperatures=W.explorer_temperatures(5), trials=100, seed=0,
                         dpi=DPI, live=False)),
}


@pytest.fixture(scope="module")
def explorers():
    return {name: spec[0](**spec[1]) for name, spec in SMALL.items()}


def png_width(data: bytes) -> int:
    assert data[:8] == PNG_SIGNATURE
    return struct.unpack(">I", data[16:20])[0]


def leaves(stack):
    """Images under a stack, depth first."""
    for child in stack.children:
        if isinstance(child, widgets.Stack):
            yield from leaves(child)
        else:
            yield child


def shown_image(explorer):
    """The image the page shows: follow each stack's selected_index (what jslink keeps in step)."""
    node = explorer.stacks[0][0]
    while isinstance(node, widgets.Stack):
        node = node.children[node.selected_index]
    return node


def select(explorer, indices):
    """Do in Python what the browser does through the links: set controls, then their stacks."""
    for k, (control, index) in enumerate(zip(explorer.static_controls.values(), indices)):
        control.index = index
        for stack in explorer.stacks[k]:
            stack.selected_index = index


@pytest.mark.parametrize("name", SMALL)
def test_nested_stacks_have_one_level_per_control(explorers, name):
    explorer = explorers[name]
    _, _, names, values, _ = SMALL[name]
    assert isinstance(explorer, W.Explorer) and isinstance(explorer, widgets.VBox)
    assert tuple(explorer.static_controls) == names
    assert explorer.stacks[0][0] in explorer.children
    expected_stacks = 1
    for k, vals in enumerate(values):
        assert len(explorer.stacks[k]) == expected_stacks
        assert all(len(s.children) == len(vals) for s in explorer.stacks[k])
        expected_stacks *= len(vals)
    images = list(leaves(explorer.stacks[0][0]))
    assert len(images) == math.prod(len(v) for v in values)
    assert all(isinstance(im, widgets.Image) and im.format == "png" for im in images)
    assert all(png_width(im.value) == round(lib.plotting.BOOK_WIDTH * DPI) for im in images)
    assert len({im.value for im in images}) == len(images), "two parameter sets gave the same figure"
    assert explorer.live_image in list(explorer._live.accordion.children[0].children)


@pytest.mark.parametrize("name", SMALL)
def test_every_stack_is_jslinked_to_its_control(explorers, name):
    explorer = explorers[name]
    controls = list(explorer.static_controls.values())
    n_stacks = sum(len(level) for level in explorer.stacks)
    assert len(explorer.links) == n_stacks
    # every live widget, as the kernel's registry holds them (Widget.widgets before 8.1)
    instances = getattr(widget_module, "_instances", None) or widgets.Widget.widgets
    registry = [w for w in instances.values() if isinstance(w, Link)]
    for k, level in enumerate(explorer.stacks):
        control = controls[k]
        assert isinstance(control, (widgets.SelectionSlider, widgets.Dropdown))
        assert control.trait_metadata("index", "sync")
        for stack in level:
            assert stack.selected_index == control.index
            found = [ln for ln in registry if ln.target == (stack, "selected_index")]
            assert len(found) == 1, "each stack needs exactly one link"
            assert found[0].source == (control, "index")
            assert found[0] in explorer.links


@pytest.mark.parametrize("name", SMALL)
def test_selected_figure_is_the_one_for_the_control_values(explorers, name):
    # Walking the stacks as the links select them must land on the figure
    # computed for the labelled parameters (the nesting order is right).
    explorer = explorers[name]
    _, _, names, values, render = SMALL[name]
    start = [c.index for c in explorer.static_controls.values()]
    try:
        for indices in itertools.product(*(range(len(v)) for v in values)):
            select(explorer, indices)
            params = {n: v[i] for n, v, i in zip(names, values, indices)}
            assert shown_image(explorer).value == render(**params), params
    finally:
        select(explorer, start)


def test_control_labels_name_the_values(explorers):
    phase = explorers["phase_space"].static_controls["phase"]
    assert [label for label, _ in phase.options] == ["0", "π/2"]
    experiment = explorers["transmission"].static_controls["experiment"]
    assert isinstance(experiment, widgets.Dropdown)
    assert experiment.options[1][0].startswith("thermal:")
    # defaults: s = 2 and M = 1 are shown first where offered
    assert explorers["landscape"].static_controls["s"].index == 1


@pytest.mark.parametrize("name", SMALL)
def test_live_controls_recompute_the_live_image(explorers, name):
    explorer = explorers[name]
    accordion = explorer._live.accordion
    assert accordion.get_title(0) == W.LIVE_TITLE
    assert explorer.live_image.value == b"" and explorer.live_image.layout.display == "none"
    accordion.selected_index = 0  # opening the panel draws the figure
    first = explorer.live_image.value
    assert first[:8] == PNG_SIGNATURE and explorer.live_image.layout.display is None
    control = explorer.live_controls["s"]
    control.value = control.value + 0.5
    second = explorer.live_image.value
    assert second[:8] == PNG_SIGNATURE and second != first
    assert explorer.last_update_seconds is not None and explorer.last_update_seconds > 0
    assert "Recomputed" in explorer.live_status.value


@pytest.mark.parametrize("name, control, bad, message", [
    ("landscape", "lam", 0.0, "lambda must be positive"),
    ("trajectory", "M", -1.0, "mass M must be positive"),
    ("trajectory", "E_particle", 0.0, "particle energy must be positive"),
    ("phase_space", "M", -1.0, "mass M must be positive"),
    ("transmission", "M", 0.0, "mass M must be positive"),
])
def test_invalid_live_value_reports_lib_error_and_keeps_figure(explorers, name, control, bad, message):
    explorer = explorers[name]
    explorer.update_live()
    before = explorer.live_image.value
    widget = explorer.live_controls[control]
    good = widget.value
    try:
        widget.value = bad
        assert "Invalid input" in explorer.live_status.value
        assert message in explorer.live_status.value
        assert explorer.live_image.value == before
    finally:
        widget.value = good
    assert "Recomputed" in explorer.live_status.value


def test_live_transmission_uses_every_control(explorers):
    explorer = explorers["transmission"]
    explorer.update_live()
    seen = {explorer.live_image.value}
    for name, value in [("experiment", "joint"), ("n_temperatures", 6), ("trials", 150), ("seed", 3)]:
        explorer.live_controls[name].value = value
        seen.add(explorer.live_image.value)
    assert len(seen) == 5


def test_live_phase_space_grid_control(explorers):
    explorer = explorers["phase_space"]
    explorer.live_controls["grid"].value = 15
    small = explorer.live_image.value
    explorer.live_controls["grid"].value = 16
    assert explorer.live_image.value != small


@pytest.mark.parametrize("func, kwargs, message", [
    (W.landscape_explorer, dict(heights=()), "U0 values must not be empty"),
    (W.landscape_explorer, dict(widths=(1.0, -1.0)), "lambda values must be positive"),
    (W.landscape_explorer, dict(impacts=(1.0, 1.0)), "impact parameters s must not repeat"),
    (W.landscape_explorer, dict(dpi=0), "dpi must be an integer"),
    (W.trajectory_explorer, dict(particle_energies=(0.0,)), "particle energies must be positive"),
    (W.trajectory_explorer, dict(phases=(float("nan"),)), "phases must be finite"),
    (W.trajectory_explorer, dict(M=0.0), "mass M must be positive"),
    (W.phase_space_explorer, dict(grid=1), "grid must be an integer of at least 2"),
    (W.phase_space_explorer, dict(masses=("heavy",)), "masses M must be a number"),
    (W.transmission_explorer, dict(experiments=("frozen", "hot")), "experiment must be one of"),
    (W.transmission_explorer, dict(n_temperatures=1), "number of temperatures must be an integer"),
    (W.transmission_explorer, dict(n_temperatures=1000), "number of temperatures must be at most"),
    (W.transmission_explorer, dict(trials=0), "trials must be a positive integer"),
    (W.transmission_explorer, dict(seed=-1), "seed must be an integer"),
])
def test_bad_arguments_raise_one_line_value_errors(func, kwargs, message):
    with pytest.raises(ValueError, match=message) as info:
        func(**kwargs)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("n", [2, 30, 100, 249])
def test_explorer_temperatures_are_distinct_paper_temperatures(n):
    T = W.explorer_temperatures(n)
    paper = np.unique(paper_temperatures())
    assert T.size == n and np.all(np.diff(T) > 0) and np.all(np.isin(T, paper))
    assert T[0] == paper[0] and T[-1] == paper[-1]
    if n == 30:  # spread evenly in 1/omega_T: no gap much wider than the target spacing
        gaps = np.diff(np.sort(1.0 / T))
        assert gaps.max() < 2.0 * (1.0 - 1.0 / 150.0) / (n - 1)


def test_figures_keep_the_callers_matplotlib_style():
    import matplotlib as mpl

    before = dict(mpl.rcParams)
    W._landscape_png(10.0, 2.0, 2.0, dpi=DPI)
    assert dict(mpl.rcParams) == before


def test_importing_lib_does_not_import_widgets():
    code = ("import sys, lib; bad = [m for m in ('lib.widgets', 'ipywidgets', 'matplotlib') "
            "if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_default_explorers_grids_and_page_budget():
    expected = {W.landscape_explorer: (2, 3, 3), W.trajectory_explorer: (3, 3, 4),
                W.phase_space_explorer: (8, 2, 3), W.transmission_explorer: (4, 2, 3)}
    for func, shape in expected.items():
        explorer = func()
        assert tuple(len(s.children) for s in (level[0] for level in explorer.stacks)) == shape
        images = list(leaves(explorer.stacks[0][0]))
        assert len(images) == math.prod(shape)
        # base64 in the page's widget state: stay well inside the 10 MB page budget
        assert sum(len(im.value) for im in images) * 4 / 3 < 4e6, func.__name__


@pytest.mark.slow
@pytest.mark.parametrize("func, name", [(W.phase_space_explorer, "phase_space"),
                                        (W.transmission_explorer, "transmission")])
def test_live_update_recomputes_at_full_size(func, name):
    # 100 x 100 phase-space map; 30 temperatures x 2,000 trials. How fast this is
    # is measured by benchmarks/explorers.py, never asserted here.
    kwargs = dict(phases=(0.0,), impacts=(2.0,), masses=(1.0,))
    if name == "transmission":
        kwargs = dict(experiments=("thermal",), impacts=(2.0,), masses=(1.0,))
    explorer = func(**kwargs)
    explorer.update_live()
    seen = [explorer.live_image.value]
    for M in (0.2, 5.0):
        explorer.live_controls["M"].value = M
        assert "Recomputed" in explorer.live_status.value
        seen.append(explorer.live_image.value)
    assert all(image[:8] == PNG_SIGNATURE for image in seen)
    assert len(set(seen)) == 3  # each mass draws a different figure
    explorer.live_controls["M"].value = 1.0
    assert explorer.live_image.value == seen[0]  # and the same inputs the same figure
