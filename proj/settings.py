"""Settings, read from the environment (see README "Configuration")."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LEDGERSHEET_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-DEBUG"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    # django-ninja: the API (sheets.web.api); listed so that its docs page uses its own static files, not a CDN.
    "ninja",
    "sheets",
    "ledger",
    "projections",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "proj.urls"
ASGI_APPLICATION = "proj.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'ledgersheet.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # IMMEDIATE takes the write lock when the transaction starts, so two
    # writers queue on the busy timeout instead of one failing with
    # "database is locked" when it tries to upgrade a read lock.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-ledgersheet.sqlite3")}

REDIS_URL = os.environ.get("REDIS_URL", "")
# "core" (channels-redis' RedisChannelLayer, lists per channel) or "pubsub"
# (its RedisPubSubChannelLayer, one Redis message per group and process);
# docs/benchmarks.md compares them.
CHANNEL_LAYER = os.environ.get("CHANNEL_LAYER", "core")
if CHANNEL_LAYER not in ("core", "pubsub"):
    raise ImproperlyConfigured(f"CHANNEL_LAYER must be core or pubsub, got {CHANNEL_LAYER!r}")
if REDIS_URL and CHANNEL_LAYER == "pubsub":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
elif REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "capacity": env_int("CHANNEL_LAYER_CAPACITY", 1000),
                "expiry": 60,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 1000},
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# nginx serves /static/ in production (deploy/); WhiteNoise serves it when a
# daphne process is reached directly (make run, tests). Finders let it serve
# straight from static/ without a collectstatic step.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Production hardening; TLS is terminated in front of nginx.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

# Protocol limits (docs/protocol.md, section 9, lists them and their defaults).
SHEETS_MAX_VALUE_LENGTH = env_int("SHEETS_MAX_VALUE_LENGTH", 32_768)
SHEETS_MAX_CHANGES = env_int("SHEETS_MAX_CHANGES", 1_000)
# A sheet's rows and columns at most (the protocol's limits; an operator may lower them).
SHEETS_MAX_ROWS = min(env_int("SHEETS_MAX_ROWS", 1_000_000), 1_000_000)
SHEETS_MAX_COLS = min(env_int("SHEETS_MAX_COLS", 18_278), 18_278)
SHEETS_REPLAY_FRAME_SIZE = env_int("SHEETS_REPLAY_FRAME_SIZE", 500)
SHEETS_SNAPSHOT_THRESHOLD = env_int("SHEETS_SNAPSHOT_THRESHOLD", 10_000)
SHEETS_RATE_LIMIT_PER_SECOND = env_int("SHEETS_RATE_LIMIT_PER_SECOND", 20)
SHEETS_RATE_LIMIT_BURST = env_int("SHEETS_RATE_LIMIT_BURST", 100)
# A larger frame closes the socket with 4413. daphne drops anything over its
# own --websocket-max-message-size (1 MiB by default) before we see it, so
# raise the two together.
SHEETS_MAX_FRAME_BYTES = env_int("SHEETS_MAX_FRAME_BYTES", 1024 * 1024)
# A socket that sends nothing (the grid pings every 15 s) is closed with 4408.
SHEETS_IDLE_TIMEOUT_SECONDS = env_int("SHEETS_IDLE_TIMEOUT_SECONDS", 120)
# Open sheet sockets one user may hold on one daphne process (4429 beyond).
SHEETS_MAX_CONNECTIONS_PER_USER = env_int("SHEETS_MAX_CONNECTIONS_PER_USER", 50)
# Each process reads the heads of the sheets its sockets watch this often and
# hands on from the ledger whatever the channel layer lost: no socket is more
# than about twice this behind the ledger (sheets/broadcast/hub.py).
SHEETS_LIVE_CHECK_SECONDS = env_float("SHEETS_LIVE_CHECK_SECONDS", 0.25)
# Group messages above this many bytes of values carry only the seq range;
# each consumer then reads the events from the ledger.
SHEETS_INLINE_BROADCAST_BYTES = env_int("SHEETS_INLINE_BROADCAST_BYTES", 256 * 1024)
# Frames the server sends stay under this many bytes: daphne refuses to send a
# message over its --websocket-max-message-size (1 MiB by default).
SHEETS_MAX_OUTGOING_FRAME_BYTES = env_int("SHEETS_MAX_OUTGOING_FRAME_BYTES", 1_000_000)
# Threads per process that commit batches of edits (sheets/appender.py), each
# with its own database connection, so that sheets commit in parallel. 0 runs
# appends on Channels' one shared database thread, the default on SQLite,
# which has a single writer anyway.
SHEETS_APPEND_THREADS = env_int(
    "SHEETS_APPEND_THREADS", 0 if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" else 4
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
