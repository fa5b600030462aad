"""How long a CSV import takes to refuse a header that repeats one column endlessly (#12).

A header of name,email,country and ",city" repeated N times used to be checked with a
quadratic count (30,000 columns took 8 s). Each case is timed in one process through
imports.import_csv, beside the baseline of the same call on a correct header and one row:

    .venv/bin/python bench/import_header.py
"""

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CASES = (30_000, 300_000, 3_000_000)


def main():
    from sqlalchemy import select

    from petition import create_app, imports
    from petition.core.extensions import db
    from petition.petitions.manage import create_petition
    from petition.petitions.models import Petition

    with tempfile.TemporaryDirectory(prefix="import-header-") as folder:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db", "JOBS_IN_PROCESS": False},
            instance_path=folder,
        )
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            create_petition("bench", "Bench", "Target", open_it=True)
            db.session.commit()
            petition = db.session.execute(select(Petition)).scalar_one()
            files = {"baseline: correct header, one row": b"name,email,country\nA,a@ex.org,FR\n"}
            for n in CASES:
                files[f"{n:,} columns"] = b"name,email,country" + b",city" * n + b"\n"
            for label, data in files.items():
                path = Path(folder) / "file.csv"
                path.write_bytes(data)
                started = time.perf_counter()
                try:
                    imports.import_csv(petition, str(path))
                    outcome = "imported"
                except imports.ImportFileError as exc:
                    outcome = f"refused: {str(exc)[:60]}"
                seconds = time.perf_counter() - started
                print(f"{label:>36}: {seconds * 1000:8.1f} ms ({len(data):,} bytes) {outcome}")
                db.session.rollback()


if __name__ == "__main__":
    main()
