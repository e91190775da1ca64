import { expect, test, type Page } from "@playwright/test";
import { demoAnnotator, hydrated, pageErrors, signIn } from "./helpers";

// The labeling page is in the main WASM module; every other page of the app is a lazy
// route whose code is a chunk of its own (`cargo leptos build --split`).

/** The WASM files the page fetches from now on, by file name. */
function wasmRequests(page: Page): string[] {
  const files: string[] = [];
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (path.endsWith(".wasm")) files.push(path.split("/").pop()!);
  });
  return files;
}

test("the labeling page loads the main module only; other pages load their chunks", async ({ browser }) => {
  const page = await (await browser.newContext()).newPage();
  const errors = pageErrors(page);
  await signIn(page, demoAnnotator.email, demoAnnotator.password);

  const labeling = await (await browser.newContext({ storageState: await page.context().storageState() })).newPage();
  const labelingErrors = pageErrors(labeling);
  const loaded = wasmRequests(labeling);
  await labeling.goto("/projects/light/label");
  await hydrated(labeling);
  await expect(labeling.locator(".workspace")).toBeVisible();
  expect(loaded).toEqual(["verdict.wasm"]);

  // Navigating in the app fetches the projects page's view, then shows it.
  await labeling.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Projects" }).click();
  await expect(labeling.getByRole("heading", { name: "Projects" })).toBeVisible();
  expect(loaded.some((file) => file.startsWith("split___home_view"))).toBeTruthy();

  // A lazy page loaded directly hydrates (its chunk is fetched before hydration).
  const direct = wasmRequests(page);
  await page.goto("/projects/light/history");
  await hydrated(page);
  await expect(page.getByRole("heading", { name: /history/i })).toBeVisible();
  expect(direct.some((file) => file.startsWith("split___history_view"))).toBeTruthy();
  expect(errors).toEqual([]);
  expect(labelingErrors).toEqual([]);
});
