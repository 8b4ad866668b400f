"""Campaign sets from JSON or YAML files (tests, demos, seeding a workspace).

Accepted shapes: a list of campaigns, or a mapping with a ``campaigns`` list. Every
campaign is validated before anything is written, and an error names the file, the
campaign's position and name, and the field, so a merchant can fix a file in one go.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from shopify_backfill.campaigns.model import CampaignSpec, parse_spec
from shopify_backfill.errors import InputError

SUFFIXES = (".json", ".yaml", ".yml")


def load_campaign_file(path: Path) -> list[CampaignSpec]:
    """Read and validate ``path``; the suffix picks the format."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"{path}: unknown campaign file type; use one of {', '.join(SUFFIXES)}")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such campaign file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read it ({error})") from None
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: invalid JSON at line {error.lineno}: {error.msg}") from None
    except yaml.YAMLError as error:
        raise InputError(f"{path}: invalid YAML: {error}") from None
    return parse_campaign_set(data, source=str(path))


def parse_campaign_set(data: Any, *, source: str = "campaign set") -> list[CampaignSpec]:
    if isinstance(data, Mapping):
        if set(data) != {"campaigns"}:
            raise InputError(
                f"{source}: expected a list of campaigns or a mapping with only a 'campaigns' "
                f"key, got keys {sorted(map(str, data))}"
            )
        data = data["campaigns"]
    if not isinstance(data, list):
        raise InputError(f"{source}: expected a list of campaigns, got {type(data).__name__}")
    specs = [
        parse_spec(item, where=f"{source}: item {index}") for index, item in enumerate(data, 1)
    ]
    names = [spec.name for spec in specs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(
            f"{source}: campaign names must be unique; repeated: {', '.join(repeated)}"
        )
    return specs
