"""``mediastack doctor``: host checks, each pass/warn/fail with a message and a fix.

Layout: ``expectations`` (what a config needs from the host, pure) -> ``probes`` (observe the
host, the only side effects) -> ``host_checks``/``stack_checks`` (facts -> CheckResult, pure)
-> ``run`` (ties them together in a fixed order).
"""

from mediastack.doctor.model import CheckResult, Status, Summary, report_json, summarise
from mediastack.doctor.run import run_checks

__all__ = ["CheckResult", "Status", "Summary", "report_json", "run_checks", "summarise"]
