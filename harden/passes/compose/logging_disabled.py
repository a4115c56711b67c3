"""logging-disabled: a service throws its logs away (`logging: driver: none`).

What: reports a service whose effective `logging.driver` (on the service or merged from an
anchor) is `none`. Any other driver, and a service without `logging:` (the daemon's default,
`json-file` unless configured), is not reported. Reported only: harden does not choose a
logging driver for you (the right one is the one your hosts ship to).

Why: with the `none` driver Docker keeps no output of the container: `docker logs` shows
nothing, and nothing reaches a central log store, so an intrusion, a crash loop or an
attacker's probing leaves no trace to investigate (CIS Docker Benchmark v1.6.0 2.13, "Ensure
centralized and remote logging is configured"; OWASP Top 10 A09:2021 "Security Logging and
Monitoring Failures").

The safer alternative: remove `logging:` to use the daemon's default, or name the driver your
hosts collect (`json-file` or `local` with `max-size`/`max-file` to bound disk use, `journald`,
`syslog`, `fluentd`, `gelf`). A service that is noisy needs a size limit, not silence.

Fix safety: display (no fix).

Example (fixtures/logging-disabled/display):

    services:
      quiet:
        image: example/app
        logging:
          driver: none
      rotated:
        image: example/app
        logging:
          driver: local
          options:
            max-size: 10m

reports quiet, and nothing of rotated.
"""

from __future__ import annotations

from harden.compose import ComposeDocument
from harden.model import Applicability, Finding, Rule, Severity
from harden.passes import Context
from harden.passes.compose.layers import here, services

RULE = Rule(
    id="logging-disabled",
    title="No service turns its logs off",
    control="CIS 2.13",
    applicability=Applicability.DISPLAY,
    kinds=("compose",),
)
RATIONALE = (
    "Without logs an intrusion, a crash loop or an attacker's probing leaves no trace: there is nothing to alert "
    "on and nothing to investigate."
)


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings = []
    for service in services(document, context):
        logging = service.get("logging")
        driver = logging.get("driver") if isinstance(logging, dict) else None
        if not isinstance(driver, str) or driver.strip().lower() != "none" or not here(service, "logging"):
            continue
        message = (
            "logging driver none keeps no output of the container: docker logs is empty and nothing reaches a log "
            "store, so an intrusion leaves no trace. harden does not change it; remove logging: to use the daemon's "
            "default, or use the driver your hosts collect (local or json-file with max-size to bound disk use)"
        )
        line, column = document.service_position(service, "logging")
        findings.append(Finding(RULE, message, line, column, Severity.WARNING, RATIONALE, None, service.name))
    return findings
