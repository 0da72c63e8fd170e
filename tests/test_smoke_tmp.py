import pytest
from tests.conftest import PATHS

@pytest.mark.parametrize("state", list(PATHS))
def test_paths(make_request, state):
    r = make_request(state)
    assert r.status == state
