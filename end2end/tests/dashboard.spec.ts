import { expect, test, type Browser, type Page } from "@playwright/test";
import { admin, demoAnnotator, signIn } from "./helpers";

// The dashboard is drawn on the server: the same charts with and without JavaScript.
test.describe.configure({ mode: "serial" });

// The "charts" project (end2end/fixtures/charts.jsonl, imported by scripts/test.sh with the
// dashboard field `category`) has six items of three answers; the demo annotator is a member.

/** Labels `n` items of "charts" as the demo annotator, through the server functions the
 *  workspace calls (each ranked as shown, thumbs up on the first answer). */
async function label(browser: Browser, n: number) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, demoAnnotator.email, demoAnnotator.password);
  for (let i = 0; i < n; i++) {
    const next = await page.request.post("/serverfn/next_task", { form: { slug: "charts" } });
    expect(next.ok()).toBeTruthy();
    const task = await next.json();
    if (!task) break;
    const shown: string[] = task.answers.map((a: { response_id: string }) => a.response_id);
    const submitted = await page.request.post("/serverfn/submit_annotation", {
      data: {
        slug: "charts",
        input: {
          annotation_id: crypto.randomUUID(),
          item_id: task.item_id,
          ranking: shown.map((id) => [id]),
          thumbs: { [shown[0]]: true },
          shown_order: shown,
          time_spent_ms: 4000 + 1000 * i,
        },
      },
    });
    expect(submitted.ok(), await submitted.text()).toBeTruthy();
  }
  await context.close();
}

async function checkCharts(page: Page, mode: string) {
  await signIn(page, admin.email, admin.password);
  await page.goto("/projects/charts/dashboard");
  await expect(page.getByRole("heading", { name: "Dashboard · charts" })).toBeVisible();
  for (const title of [
    "Burn-up: items done",
    "Labels per day, by annotator",
    "Median time per label",
    "Where the best pick was shown",
  ]) {
    const chart = page.getByRole("img", { name: title });
    await expect(chart).toBeVisible();
    const box = await chart.boundingBox();
    expect(box && box.width > 300 && box.height > 100, `${title} is drawn large enough`).toBeTruthy();
  }
  // The models' chart is an image the server draws on its own request.
  const models = page.getByRole("img", { name: "Model ratings with 95% intervals, best first" });
  await expect(models).toBeVisible();
  await expect
    .poll(() => models.evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0)))
    .toBeGreaterThan(300);
  // The numbers behind a chart, as a table.
  await page.getByText("Numbers: labels per day").click();
  const table = page.locator("details.numbers[open] table");
  await expect(table).toBeVisible();
  await expect(table).toContainText(demoAnnotator.email);
  // Nothing on the page loads the app's WASM.
  expect(await page.locator("script").count()).toBe(0);
  await page.screenshot({ path: `test-results/dashboard-${mode}.png`, fullPage: true });
}

test("labels made in the workspace show on the dashboard's charts, with JavaScript", async ({ page, browser }) => {
  await label(browser, 3);
  await checkCharts(page, "js");
  // A filter by annotator keeps their labels; a bad day is refused, naming the field.
  await page.getByRole("combobox", { name: /^Annotator/ }).selectOption(demoAnnotator.email);
  await page.getByRole("button", { name: "Show" }).click();
  await expect(page).toHaveURL(/annotator=annotator%40verdict.local/);
  await expect(page.getByRole("img", { name: "Labels per day, by annotator" })).toBeVisible();
  // Items of one category: two of the six.
  await page.getByRole("combobox", { name: /^Items with/ }).selectOption("category=math");
  await page.getByRole("button", { name: "Show" }).click();
  await expect(page.getByText(/\d+ \/ 2 \(/)).toBeVisible();
  await page.goto("/projects/charts/dashboard?from=2026-99-01");
  await expect(page.getByRole("alert")).toContainText("from");
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });
  test("the dashboard's charts and tables show", async ({ page }) => {
    await checkCharts(page, "nojs");
    // The home page's small burn-up is an image the server draws.
    await page.goto("/");
    const row = page.getByRole("row", { name: /Charts/ });
    await expect(row.locator("img")).toBeVisible();
    await expect(row).toContainText(/\d+ \/ 6/);
  });
});
