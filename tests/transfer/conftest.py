from tests.support.slapd import slapd  # noqa: F401 - the fixture
