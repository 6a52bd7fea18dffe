"""``hicachectl launch``: run a Plan's processes, supervise them, verify the boot.

Pure parts: ``specs`` (plan → argv/env/ports/probe per child), ``environ`` (each child's
environment), ``mocker`` (worker → dynamo.mocker argv), ``preflight`` checks, ``supervisor``
(the event loop), ``readiness`` verdicts and phases, ``bootcheck``/``boot_report`` (SGLang log
lines vs the plan).  Edges: ``process`` (the only module that spawns or signals), ``logs``
(the terminal), ``rundir`` (files), ``session``/``runner`` (the wiring).
"""
