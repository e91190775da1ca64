import { expect, test } from "@playwright/test";
import { demoAnnotator } from "./helpers";

test.use({ javaScriptEnabled: false });

test("the login form works with JavaScript disabled", async ({ page }) => {
  await page.goto("/login");
  await page.getByLabel("Email").fill(demoAnnotator.email);
  await page.getByLabel("Password", { exact: true }).fill(demoAnnotator.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Projects" })).toBeVisible();
  await expect(page.getByRole("row", { name: /Demo: assistant answers/ })).toContainText("20");
  // Signing out is a plain form too.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in to Verdict" })).toBeVisible();
});
