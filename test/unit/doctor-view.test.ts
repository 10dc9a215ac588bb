import { describe, expect, it } from 'vitest';
import { createViews } from '../../src/web/views.js';
import { when } from '../../src/web/format.js';

const render = createViews();
const page = (drift: unknown) => render('overview', { flavour: 'demo', repos: [], drift });

describe('drift warnings on the overview', () => {
  it('are listed at the top, each tagged, with when it was first seen', () => {
    const html = page([
      {
        kind: 'not-installed',
        label: 'not installed',
        message: 'nothing will be deployed from acme/web: the App is not installed on it',
        since: when(Date.now() - 120_000),
      },
    ]);
    const section = html.indexOf('<section class="drift">');
    expect(section).toBeGreaterThan(html.indexOf('<h1>Repositories</h1>'));
    expect(section).toBeLessThan(html.indexOf('This flavour watches no repository.'));
    expect(html).toContain('<h2>Drift warnings</h2>');
    expect(html).toContain(
      '<tr class="drift-not-installed">\n<td><span class="state state-failure">not installed</span> nothing will be deployed from acme/web: the App is not installed on it</td>',
    );
    expect(html).toContain('2 min ago</time>');
  });

  it('escape what GitHub or a config file put in them', () => {
    const html = page([
      { kind: 'not-configured', label: 'not watched', message: 'acme/<script>alert(1)</script>' },
    ]);
    expect(html).not.toContain('<script>');
    expect(html).toContain('acme/&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('take no room when there are none, or no drift check runs (local mode)', () => {
    expect(page([])).not.toContain('Drift warnings');
    expect(page(undefined)).not.toContain('Drift warnings');
  });
});
