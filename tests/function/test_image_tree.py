"""The read-only copy of the image's trees that the bench runs the function from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devkit.image_tree import PYTHON_FLAGS, SHIPPED, read_only_image
from image.import_check import missing_bytecode


def test_the_copy_holds_what_the_image_ships_compiled_and_without_write_bits(tmp_path: Path) -> None:
    extra = tmp_path / "floor_func.py"
    extra.write_text('"""A stand-in floor."""\n')
    with read_only_image(extras=[extra]) as image:
        shipped = sorted(path.name for path in image.function.iterdir() if path.name != "__pycache__")
        uncompiled = missing_bytecode(image.function) + missing_bytecode(image.python)
        read_only = image.read_only()
        root = image.function.parent

    assert shipped == sorted([*SHIPPED, extra.name])
    assert uncompiled == []
    assert read_only
    assert not root.exists()


def test_the_function_imported_from_the_copy_writes_nothing_to_it() -> None:
    probe = "import backup_copy.handler, func, sys; print(func.__file__)"
    with read_only_image() as image:
        imported = subprocess.run(  # noqa: S603  # our own interpreter
            [sys.executable, *PYTHON_FLAGS, "-c", probe],
            env={"PYTHONPATH": image.python_path},
            capture_output=True,
            text=True,
            check=True,
        )
        unchanged = image.unchanged()

        assert imported.stdout.strip() == str(image.function / "func.py")
    assert unchanged
