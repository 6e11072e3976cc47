"""Testing / olympiads (Daryn.online): login, a synchronised start, questions and answers, finish.

    locust -f loadtests/locustfiles/testing.py --headless -u 50 -t 2m --mektep-students 2000 --mektep-shape first-bell
"""

from loadtests.profile import PlatformKind
from loadtests.users import OpenModelUser


class TestingStudents(OpenModelUser):
    """A pool of senders for the testing journeys of the profile's testing platforms."""

    kinds = frozenset({PlatformKind.TESTING})
