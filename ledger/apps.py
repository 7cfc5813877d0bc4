from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the __any_of lookup (ledger.compiled) before any query names it.
        from ledger import compiled  # noqa: F401
