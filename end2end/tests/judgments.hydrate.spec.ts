import { expect, test, type Page } from "@playwright/test";
import { admin, demoAnnotator, hydrated, pageErrors, signIn, signOut } from "./helpers";

// The "judged" project (end2end/fixtures/judged.jsonl, imported by scripts/test.sh): two
// single-turn items and a chat of three answers each, the demo annotator a member. The admin sets its judgment schema
// here; the annotator then gives every kind of judgment with the keyboard alone.

const schema = {
  strength: {
    steps: [
      { label: "much better", margin: 3 },
      { label: "better", margin: 2 },
      { label: "slightly better", margin: 1 },
      { label: "about the same", margin: 0 },
    ],
  },
  rubric: [
    { key: "helpfulness", name: "Helpfulness", description: "Does it answer the question?", scale: "one_to_five", required: true },
    { key: "honest", name: "Honest", description: "Is all it says true?", scale: "yes_no" },
  ],
  none_acceptable: true,
  rationale_required: true,
  turn_feedback: true,
};

async function saveSchema(page: Page, text: string) {
  await page.getByLabel(/Judgment schema/).fill(text);
  await page.getByRole("button", { name: "Save settings" }).click();
}

/** The shown answers' texts, in the order the workspace shows them (1, 2, 3). */
async function shownAnswers(page: Page): Promise<string[]> {
  const texts = await page.locator(".answer .answer-body").allInnerTexts();
  return texts.map((t) => t.trim());
}

/** Scores every answer with the keyboard: t, then a number per criterion and answer. */
async function rateAll(page: Page, scores: string[]) {
  await page.keyboard.press("k");
  await page.keyboard.press("k");
  await page.keyboard.press("t");
  for (const score of scores) await page.keyboard.press(score);
}

test("an admin sets a judgment schema; an annotator gives every kind by keyboard", async ({ page }) => {
  const errors = pageErrors(page);
  await signIn(page, admin.email, admin.password);
  await page.goto("/projects/judged/settings");
  await hydrated(page);
  // A bad schema is refused with its field named, and nothing changes.
  await saveSchema(page, JSON.stringify({ rubric: [{ key: "Help", name: "Help", scale: "one_to_five" }] }));
  await expect(page.getByRole("alert")).toContainText("judgment.rubric[0].key");
  await saveSchema(page, JSON.stringify(schema));
  await expect(page.getByRole("status")).toHaveText("Settings saved.");
  await signOut(page);

  await signIn(page, demoAnnotator.email, demoAnnotator.password);
  await page.goto("/projects/judged/label");
  await hydrated(page);
  await page.keyboard.press("?");
  const help = page.getByRole("dialog", { name: "Keyboard shortcuts" });
  await expect(help).toContainText("Shift + 1 – 9");
  await expect(help).toContainText("rate the focused answer");
  await expect(help).toContainText("none of these is acceptable");
  await page.keyboard.press("Escape");

  // Item 1: rank 1 over 2 (3 is implied), much better then slightly better, score every
  // answer on both criteria, say why, submit.
  const firstItem = await page.locator(".workspace").getAttribute("data-item");
  const first = await shownAnswers(page);
  await page.keyboard.press("1");
  await page.keyboard.press("2");
  await expect(page.locator(".rank-chip")).toHaveCount(3);
  await page.keyboard.press("Shift+Digit1");
  await page.keyboard.press("Shift+Digit3");
  await expect(page.getByLabel("Strength of place 1 over place 2")).toHaveValue("0");
  await expect(page.getByLabel("Strength of place 2 over place 3")).toHaveValue("2");
  await rateAll(page, ["4", "1", "2", "0", "5", "1"]);
  await expect(page.getByRole("button", { name: "Helpfulness 4 for answer 1" })).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByRole("button", { name: "Honest 0 for answer 2" })).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByRole("button", { name: "Helpfulness 5 for answer 3" })).toHaveAttribute("aria-pressed", "true");
  await expect(page.locator(".criterion.current")).toHaveCount(0);
  await page.keyboard.press("y");
  await page.keyboard.type("The first names the capital; the second is wrong.");
  await page.keyboard.press("Escape");
  await page.keyboard.press("Enter");
  await expect(page.locator(".workspace")).not.toHaveAttribute("data-item", firstItem ?? "");

  // Item 2: none is acceptable. Without a reason the workspace says what is missing.
  const second = await shownAnswers(page);
  await page.keyboard.press("0");
  await expect(page.getByLabel("None of these is acceptable")).toBeChecked();
  await expect(page.locator("#none-reason")).toBeFocused();
  await page.keyboard.press("Escape");
  await rateAll(page, ["1", "0", "1", "0", "1", "0"]);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("alert")).toContainText("none_acceptable: say why none of the answers is acceptable");
  await page.locator("#none-reason").focus();
  await page.keyboard.type("A spider has eight legs.");
  await page.keyboard.press("Escape");
  await page.keyboard.press("Enter");

  // Item 3, a chat: thumbs down and a comment on the assistant's earlier turn, then none
  // acceptable with a reason.
  await expect(page.locator(".turn-assistant")).toHaveCount(1);
  await page.keyboard.press("h");
  await expect(page.locator(".turn-assistant")).toHaveClass(/focused/);
  await page.keyboard.press("d");
  await expect(page.getByRole("button", { name: "Thumbs down for turn 2" })).toHaveAttribute("aria-pressed", "true");
  await page.keyboard.press("c");
  await expect(page.getByLabel("Comment on turn 2")).toBeFocused();
  await page.keyboard.type("Refuses to help.");
  await page.keyboard.press("Escape");
  await page.keyboard.press("0");
  // The reason box appears with the next frame and takes the focus then.
  await expect(page.locator("#none-reason")).toBeFocused();
  await page.keyboard.type("Madrid is in Spain; the others are fine but terse.");
  await page.keyboard.press("Escape");
  await rateAll(page, ["3", "1", "1", "0", "4", "1"]);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "All done here" })).toBeVisible();
  await signOut(page);

  // The raw export carries each judgment as given, field by field.
  await signIn(page, admin.email, admin.password);
  const response = await page.request.get("/projects/judged/export.jsonl?format=raw");
  expect(response.ok()).toBeTruthy();
  const records = (await response.text()).trim().split("\n").map((line) => JSON.parse(line));
  expect(records).toHaveLength(3);
  const idOf = (record: { answers: { response_id: string; content: string }[] }, text: string) =>
    record.answers.find((a) => a.content === text)?.response_id ?? "";
  const ranked = records.find((r) => r.ranking);
  expect(ranked.ranking).toEqual(first.map((text) => [idOf(ranked, text)]));
  expect(ranked.strengths).toEqual([0, 2]);
  expect(ranked.ratings).toEqual({
    [idOf(ranked, first[0])]: { helpfulness: 4, honest: 1 },
    [idOf(ranked, first[1])]: { helpfulness: 2, honest: 0 },
    [idOf(ranked, first[2])]: { helpfulness: 5, honest: 1 },
  });
  expect(ranked.rationale).toBe("The first names the capital; the second is wrong.");
  expect(ranked.none_acceptable).toBeUndefined();
  const none = records.find((r) => !r.ranking && !r.turns);
  expect(none.none_acceptable).toBe("A spider has eight legs.");
  expect(none.strengths).toBeUndefined();
  for (const text of second) expect(none.ratings[idOf(none, text)]).toEqual({ helpfulness: 1, honest: 0 });
  expect(ranked.guideline_version).toBe(none.guideline_version);
  const chat = records.find((r) => r.turns);
  expect(chat.turns).toEqual([{ turn: 1, thumb: false, comment: "Refuses to help." }]);
  expect(chat.none_acceptable).toBe("Madrid is in Spain; the others are fine but terse.");

  // KTO: the turn's thumb is a record of the conversation up to that turn.
  const kto = await page.request.get("/projects/judged/export.jsonl?format=kto");
  const turnRecords = (await kto.text()).trim().split("\n").map((line) => JSON.parse(line));
  expect(turnRecords).toContainEqual({
    prompt: "Hi, can you help me plan a trip?",
    completion: "No. Plan it yourself.",
    label: false,
  });

  // The pair export carries the margins: 3 for 1 over 2, 1 for 2 over 3, 4 for 1 over 3.
  const pairs = await page.request.get("/projects/judged/export.jsonl?format=dpo_pairs&margin=on&no_thumb_pairs=on");
  const margins = (await pairs.text()).trim().split("\n").map((line) => {
    const p = JSON.parse(line);
    return [p.chosen, p.rejected, p.margin];
  });
  expect(margins).toEqual([
    [first[0], first[1], 3],
    [first[0], first[2], 4],
    [first[1], first[2], 1],
  ]);

  // The leaderboard's mean score per model and criterion, from the same labels.
  const sums = new Map<string, [number, number]>();
  for (const record of records) {
    for (const a of record.answers) {
      const score = record.ratings?.[a.response_id]?.helpfulness;
      if (score === undefined) continue;
      const [sum, n] = sums.get(a.model) ?? [0, 0];
      sums.set(a.model, [sum + score, n + 1]);
    }
  }
  await page.goto("/projects/judged/leaderboard");
  const means = page.getByRole("table", { name: "Rubric means" }).first();
  for (const [model, [sum, n]] of sums) {
    await expect(means.getByRole("row", { name: new RegExp(`^${model} `) })).toContainText(`${(sum / n).toFixed(2)} (${n})`);
  }
  expect(sums.size).toBe(2);
  expect(errors).toEqual([]);
});
