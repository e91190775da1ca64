import { expect, test, type Page } from "@playwright/test";
import { admin, hydrated, signIn } from "./helpers";

// Every page is served with a Content-Security-Policy that lets it run only Verdict's own
// scripts and WASM; Chromium reports each refusal on the console.

function violations(page: Page): string[] {
  const found: string[] = [];
  page.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) found.push(message.text());
  });
  return found;
}

// The hydrated app's pages (they load the WASM and its lazy chunks) and the server-rendered
// ones (dashboards, quality, datasets, review, members, audit, the API's docs page).
const appPages = [
  "/",
  "/projects/light/label",
  "/projects/demo/history",
  "/projects/demo/items",
  "/projects/demo/settings",
  "/projects/demo/export",
  "/projects/demo/import",
  "/projects/demo/assist",
  "/admin/users",
  "/admin/tokens",
];
const serverPages = [
  "/projects/charts/dashboard",
  "/projects/charts/leaderboard",
  "/projects/demo/quality",
  "/projects/demo/quality/me",
  "/projects/demo/datasets",
  "/projects/demo/members",
  "/projects/reviewed/review",
  "/admin/audit",
  "/api/v1/docs",
];

test("no page of Verdict violates its Content-Security-Policy", async ({ page }) => {
  const refused = violations(page);
  await signIn(page, admin.email, admin.password);
  for (const path of [...appPages, ...serverPages]) {
    const response = await page.goto(path);
    expect(response?.status(), path).toBe(200);
    const policy = response?.headers()["content-security-policy"] ?? "";
    expect(policy, path).toContain("frame-ancestors 'none'");
    expect(policy, path).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]{22}' 'wasm-unsafe-eval';/);
    expect(response?.headers()["x-content-type-options"], path).toBe("nosniff");
    if (appPages.includes(path)) await hydrated(page);
    else await page.waitForLoadState("load");
    expect(refused, path).toEqual([]);
  }
});

test("a script the page did not bring is refused", async ({ page }) => {
  const refused = violations(page);
  await signIn(page, admin.email, admin.password);
  await page.goto("/projects/light/label");
  await hydrated(page);
  // What an injection would do: add an inline script without the page's nonce.
  await page.evaluate(() => {
    const script = document.createElement("script");
    script.textContent = "window.injected = true";
    document.body.append(script);
  });
  await expect.poll(() => refused.length).toBeGreaterThan(0);
  expect(await page.evaluate(() => (window as unknown as { injected?: boolean }).injected)).toBeUndefined();
});

test("a form posted from another site changes nothing", async ({ page, request }) => {
  const response = await request.post("/auth/login", {
    form: { email: admin.email, password: admin.password },
    headers: { Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site" },
    maxRedirects: 0,
  });
  expect(response.status()).toBe(403);
  expect(response.headers()["set-cookie"] ?? "").not.toContain("verdict_session");
  await signIn(page, admin.email, admin.password);
});
