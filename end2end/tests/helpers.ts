import { expect, type Page } from "@playwright/test";

export const admin = {
  email: process.env.VERDICT_ADMIN_EMAIL ?? "admin@verdict.local",
  password: process.env.VERDICT_ADMIN_PASSWORD ?? "",
};
export const demoAnnotator = {
  email: "annotator@verdict.local",
  password: process.env.VERDICT_DEMO_PASSWORD ?? "",
};

/** Waits until the WASM has hydrated the page (an Effect sets the marker). */
export async function hydrated(page: Page) {
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
}

export async function signIn(page: Page, email: string, password: string) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Projects" })).toBeVisible();
}

export async function signOut(page: Page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in to Verdict" })).toBeVisible();
}

/** Collects uncaught errors in the page (a Rust panic in the WASM surfaces as one). */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  return errors;
}

/// Makes the user with `email` a member of the project (as the signed-in admin of `page`).
export async function addMember(page: Page, slug: string, email: string) {
  const response = await page.request.post(`/projects/${slug}/members`, { form: { email } });
  expect(response.ok()).toBeTruthy();
}
