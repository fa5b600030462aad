"""Extensions, created bare and bound to the app in create_app."""

from flask_babel import Babel
from flask_caching import Cache
from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
cache = Cache()
cors = CORS()
login_manager = LoginManager()


class AppLimiter(Limiter):
    """Flask-Limiter, set up afresh from each app's config.

    Flask-Limiter keeps a few settings from the first init_app (the key prefix, whether storage
    errors are swallowed, whether to fall back to memory) and remembers a storage it once found
    dead. One process serves one app in production, but the tests build many apps in a process,
    and each must start from its own config rather than an earlier test's.
    """

    def init_app(self, app):
        self._key_prefix = ""
        self._swallow_errors = None
        self._in_memory_fallback_enabled = False
        self._storage_dead = False
        super().init_app(app)


# No default limits: each limit is declared where it applies, from its own config key.
limiter = AppLimiter(key_func=get_remote_address, default_limits=[])
