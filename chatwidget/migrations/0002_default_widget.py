from django.db import migrations


def create_default_widget(apps, schema_editor):
    from chatwidget import conf

    Widget = apps.get_model("chatwidget", "Widget")
    Widget.objects.get_or_create(app_id=conf.get("DEFAULT_APP_ID"), defaults={"name": "Support"})


class Migration(migrations.Migration):
    dependencies = [("chatwidget", "0001_initial")]

    operations = [migrations.RunPython(create_default_widget, migrations.RunPython.noop)]
