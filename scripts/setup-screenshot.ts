// The registration page of `deployer setup` for the README, taken by hand after a change to it:
//
//   npx tsx scripts/setup-screenshot.ts
//
// Nothing is registered: the page is served for the tarides flavour on github.com and
// Debian's chromium photographs it into docs/screenshots/setup.png.
import { mkdirSync } from 'node:fs';
import { resolveFlavour } from '../src/config/flavour.js';
import { startSetup } from '../src/entry/setup.js';
import { launchChromium } from '../test/helpers/chromium.js';

const OUT = 'docs/screenshots/setup.png';
const flavour = resolveFlavour({ flavourName: 'tarides' });
const setup = await startSetup({
  appYml: 'app.yml',
  envFile: '.env',
  publicUrl: flavour.baseUrl,
  webhookPath: '/api/github/webhooks',
  github: {},
  apiUrl: 'https://api.github.com',
  org: 'tarides',
  host: '127.0.0.1',
  port: 0,
  flavour: { name: flavour.name, repos: flavour.repos.map((r) => `${r.owner}/${r.name}`) },
});
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  await page.goto(setup.url);
  mkdirSync('docs/screenshots', { recursive: true });
  await page.screenshot({ path: OUT, fullPage: true });
  console.log(OUT);
} finally {
  await browser.close();
  await setup.close();
}
