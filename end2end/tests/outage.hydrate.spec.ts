import { expect, test } from "@playwright/test";
import { demoAnnotator, hydrated, pageErrors, signIn } from "./helpers";

const submit = "**/serverfn/submit_annotation";

test("a submission during an outage is kept, retried with the same id, and lands once", async ({ page }) => {
  const errors = pageErrors(page);
  await signIn(page, demoAnnotator.email, demoAnnotator.password);
  await page.goto("/projects/light/label");
  await hydrated(page);
  const workspace = page.locator(".workspace");
  const item = (await workspace.getAttribute("data-item")) ?? "";

  // The connection drops as the annotator submits: the first request reaches the server
  // (which stores the label) but its answer is lost; the ones after it do not get through.
  const sent: string[] = [];
  await page.route(submit, async (route) => {
    sent.push(route.request().postData() ?? "");
    if (sent.length === 1) await route.fetch();
    await route.abort("internetdisconnected");
  });
  const answers = await page.locator(".answers .answer").count();
  for (let i = 1; i <= answers; i++) await page.keyboard.press(String(i));
  await page.keyboard.press("Enter");

  const lost = page.getByRole("status", { name: "Connection" });
  await expect(lost).toContainText("Connection lost");
  await expect(lost).toContainText("kept");
  await expect.poll(() => sent.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
  // Still on the item, nothing of the label lost, every attempt under one annotation id.
  await expect(workspace).toHaveAttribute("data-item", item);
  await expect(page.locator(".rank-chip")).toHaveCount(answers);
  const ids = new Set(sent.map((body) => JSON.parse(body).input.annotation_id));
  expect(ids.size).toBe(1);

  // The connection comes back: the next attempt lands and the next item shows.
  await page.unroute(submit);
  await expect(workspace).not.toHaveAttribute("data-item", item, { timeout: 20_000 });
  await expect(lost).toHaveCount(0);

  await page.goto("/projects/light/history");
  await expect(page.getByRole("heading", { name: "My history" })).toBeVisible();
  await expect(page.locator("table.list tbody tr")).toHaveCount(1);
  expect(errors).toEqual([]);
});
