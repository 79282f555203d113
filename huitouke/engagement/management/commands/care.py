"""`huitouke care plan --shop SLUG --date YYYY-MM-DD [--json]`: what the care rules would send that day
(customer, rule, channel, text, or why suppressed) and the follow-up tasks it would create, without sending or
saving anything;
`huitouke care run --shop SLUG [--date YYYY-MM-DD]`: enqueue those messages, create the tasks and send the
campaigns whose scheduled time has come (`huitouke worker` delivers them);
`huitouke care channel --shop SLUG --channel sms --provider aliyun --set sign_name=… --secret-name NAME`:
how the shop sends on a channel (secrets stay in var/secrets/NAME.json or HUITOUKE_SECRET_NAME_* variables);
`huitouke care deliver [--shop SLUG]`: deliver due messages now, without the worker."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.core.cliargs import iso_date
from huitouke.core.errors import DomainError
from huitouke.core.selectors import shop_by_slug
from huitouke.core.timeutil import today
from huitouke.engagement.models import MessageChannel, Provider
from huitouke.engagement.services.campaigns import send_due_campaigns
from huitouke.engagement.services.care import run_rules
from huitouke.engagement.services.delivery import deliver_due
from huitouke.engagement.services.followups import run_task_rules
from huitouke.engagement.services.setup import configure_channel
from huitouke.engagement.tasks import schedule_delivery


class Command(BaseCommand):
    help = "Care messages: `plan` lists what the rules would send on a day; `run` enqueues it."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for name, text in (("plan", "list what the rules would send (nothing is saved or sent)"),
                           ("run", "enqueue the day's messages for the worker")):
            action = sub.add_parser(name, help=text)
            action.add_argument("--shop", required=True, help="the shop's slug")
            action.add_argument("--date", help="the day (YYYY-MM-DD, Shanghai; default today)")
            action.add_argument("--json", action="store_true", help="print JSON")
        channel = sub.add_parser("channel", help="set the provider of a channel (default: console sink, sends nothing)")
        channel.add_argument("--shop", required=True, help="the shop's slug")
        channel.add_argument("--channel", required=True, choices=MessageChannel.values)
        channel.add_argument("--provider", required=True, choices=Provider.values)
        channel.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                             help="a non-secret setting, e.g. sign_name=小店, template_code=SMS_1, host=smtp.example.com")
        channel.add_argument("--secret-name", default="", help="names var/secrets/NAME.json or HUITOUKE_SECRET_NAME_*")
        deliver = sub.add_parser("deliver", help="deliver due messages now (what `huitouke worker` does)")
        deliver.add_argument("--shop", help="only this shop")
        deliver.add_argument("--limit", type=int, default=500)

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            shop = shop_by_slug(opts["shop"]) if opts.get("shop") else None
            if opts["action"] == "channel":
                return self._channel(shop, opts)
            if opts["action"] == "deliver":
                report = deliver_due(shop=shop, limit=opts["limit"])
                self.stdout.write(f"sent {report.sent}, retrying {report.retrying}, failed {report.failed}, "
                                  f"held {report.held}, recovered {report.recovered}")
                return None
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        day = iso_date(opts["date"], option="--date") if opts.get("date") else today()
        planned = run_rules(shop=shop, day=day, dry_run=opts["action"] == "plan")
        tasks = run_task_rules(shop=shop, day=day, dry_run=opts["action"] == "plan")
        if opts["action"] == "run":
            for campaign in send_due_campaigns(shop=shop):
                self.stdout.write(f"campaign {campaign.pk} {campaign.name}: queued {campaign.queued_count}, "
                                  f"suppressed {campaign.suppressed_count}, hold-out {campaign.holdout_count}")
            schedule_delivery()
        if opts["json"]:
            self.stdout.write(json.dumps({"shop": shop.slug, "date": day.isoformat(), "dry_run": opts["action"] == "plan",
                                          "messages": [p.as_dict() for p in planned],
                                          "tasks": [t.as_dict() for t in tasks]}, ensure_ascii=False, indent=2))
            return
        for p in planned:
            outcome = f"{p.status}: {p.reason}" if p.reason else p.status
            self.stdout.write(f"{p.customer_id}\t{p.rule}\t{p.channel}\t{outcome}\t{p.text}")
        for t in tasks:
            self.stdout.write(f"{t.customer_id}\t{t.rule}\ttask {t.kind}\tdue {t.due_on}\t{t.owner or '-'}\t{t.title}")
        counts = Counter(p.status for p in planned)
        verb = "would queue" if opts["action"] == "plan" else "queued"
        others = "".join(f", {status} {n}" for status, n in sorted(counts.items()) if status != "queued")
        new_tasks = sum(t.created for t in tasks)
        self.stdout.write(f"{shop.slug} {day}: {verb} {counts['queued']}{others}; "
                          f"{'would create' if opts['action'] == 'plan' else 'created'} {new_tasks} follow-up task(s)")

    def _channel(self, shop, opts: dict[str, Any]) -> None:
        settings: dict[str, Any] = {}
        for item in opts["set"]:
            key, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--set takes KEY=VALUE, not {item!r}")
            settings[key.strip()] = int(value) if value.isdigit() else value
        config = configure_channel(shop=shop, channel=opts["channel"], provider=opts["provider"], settings=settings,
                                   secret_name=opts["secret_name"])
        self.stdout.write(f"{shop.slug}: {config.channel} → {config.provider} {json.dumps(config.settings, ensure_ascii=False)}"
                          f"{' (secrets: ' + config.secret_name + ')' if config.secret_name else ''}")
