// End-to-end: two people in two browser contexts (Debian's chromium, headless, driven by
// playwright-core) register, find each other, exchange encrypted messages and an image, see
// typing and read receipts, one goes offline and gets the backlog, and they chat in a group.
// Prints a JSON report (plaintexts sent, timings, console errors) to E2E_REPORT for the
// pytest wrapper, which checks PostgreSQL for those plaintexts.
//   WEB_URL=http://127.0.0.1:8080 E2E_REPORT=/tmp/report.json node e2e/run.mjs
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { launch } from "./browser.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const WEB_URL = process.env.WEB_URL ?? "http://127.0.0.1:8080";
const REPORT = process.env.E2E_REPORT ?? join(here, "..", ".e2e", "report.json");
const SHOTS = process.env.E2E_SCREENSHOTS ?? join(here, "..", "screenshots");
const TIMEOUT = 20_000;
const run = Math.random().toString(36).slice(2, 8);
const PASSWORD = "correct horse battery";
const report = { web_url: WEB_URL, run, plaintexts: [], users: {}, timings: {}, console_errors: [], http_errors: [], steps: [] };

function step(name) {
  report.steps.push({ name, at_ms: Math.round(performance.now()) });
  console.log(`e2e: ${name}`);
}

async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), scale: "css", type: "png" });
}

function watchConsole(page, who) {
  page.on("console", (message) => {
    if (message.type() === "error") report.console_errors.push(`${who}: ${message.text()}`);
  });
  page.on("pageerror", (error) => report.console_errors.push(`${who}: ${error.message}`));
  // The console says only "Failed to load resource"; this names the URL that failed.
  page.on("requestfailed", (request) => {
    report.http_errors.push(`${who}: failed ${request.method()} ${request.url()} (${request.failure()?.errorText})`);
  });
  page.on("response", (response) => {
    if (response.status() >= 400) {
      report.http_errors.push(`${who}: ${response.status()} ${response.request().method()} ${response.url()}`);
    }
  });
}

async function register(page, who) {
  const username = `${who}_${run}`;
  await page.getByRole("tab", { name: "Register" }).click();
  await page.getByLabel("Email").fill(`${username}@example.com`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Display name").fill(`${who[0].toUpperCase()}${who.slice(1)} ${run}`);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByTestId("me").waitFor();
  await page.getByRole("status", { name: "Connection: online" }).waitFor();
  report.users[who] = username;
  return { username, display: `${who[0].toUpperCase()}${who.slice(1)} ${run}` };
}

async function send(page, text) {
  report.plaintexts.push(text);
  await page.getByLabel("Message", { exact: true }).fill(text);
  await page.getByRole("button", { name: "Send" }).click();
  await page.locator("[data-testid=message].mine", { hasText: text }).waitFor();
}

const seen = (page, text) => page.locator("[data-testid=message]", { hasText: text }).waitFor();

async function pngBytes(page) {
  const b64 = await page.evaluate(() => {
    const canvas = document.createElement("canvas");
    canvas.width = 320;
    canvas.height = 200;
    const g = canvas.getContext("2d");
    const gradient = g.createLinearGradient(0, 0, 320, 200);
    gradient.addColorStop(0, "#0b5fd0");
    gradient.addColorStop(1, "#f5a623");
    g.fillStyle = gradient;
    g.fillRect(0, 0, 320, 200);
    return canvas.toDataURL("image/png").split(",")[1];
  });
  return Buffer.from(b64, "base64");
}

const browser = await launch();
const pages = [];
try {
  const viewport = { width: 1000, height: 680 };
  const contextA = await browser.newContext({ viewport });
  const contextB = await browser.newContext({ viewport });
  const alicePage = await contextA.newPage();
  const bobPage = await contextB.newPage();
  pages.push(["alice", alicePage], ["bob", bobPage]);
  for (const page of [alicePage, bobPage]) page.setDefaultTimeout(TIMEOUT);
  watchConsole(alicePage, "alice");
  watchConsole(bobPage, "bob");

  step("load the app");
  await alicePage.goto(WEB_URL, { waitUntil: "load" });
  await alicePage.getByRole("button", { name: "Log in" }).last().waitFor();
  report.timings = await alicePage.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    return {
      // The app marks when its first screen has rendered and answers input.
      app_interactive_ms: Math.round(performance.getEntriesByName("app-interactive")[0]?.startTime ?? -1),
      // When this script saw the login button (includes the driver's polling).
      seen_interactive_ms: Math.round(performance.now()),
      dom_interactive_ms: Math.round(nav.domInteractive),
      load_event_ms: Math.round(nav.loadEventEnd),
      transferred_bytes: performance
        .getEntriesByType("resource")
        .concat([nav])
        .reduce((sum, entry) => sum + (entry.transferSize || 0), 0),
    };
  });
  await shot(alicePage, "login");
  await bobPage.goto(WEB_URL, { waitUntil: "load" });

  step("register both");
  const alice = await register(alicePage, "alice");
  const bob = await register(bobPage, "bob");

  step("alice edits her profile: status and avatar");
  await alicePage.getByRole("button", { name: "Edit profile" }).click();
  await alicePage.getByLabel("Status").fill("Testing the web client");
  await alicePage.getByLabel("Avatar image").setInputFiles({
    name: "avatar.png",
    mimeType: "image/png",
    buffer: await pngBytes(alicePage),
  });
  await alicePage.getByRole("img", { name: "Image: your avatar" }).waitFor({ timeout: 40_000 });
  await alicePage.getByRole("button", { name: "Save" }).click();
  await alicePage.getByText("Testing the web client").waitFor();
  await shot(alicePage, "profile");

  step("alice finds bob and invites him");
  await alicePage.getByLabel("Search people by username or name").fill(bob.username);
  await alicePage.getByRole("button", { name: "Search", exact: true }).click();
  await alicePage.getByRole("button", { name: `Invite ${bob.display}` }).click();
  await alicePage.getByText(`Invitation sent to ${bob.display}`).waitFor();
  await shot(alicePage, "search-invite");

  step("bob accepts");
  const accept = bobPage.getByRole("button", { name: `Accept invitation from ${alice.display}` });
  await accept.waitFor();
  await shot(bobPage, "invitation");
  await accept.click();

  step("alice writes first: bob sees the unread count");
  await alicePage.getByRole("button", { name: bob.display, exact: true }).click();
  await send(alicePage, `Hello Bob, secret one ${run}`);
  await bobPage.getByRole("button", { name: `${alice.display}, 1 unread` }).waitFor();
  await shot(bobPage, "unread");

  step("bob opens the chat: alice sees the read receipt");
  await bobPage.getByRole("button", { name: `${alice.display}, 1 unread` }).click();
  await seen(bobPage, `secret one ${run}`);
  await alicePage.locator("[data-testid=message].mine [data-testid=receipt]", { hasText: "Read" }).waitFor();

  step("typing indicators both ways");
  await bobPage.getByLabel("Message", { exact: true }).pressSequentially("typing", { delay: 30 });
  await alicePage.getByTestId("typing").getByText(`${bob.display} is typing`).waitFor();
  await bobPage.getByLabel("Message", { exact: true }).fill("");
  await alicePage.getByLabel("Message", { exact: true }).pressSequentially("hi", { delay: 30 });
  await bobPage.getByTestId("typing").getByText(`${alice.display} is typing`).waitFor();
  await shot(bobPage, "typing");

  step("bob replies");
  await send(bobPage, `Hi Alice, secret two ${run}`);
  await seen(alicePage, `secret two ${run}`);

  step("alice sends an image: bob sees its thumbnail");
  await alicePage.locator(".composer input[type=file]").setInputFiles({
    name: "gradient.png",
    mimeType: "image/png",
    buffer: await pngBytes(alicePage),
  });
  await bobPage.getByRole("img", { name: "Image: gradient.png" }).waitFor({ timeout: 40_000 });
  await shot(bobPage, "conversation");

  step("bob goes offline, alice sends a backlog, bob comes back and gets it");
  await contextB.setOffline(true);
  await bobPage.getByRole("alert").getByText("You are offline").waitFor();
  await shot(bobPage, "offline");
  await send(alicePage, `Backlog one ${run}`);
  await send(alicePage, `Backlog two ${run}`);
  await contextB.setOffline(false);
  await bobPage.getByRole("status", { name: "Connection: online" }).waitFor();
  await seen(bobPage, `Backlog one ${run}`);
  await seen(bobPage, `Backlog two ${run}`);
  const order = await bobPage.locator("[data-testid=message]").allInnerTexts();
  const one = order.findIndex((t) => t.includes(`Backlog one ${run}`));
  const two = order.findIndex((t) => t.includes(`Backlog two ${run}`));
  if (!(one >= 0 && two > one)) throw new Error(`backlog out of order: ${JSON.stringify(order)}`);

  step("a group of two");
  await alicePage.getByText("New group").click();
  await alicePage.getByLabel("Group name").fill(`Team ${run}`);
  await alicePage.getByRole("checkbox", { name: bob.display }).check();
  await alicePage.getByRole("button", { name: "Create group" }).click();
  await alicePage.getByRole("heading", { name: `Team ${run}` }).waitFor();
  await send(alicePage, `Group hello, secret three ${run}`);
  await bobPage.getByRole("button", { name: new RegExp(`Group Team ${run}`) }).click();
  await seen(bobPage, `secret three ${run}`);
  await shot(bobPage, "group");

  step("narrow screen");
  await bobPage.setViewportSize({ width: 390, height: 760 });
  await shot(bobPage, "narrow-chat");
  await bobPage.getByRole("button", { name: "Back to chats" }).click();
  await shot(bobPage, "narrow-list");

  step("keyboard: tab reaches the composer and Enter sends");
  await bobPage.getByRole("button", { name: alice.display, exact: false }).first().focus();
  await bobPage.keyboard.press("Enter");
  await bobPage.getByLabel("Message", { exact: true }).focus();
  report.plaintexts.push(`By keyboard ${run}`);
  await bobPage.keyboard.type(`By keyboard ${run}`);
  await bobPage.keyboard.press("Enter");
  await bobPage.locator("[data-testid=message].mine", { hasText: `By keyboard ${run}` }).waitFor();
  // Alice is in the group: the direct chat's unread count tells her.
  await alicePage.getByRole("button", { name: `${bob.display}, 1 unread` }).waitFor();

  step("log out");
  await alicePage.getByRole("button", { name: "Log out" }).click();
  await alicePage.getByRole("tab", { name: "Log in" }).waitFor();
  report.ok = true;
} catch (error) {
  report.ok = false;
  report.error = String(error?.stack ?? error);
  console.error(report.error);
  // What each person saw when it failed, beside the report.
  for (const [who, page] of pages) {
    await page.screenshot({ path: join(dirname(REPORT), `failed-${who}.png`) }).catch(() => undefined);
  }
} finally {
  mkdirSync(dirname(REPORT), { recursive: true });
  writeFileSync(REPORT, JSON.stringify(report, null, 2));
  await browser.close();
}
console.log(`e2e: ${report.ok ? "passed" : "FAILED"}; report in ${REPORT}`);
process.exit(report.ok && report.console_errors.length === 0 ? 0 : 1);
