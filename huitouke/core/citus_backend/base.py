"""PostgreSQL backend for a database whose keys `huitouke citus convert` made (shop_id, id).

Django groups an aggregate query by the primary key alone (`GROUP BY t.id`) and lets PostgreSQL infer the
other columns from it. With a (shop_id, id) key that inference no longer holds and PostgreSQL refuses the
query, so this backend makes Django group by every selected column. Chosen by `HUITOUKE_CITUS_KEYS=1`.
"""

from __future__ import annotations

from django.db.backends.postgresql import base, features


class DatabaseFeatures(features.DatabaseFeatures):
    allows_group_by_selected_pks = False


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
