// A person logs in, downloads all their data in one file, then deletes the account with their
// password. Writes {export, erasure_id, console_errors} to E2E_REPORT for the pytest wrapper,
// which checks the erasure completes in every service.
//   WEB_URL=http://127.0.0.1:8080 LOGIN=alice PASSWORD=... E2E_REPORT=/tmp/a.json node e2e/account.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { launch } from "./browser.mjs";

const { WEB_URL = "http://127.0.0.1:8080", LOGIN, PASSWORD, E2E_REPORT } = process.env;
if (!LOGIN || !PASSWORD || !E2E_REPORT) {
  console.error("account.mjs: set LOGIN, PASSWORD and E2E_REPORT");
  process.exit(2);
}
const report = { console_errors: [] };
const browser = await launch();
try {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on("pageerror", (error) => report.console_errors.push(error.message));
  page.on("console", (m) => m.type() === "error" && report.console_errors.push(m.text()));
  await page.goto(WEB_URL, { waitUntil: "load" });
  await page.getByLabel("Email or username").fill(LOGIN);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).last().click();
  await page.getByTestId("me").waitFor();

  await page.getByRole("button", { name: "Your data" }).click();
  const downloading = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download my data" }).click();
  const file = await (await downloading).path();
  report.export = JSON.parse(readFileSync(file, "utf8"));

  await page.getByLabel("Password (to delete the account)").fill(PASSWORD);
  await page.getByRole("button", { name: "Delete my account" }).click();
  const told = await page.getByText(/Your account is deleted/).textContent();
  report.erasure_id = /erasure ([0-9a-f-]{36})/.exec(told ?? "")?.[1] ?? null;
  // The erasure closes this session's socket and revokes its tokens: the confirmation must stay
  // up through that, until the person dismisses it.
  for (let tries = 0; ; tries++) {
    const state = await (await fetch(`${WEB_URL}/api/v1/auth/erasures/${report.erasure_id}`)).json();
    if (state.complete) break;
    if (tries > 300) throw new Error(`erasure not complete: ${JSON.stringify(state)}`);
    await new Promise((done) => setTimeout(done, 200));
  }
  await page.waitForTimeout(1_000); // the page's next poll, failing refresh and sign-out
  await page.getByText(/Your account is deleted/).waitFor({ timeout: 1_000 });
  await page.getByRole("button", { name: "Done" }).click();
  await page.getByRole("tab", { name: "Register" }).waitFor();
  report.ok = true;
} catch (error) {
  report.ok = false;
  report.error = String(error?.stack ?? error);
  console.error(report.error); // the wrapper shows it when the script fails
} finally {
  writeFileSync(E2E_REPORT, JSON.stringify(report, null, 2));
  await browser.close();
}
process.exit(report.ok ? 0 : 1);
