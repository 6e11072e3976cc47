"""The 20 top-level regions of Kazakhstan (17 oblasts and 3 cities), with Russian and Kazakh names.

Boxes and centres are approximate (a few tenths of a degree): enough to place synthetic schools
inside the right region and to refuse coordinates that are not in Kazakhstan at all.
"""

from __future__ import annotations

from dataclasses import dataclass

# Kazakhstan's extreme points, rounded outwards.
COUNTRY_LAT = (40.5, 55.5)
COUNTRY_LON = (46.4, 87.4)

# A coarse outline of the country (longitude, latitude), drawn generously (a few tenths of a degree
# outwards; the Caspian shore is left in the sea): it refuses points that are clearly elsewhere,
# such as swapped coordinates or a neighbouring country's cities, and never a school near the border.
COUNTRY_OUTLINE: tuple[tuple[float, float], ...] = (
    (46.4, 48.3), (46.4, 49.9), (47.3, 50.6), (48.6, 51.9), (50.8, 51.9), (52.6, 51.9), (54.5, 51.3),
    (55.7, 50.9), (57.5, 51.2), (58.7, 51.1), (60.1, 50.9), (61.6, 51.4), (60.9, 52.8), (61.2, 53.9),
    (62.7, 54.2), (65.3, 54.8), (67.0, 55.2), (69.2, 55.5), (70.9, 55.2), (71.3, 54.3), (73.8, 54.2),
    (76.8, 54.3), (77.9, 53.4), (79.5, 52.7), (80.3, 51.4), (81.5, 51.0), (83.2, 51.1), (84.3, 50.3),
    (85.4, 49.8), (86.3, 49.7), (87.4, 49.2), (86.0, 48.4), (85.6, 47.1), (83.1, 47.3), (82.3, 45.6),
    (80.5, 44.9), (80.4, 44.0), (80.3, 42.9), (80.2, 42.2), (79.2, 42.6), (77.5, 42.9), (75.6, 42.95),
    (74.6, 43.0), (73.5, 43.0), (72.8, 42.6), (71.0, 42.5), (70.3, 41.9), (69.3, 41.35), (68.4, 40.55),
    (67.9, 41.2), (66.6, 41.9), (66.0, 42.9), (65.5, 43.6), (62.0, 43.5), (61.0, 44.3), (58.5, 45.6),
    (56.0, 45.0), (56.0, 41.3), (52.5, 41.7), (50.0, 43.5), (48.9, 45.6), (48.9, 46.2), (47.6, 47.6),
)


@dataclass(frozen=True)
class Region:
    """A top-level region: stable code, names in three languages, and a rough geographic box."""

    code: str
    name_en: str
    name_ru: str
    name_kk: str
    is_city: bool
    centre: tuple[float, float]          # (latitude, longitude) of the administrative centre
    lat_range: tuple[float, float]
    lon_range: tuple[float, float]
    school_share: float                  # share of the country's schools (synthetic registry)
    urban_share: float                   # share of the region's schools that are urban

    def contains(self, latitude: float, longitude: float) -> bool:
        """True when the point lies in the region's (approximate) box."""
        return (self.lat_range[0] <= latitude <= self.lat_range[1]
                and self.lon_range[0] <= longitude <= self.lon_range[1])


def _oblast(code, en, ru, kk, centre, lat, lon, share, urban):
    return Region(code, en, ru, kk, False, centre, lat, lon, share, urban)


def _city(code, en, ru, kk, centre, share):
    lat, lon = centre
    return Region(code, en, ru, kk, True, centre, (lat - 0.15, lat + 0.15), (lon - 0.25, lon + 0.25), share, 1.0)


REGIONS: tuple[Region, ...] = (
    _oblast("abai", "Abai", "Абайская область", "Абай облысы", (50.41, 80.23), (46.6, 51.0), (76.5, 84.0), 380, 0.27),
    _oblast("akmola", "Akmola", "Акмолинская область", "Ақмола облысы", (53.28, 69.39), (50.3, 53.6), (65.5, 74.0), 560, 0.20),
    _oblast("aktobe", "Aktobe", "Актюбинская область", "Ақтөбе облысы", (50.28, 57.17), (45.5, 51.0), (54.5, 63.5), 420, 0.32),
    _oblast("almaty_region", "Almaty Region", "Алматинская область", "Алматы облысы", (43.87, 77.07), (42.9, 45.5), (74.5, 80.2), 560, 0.24),
    _oblast("atyrau", "Atyrau", "Атырауская область", "Атырау облысы", (47.11, 51.92), (45.0, 49.0), (48.5, 56.0), 200, 0.32),
    _oblast("east_kazakhstan", "East Kazakhstan", "Восточно-Казахстанская область", "Шығыс Қазақстан облысы", (49.95, 82.61), (48.5, 51.5), (81.5, 87.3), 330, 0.42),
    _oblast("jambyl", "Jambyl", "Жамбылская область", "Жамбыл облысы", (42.90, 71.37), (42.5, 46.0), (69.5, 75.5), 470, 0.22),
    _oblast("jetisu", "Jetisu", "Жетысуская область", "Жетісу облысы", (45.02, 78.37), (44.0, 47.0), (77.0, 82.5), 320, 0.24),
    _oblast("karaganda", "Karaganda", "Карагандинская область", "Қарағанды облысы", (49.81, 73.09), (46.0, 51.5), (70.0, 78.0), 400, 0.48),
    _oblast("kostanay", "Kostanay", "Костанайская область", "Қостанай облысы", (53.21, 63.63), (49.0, 54.5), (60.0, 66.5), 530, 0.27),
    _oblast("kyzylorda", "Kyzylorda", "Кызылординская область", "Қызылорда облысы", (44.85, 65.51), (43.5, 47.5), (59.5, 68.5), 300, 0.27),
    _oblast("mangystau", "Mangystau", "Мангистауская область", "Маңғыстау облысы", (43.65, 51.20), (41.5, 45.5), (50.5, 56.0), 160, 0.42),
    _oblast("north_kazakhstan", "North Kazakhstan", "Северо-Казахстанская область", "Солтүстік Қазақстан облысы", (54.87, 69.15), (53.0, 55.4), (66.0, 73.0), 480, 0.14),
    _oblast("pavlodar", "Pavlodar", "Павлодарская область", "Павлодар облысы", (52.29, 76.97), (50.5, 54.0), (73.5, 79.0), 360, 0.37),
    _oblast("turkistan", "Turkistan", "Туркестанская область", "Түркістан облысы", (43.30, 68.25), (40.6, 45.0), (66.0, 71.0), 1050, 0.20),
    _oblast("ulytau", "Ulytau", "Улытауская область", "Ұлытау облысы", (47.78, 67.71), (45.5, 50.0), (63.5, 71.0), 90, 0.42),
    _oblast("west_kazakhstan", "West Kazakhstan", "Западно-Казахстанская область", "Батыс Қазақстан облысы", (51.23, 51.37), (48.5, 51.8), (46.6, 55.0), 380, 0.22),
    _city("astana", "Astana", "Астана", "Астана", (51.13, 71.43), 130),
    _city("almaty", "Almaty", "Алматы", "Алматы", (43.24, 76.89), 220),
    _city("shymkent", "Shymkent", "Шымкент", "Шымкент", (42.32, 69.60), 150),
)

BY_CODE: dict[str, Region] = {region.code: region for region in REGIONS}

_ALIASES: dict[str, Region] = {}
for _region in REGIONS:
    for _name in (_region.code, _region.name_en, _region.name_ru, _region.name_kk):
        _ALIASES.setdefault(_name.casefold(), _region)
# "Almaty" alone means the city; the oblast is "Almaty Region" / "Алматинская область".
_ALIASES["almaty"] = BY_CODE["almaty"]
_ALIASES["алматы"] = BY_CODE["almaty"]
_ALIASES["алматы облысы"] = BY_CODE["almaty_region"]


def find_region(name: str) -> Region:
    """Return the region named by its code or its English, Russian or Kazakh name (case-insensitive)."""
    region = _ALIASES.get(name.strip().casefold())
    if region is None:
        raise ValueError(f"unknown region {name!r}; expected one of: {', '.join(BY_CODE)}")
    return region


def in_kazakhstan(latitude: float, longitude: float) -> bool:
    """True when the point lies inside the coarse outline of Kazakhstan (ray casting)."""
    if not (COUNTRY_LAT[0] <= latitude <= COUNTRY_LAT[1] and COUNTRY_LON[0] <= longitude <= COUNTRY_LON[1]):
        return False
    inside = False
    for (x1, y1), (x2, y2) in zip(COUNTRY_OUTLINE, COUNTRY_OUTLINE[1:] + COUNTRY_OUTLINE[:1]):
        if (y1 > latitude) != (y2 > latitude):
            crossing = x1 + (latitude - y1) * (x2 - x1) / (y2 - y1)
            if longitude < crossing:
                inside = not inside
    return inside
