// Opens the link of a verification mail in a fresh browser (no login, as from another device)
// and waits for the page to say the address is verified. Exits non-zero otherwise.
//   VERIFY_URL='http://127.0.0.1:8080/verify-email?token=...' node e2e/verify_email.mjs
import { launch } from "./browser.mjs";

const url = process.env.VERIFY_URL;
if (!url) {
  console.error("verify_email.mjs: set VERIFY_URL to the link from the mail");
  process.exit(2);
}
const browser = await launch();
const errors = [];
try {
  const page = await browser.newPage();
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
  await page.goto(url, { waitUntil: "load" });
  await page.getByText("Your email address is verified.").waitFor({ timeout: 20_000 });
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL((target) => target.pathname === "/", { timeout: 10_000 });
  if (errors.length) throw new Error(`console errors: ${errors.join("; ")}`);
  console.log("verify_email: verified in the browser");
} finally {
  await browser.close();
}
