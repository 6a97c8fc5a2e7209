"""Pages through /api/v1, the CLI and agents: trigger, fold repeats, acknowledge, resolve."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from askonce.core.models import Event
from askonce.oncall.actions import StepDraft, do_create_escalation_policy
from askonce.oncall.models import EscalationTimer, Page, RoutingKey
from askonce.oncall.paging import do_page_team
from askonce.oncall.queries import hash_routing_key
from askonce.oncall.tests.conftest import on_call_schedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def engineer(api_as, make_staff, support):
    """Engineering pages support (DESIGN §5)."""
    return api_as(make_staff("engineering", email="eve@example.com"))


def test_engineering_pages_support_and_repeats_fold_into_one_page(engineer, support) -> None:
    """Eve pages support twice about the same thing: one page, counted twice, Sam notified once."""
    body = {"team": "support", "summary": "Deploy broke purge", "dedup_key": "deploy-4711"}
    first = engineer.post("/pages", body)
    assert first.status_code == 201, first.content
    page = first.json()
    assert page["status"] == "triggered" and page["urgency"] == "high"
    assert page["team"] == "support" and page["policy"] == "support"
    assert page["source"] == "api" and page["trigger_count"] == 1
    assert page["escalation"][0]["notified"] == ["sam@example.com"]
    assert page["escalation"][1]["status"] == "pending"

    again = engineer.post("/pages", body)
    assert again.status_code == 200
    assert again.json()["id"] == page["id"] and again.json()["trigger_count"] == 2
    assert Page.objects.count() == 1
    assert EscalationTimer.objects.filter(status="done").count() == 1, "a repeat notifies nobody"

    listed = engineer.get("/pages").json()
    assert [item["id"] for item in listed] == [page["id"]]
    assert engineer.get(f"/pages/{page['id']}").json()["summary"] == "Deploy broke purge"


def test_acknowledge_then_resolve_and_the_state_machine_refuses_the_rest(engineer, support) -> None:
    page = engineer.post("/pages", {"team": "support", "summary": "Disk full"}).json()
    acknowledged = engineer.post(f"/pages/{page['id']}/ack")
    assert acknowledged.status_code == 200
    assert acknowledged.json()["status"] == "acknowledged"
    assert acknowledged.json()["acknowledged_by"] == "eve@example.com"
    assert [step["status"] for step in acknowledged.json()["escalation"]] == ["done", "cancelled"]

    twice = engineer.post(f"/pages/{page['id']}/ack")
    assert twice.status_code == 409
    assert twice.json()["detail"] == (
        f"Cannot acknowledge page #{page['id']}: it is 'acknowledged'. "
        "Allowed actions now: resolve."
    )
    resolved = engineer.post(f"/pages/{page['id']}/resolve")
    assert resolved.json()["status"] == "resolved"
    assert engineer.post(f"/pages/{page['id']}/resolve").status_code == 409
    verbs = list(
        Event.objects.filter(subject_type="page", subject_id=page["id"]).values_list(
            "verb", flat=True
        )
    )
    assert verbs == ["page.triggered", "page.notified", "page.acknowledged", "page.resolved"]
    assert engineer.get("/pages").json() == [], "open pages only, by default"
    assert len(engineer.get("/pages", status="resolved").json()) == 1


def test_a_resolved_dedup_key_opens_a_new_page(engineer, support) -> None:
    body = {"team": "support", "summary": "Flapping", "dedup_key": "flap"}
    first = engineer.post("/pages", body).json()
    engineer.post(f"/pages/{first['id']}/resolve")
    second = engineer.post("/pages", body)
    assert second.status_code == 201 and second.json()["id"] != first["id"]


def test_paging_a_policy_by_slug_with_low_urgency(engineer, support) -> None:
    answer = engineer.post(
        "/pages", {"policy": "support", "summary": "Cert expires in 20 days", "urgency": "low"}
    )
    assert answer.status_code == 201 and answer.json()["urgency"] == "low"


def test_what_cannot_be_paged_is_refused(engineer, api_as, make_contact, make_team) -> None:
    make_team("legal")
    no_policy = engineer.post("/pages", {"team": "legal", "summary": "Subpoena"})
    assert no_policy.status_code == 422 and "no escalation policy" in no_policy.json()["detail"]
    assert engineer.post("/pages", {"summary": "Whom?"}).status_code == 422
    assert engineer.post("/pages", {"team": "nope", "summary": "x"}).status_code == 404
    assert engineer.post("/pages", {"team": "support", "summary": " "}).status_code == 422
    unknown_ticket = engineer.post("/pages", {"team": "support", "summary": "x", "ticket_id": 999})
    assert unknown_ticket.status_code == 422
    customer = api_as(make_contact())
    assert customer.post("/pages", {"team": "support", "summary": "x"}).status_code == 403
    assert customer.get("/pages").status_code == 403
    assert Page.objects.count() == 0


def test_policies_through_the_api(engineer, api_as, support, make_staff) -> None:
    omar = make_staff("ops", email="omar@example.com")
    refused = engineer.post(
        "/escalation-policies", {"name": "Ops", "team": "ops", "steps": [{"user": omar.email}]}
    )
    assert refused.status_code == 403, "engineering does not set up how ops is paged"
    ops = api_as(omar)
    created = ops.post(
        "/escalation-policies",
        {
            "name": "Ops escalation",
            "team": "ops",
            "repeat_count": 2,
            "steps": [
                {"user": "omar@example.com", "wait_minutes": 10},
                {"team": "support", "wait_minutes": 5},
                {"schedule": "support", "wait_minutes": 5},
            ],
        },
    )
    assert created.status_code == 201, created.content
    policy = created.json()
    assert policy["slug"] == "ops-escalation" and policy["team"] == "ops"
    assert [(s["kind"], s["target"], s["wait_minutes"]) for s in policy["steps"]] == [
        ("user", omar.email, 10),
        ("team", "support", 5),
        ("schedule", "support", 5),
    ]
    assert engineer.get("/escalation-policies/ops-escalation").json() == policy
    two_targets = ops.post(
        "/escalation-policies",
        {"name": "Bad", "team": "ops", "steps": [{"user": omar.email, "team": "ops"}]},
    )
    assert two_targets.status_code == 422 and "exactly one" in two_targets.json()["detail"]
    endless = ops.post(
        "/escalation-policies",
        {"name": "Loop", "team": "ops", "repeat_count": 3, "steps": [{"user": omar.email}]},
    )
    assert endless.status_code == 422 and "at least a minute" in endless.json()["detail"]


def test_a_routing_key_is_shown_once_and_stored_hashed(api_as, support) -> None:
    answer = api_as(support.sam).post(
        "/escalation-policies/support/routing-keys", {"name": "prometheus"}
    )
    assert answer.status_code == 201
    key = answer.json()["routing_key"]
    assert len(key) == 32 and answer.json()["prefix"] == key[:6]
    row = RoutingKey.objects.get()
    assert row.key_hash == hash_routing_key(key) and key not in row.key_hash
    assert not Event.objects.filter(data__icontains=key).exists()


def test_an_agent_pages_a_team_from_a_ticket(support, make_ticket, make_staff) -> None:
    """Paging ops twice from the same ticket while the page is open is one page."""
    omar = make_staff("ops", email="omar@example.com")
    schedule = on_call_schedule("ops", omar)
    do_create_escalation_policy(
        team=schedule.team, name="Ops", slug="ops", steps=[StepDraft(schedule)], actor=None
    )
    ticket = make_ticket()
    page = do_page_team(
        team=schedule.team, actor=support.sam, summary="Paris POP down?", ticket_id=ticket.pk
    )
    again = do_page_team(
        team=schedule.team, actor=support.sam, summary="Paris POP down?", ticket_id=ticket.pk
    )
    assert again.pk == page.pk and again.trigger_count == 2
    assert page.ticket_id == ticket.pk and page.source == "paged by sam@example.com"
    assert page.timers.get().notified == ["omar@example.com"]


def test_the_cli_pages_acknowledges_and_resolves(support) -> None:
    out = StringIO()
    call_command("page", "--team", "support", "Checkout is down", stdout=out)
    page = Page.objects.get(pk=int(out.getvalue().strip()))
    assert page.summary == "Checkout is down" and page.source == "cli"
    call_command("page", "--ack", str(page.pk), "--as", "sam@example.com", stdout=StringIO())
    page.refresh_from_db()
    assert page.status == "acknowledged" and page.acknowledged_by == support.sam
    with pytest.raises(CommandError, match="it is 'acknowledged'"):
        call_command("page", "--ack", str(page.pk), stdout=StringIO())
    call_command("page", "--resolve", str(page.pk), stdout=StringIO())
    page.refresh_from_db()
    assert page.status == "resolved"
    with pytest.raises(CommandError, match="--team"):
        call_command("page", "Nobody to page", stdout=StringIO())
