"""API schemas of the quality app."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field

from huitouke.core.api import Id, MoneyIn, PageInfo, StrictSchema


class ItemOut(Schema):
    id: int
    code: str
    text: str
    guidance: str
    kind: str
    weight: int
    scale_max: int
    allow_na: bool


class SectionOut(Schema):
    title: str
    items: list[ItemOut]


class TemplateOut(Schema):
    key: str
    name: str
    kind: str
    sections: list[SectionOut]


class AnswerIn(StrictSchema):
    item: str = Field(max_length=50, description="the item's code")
    value: int | None = Field(None, ge=0, le=100, description="yes = 1 / no = 0, or 0–N on a scale item")
    na: bool = Field(False, description="not applicable: left out of the score")
    text: str = Field("", max_length=2000)


class AuditIn(StrictSchema):
    store: Id
    template: str = Field(max_length=50, description="template key, e.g. online-shop or offline-boutique")
    visited_at: dt.datetime
    associate: Id | None = Field(None, description="staff id of the associate on duty")
    associate_name: str = Field("", max_length=50)
    notes: str = Field("", max_length=5000)
    answers: list[AnswerIn] = Field(max_length=200)
    photo_items: list[str | None] = Field(
        default_factory=list, max_length=20, description="item code per uploaded photo, in order (null: general)")


class AnswerOut(Schema):
    item: str
    text: str
    not_applicable: bool
    value: int | None
    answer_text: str
    ratio: float | None


class PhotoOut(Schema):
    id: int
    item: str | None
    content_type: str
    size: int
    width: int
    height: int


class AuditOut(Schema):
    id: int
    store: str
    store_id: int
    template: str
    visited_at: dt.datetime
    associate_id: int | None
    associate_name: str
    notes: str
    score: float | None
    auditor: str | None


class AuditDetailOut(AuditOut):
    answers: list[AnswerOut]
    photos: list[PhotoOut]


class AuditPage(Schema):
    page: PageInfo
    items: list[AuditOut]


class ActionIn(StrictSchema):
    owner: Id
    description: str = Field(min_length=1, max_length=300)
    due_date: dt.date
    item: Id | None = None


class ActionStatusIn(StrictSchema):
    status: str = Field(pattern="^(open|done|verified)$")


class ActionOut(Schema):
    id: int
    store_id: int
    audit_id: int | None
    item_id: int | None
    description: str
    owner_id: int
    due_date: dt.date
    status: str


class SurveyIn(StrictSchema):
    order: Id | None = Field(None, description="order id (after delivery)")
    customer: Id | None = Field(None, description="customer id (after a store visit)")
    store: Id | None = None
    associate: Id | None = None


class SurveyLinkOut(Schema):
    id: int
    token: str
    url: str
    expires_at: dt.datetime


class SurveyAnswerIn(StrictSchema):
    goods_stars: int = Field(ge=1, le=5)
    service_stars: int = Field(ge=1, le=5)
    delivery_stars: int | None = Field(None, ge=1, le=5)
    recommend: int = Field(ge=0, le=10)
    comment: str = Field("", max_length=2000)


class SurveyOut(Schema):
    id: int
    store_id: int | None
    order_id: int | None
    associate_id: int | None
    answered_at: dt.datetime | None
    goods_stars: int | None
    service_stars: int | None
    delivery_stars: int | None
    recommend: int | None
    comment: str
    needs_follow_up: bool


class SurveyPage(Schema):
    page: PageInfo
    summary: dict[str, Any]
    items: list[SurveyOut]


class RefundReasonIn(StrictSchema):
    order: Id
    line: Id | None = None
    code: str | None = Field(None, max_length=20,
                             description="quality, not_as_described, size, changed_mind, logistics, other")
    platform_reason: str = Field("", max_length=200, description="the platform's refund reason text, mapped")
    units: int | None = Field(None, ge=1, le=100000)
    amount: MoneyIn | None = None
    comment: str = Field("", max_length=300)


class RefundReasonOut(Schema):
    id: int
    order_id: int
    line_id: int | None
    code: str
    units: int | None
    platform_text: str
    comment: str
    source: str


class ChurnReasonIn(StrictSchema):
    customer: Id
    reason: str = Field(max_length=20, description="forgot, poor_experience, nothing_distinctive, price, other")
    comment: str = Field("", max_length=300)


class ChurnReasonOut(Schema):
    id: int
    customer_id: int
    code: str
    comment: str


class ShipmentIn(StrictSchema):
    order: Id
    shipped_at: dt.datetime
    delivered_at: dt.datetime | None = None


class SettingsIn(StrictSchema):
    quality_ok_threshold: float | None = Field(None, ge=0, le=100, description="percent, default 90")
    delivery_promise_hours: int | None = Field(None, ge=1, le=720, description="default 48")
    survey_link_days: int | None = Field(None, ge=1, le=365, description="default 30")
    low_rating_stars: int | None = Field(None, ge=1, le=4, description="a star at or below it is low; default 2")
    low_rating_recommend: int | None = Field(None, ge=0, le=9,
                                             description="a recommend score at or below it is low; default 6")


class SettingsOut(Schema):
    quality_ok_threshold: float
    delivery_promise_hours: int
    survey_link_days: int
    low_rating_stars: int
    low_rating_recommend: int
