"""Test configuration: a private, empty result cache and serial runs by default."""
import os

import numpy as np
import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    old = {k: os.environ.get(k) for k in ("ACTIVATION_CACHE", "ACTIVATION_JOBS", "ACTIVATION_PROGRESS")}
    os.environ["ACTIVATION_CACHE"] = str(tmp_path_factory.mktemp("activation-cache"))
    os.environ["ACTIVATION_JOBS"] = "1"
    os.environ["ACTIVATION_PROGRESS"] = "0"
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
