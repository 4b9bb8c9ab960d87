"""Parses a /metrics scrape with the Prometheus project's own Python parser (OpenMetrics, the
format Cohort serves) and checks what a scraper relies on: every family Cohort promises, of
its type, with sane values."""
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

text = open(sys.argv[1]).read()
families = {f.name: f for f in text_string_to_metric_families(text)}
want = {
    "cohort_http_requests": "counter",
    "cohort_http_request_duration_seconds": "histogram",
    "cohort_http_requests_in_flight": "gauge",
    "cohort_index_revision": "gauge",
    "cohort_index_lag": "gauge",
    "cohort_index_memberships": "gauge",
    "cohort_index_bytes": "gauge",
    "cohort_checks": "counter",
    "cohort_logins": "counter",
    "cohort_db_connections": "gauge",
    "cohort_db_waiting": "gauge",
    "cohort_db_acquired": "counter",
    "cohort_db_wait_seconds": "counter",
    "cohort_db_errors": "counter",
}
failures = []
for name, kind in want.items():
    f = families.get(name)
    if f is None:
        failures.append(f"missing {name}")
    elif f.type != kind:
        failures.append(f"{name} is a {f.type}, not a {kind}")


def value(name, sample, **labels):
    for s in families[name].samples:
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None


if not failures:
    checks = [
        (value("cohort_http_requests", "cohort_http_requests_total", route="/api/v1/groups", method="POST", status="201"), 1),
        (value("cohort_http_requests", "cohort_http_requests_total", route="unmatched", status="404"), 1),
        (value("cohort_checks", "cohort_checks_total", kind="permission", outcome="allowed"), 1),
        (value("cohort_logins", "cohort_logins_total", outcome="ok"), 1),
        (value("cohort_logins", "cohort_logins_total", outcome="failed"), 1),
        (value("cohort_http_request_duration_seconds", "cohort_http_request_duration_seconds_bucket", route="/api/v1/check", le="+Inf"), 1),
        (value("cohort_index_memberships", "cohort_index_memberships"), 1),
        (value("cohort_db_acquired", "cohort_db_acquired_total"), 1),
        (value("cohort_db_errors", "cohort_db_errors_total", kind="unavailable"), 0),
    ]
    for i, (got, at_least) in enumerate(checks):
        if got is None or got < at_least:
            failures.append(f"check {i}: expected at least {at_least}, got {got}")
if failures:
    print("\n".join(failures))
    sys.exit(1)
print(f"metrics: {len(families)} families parsed by prometheus_client; every promised one present")
