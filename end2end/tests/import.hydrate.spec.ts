import { expect, test } from "@playwright/test";
import { admin, hydrated, pageErrors, signIn } from "./helpers";

test("an admin uploads a file with a progress bar and reads the report", async ({ page }) => {
  const errors = pageErrors(page);
  await signIn(page, admin.email, admin.password);
  await page.getByRole("row", { name: /Untrusted HTML/ }).getByRole("link", { name: "Import" }).click();
  await expect(page.getByRole("heading", { name: "Import items" })).toBeVisible();
  await hydrated(page);

  // A file with one bad line: by default nothing is stored and the line is named.
  const run = Date.now();
  const lines = [
    JSON.stringify({ external_id: `up-1-${run}`, prompt: "First?", responses: ["a", "b"] }),
    JSON.stringify({ external_id: `up-2-${run}`, prompt: "Second?", responses: ["only one"] }),
    JSON.stringify({ external_id: `up-3-${run}`, prompt: "Third?", responses: ["c", "d", "e"] }),
  ];
  const file = { name: "items.jsonl", mimeType: "application/x-ndjson", buffer: Buffer.from(lines.join("\n") + "\n") };
  await page.getByLabel("File", { exact: true }).setInputFiles(file);
  await page.getByRole("button", { name: "Upload and import" }).click();
  const report = page.getByLabel("Import report");
  await expect(report).toContainText("Nothing was imported: 1 of 3 lines are invalid");
  await expect(report.getByRole("row", { name: /responses/ })).toContainText("2");

  // Again, keeping the valid lines.
  await page.getByLabel("Import the valid lines and report the rest").check();
  await page.getByRole("button", { name: "Upload and import" }).click();
  await expect(report).toContainText("Imported 2 items (0 already present, 1 invalid lines skipped) from 3 lines");
  expect(errors).toEqual([]);
});

test("a large upload shows its progress", async ({ page }) => {
  await signIn(page, admin.email, admin.password);
  await page.goto("/projects/untrusted/import");
  await hydrated(page);
  // About 20 MB of valid items: the bar shows before the report arrives.
  const run = Date.now();
  const line = (n: number) =>
    JSON.stringify({ external_id: `big-${run}-${n}`, prompt: `Question ${n}? ${"x".repeat(900)}`, responses: ["yes", "no"] });
  const body = Array.from({ length: 20000 }, (_, n) => line(n)).join("\n") + "\n";
  await page.getByLabel("File", { exact: true }).setInputFiles({ name: "big.jsonl", mimeType: "application/x-ndjson", buffer: Buffer.from(body) });
  await page.getByRole("button", { name: "Upload and import" }).click();
  // The bar shows while the file travels and while the server imports it.
  await expect(page.getByLabel("Upload progress").locator("progress")).toBeVisible();
  await expect(page.getByLabel("Upload progress").getByRole("status")).toHaveText(/Uploading… \d+%|Uploaded\. Importing…/);
  await expect(page.getByLabel("Import report")).toContainText("Imported 20000 items", { timeout: 30_000 });
});
