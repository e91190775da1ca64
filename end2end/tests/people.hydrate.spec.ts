import { expect, test } from "@playwright/test";
import { admin, hydrated, signIn, signOut } from "./helpers";

test("admin adds an annotator and makes them a member of the demo project, which they then see (and no other)", async ({ page }) => {
  const email = `ann-${Date.now()}@example.org`;
  const password = "a long e2e password";

  await signIn(page, admin.email, admin.password);
  await page.getByRole("link", { name: "Users" }).click();
  await expect(page.getByRole("heading", { name: "Users" })).toBeVisible();
  await hydrated(page);

  const form = page.getByRole("form", { name: "Add a user" });
  await form.getByLabel("Email").fill(email);
  await form.getByLabel("Name").fill("Ann Notator");
  await form.getByLabel(/Password/).fill(password);
  await form.getByLabel("Role").selectOption("annotator");
  await form.getByRole("button", { name: "Add user" }).click();

  await expect(page.getByRole("status")).toContainText(`Created ${email}`);
  const row = page.getByRole("row", { name: new RegExp(email) });
  await expect(row).toContainText("annotator");
  await expect(row).toContainText("active");

  // Members of the demo project: a bad email is refused with the field named, then the new
  // annotator is added.
  await page.goto("/projects/demo/members");
  await page.getByLabel("Email").fill("nobody@example.org");
  await page.getByRole("button", { name: "Save member" }).click();
  await expect(page.getByRole("alert")).toContainText("email: no user has the email");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Most items per day").fill("-1");
  await page.getByRole("button", { name: "Save member" }).click();
  await expect(page.getByRole("alert")).toContainText("daily_max");
  await page.getByLabel("Most items per day").fill("");
  await page.getByRole("button", { name: "Save member" }).click();
  await expect(page.getByRole("table", { name: "Members" }).getByRole("row", { name: new RegExp(email) })).toBeVisible();

  await signOut(page);
  await signIn(page, email, password);
  await expect(page.locator(".user-name")).toHaveText("Ann Notator");
  const demo = page.getByRole("row", { name: /Demo: assistant answers/ });
  await expect(demo).toContainText("20");
  // Of the other projects nothing shows, and their pages answer 404.
  await expect(page.getByRole("row", { name: /Gold checks/ })).toHaveCount(0);
  await page.goto("/projects/checks/label");
  await hydrated(page);
  await expect(page.getByRole("alert")).toContainText("project not found");
  const mine = await page.goto("/projects/checks/quality/me");
  expect(mine?.status()).toBe(404);
  await page.goto("/");
  // Annotators do not get the admin's links.
  await expect(page.getByRole("link", { name: "Users" })).toHaveCount(0);
});

test("the page hydrates: 'Show password' works only once the WASM runs", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  const password = page.getByLabel("Password", { exact: true });
  await expect(password).toHaveAttribute("type", "password");
  await page.getByLabel("Show password").check();
  await expect(password).toHaveAttribute("type", "text");
});

test("a wrong password is refused with a message", async ({ page }) => {
  await page.goto("/login");
  await page.getByLabel("Email").fill(admin.email);
  await page.getByLabel("Password", { exact: true }).fill("certainly not it");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Wrong email or password.");
});

test("answers render markdown, and HTML in them runs nothing", async ({ page }) => {
  const dialogs: string[] = [];
  page.on("dialog", async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  await signIn(page, admin.email, admin.password);
  await page.getByRole("row", { name: /Demo: assistant answers/ }).getByRole("link", { name: "Browse items" }).click();
  await hydrated(page);
  const item = page.getByRole("article", { name: "Item demo-20" });
  await expect(item).toContainText("<script>alert('xss')</script>");
  await expect(item.locator("script")).toHaveCount(0);
  await expect(item.locator("img")).toHaveCount(0);
  await expect(page.locator(".markdown table").first()).toBeVisible();
  await expect(page.locator(".markdown pre code").first()).toBeVisible();
  expect(dialogs).toEqual([]);
});

test("visitors are sent to the login page and back after signing in", async ({ page }) => {
  await page.goto("/admin/users");
  await expect(page).toHaveURL(/\/login\?next=\/admin\/users$/);
  await page.getByLabel("Email").fill(admin.email);
  await page.getByLabel("Password", { exact: true }).fill(admin.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Users" })).toBeVisible();
});

test("in the workspace, HTML in an answer shows as text and runs nothing", async ({ page }) => {
  const dialogs: string[] = [];
  page.on("dialog", async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  await signIn(page, admin.email, admin.password);
  await page.goto("/projects/untrusted/label");
  await hydrated(page);
  const answers = page.locator(".answers");
  await expect(answers).toContainText("<script>alert('xss')</script>");
  await expect(answers).toContainText('<img src=x onerror="alert(1)">');
  await expect(answers.locator("script")).toHaveCount(0);
  await expect(answers.locator("img")).toHaveCount(0);
  await expect(answers.locator(".markdown strong")).toHaveText("Content-Security-Policy");
  expect(dialogs).toEqual([]);
});

test("an admin signs a user out everywhere: their open sessions end", async ({ page, browser }) => {
  const email = `away-${Date.now()}@example.org`;
  const password = "a long e2e password";
  await signIn(page, admin.email, admin.password);
  const created = await page.request.post("/serverfn/create_user", {
    form: { email, display_name: "Away", password, role: "annotator" },
  });
  expect(created.ok()).toBeTruthy();
  const laptop = await (await browser.newContext()).newPage();
  await signIn(laptop, email, password);

  await page.goto("/admin/users");
  await hydrated(page);
  await page.getByRole("button", { name: `Sign out ${email} everywhere` }).click();
  await expect(page.getByRole("status")).toContainText("Signed out everywhere");

  await laptop.goto("/");
  await expect(laptop.getByRole("heading", { name: "Sign in to Verdict" })).toBeVisible();
  await signIn(laptop, email, password);
});
