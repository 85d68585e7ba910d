"""Run the stand-in in the foreground: python -m devkit.standin --port 8080 --regions a,b."""

import argparse
import shlex
import threading
from pathlib import Path

from devkit.standin.credentials import make_resource_principal
from devkit.standin.server import StandIn
from devkit.standin.state import DEFAULT_MAX_COPIES_IN_FLIGHT


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devkit.standin", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--regions",
        default="us-phoenix-1,us-ashburn-1",
        help="comma-separated; the first is the function's own region",
    )
    parser.add_argument(
        "--key-dir",
        type=Path,
        default=Path(".local/oci-standin"),
        help="where the resource-principal key and token are written",
    )
    parser.add_argument(
        "--copy-delay",
        type=float,
        default=30.0,
        help="seconds a copy stays CREATING",
    )
    # OCI docs, "Copying a Boot Volume Backup Between Regions", Limitations: one copy in flight per
    # volume and up to ten per source region. On by default, as in OCI.
    parser.add_argument(
        "--copy-limits",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="refuse a copy while its volume has one in flight, or the region has too many",
    )
    parser.add_argument(
        "--max-copies-in-flight",
        type=int,
        default=DEFAULT_MAX_COPIES_IN_FLIGHT,
        help="copies in flight allowed per source region, with --copy-limits",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS with a throwaway CA (written under --key-dir); the exports trust it",
    )
    return parser.parse_args()


def main() -> None:
    """Generate credentials, seed one backup and one topic, print the exports, serve."""
    args = _arguments()
    regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    home = regions[0]
    principal = make_resource_principal(args.key_dir, region=home)
    standin = StandIn(
        regions,
        principal.public_key_pem,
        copy_delay_seconds=args.copy_delay,
        host=args.host,
        port=args.port,
        one_copy_per_volume=args.copy_limits,
        max_copies_in_flight=args.max_copies_in_flight if args.copy_limits else None,
        tls=args.tls,
        tls_dir=(args.key_dir / "tls").resolve(),
    )
    with standin:
        backup_id = standin.seed_backup(
            kind="boot",
            region=home,
            compartment_id=principal.compartment_id,
            display_name="web-01 daily",
            freeform_tags={"app": "web"},
            source_type="SCHEDULED",
        )
        topic_id = standin.add_topic(home)
        # REQUESTS_CA_BUNDLE: the SDK's vendored requests trusts the bundle file or hashed directory it
        # names; the directory, as the image sets it.
        trust = {"REQUESTS_CA_BUNDLE": str(standin.ca_directory)} if standin.ca_directory else {}
        exports = {
            **principal.env,
            **trust,
            "OCI_ENDPOINT_TEMPLATE": standin.endpoint_template,
            "NOTIFICATION_TOPIC_ID": topic_id,
        }
        print(f"# OCI stand-in on {standin.base_url}, regions: {', '.join(regions)}")
        for name, value in exports.items():
            print(f"export {name}={shlex.quote(value)}")
        print(f"# compartment: {principal.compartment_id}")
        if standin.ca_bundle:
            print(
                "# CA directory to trust (the SDK's default bundle plus the throwaway CA, hashed): "
                f"{standin.ca_directory}"
            )
            print(f"# the same as one bundle file, also fine for REQUESTS_CA_BUNDLE: {standin.ca_bundle}")
        print(f"# seeded AVAILABLE boot volume backup in {home}: {backup_id}")
        print("# Ctrl-C to stop", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("# stopped")


if __name__ == "__main__":
    main()
