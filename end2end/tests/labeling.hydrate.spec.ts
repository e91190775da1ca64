import { expect, test, type Browser, type Page } from "@playwright/test";
import { addMember, admin, demoAnnotator, hydrated, pageErrors, signIn } from "./helpers";

test.describe.configure({ mode: "serial" });

const password = "a long e2e password";

async function annotatorPage(browser: Browser, email: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, email, password);
  return page;
}

async function openWorkspace(page: Page) {
  await page.goto("/projects/demo/label");
  await hydrated(page);
  await expect(page.locator(".workspace")).toBeVisible();
}

test("two annotators on an overlap-2 project get the same item, a third does not", async ({ page, browser }) => {
  await signIn(page, admin.email, admin.password);
  await page.goto("/projects/demo/settings");
  await hydrated(page);
  await page.getByLabel("Annotators per item (overlap)").fill("2");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByRole("status")).toHaveText("Settings saved.");

  const emails = ["x", "y", "z"].map((n) => `${n}-${Date.now()}@example.org`);
  for (const email of emails) {
    const response = await page.request.post("/serverfn/create_user", {
      form: { email, display_name: "Pair tester", password, role: "annotator" },
    });
    expect(response.ok()).toBeTruthy();
    await addMember(page, "demo", email);
  }

  const items: string[] = [];
  for (const email of emails) {
    const other = await annotatorPage(browser, email);
    await openWorkspace(other);
    items.push((await other.locator(".workspace").getAttribute("data-item")) ?? "");
  }
  expect(items[0]).not.toBe("");
  expect(items[1]).toBe(items[0]);
  expect(items[2]).not.toBe(items[0]);
});

test("an annotator labels five items with the keyboard alone", async ({ page }) => {
  const errors = pageErrors(page);
  await signIn(page, demoAnnotator.email, demoAnnotator.password);
  await openWorkspace(page);
  await page.keyboard.press("?");
  await expect(page.getByRole("dialog", { name: "Keyboard shortcuts" })).toBeVisible();
  await page.keyboard.press("Escape");

  const seen = new Set<string>();
  for (let n = 0; n < 5; n++) {
    const workspace = page.locator(".workspace");
    const item = (await workspace.getAttribute("data-item")) ?? "";
    expect(seen.has(item)).toBeFalsy();
    seen.add(item);
    const answers = await page.locator(".answers .answer").count();
    for (let i = 1; i <= answers; i++) await page.keyboard.press(String(i));
    await expect(page.locator(".rank-chip")).toHaveCount(answers);
    // Ranking leaves the focus on the last answer ranked; k moves it back to the first.
    for (let i = 1; i < answers; i++) await page.keyboard.press("k");
    await page.keyboard.press("u");
    await expect(page.getByRole("button", { name: "Thumbs up for answer 1" })).toHaveAttribute("aria-pressed", "true");
    await page.keyboard.press("Enter");
    await expect(workspace).not.toHaveAttribute("data-item", item);
  }
  await expect(page.locator(".progress")).toContainText("5 by me today");
  expect(errors).toEqual([]);
});

test("a draft survives a reload", async ({ page }) => {
  const errors = pageErrors(page);
  await signIn(page, demoAnnotator.email, demoAnnotator.password);
  await openWorkspace(page);
  const item = await page.locator(".workspace").getAttribute("data-item");
  const answers = await page.locator(".answers .answer").count();
  // Of three answers, ranking two implies the third.
  const ranked = answers === 3 ? 3 : 2;
  await page.keyboard.press("2");
  await page.keyboard.press("1");
  await page.keyboard.press("c");
  await page.keyboard.type("Answer 2 cites a source.");
  await expect(page.locator(".rank-chip")).toHaveCount(ranked);

  await page.reload();
  await hydrated(page);
  await expect(page.locator(".workspace")).toHaveAttribute("data-item", item ?? "");
  await expect(page.locator(".rank-chip")).toHaveCount(ranked);
  await expect(page.locator(".rank-chip").first()).toContainText("Answer 2");
  await expect(page.getByLabel("Comment (c)")).toHaveValue("Answer 2 cites a source.");
  // The ideal-answer editor and flags by key, then leave the text box with Escape.
  await page.keyboard.press("Escape");
  await page.keyboard.press("e");
  await page.keyboard.type("\nOne more line.");
  await page.keyboard.press("Escape");
  await page.keyboard.press("w");
  await expect(page.getByLabel("Factually wrong")).toBeChecked();
  await expect(page.locator(".diff")).toContainText("+1");
  expect(errors).toEqual([]);
});

test("the last answer's rank is implied, and Backspace takes it back", async ({ page }) => {
  const errors = pageErrors(page);
  await signIn(page, demoAnnotator.email, demoAnnotator.password);
  await openWorkspace(page);
  const answers = await page.locator(".answers .answer").count();
  const chips = page.locator(".rank-chip");
  // Best to worst, from the last answer shown to the second: n - 1 keys rank all n.
  for (let i = answers; i >= 2; i--) await page.keyboard.press(String(i));
  await expect(chips).toHaveCount(answers);
  await expect(page.locator(".ranking")).toContainText(`${answers}/${answers} ranked`);
  await expect(chips.last()).toContainText("Answer 1");
  await page.keyboard.press("Backspace");
  await expect(chips).toHaveCount(answers - 1);
  await expect(page.locator(".ranking")).toContainText(`${answers - 1}/${answers} ranked`);
  // Pressing the last one's key ranks it as before.
  await page.keyboard.press("1");
  await expect(chips).toHaveCount(answers);
  await expect(chips.last()).toContainText("Answer 1");
  await page.locator(".ranking").getByRole("button", { name: "Clear" }).click();
  await expect(chips).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("history lists past work and reopens it for editing", async ({ page }) => {
  await signIn(page, demoAnnotator.email, demoAnnotator.password);
  await page.goto("/projects/demo/history");
  await expect(page.getByRole("heading", { name: "My history" })).toBeVisible();
  const rows = page.locator("table.list tbody tr");
  await expect(rows).toHaveCount(5);
  await rows.first().getByRole("link", { name: "Edit" }).click();
  await hydrated(page);
  await expect(page.getByText("Editing your earlier annotation (version 1).")).toBeVisible();
  await page.getByLabel("Comment (c)").fill("Second thoughts.");
  await page.getByRole("button", { name: "Submit (Enter)" }).click();
  // The edit is stored before the page is left (leaving at once could cancel the request).
  await expect(page.getByText("Editing your earlier annotation (version 1).")).toHaveCount(0);
  await page.goto("/projects/demo/history?q=");
  await expect(page.locator("table.list tbody tr").first().locator("td.num")).toHaveText("2");
});

test("an admin previews an export and downloads it", async ({ page }) => {
  await signIn(page, admin.email, admin.password);
  await page.getByRole("row", { name: /Demo: assistant answers/ }).getByRole("link", { name: "Export" }).click();
  await expect(page.getByRole("heading", { name: "Export" })).toBeVisible();
  await page.getByLabel("Format").selectOption("kto");
  await page.getByRole("button", { name: "Preview" }).click();
  // Five items were labeled above, each with a thumbs-up on answer 1.
  await expect(page.getByRole("status")).toHaveText(/^[5-9]\d* records from [5-9]\d* items\.$/);
  const href = await page.getByRole("link", { name: "Download JSONL" }).getAttribute("href");
  const response = await page.request.get(href ?? "");
  expect(response.ok()).toBeTruthy();
  const lines = (await response.text()).trim().split("\n").map((l) => JSON.parse(l));
  expect(lines.length).toBeGreaterThanOrEqual(5);
  for (const record of lines) {
    expect(Object.keys(record).sort()).toEqual(["completion", "label", "prompt"]);
  }
});
