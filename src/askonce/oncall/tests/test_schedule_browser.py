"""The schedule page in a real browser: an agent adds an override and sees it win in the final
schedule."""

from datetime import UTC, datetime, timedelta

import pytest

from askonce.oncall.actions import LayerDraft, do_create_schedule
from askonce.oncall.models import Override
from askonce.teams.queries import team_by_slug
from askonce.testing.browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def support(make_staff):
    sam = make_staff("support", email="sam@example.com", name="Sam Rivera")
    sam.time_zone = "UTC"
    sam.save()
    lena = make_staff("support", email="lena@example.com", name="Lena Fischer")
    do_create_schedule(
        team=team_by_slug("support"),
        name="Support",
        slug="support",
        time_zone="UTC",
        layers=[
            LayerDraft(
                name="Primary",
                participants=[sam],
                rotation_start=datetime(2020, 1, 6, 9, tzinfo=UTC),
            )
        ],
        actor=None,
    )
    return {"sam": sam, "lena": lena}


def test_an_agent_adds_an_override_and_sees_it_in_the_final_schedule(support, open_page) -> None:
    """Sam types an end before the start and is told so; he fixes it, and Lena's name appears in
    the final schedule row for tomorrow afternoon."""
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    page = open_page("sam@example.com", "pw-staff-123")
    page.goto("/console/schedules/support/")
    final = page.get_by_test_id("timeline-final")
    assert "Lena Fischer" not in final.inner_text()

    form = page.get_by_test_id("override-form")
    form.locator("input[name=email]").fill("lena@example.com")
    form.locator("input[name=start]").fill(f"{tomorrow}T14:00")
    form.locator("input[name=end]").fill(f"{tomorrow}T10:00")
    form.locator("input[name=time_zone]").fill("UTC")
    form.locator("input[name=reason]").fill("Sam at the dentist")
    form.get_by_role("button", name="Add override").click()
    assert "must end after it starts" in page.get_by_test_id("form-error").inner_text()
    assert not Override.objects.exists()

    page.locator("input[name=end]").fill(f"{tomorrow}T18:00")
    page.get_by_role("button", name="Add override").click()
    page.wait_for_url("**/console/schedules/support/")
    assert "Override added" in page.locator(".flash-success").inner_text()
    assert "Sam at the dentist" in page.get_by_test_id("overrides").inner_text()
    assert "Lena Fischer" in page.get_by_test_id("timeline-overrides").inner_text()
    assert "Lena Fischer" in page.get_by_test_id("timeline-final").inner_text()
    bar = page.get_by_test_id("timeline-final").locator(".bar", has_text="Lena Fischer")
    assert "14:00" in (bar.get_attribute("title") or "")
    screenshot(page, "schedule-override")
    override = Override.objects.get()
    assert override.user == support["lena"]
    assert override.start == datetime.fromisoformat(f"{tomorrow}T14:00:00+00:00")
