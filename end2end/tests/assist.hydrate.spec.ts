import { expect, test } from "@playwright/test";
import { admin, demoAnnotator, hydrated, pageErrors, signIn } from "./helpers";

// Runs against the real local model (llama.cpp with SmolLM2-135M) that scripts/test.sh
// starts and hands to the server as its inference backend.
test.describe.configure({ mode: "serial" });

test("an admin pre-labels a project with the local model and sees the job finish", async ({ page }) => {
  test.setTimeout(120_000);
  await signIn(page, admin.email, admin.password);
  await page.goto("/projects/assisted/assist");
  await expect(page.getByRole("heading", { name: "Model assist" })).toBeVisible();
  await hydrated(page);

  await page.getByRole("button", { name: "Test connection" }).click();
  await expect(page.getByRole("status", { name: "Connection" })).toContainText("smollm2-135m-instruct");

  await page.getByRole("button", { name: "Pre-label items without a proposal" }).click();
  const jobs = page.getByRole("table", { name: "Jobs" });
  await expect(jobs).toContainText("prelabel");
  // The server's worker works the queue; the page refreshes every two seconds.
  await expect(jobs.locator(".job-progress").first()).toHaveText("3 / 3 done, 0 failed", { timeout: 90_000 });
  await expect(jobs.locator(".badge").first()).toHaveText("done");
  await expect(page.locator(`[aria-label="Agreement"]`)).toContainText("3 proposals (0 failed)", {
    timeout: 15_000,
  });
});

test("the annotator sees the proposal pre-filled, reads why, and accepts it with one key", async ({ page }) => {
  const errors = pageErrors(page);
  await signIn(page, demoAnnotator.email, demoAnnotator.password);
  await page.goto("/projects/assisted/label");
  await hydrated(page);
  const proposal = page.getByRole("complementary", { name: "Model proposal" });
  await expect(proposal).toContainText("Model proposal");
  await expect(proposal).toContainText("smollm2-135m-instruct");
  await expect(proposal).toContainText("press a to accept it as is");
  // The ranking is pre-filled from the proposal.
  await expect(page.getByLabel("Ranking")).toContainText("2/2 ranked");
  await page.keyboard.press("r");
  await expect(proposal.getByLabel("Rationale")).toBeVisible();

  const first = await page.locator(".workspace").getAttribute("data-item");
  await page.keyboard.press("a");
  await expect(page.locator(".workspace")).not.toHaveAttribute("data-item", first ?? "");
  // Any change makes it the annotator's own.
  await expect(proposal).toContainText("press a to accept it as is");
  await page.getByRole("button", { name: "Clear" }).click();
  await expect(proposal).toContainText("you changed it");
  expect(errors).toEqual([]);
});

test("the admin's agreement dashboard counts the accepted proposal", async ({ page }) => {
  await signIn(page, admin.email, admin.password);
  await page.goto("/projects/assisted/assist");
  await expect(page.locator(`[aria-label="Agreement"]`)).toContainText(
    "1 annotations made with a proposal in view: 1 accepted as is (100%)",
  );
});
