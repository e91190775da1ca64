import { expect, test } from "@playwright/test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { admin, hydrated, signIn } from "./helpers";

test("the OpenAPI document is valid OpenAPI 3.1 and the reference page renders it", async ({ page, request }) => {
  const response = await request.get("/api/v1/openapi.json");
  expect(response.status()).toBe(200);
  const doc = await response.json();
  expect(doc.openapi).toMatch(/^3\.1\./);
  const validator = new Validator();
  const result = await validator.validate(doc);
  expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
  expect(result.valid).toBe(true);

  await page.goto("/api/v1/docs");
  await expect(page.getByRole("heading", { name: /Verdict API/ })).toBeVisible();
  await expect(page.getByRole("heading", { name: "POST /api/v1/projects/{slug}/items" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "PushReport" })).toBeVisible();
});

test("an admin creates a token, a backend uses it, the admin revokes it", async ({ page, request }) => {
  const name = `trainer ${Date.now()}`;
  await signIn(page, admin.email, admin.password);
  await page.getByRole("link", { name: "API tokens" }).click();
  await expect(page.getByRole("heading", { name: "API tokens" })).toBeVisible();
  await hydrated(page);

  const form = page.getByRole("form", { name: "Create a token" });
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("feedback:write").check();
  await form.getByLabel("feedback:read").check();
  await form.getByLabel("Project").selectOption("demo");
  await form.getByRole("button", { name: "Create token" }).click();
  const secret = (await page.getByLabel("Token secret").textContent())?.trim() ?? "";
  expect(secret).toMatch(/^vdt_/);
  const row = page.getByRole("row", { name: new RegExp(name) });
  await expect(row).toContainText("feedback:write, feedback:read");
  await expect(row).toContainText("demo");
  await expect(row).toContainText("never");
  // The list shows only the start of the secret.
  await expect(page.getByRole("table", { name: "Tokens" })).not.toContainText(secret);

  const auth = { Authorization: `Bearer ${secret}` };
  const sent = await request.post("/api/v1/projects/demo/feedback", {
    headers: auth,
    data: { prompt: "Is the sky green?", answer: "Yes.", end_user: "e2e-user", thumb: "down" },
  });
  expect(sent.status(), await sent.text()).toBe(200);
  const pulled = await request.get("/api/v1/projects/demo/feedback?format=kto&limit=1000", { headers: auth });
  expect(pulled.status()).toBe(200);
  const page1 = await pulled.json();
  const records = page1.feedback.flatMap((e: { records: unknown[] }) => e.records);
  expect(records).toContainEqual({ prompt: "Is the sky green?", completion: "Yes.", label: false });
  // Out of its scope and outside its project: refused.
  const push = await request.post("/api/v1/projects/demo/items", { headers: auth, data: { items: [] } });
  expect(push.status()).toBe(403);
  expect((await push.json()).error.code).toBe("forbidden");

  await page.reload();
  await expect(page.getByRole("row", { name: new RegExp(name) })).not.toContainText("never");
  await hydrated(page);
  await page.getByRole("button", { name: `Revoke ${name}` }).click();
  await expect(page.getByRole("row", { name: new RegExp(name) })).toContainText("revoked");
  const after = await request.get("/api/v1/projects/demo/feedback", { headers: auth });
  expect(after.status()).toBe(401);
  expect((await after.json()).error.code).toBe("unauthenticated");
});
