"""Every platform of the profile at once, each with its share of the students.

    locust -f loadtests/locustfiles/all.py --headless -u 100 -t 5m --mektep-students 20000 --mektep-shape first-bell
"""

from loadtests.users import OpenModelUser


class AllPlatformsStudents(OpenModelUser):
    """A pool of senders for every platform of the profile."""
