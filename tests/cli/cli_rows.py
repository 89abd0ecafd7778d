"""Runs many staf command lines in one Python process, as their console scripts would run them, and records each one's
exit code, stderr and the files it changed: ``python tests/cli/cli_rows.py ROWS.json RESULTS.json``.

Used by ``tests/cli/test_bad_inputs.py``: one process (torch imported once) instead of one per command line. Each row's
stdout and stderr are captured at the file-descriptor level, so output from C libraries is caught too, and an
exception that escapes a command is printed as Python prints it (a traceback) with exit code 1.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Dict

COMMANDS = {
    "staf-fit": "staf_tasks.cli:fit_entrypoint",
    "staf-render": "staf_tasks.cli:render_entrypoint",
    "staf-bench": "staf_tasks.cli:bench_entrypoint",
    "staf-activations": "staf_tasks.cli:activations_entrypoint",
    "staf-make-scene": "staf_nerfstudio.scene:entrypoint",
    "staf-theory": "staf_nerfstudio.theory.cli:entrypoint",
}


def snapshot(root: Path) -> Dict[str, str]:
    """Every file and folder under ``root`` (hidden ones too): path -> content hash ("dir" for folders)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def run_row(argv: list) -> tuple:
    module, name = COMMANDS[argv[0]].split(":")
    entry = getattr(importlib.import_module(module), name)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        old_argv = sys.argv
        sys.argv = [argv[0], *argv[1:]]
        try:
            entry() if argv[0] == "staf-theory" else entry(argv[1:])
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except BaseException:  # what Python does with an uncaught exception
            traceback.print_exc()
            code = 1
        finally:
            sys.argv = old_argv
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        out.seek(0)
        err.seek(0)
        return code, out.read().decode(errors="replace"), err.read().decode(errors="replace")


def main() -> None:
    rows = json.loads(Path(sys.argv[1]).read_text())
    results = []
    for row in rows:
        watch = Path(row["watch"]) if row.get("watch") else None
        before = snapshot(watch) if watch else {}
        code, stdout, stderr = run_row(row["argv"])
        after = snapshot(watch) if watch else {}
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        results.append({"id": row["id"], "code": code, "stdout": stdout, "stderr": stderr, "changed": changed})
    Path(sys.argv[2]).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
