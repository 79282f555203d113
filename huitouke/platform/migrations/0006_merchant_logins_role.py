"""Logins linked to a merchant before the merchant role existed become merchant logins (portal and till only)."""

from django.db import migrations


def to_merchant_role(apps, schema_editor):
    MerchantStaff = apps.get_model("platform", "MerchantStaff")
    Staff = apps.get_model("core", "Staff")
    linked = MerchantStaff.objects.values_list("staff_id", flat=True)
    Staff.objects.filter(pk__in=list(linked)).exclude(role__in=["owner", "manager"]).update(role="merchant")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_merchant_role"),
        ("platform", "0005_agreement_store"),
    ]

    operations = [migrations.RunPython(to_merchant_role, migrations.RunPython.noop)]
