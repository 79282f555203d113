"""What a low satisfaction rating sets off: a follow-up call for the customer's associate (engagement's tasks).

Quality sits above engagement in the layers, so it calls engagement's service directly; registered as a
low-rating listener in QualityConfig.ready(), it runs in the answer's transaction.
"""

from __future__ import annotations

import datetime as dt

from huitouke.core.timeutil import local_day
from huitouke.engagement.models import TaskKind, TaskSource
from huitouke.engagement.services.followups import create_task

CALL_WITHIN_DAYS = 1  # a poor experience is called back the next day, while she still remembers it


def call_back_low_rating(*, shop, survey) -> None:
    """One call task per low-rated survey (its key makes a second delivery of the hook a no-op)."""
    if survey.customer is None:
        return
    stars = [s for s in (survey.goods_stars, survey.service_stars, survey.delivery_stars) if s is not None]
    title = f"满意度低分回访：最低 {min(stars) if stars else '—'} 星，推荐度 {survey.recommend}"
    create_task(
        shop=shop, customer=survey.customer, kind=TaskKind.CALL, title=title, owner=survey.associate,
        due_on=local_day(survey.answered_at) + dt.timedelta(days=CALL_WITHIN_DAYS), source=TaskSource.RULE,
        rule="low_rating", source_key=f"low-rating:{survey.pk}",
    )
