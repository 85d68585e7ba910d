"""Writes backup_copy/regions.py from the installed SDK's region tables.

    python -m devkit.regions_table

The function validates region names and OCID region keys without importing the SDK (about 0.3 s
of a cold start), so it carries a copy of the SDK's table; tests/unit/test_regions.py fails when the
installed SDK knows a region the copy does not.
"""

from __future__ import annotations

import oci

from devkit import PROJECT

TARGET = PROJECT / "backup_copy" / "regions.py"

HEADER = '''"""Every region OCI knows: short key (iad) to identifier (us-ashburn-1). Generated, do not edit.

Made by `python -m devkit.regions_table` from oci {version}'s oci.regions tables, so that parsing an
event or the settings never imports the SDK; tests/unit/test_regions.py checks it against the SDK.
"""

from __future__ import annotations

REGION_KEYS: dict[str, str] = {{
'''

FOOTER = '''}}
# Every identifier, and every key or identifier to its identifier.
REGION_IDENTIFIERS = frozenset(REGION_KEYS.values())
_LOOKUP = {{**{{name: name for name in REGION_IDENTIFIERS}}, **REGION_KEYS}}


def region_identifier(key: str) -> str | None:
    """The region identifier (us-ashburn-1) for a short key (iad) or an identifier, if OCI knows it."""
    return _LOOKUP.get(key.strip().lower())
'''


def render() -> str:
    """The module's text for the installed SDK."""
    keys = dict(sorted(oci.regions.REGIONS_SHORT_NAMES.items()))
    missing = sorted(set(oci.regions.REGIONS) - set(keys.values()))
    if missing:
        raise SystemExit(f"regions without a short key in the SDK: {missing}")
    lines = [f'    "{key}": "{name}",\n' for key, name in keys.items()]
    return HEADER.format(version=oci.__version__) + "".join(lines) + FOOTER.format()


def main() -> None:
    """Write backup_copy/regions.py."""
    TARGET.write_text(render())
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
