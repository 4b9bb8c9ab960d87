// The admin console in headless Chromium against a real server (COHORT_URL): an administrator
// signs in, makes a space and a nested group, adds a member, approves a join request, reads a
// user's effective access with its path and the audit entry; a member without rights sees
// the controls disabled and the API's refusal in words. A screenshot of each page is kept,
// and each page is checked for accessibility (axe-core, WCAG 2 A and AA).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import puppeteer from "puppeteer-core";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const base = process.env.COHORT_URL;
const key = process.env.COHORT_KEY;
const password = process.env.COHORT_PASSWORD;
const shots = process.env.SHOTS;
let browser;

async function api(method, path, body, token = key) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function signedIn(login, width = 1200) {
  const page = await browser.newPage();
  await page.setViewport({ width, height: 900 });
  page.on("pageerror", (e) => { throw e; });
  await page.goto(`${base}/`, { waitUntil: "networkidle0" });
  assert.equal(new URL(page.url()).pathname, "/console/", "a browser at / is sent to the console");
  await page.type("input[name=login]", login);
  await page.type("input[name=password]", password);
  await Promise.all([page.waitForSelector("nav:not([hidden])"), page.click("form button[type=submit]")]);
  await heading(page, "Groups");
  return page;
}

async function heading(page, text) {
  await page.waitForFunction((t) => document.querySelector("main h1")?.textContent === t, { timeout: 10000 }, text);
}

/// Keeps a screenshot of the page, and checks it with axe-core against WCAG 2 A and AA: no
/// serious or critical violation.
async function shot(page, name) {
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => globalThis.axe.run(document, { runOnly: ["wcag2a", "wcag2aa"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`), [], `accessibility of ${name}`);
}

/// Fills the form labelled `form` (its aria-label): inputs by name, then submits it.
async function submit(page, form, values) {
  const sel = `form[aria-label="${form}"]`;
  await page.waitForSelector(sel);
  for (const [name, value] of Object.entries(values)) {
    const input = `${sel} [name=${name}]`;
    const tag = await page.$eval(input, (el) => el.tagName);
    if (tag === "SELECT") await page.select(input, value);
    else await page.type(input, value);
  }
  await page.click(`${sel} button[type=submit]`);
}

const text = (page) => page.$eval("main", (m) => m.innerText);

before(async () => {
  browser = await puppeteer.launch({ executablePath: process.env.CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
});
after(async () => browser?.close());

test("an administrator runs groups from the console", async () => {
  const page = await signedIn("ada");
  await shot(page, "groups");

  // A space, then a group in it and a subgroup under that.
  await page.goto(`${base}/console/#/spaces`);
  await heading(page, "Spaces");
  await submit(page, "New space", { name: "Research" });
  await page.waitForFunction(() => document.querySelector("main table")?.innerText.includes("Research"));
  await shot(page, "spaces");
  const space = (await api("GET", "/api/v1/spaces?per_page=100")).spaces.find((s) => s.name === "Research").id;
  await page.goto(`${base}/console/#/groups`);
  await heading(page, "Groups");
  await submit(page, "New group", { name: "Lab", space_id: space, visibility: "private" });
  await heading(page, "Lab");
  const lab = page.url().split("#/group/")[1];
  await submit(page, "New subgroup", { name: "Lab team" });
  await heading(page, "Lab team");
  const team = page.url().split("#/group/")[1];
  const made = await api("GET", `/api/v1/groups/${team}`);
  assert.equal(made.parent_id, lab);

  // A member added by username; a permission of the parent reaches them through the subgroup.
  await submit(page, "Add members", { users: "max" });
  await page.waitForFunction(() => document.querySelector("main table:nth-of-type(3)")?.innerText.includes("max") || document.querySelector("main")?.innerText.includes("\nmax\t"));
  assert.match(await text(page), /max/);
  await api("PATCH", `/api/v1/groups/${lab}/permissions`, { add: ["lab.read"] });
  await page.reload({ waitUntil: "networkidle0" });
  await heading(page, "Lab team");
  assert.match(await text(page), /lab\.read\s+inherited from/);
  await shot(page, "group");

  // Zoe asks to join Lab; the administrator approves from the console.
  await api("PATCH", `/api/v1/groups/${lab}`, { settings: { allow_join_requests: true, require_approval: true } });
  const zoe = await api("POST", "/api/v1/auth/token", { login: "zoe", password }, "");
  await api("POST", `/api/v1/groups/${lab}/join-requests`, { message: "count me in" }, zoe.token);
  await page.goto(`${base}/console/#/group/${lab}`);
  await heading(page, "Lab");
  await page.waitForFunction(() => document.querySelector("main")?.innerText.includes("count me in"));
  await shot(page, "join-requests");
  const [approve] = await page.$$("xpath/.//button[text()='Approve']");
  await approve.click();
  await page.waitForFunction(() => document.querySelector("#status")?.innerText.includes("approved"));
  const members = await api("GET", `/api/v1/groups/${lab}/members`);
  assert.ok(members.members.some((m) => m.user_id === zoe.user.id), "zoe is a member");

  // An invitation sent, then revoked; a custom role; the analytics charts.
  await page.goto(`${base}/console/#/group/${lab}`);
  await heading(page, "Lab");
  await submit(page, "Invite", { emails: "newcomer@example.com" });
  await page.waitForFunction(() => document.querySelector("main")?.innerText.includes("newcomer@example.com"));
  const [revoke] = await page.$$("xpath/.//tr[td[contains(., 'newcomer@example.com')]]//button[text()='Revoke']");
  await revoke.click();
  await page.waitForFunction(() => /newcomer@example\.com\s+member\s+revoked/.test(document.querySelector("main")?.innerText || ""));
  await submit(page, "New role", { name: "Reviewer", permissions: "read" });
  await page.waitForFunction(() => /Reviewer\s+custom/.test(document.querySelector("main")?.innerText || ""));
  assert.equal(await page.$$eval("main figure svg[role=img]", (s) => s.length), 4, "member growth, growth, activity and engagement");
  await shot(page, "group-manage");

  // Max's page: effective groups with the path, permissions with what grants them, a check.
  const max = (await api("GET", "/api/v1/users?search=max")).users.find((u) => u.username === "max");
  await page.goto(`${base}/console/#/user/${max.id}`);
  await heading(page, "max");
  const maxPage = await text(page);
  assert.match(maxPage, /Lab team\s+member\s+direct member/);
  assert.match(maxPage, /lab\.read\s+member of Lab team \(member\) → Lab team inherits permissions from its parent → granted by Lab/);
  await submit(page, "May this user", { permission: "lab.read" });
  await page.waitForFunction(() => document.querySelector("main")?.innerText.includes("Yes, through Lab team"));
  await shot(page, "user");

  // The audit log shows the approval's membership, filtered by group.
  await page.goto(`${base}/console/#/audit?group_id=${lab}`);
  await heading(page, "Audit log");
  await page.waitForFunction(() => document.querySelector("main table")?.innerText.includes("member.added"));
  await shot(page, "audit");

  // A key, shown once.
  await page.goto(`${base}/console/#/keys`);
  await heading(page, "API keys");
  await submit(page, "New API key", { name: "deploy" });
  await page.waitForSelector("#new-key");
  assert.match(await page.$eval("#new-key", (e) => e.textContent), /^ck_/);
  await shot(page, "keys");
  await page.close();
});

test("a member without rights sees the controls disabled and the API's refusal in words", async () => {
  const page = await signedIn("max", 390);
  const team = (await api("GET", "/api/v1/groups?search=Lab%20team")).groups[0].id;
  await page.goto(`${base}/console/#/group/${team}`);
  await heading(page, "Lab team");
  const disabled = await page.$eval('form[aria-label="Add members"] button[type=submit]', (b) => b.disabled);
  assert.equal(disabled, true, "adding members is disabled for a member");
  assert.equal(await page.$$eval("main select[aria-label^='Role of']", (s) => s.every((x) => x.disabled)), true);
  await shot(page, "member-group");
  // What the page cannot know ahead, the API refuses, and the page says so.
  await page.goto(`${base}/console/#/spaces`);
  await heading(page, "Spaces");
  await submit(page, "New space", { name: "Mine" });
  await page.waitForSelector('form[aria-label="New space"] .error');
  const said = await page.$eval('form[aria-label="New space"] .error', (e) => e.textContent);
  assert.ok(said.length > 10 && !said.includes("403"), `the refusal in words: ${said}`);
  await shot(page, "member-refused");
  await page.close();
});
