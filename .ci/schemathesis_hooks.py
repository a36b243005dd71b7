"""Schemathesis hooks for .ci/schemathesis: the rules JSON Schema cannot state.

The document states every rule about one field (types, lengths, patterns, enums,
alternatives with oneOf). A few rules relate a field to another field, to the
clock, or to the record being changed; the document says them in words, and these
hooks make the *positive* (schema-valid) cases the fuzzer sends keep them, so that
"schema-valid request rejected" means a real disagreement. Negative cases are left
alone, and every rule below has its own tests in tests/api:

- instants lie between 1970-01-01 and now (the server takes up to a day ahead,
  issue #16 item 13; past instants keep the next rules independent of the clock);
- an incident's times keep their order: nothing before occurred_at, assessed_at
  not before aware_at (also against the stored incident on PATCH);
- texts per locale: the default locale is one of the locales given, and the
  locale keys are BCP 47 tags (OpenAPI 3.0 has no propertyNames);
- a report share expires in the future, within 366 days;
- values the fuzzer takes from other responses (a share's expiry, a deadline)
  may lie ahead; in the fields that say when something happened they are moved
  into the past;
- channels_only needs the channels to use; a send window's end differs from its
  start.
"""

from datetime import date, datetime, timedelta, timezone
import re

from hypothesis import strategies as st

import schemathesis
from schemathesis import GenerationMode

schemathesis.openapi.format(
    "date-time",
    st.datetimes(
        min_value=datetime(1970, 1, 1),
        max_value=datetime.now() - timedelta(days=1),
        timezones=st.just(timezone.utc),
    ).map(lambda at: at.isoformat().replace("+00:00", "Z")),
)
schemathesis.openapi.format(
    "date",
    st.dates(min_value=date(1970, 1, 1), max_value=date.today() - timedelta(days=1)).map(
        date.isoformat
    ),
)

LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
INSTANTS = ("occurred_at", "discovered_at", "aware_at", "assessed_at", "contained_at")


def parse(value):
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None


def incident_times(body, patch):
    """Nothing before occurred_at; assessed_at not before aware_at.

    A PATCH is checked against the stored incident too, so a PATCH that sets one
    instant sets them all: the missing ones to the latest given (or null where
    null is allowed).
    """
    times = {k: parse(body[k]) for k in INSTANTS if body.get(k) is not None}
    if not times or any(t is None for t in times.values()):
        return
    latest = max(times.values())
    if patch:
        for key in ("discovered_at", "aware_at"):
            times.setdefault(key, latest)
        body.setdefault("occurred_at", None)
        body.setdefault("assessed_at", None)
        body.setdefault("contained_at", None)
    if "assessed_at" in times:
        aware = times.get("aware_at") or times.get("discovered_at") or times["assessed_at"]
        times["aware_at"], times["assessed_at"] = sorted([aware, times["assessed_at"]])
    if "occurred_at" in times:
        times["occurred_at"] = min(times.values())
    for key, at in times.items():
        body[key] = at.isoformat()


def localized(body):
    """Locale keys are tags, and the default is one of them."""
    locales = body.get("locales")
    if not isinstance(locales, dict):
        return
    spare = iter(["en", "ja", "fr", "de", "es", "ko", "ru", "it", "pt", "nl"])
    for key in [k for k in locales if not LOCALE.match(k)]:
        tag = next(t for t in spare if t not in locales)
        locales[tag] = locales.pop(key)
    if locales and body.get("default_locale") not in locales:
        body["default_locale"] = next(iter(locales))


def share(body):
    at = parse(body.get("expires_at"))
    now = datetime.now(timezone.utc)
    if at is not None and not now < at < now + timedelta(days=366):
        body["expires_at"] = (now + timedelta(days=30)).isoformat()


HAPPENED = INSTANTS + ("at", "met_at", "submitted_at")


def happened(body):
    """Fields that say when something happened do not lie ahead."""
    now = datetime.now(timezone.utc)
    for key in HAPPENED:
        at = parse(body.get(key))
        if at is not None and at.tzinfo is not None and at > now:
            body[key] = (now - timedelta(hours=1)).isoformat()


def profile(body):
    notices = body.get("notices")
    if not isinstance(notices, dict):
        return
    if notices.get("channels_only") and not notices.get("channels"):
        notices["channels"] = ["email"]
    window = notices.get("send_window")
    if isinstance(window, dict) and window.get("start") and window.get("start") == window.get("end"):
        window["end"] = "00:00" if window["start"] != "00:00" else "12:00"


RULES = {
    ("POST", "/api/v1/incidents"): lambda b: incident_times(b, patch=False),
    ("PATCH", "/api/v1/incidents/{id}"): lambda b: incident_times(b, patch=True),
    ("POST", "/api/v1/incidents/{id}/bulletins"): localized,
    ("PUT", "/api/v1/incidents/{id}/bulletins/{b}"): localized,
    ("PUT", "/api/v1/incidents/{id}/notice-content"): localized,
    ("POST", "/api/v1/incidents/{id}/reports/shares"): share,
    ("POST", "/api/v1/incidents/{id}/reports/{r}/shares"): share,
    ("PUT", "/api/v1/tenant/profile"): profile,
}


@schemathesis.hook
def map_case(context, case):
    positive = case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE
    rule = RULES.get((case.operation.method.upper(), case.operation.path))
    if positive and isinstance(case.body, dict):
        happened(case.body)
        if rule is not None:
            rule(case.body)
    return case
