"""E-diary / LMS (Kundelik, Bilim Class, Mektep.edu ...): students' mornings, parents, teachers' grade entry.

    locust -f loadtests/locustfiles/ediary.py --headless -u 50 -t 2m --mektep-students 2000 --mektep-shape first-bell
"""

from loadtests.profile import PlatformKind
from loadtests.users import OpenModelUser


class EdiaryStudents(OpenModelUser):
    """A pool of senders for the ediary journeys of the profile's ediary platforms."""

    kinds = frozenset({PlatformKind.EDIARY})
