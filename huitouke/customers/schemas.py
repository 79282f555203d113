"""Request and response shapes of the customers API. Unknown fields are refused by name."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Schema
from pydantic import Field

from huitouke.core.api import Id, MoneyOut, PageInfo, SearchText, StrictSchema
from huitouke.customers.models import Calendar, Channel, Gender

CustomerOrder = Literal["recent", "spend", "registered", "completeness"]


class ProfileIn(StrictSchema):
    """Hard and soft profile fields; all optional. `null` clears a field."""

    # Hard profile
    gender: Gender | None = None
    birthday_calendar: Calendar | None = None
    birth_year: int | None = Field(None, ge=0, le=32767)
    birth_month: int | None = Field(None, ge=0, le=32767)
    birth_day: int | None = Field(None, ge=0, le=32767)
    birth_leap_month: bool | None = None
    approx_age: int | None = Field(None, ge=0, le=150)
    ethnicity: str | None = None
    clothing_size: str | None = None
    # Soft profile
    occupation: str | None = None
    family: str | None = None
    personality: str | None = None
    shopping_habits: str | None = None
    style_preferences: str | None = None
    hobbies: str | None = None
    lifestyle: str | None = None
    preferred_channel: Channel | Literal[""] | None = None
    values: str | None = None
    notes: str | None = None


class ConsentIn(StrictSchema):
    channel: Channel
    granted: bool
    source: str = Field("api", description="where the decision was made, e.g. in-store form")


class CustomerCreate(ProfileIn):
    name: str
    phone: str = Field(description="full mobile number, e.g. 13812345678 or +8613812345678")
    store: str | None = Field(None, description="slug of the store where the customer registered")
    email: str | None = Field(None, max_length=254)
    tags: list[str] = []
    consents: list[ConsentIn] = []
    referred_by: Id | None = Field(None, description="id of the customer (same shop) who referred her")


class CustomerUpdate(ProfileIn):
    """Only the fields sent change. `tags` replaces the manual tags."""

    name: str | None = None
    tags: list[str] | None = None
    referred_by: Id | None = Field(None, description="id of the customer (same shop) who referred her; null clears")


class CustomerListQuery(Schema):
    q: SearchText = Field("", description="name, phone tail (3–11 digits) or platform nickname")
    order: CustomerOrder = "recent"
    tag: str = Field("", max_length=50, description="only customers carrying this tag (by hand or by rule)")


class CustomerListItem(Schema):
    id: int
    name: str = Field(description="masked")
    phone: str | None = Field(description="primary phone, masked")
    completeness: int
    orders_count: int
    purchase_days: int
    net_spend: MoneyOut
    last_purchase_at: dt.datetime | None
    registered_at: dt.datetime
    do_not_contact: bool


class CustomerPage(PageInfo):
    items: list[CustomerListItem]


class ProfileOut(Schema):
    gender: str
    birthday_calendar: str
    birth_year: int | None
    birth_month: int | None
    birth_day: int | None
    birth_leap_month: bool
    approx_age: int | None
    ethnicity: str
    clothing_size: str
    occupation: str
    family: str
    personality: str
    shopping_habits: str
    style_preferences: str
    hobbies: str
    lifestyle: str
    preferred_channel: str
    values: str
    notes: str


class PhoneOut(Schema):
    phone: str
    is_primary: bool


class AddressOut(Schema):
    recipient: str
    region: str
    detail: str
    postcode: str
    is_default: bool


class IdentityOut(Schema):
    platform: str
    handle: str


class ConsentOut(Schema):
    channel: str
    granted: bool
    at: dt.datetime
    source: str


class CompletenessOut(Schema):
    score: int
    hard_missing: list[str]
    soft_missing: list[str]


class StatsOut(Schema):
    orders_count: int
    items_count: int
    purchase_days: int = Field(description="visits: distinct days with a purchase")
    net_spend: MoneyOut
    average_order_value: MoneyOut
    first_purchase_at: dt.datetime | None
    last_purchase_at: dt.datetime | None


class ReferrerOut(Schema):
    id: int
    name: str = Field(description="masked")
    at: dt.datetime | None = Field(description="when the referral was recorded")


class CustomerDetail(Schema):
    id: int
    name: str
    revealed: bool = Field(description="true when phones, e-mails and addresses are shown in full")
    erased: bool
    do_not_contact: bool
    registered_at: dt.datetime
    registered_store: str | None
    registered_by: str | None
    profile: ProfileOut
    phones: list[PhoneOut]
    emails: list[str]
    addresses: list[AddressOut]
    identities: list[IdentityOut]
    tags: list[str]
    consents: list[ConsentOut] = Field(description="the decision in force per channel that was ever asked")
    referred_by: ReferrerOut | None
    completeness: CompletenessOut
    stats: StatsOut


class ErasedOut(Schema):
    id: int
    erased_at: dt.datetime
