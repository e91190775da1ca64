import { expect, test, type Page } from "@playwright/test";
import { addMember, admin, hydrated, pageErrors, signIn } from "./helpers";

// The "checks" project (end2end/fixtures/checks.jsonl, imported by scripts/test.sh) holds two
// gold items whose expected thumbs a label without thumbs misses, and two ordinary items.
test.describe.configure({ mode: "serial" });

const password = "a long e2e password";
const marker = "GOLD-EXPLANATION-MARKER";

async function rankAndSubmit(page: Page) {
  const workspace = page.locator(".workspace");
  const item = (await workspace.getAttribute("data-item")) ?? "";
  const answers = await page.locator(".answers .answer").count();
  for (let i = 1; i <= answers; i++) await page.keyboard.press(String(i));
  await expect(page.locator(".rank-chip")).toHaveCount(answers);
  await page.keyboard.press("Enter");
  return item;
}

test("gold items are served unmarked, and two misses pause the annotator until an admin resumes them", async ({
  page,
  browser,
}) => {
  await signIn(page, admin.email, admin.password);
  await page.goto("/projects/checks/quality");
  await page.getByLabel("First items of a new annotator that are gold").fill("2");
  await page.getByLabel("Flag below this accuracy").fill("0.9");
  await page.getByLabel("after this many gold items").fill("2");
  await page.getByLabel("Pause a flagged annotator").check();
  await page.getByRole("button", { name: "Save gold settings" }).click();
  await expect(page.getByLabel("First items of a new annotator that are gold")).toHaveValue("2");

  const email = `careless-${Date.now()}@example.org`;
  const created = await page.request.post("/serverfn/create_user", {
    form: { email, display_name: "Careless Carl", password, role: "annotator" },
  });
  expect(created.ok()).toBeTruthy();
  await addMember(page, "checks", email);

  const annotator = await (await browser.newContext()).newPage();
  const errors = pageErrors(annotator);
  const served: string[] = [];
  annotator.on("response", async (response) => {
    if (response.url().includes("/serverfn/")) served.push(await response.text().catch(() => ""));
  });
  await signIn(annotator, email, password);
  const first = await annotator.goto("/projects/checks/label");
  served.push((await first?.text()) ?? "");
  await hydrated(annotator);
  await expect(annotator.locator(".workspace")).toBeVisible();
  await expect(annotator.locator(".conversation")).toContainText(/prime|boiling/);

  // Two gold items (onboarding), each missed: no thumbs where thumbs are expected.
  const item = await rankAndSubmit(annotator);
  await expect(annotator.locator(".workspace")).not.toHaveAttribute("data-item", item);
  await rankAndSubmit(annotator);
  await expect(annotator.getByRole("alert")).toContainText("You are paused on this project");
  await expect(annotator.getByRole("alert")).toContainText("0 of your last 2");

  // Nothing the annotator was sent names the item as gold or carries its explanation.
  served.push(await annotator.content());
  for (const body of served) {
    expect(body).not.toContain(marker);
    expect(body).not.toMatch(/"gold"|is_gold/);
  }

  // Still paused on a fresh load, with the reason.
  await annotator.goto("/projects/checks/label");
  await hydrated(annotator);
  await expect(annotator.getByRole("alert")).toContainText("You are paused on this project");

  // The admin sees it and resumes them.
  await page.goto("/projects/checks/quality");
  const goldTable = page.getByRole("table", { name: "Gold accuracy" });
  const row = goldTable.getByRole("row", { name: /Careless Carl/ });
  await expect(row).toContainText("paused");
  await expect(row).toContainText("0 / 2");
  await row.getByRole("button", { name: "Resume" }).click();
  await expect(goldTable.getByRole("row", { name: /Careless Carl/ })).not.toContainText("paused");
  // The scorecard counts their two labels.
  await expect(page.getByRole("table", { name: "Scorecards" }).getByRole("row", { name: /Careless Carl/ })).toContainText("2");

  await annotator.goto("/projects/checks/label");
  await hydrated(annotator);
  await expect(annotator.locator(".workspace")).toBeVisible();
  await expect(annotator.locator(".conversation")).toContainText(/rainbow|week/);

  // Now every item is a gold one while any is left, and a miss is explained.
  await page.getByLabel("Share of items that are gold").fill("1");
  await page.getByLabel("show the annotator its explanation").check();
  await page.getByRole("button", { name: "Save gold settings" }).click();
  await expect(page.getByLabel("show the annotator its explanation")).toBeChecked();
  await rankAndSubmit(annotator);
  await expect(annotator.locator(".conversation")).toContainText("closest to the Sun");
  await expect(annotator.getByRole("status")).toHaveCount(0);
  await rankAndSubmit(annotator);
  await expect(annotator.getByRole("status")).toContainText(`About the item you just submitted: ${marker}`);
  expect(errors).toEqual([]);
});

test("adaptive overlap is set on the Quality page, a bad maximum is refused naming the field, and the model's section shows", async ({
  page,
}) => {
  await signIn(page, admin.email, admin.password);
  await page.goto("/projects/checks/quality");
  const maximum = page.getByLabel("At most this many annotators per item");
  await maximum.fill("0");
  await page.getByRole("button", { name: "Save overlap settings" }).click();
  await expect(page.locator("#overlap").getByRole("alert")).toContainText("max_overlap");
  await expect(page.locator("#gold").getByRole("alert")).toHaveCount(0);
  await page.getByLabel("At most this many annotators per item").fill("3");
  await page.getByLabel("Another annotator below this pairwise agreement").fill("0.8");
  await page.getByLabel("consensus contradicts the model's proposal").check();
  await page.getByRole("button", { name: "Save overlap settings" }).click();
  await expect(page.getByLabel("At most this many annotators per item")).toHaveValue("3");
  await expect(page.getByLabel("Another annotator below this pairwise agreement")).toHaveValue("0.8");
  await expect(page.getByLabel("consensus contradicts the model's proposal")).toBeChecked();
  // Off again (blank maximum), as the other tests expect.
  await page.getByLabel("At most this many annotators per item").fill("");
  await page.getByRole("button", { name: "Save overlap settings" }).click();
  await expect(page.getByLabel("At most this many annotators per item")).toHaveValue("");
  await expect(page.getByRole("heading", { name: "The model as a rater" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Week by week" })).toBeVisible();

  // The admin's item list marks the gold items and opens their editor.
  await page.goto("/projects/checks/items");
  await hydrated(page);
  const gold = page.locator("article.item").filter({ has: page.locator(".badge.gold") });
  await expect(gold).toHaveCount(3);
  await gold.first().getByRole("link", { name: "Gold label…" }).click();
  await expect(page.getByRole("heading", { name: /Gold label of/ })).toBeVisible();
});
