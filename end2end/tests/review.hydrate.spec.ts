import { expect, test } from "@playwright/test";
import { admin, hydrated, pageErrors, signIn, signOut } from "./helpers";

const password = "a long e2e password";

test("an admin adds members, one labels, a reviewer rejects with a reason, the annotator sees it; a non-member sees nothing", async ({ page }) => {
  const errors = pageErrors(page);
  const stamp = Date.now();
  const annotator = `rev-ann-${stamp}@example.org`;
  const reviewer = `rev-rev-${stamp}@example.org`;
  const stranger = `rev-out-${stamp}@example.org`;
  const reason = `REASON-${stamp}: Canberra is the capital, not Sydney.`;

  // The admin creates the three accounts, turns review on, and adds two of them as members
  // on the members page (a member who does not exist is refused first).
  await signIn(page, admin.email, admin.password);
  for (const [email, role] of [[annotator, "annotator"], [reviewer, "reviewer"], [stranger, "annotator"]]) {
    const response = await page.request.post("/serverfn/create_user", {
      form: { email, display_name: `Review ${role}`, password, role },
    });
    expect(response.ok()).toBeTruthy();
  }
  await page.goto("/projects/reviewed/review");
  await page.getByText("Review settings (admins)").click();
  await page.getByLabel("Review this project's labels").check();
  await page.getByLabel("What is reviewed").selectOption("all");
  await page.getByLabel(/Share reviewed/).fill("2");
  await page.getByRole("button", { name: "Save review settings" }).click();
  await expect(page.getByRole("alert")).toContainText("share: must be between 0 and 1");
  await page.getByLabel(/Share reviewed/).fill("1");
  await page.getByRole("button", { name: "Save review settings" }).click();
  await expect(page.getByRole("status")).toContainText("Nothing is due for your review now.");

  await page.goto("/projects/reviewed/members");
  await page.getByLabel("Email").fill(`ghost-${stamp}@example.org`);
  await page.getByRole("button", { name: "Save member" }).click();
  await expect(page.getByRole("alert")).toContainText("email: no user has the email");
  for (const email of [annotator, reviewer]) {
    await page.getByLabel("Email").fill(email);
    await page.getByRole("button", { name: "Save member" }).click();
    await expect(page.getByRole("table", { name: "Members" }).getByRole("row", { name: new RegExp(email) })).toBeVisible();
  }
  await signOut(page);

  // The member labels one item with the keyboard: the answers ranked as shown.
  await signIn(page, annotator, password);
  await page.goto("/projects/reviewed/label");
  await hydrated(page);
  const workspace = page.locator(".workspace");
  await expect(workspace).toBeVisible();
  await page.keyboard.press("1");
  await page.keyboard.press("2");
  await expect(page.locator(".rank-chip")).toHaveCount(2);
  const item = await workspace.getAttribute("data-item");
  await page.keyboard.press("Enter");
  await expect(workspace).not.toHaveAttribute("data-item", item ?? "");
  await signOut(page);

  // The reviewer sees the label on the review page and rejects it with the keyboard.
  await signIn(page, reviewer, password);
  await page.getByRole("row", { name: /Reviewed/ }).getByRole("link", { name: "Review" }).click();
  await expect(page.getByRole("heading", { name: "Review · reviewed" })).toBeVisible();
  await expect(page.getByRole("listitem", { name: "Answer A" })).toContainText(/Sydney\.|Eight\./);
  const label = page.getByRole("article", { name: /Label by annotator-/ });
  await expect(label).toContainText(/[AB] > [AB]/);
  // The first due label's Accept button has the focus; r opens its reject form.
  await expect(label.getByRole("button", { name: "Accept" })).toBeFocused();
  await page.keyboard.press("r");
  const why = label.getByLabel(/Reason/);
  await expect(why).toBeFocused();
  await why.fill(reason);
  await label.locator("details.reject button[type=submit]").click();
  await expect(page.getByRole("status")).toContainText("Nothing is due for your review now.");
  await signOut(page);

  // The annotator learns why, in their history.
  await signIn(page, annotator, password);
  await page.goto("/projects/reviewed/history");
  await hydrated(page);
  await expect(page.locator("table.list")).toContainText(`Rejected: ${reason}`);
  await signOut(page);

  // Someone who is not a member finds no trace of the project.
  await signIn(page, stranger, password);
  await expect(page.getByRole("row", { name: /Reviewed/ })).toHaveCount(0);
  const queue = await page.goto("/projects/reviewed/review");
  expect(queue?.status()).toBe(404);
  await page.goto("/projects/reviewed/history");
  await hydrated(page);
  await expect(page.getByRole("alert")).toContainText("project not found");
  expect(errors).toEqual([]);
});
