"""Shared fixtures of the network tests."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _few_threads():
    # CI machines have two shared cores; more threads only add contention.
    old = torch.get_num_threads()
    torch.set_num_threads(min(old, 2))
    yield
    torch.set_num_threads(old)
