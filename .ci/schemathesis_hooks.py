"""Schemathesis hooks for .ci/schemathesis.

The server takes instants between 1970-01-01 and a year from now (a clock set
decades off is a typing slip, issue #16 item 13). JSON Schema cannot say "a year
from now", so the document states the range in words and valid instants are
generated within it; out-of-range instants stay covered by tests/api.
"""

from datetime import datetime, timedelta, timezone

from hypothesis import strategies as st

import schemathesis

schemathesis.openapi.format(
    "date-time",
    st.datetimes(
        min_value=datetime(1970, 1, 1),
        max_value=datetime.now() + timedelta(days=300),
        timezones=st.just(timezone.utc),
    ).map(lambda at: at.isoformat().replace("+00:00", "Z")),
)
