"""The composition root: the only layer that builds concrete services and plugs them in.

Above the job (``backfill``) and the campaigns, below the interfaces (``cli``, ``web``,
``workers``). ``services`` turns Settings into the engine and cipher; ``jobs`` chooses the
job's destination, hooks, notes and preview sections; ``risk`` adapts the campaign
audit into a preview section.
"""

from __future__ import annotations

from shopify_backfill.wiring.jobs import (
    after_batch_hooks,
    completion_notes,
    job_options,
    make_preview,
    preview_sections,
    refuse_missing_scopes,
)
from shopify_backfill.wiring.services import (
    DEFAULT_WORKSPACE,
    Services,
    SettingNames,
    build_services,
    workspace_id_by_name,
)

__all__ = [
    "DEFAULT_WORKSPACE",
    "Services",
    "SettingNames",
    "after_batch_hooks",
    "build_services",
    "completion_notes",
    "job_options",
    "make_preview",
    "preview_sections",
    "refuse_missing_scopes",
    "workspace_id_by_name",
]
