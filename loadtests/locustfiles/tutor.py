"""AI tutor (the planned National Education Platform): chat turns whose answers stream for seconds.

    locust -f loadtests/locustfiles/tutor.py --headless -u 50 -t 2m --mektep-students 2000 --mektep-shape first-bell
"""

from loadtests.profile import PlatformKind
from loadtests.users import OpenModelUser


class TutorStudents(OpenModelUser):
    """A pool of senders for the tutor journeys of the profile's tutor platforms."""

    kinds = frozenset({PlatformKind.TUTOR})
