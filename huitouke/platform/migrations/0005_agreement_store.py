"""Agreement.stores gets an explicit link table carrying the shop (every table is shop-scoped: Citus)."""

import django.db.models.deletion
from django.db import migrations, models


def copy_links(apps, schema_editor):
    Agreement = apps.get_model("platform", "Agreement")
    AgreementStore = apps.get_model("platform", "AgreementStore")
    old_links = Agreement.stores.through.objects.select_related("agreement")
    AgreementStore.objects.bulk_create(
        AgreementStore(shop_id=link.agreement.shop_id, agreement_id=link.agreement_id, store_id=link.merchantstore_id)
        for link in old_links
    )


def copy_links_back(apps, schema_editor):
    Agreement = apps.get_model("platform", "Agreement")
    AgreementStore = apps.get_model("platform", "AgreementStore")
    Agreement.stores.through.objects.bulk_create(
        Agreement.stores.through(agreement_id=link.agreement_id, merchantstore_id=link.store_id)
        for link in AgreementStore.objects.all()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("platform", "0004_disputes"),
    ]

    operations = [
        migrations.CreateModel(
            name="AgreementStore",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("agreement", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                                to="platform.agreement")),
                ("shop", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                           to="core.shop", verbose_name="shop")),
                ("store", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                            to="platform.merchantstore")),
            ],
            options={
                "verbose_name": "agreement store",
                "verbose_name_plural": "agreement stores",
                "constraints": [models.UniqueConstraint(fields=("shop", "agreement", "store"),
                                                        name="platform_agreement_store_unique")],
            },
        ),
        migrations.RunPython(copy_links, copy_links_back),
        migrations.RemoveField(model_name="agreement", name="stores"),
        migrations.AddField(
            model_name="agreement",
            name="stores",
            field=models.ManyToManyField(blank=True, related_name="+", through="platform.AgreementStore",
                                         to="platform.merchantstore", verbose_name="stores"),
        ),
    ]
