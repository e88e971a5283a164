"""The playground in a real browser (Debian's chromium, driven by Playwright).

Every click on the page becomes a signed request to `/slack/events` or a mail POSTed to
`/email/inbound`; these tests only look at what the page shows. If chromium is missing they
fail (`.ci/run` installs it); they never skip.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page, expect

from bot.config import Settings
from tests.playground_support import Running, opened_page, running_playground

WAIT_MS = 20_000
"""How long a condition may take to show (a step runs in the worker first); not a speed test."""

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[Running]:
    async with running_playground(settings) as running:
        yield running


@pytest.fixture
async def page(running: Running) -> AsyncIterator[Page]:
    async with opened_page(running.url + "/") as page:
        yield page


async def be(page: Page, person: str, conversation: str | None = None) -> None:
    """Act as `person` ("U0MAYA" approves, "U0BEN" does not), in `conversation` (default:
    where the page opens, #deploys)."""
    await page.select_option("#person", person)
    if conversation is not None:
        await page.click(f'[data-conversation="{conversation}"]')
        await expect(page.locator(f'.messages[data-current="{conversation}"]')).to_be_visible(
            timeout=WAIT_MS
        )


async def write(page: Page, text: str) -> None:
    await page.fill("#composer-text", text)
    await page.click('#composer button[type="submit"]')


async def test_deploy_refused_for_a_non_approver_then_approved(page: Page) -> None:
    await expect(page.locator("#model-badge")).to_contain_text("offline model")
    # The page opens as Ben in #deploys, with the first-run request already in the composer.
    await expect(page.locator('.messages[data-current="C0DEPLOYS"]')).to_be_visible()
    await expect(page.locator("#person")).to_have_value("U0BEN")
    await page.click('#composer button[type="submit"]')
    card = page.locator(".msg.bot", has_text="Approval needed: deploy_service")
    await expect(card.get_by_role("button", name="Approve")).to_be_visible(timeout=WAIT_MS)
    await expect(card).to_contain_text("(offline model)")

    await card.get_by_role("button", name="Approve").click()
    refusal = page.locator(".msg.ephemeral")
    await expect(refusal).to_contain_text("can decide this", timeout=WAIT_MS)
    await expect(refusal).to_contain_text("Only visible to you")
    await expect(refusal.locator(".author")).to_have_text("hitlbot")
    await expect(card.get_by_role("button", name="Approve")).to_be_visible()

    await be(page, "U0MAYA", "C0DEPLOYS")
    await expect(page.locator(".msg.ephemeral")).to_have_count(0)  # Ben's note is his alone
    await card.get_by_role("button", name="Approve").click()
    await expect(card).to_contain_text("Approved by @Maya", timeout=WAIT_MS)
    await expect(card.get_by_role("button")).to_have_count(0)
    answer = page.locator(".replies .msg.bot", has_text="Deployed api 1.4.2 to production.")
    await expect(answer).to_be_visible(timeout=WAIT_MS)

    await expect(page.locator("#thread-status")).to_have_text("done", timeout=WAIT_MS)
    await expect(page.locator(".timeline")).to_contain_text("approved by U0MAYA")
    await expect(page.locator(".ctx summary").first).to_contain_text("tokens")
    await expect(page.locator(".audit")).to_contain_text("args_sha256")


async def test_an_approver_may_not_approve_her_own_request(page: Page) -> None:
    await be(page, "U0MAYA", "C0DEPLOYS")
    await write(page, "@hitlbot deploy billing 0.9.4 to production")
    card = page.locator(".msg.bot", has_text="Approval needed: deploy_service")
    await card.get_by_role("button", name="Approve").click(timeout=WAIT_MS)
    await expect(page.locator(".msg.ephemeral")).to_contain_text(
        "started this thread", timeout=WAIT_MS
    )
    await expect(card.get_by_role("button", name="Approve")).to_be_visible()


async def test_reject_opens_the_modal_and_the_agent_reads_the_reason(page: Page) -> None:
    await write(page, "@hitlbot deploy web 2.1.0 to production")  # as Ben
    card = page.locator(".msg.bot", has_text="Approval needed: deploy_service")
    await expect(card.get_by_role("button", name="Reject")).to_be_visible(timeout=WAIT_MS)
    await be(page, "U0MAYA", "C0DEPLOYS")
    await card.get_by_role("button", name="Reject").click()
    modal = page.locator(".modal")
    await expect(modal).to_contain_text("The agent reads your reason", timeout=WAIT_MS)
    await modal.locator("textarea").fill("freeze until Monday")
    await modal.get_by_role("button", name="Reject").click()
    await expect(modal).to_have_count(0, timeout=WAIT_MS)
    await expect(card).to_contain_text("Rejected by @Maya: freeze until Monday", timeout=WAIT_MS)
    reply = page.locator(".replies .msg.bot", has_text="the approver rejected it")
    await expect(reply).to_contain_text("freeze until Monday", timeout=WAIT_MS)


async def test_edit_shows_each_field_and_its_error_then_deploys_the_edit(page: Page) -> None:
    await write(page, "@hitlbot deploy web 2.1.0 to production")  # as Ben
    card = page.locator(".msg.bot", has_text="Approval needed: deploy_service")
    await expect(card.get_by_role("button", name="Edit")).to_be_visible(timeout=WAIT_MS)
    await be(page, "U0MAYA", "C0DEPLOYS")
    await card.get_by_role("button", name="Edit").click()
    modal = page.locator(".modal")
    await expect(modal).to_contain_text("Edit and approve", timeout=WAIT_MS)
    version = modal.locator('input[name="arg:version.value"]')
    await expect(version).to_have_value("2.1.0")
    await expect(modal.locator('input[name="arg:service.value"]')).to_have_value("web")
    await expect(modal.locator('select[name="arg:environment.value"]')).to_have_value("production")

    await version.fill("")
    await modal.get_by_role("button", name="Approve").click()
    error = modal.locator('[data-error-for="arg:version"]')
    await expect(error).to_contain_text("Field required", timeout=WAIT_MS)
    await expect(modal.locator('[data-error-for="arg:service"]')).to_be_hidden()
    await expect(card.get_by_role("button", name="Approve")).to_be_visible()

    await version.fill("2.0.0")
    await modal.get_by_role("button", name="Approve").click()
    await expect(modal).to_have_count(0, timeout=WAIT_MS)
    await expect(card).to_contain_text("Approved with edits by @Maya", timeout=WAIT_MS)
    await expect(card).to_contain_text("2.0.0 (was 2.1.0)")
    reply = page.locator(".replies .msg.bot", has_text="Deployed web 2.0.0 to production")
    await expect(reply).to_contain_text("as the approver edited it", timeout=WAIT_MS)
    await expect(page.locator(".audit")).to_contain_text("proposed_args_sha256")


async def test_a_refund_by_mail_approved_in_slack_and_a_reply_from_the_outbox(
    page: Page,
) -> None:
    await page.click('#mail-compose button[type="submit"]')  # the prefilled refund request
    await expect(page.locator(".mail.in")).to_contain_text("arrived broken", timeout=WAIT_MS)

    await be(page, "U0MAYA", "C0APPROVALS")
    card = page.locator(".msg.bot", has_text="Approval needed: issue_refund")
    await card.get_by_role("button", name="Approve").click(timeout=WAIT_MS)
    await expect(card).to_contain_text("Approved by @Maya", timeout=WAIT_MS)

    answer = page.locator(".mail.out", has_text="We have refunded 249.00 EUR on order A1001.")
    await expect(answer).to_be_visible(timeout=WAIT_MS)
    await answer.get_by_role("button", name="Reply as the customer").click()
    await page.fill("#mail-text", "Thank you! And where is my order A1004?")
    await page.click('#mail-compose button[type="submit"]')
    status = page.locator(".mail.out", has_text="Your order A1004")
    await expect(status).to_contain_text("is processing", timeout=WAIT_MS)
    # One conversation: the reply was threaded onto the bot's mail and resumed its thread.
    await expect(page.locator(".mail-thread")).to_have_count(1)
    await expect(page.locator(".mail")).to_have_count(4)


async def test_a_question_answered_by_a_reply_in_the_slack_thread(page: Page) -> None:
    await be(page, "U0BEN", "D0BEN")  # the DM needs no mention
    await write(page, "deploy api to staging")
    question = page.locator(".msg.bot", has_text="Which version of api?")
    await expect(question.get_by_role("button", name="1.4.2")).to_be_visible(timeout=WAIT_MS)
    await page.locator(".thread").first.get_by_role("button", name="Reply in thread").click()
    await expect(page.locator("#reply-target")).to_be_visible()
    await write(page, "1.4.1 please")
    await expect(question).to_contain_text("@Ben answered: 1.4.1 please", timeout=WAIT_MS)
    answer = page.locator(".replies .msg.bot", has_text="Deployed api 1.4.1 to staging.")
    await expect(answer).to_be_visible(timeout=WAIT_MS)
    # The reply sits in the Slack thread, under the question, not as a new conversation.
    await expect(page.locator(".thread")).to_have_count(1)


async def test_oncall_picks_an_incident_by_button_then_approves_the_ticket(page: Page) -> None:
    await be(page, "U0BEN", "C0ONCALL")
    await expect(page.locator(".room-hint")).to_contain_text("page the on-call for payments")
    await write(page, "@hitlbot page the on-call for payments")
    question = page.locator(".msg.bot", has_text="Which one is the page about?")
    pick = question.get_by_role("button", name="INC-101: Card payments failing for EU customers")
    await pick.click(timeout=WAIT_MS)
    await expect(question).to_contain_text("@Ben picked: INC-101", timeout=WAIT_MS)
    await expect(question.get_by_role("button")).to_have_count(0)
    card = page.locator(".msg.bot", has_text="Approval needed: open_ticket")
    await expect(card.get_by_role("button", name="Approve")).to_be_visible(timeout=WAIT_MS)
    await be(page, "U0MAYA", "C0ONCALL")
    await card.get_by_role("button", name="Approve").click()
    await expect(card).to_contain_text("Approved by @Maya", timeout=WAIT_MS)
    answer = page.locator(".replies .msg.bot", has_text="Paged Priya (payments) about INC-101")
    await expect(answer).to_contain_text("Opened ticket TCK-1", timeout=WAIT_MS)
