"""ApiToken moved here from the relay app (which has no models now) without moving data.

Its table keeps the name ``relay_apitoken``. On a database made before the move the table is
already there (created by the relay app's old migration) and this migration only records the
model in the instance app's state; on a new database it creates the table.
"""

from django.db import migrations, models


def create_table_unless_present(apps, schema_editor) -> None:
    """Create ``relay_apitoken`` on a new database; keep the existing one (and its rows)."""
    model = apps.get_model("instance", "ApiToken")
    existing = schema_editor.connection.introspection.table_names()
    if model._meta.db_table not in existing:
        schema_editor.create_model(model)


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ApiToken",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("name", models.CharField(max_length=100)),
                        (
                            "prefix",
                            models.CharField(
                                help_text="first characters, to recognise it", max_length=16
                            ),
                        ),
                        ("token_hash", models.CharField(max_length=64, unique=True)),
                        ("scopes", models.JSONField(default=list)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("created_by", models.CharField(blank=True, max_length=200)),
                        ("last_used_at", models.DateTimeField(blank=True, null=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                    ],
                    options={"db_table": "relay_apitoken", "ordering": ["-created_at", "-id"]},
                ),
            ],
            database_operations=[],
        ),
        # After the state knows the model, so the function can build its table from it.
        migrations.RunPython(create_table_unless_present, migrations.RunPython.noop),
    ]
