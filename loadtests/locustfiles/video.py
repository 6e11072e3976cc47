"""Video lessons (BilimLand): catalogue, lesson page, segments fetched at the lesson's bitrate.

    locust -f loadtests/locustfiles/video.py --headless -u 50 -t 2m --mektep-students 2000 --mektep-shape first-bell
"""

from loadtests.profile import PlatformKind
from loadtests.users import OpenModelUser


class VideoStudents(OpenModelUser):
    """A pool of senders for the video journeys of the profile's video platforms."""

    kinds = frozenset({PlatformKind.VIDEO})
