"""What the app writes under instance/ is its own user's alone: mail files, uploads, bundles, the
SQLite database (#12). Personal data must not be readable by other users of the machine."""

import os
import stat

from flask_migrate import upgrade
from sqlalchemy import text

from petition import create_app
from petition.core.extensions import db
from tests.helpers import csrf_token


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def sqlite_app(tmp_path):
    # No SECRET_KEY: development keeps a generated one in the instance folder, created here.
    return create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/new.db", "JOBS_IN_PROCESS": False},
        instance_path=str(tmp_path / "instance"),
    )


def test_a_new_sqlite_database_its_journal_and_the_instance_folder_are_private(tmp_path):
    os.umask(0o022)  # the usual umask, which would leave them 0644 and 0755
    app = sqlite_app(tmp_path)
    with app.app_context():
        upgrade()
        with db.engine.begin() as conn:
            conn.execute(text("SELECT 1"))
        assert mode(tmp_path / "new.db") == 0o600
        assert mode(tmp_path / "new.db-wal") == 0o600
        db.engine.dispose()
    assert mode(tmp_path / "instance") == 0o700
    assert mode(tmp_path / "instance" / "secret_key") == 0o600


def test_an_existing_database_left_readable_is_made_private(tmp_path):
    app = sqlite_app(tmp_path)
    with app.app_context():
        upgrade()
        db.engine.dispose()
        os.chmod(tmp_path / "new.db", 0o644)
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        db.engine.dispose()
    assert mode(tmp_path / "new.db") == 0o600


def test_mail_files_are_private(app, client, make_petition, sign):
    from petition.mail import outbox

    make_petition()
    assert sign().status_code == 303
    with app.app_context():
        outbox.drain(app.config)
    folder = app.config["MAIL_FILE_DIR"]
    [mail] = os.listdir(folder)
    assert mode(os.path.join(folder, mail)) == 0o600
    assert mode(folder) == 0o700


def test_an_upload_kept_for_resuming_is_private(app, client, staff, make_petition):
    import io

    make_petition()
    path = "/staff/petitions/speak-out/import"
    # A header that reads and a row whose batch fails would keep it; an unusable file does not,
    # so look at it while it is stored: the view keeps it under its hash until the import ends.
    from petition.imports import views

    kept = []
    original = views.run_import

    def spy(petition, stored, filename):
        kept.append((mode(stored), mode(os.path.dirname(stored))))
        return original(petition, stored, filename)

    views.run_import = spy
    try:
        data = b"name,email,country\nAna,ana@example.org,BR\n"
        response = client.post(
            path,
            data={"file": (io.BytesIO(data), "people.csv"), "csrf_token": csrf_token(client, path)},
            content_type="multipart/form-data",
        )
    finally:
        views.run_import = original
    assert response.status_code == 200
    assert kept == [(0o600, 0o700)]
