import MarkdownIt from 'markdown-it';
import { describe, expect, it } from 'vitest';
import { CancelledError } from '../../src/exec/errors.js';
import { cancelReason } from '../../src/jobs/errors.js';
import {
  CHECK_NAME,
  checkRunState,
  formatDuration,
  jobUrl,
  type BuildRecord,
} from '../../src/plan/check-run-output.js';

const BASE = 'https://deploy.example.org';
const HEADER = '| Build | Pool | Status | Time |\n| --- | --- | --- | --- |';
const GITHUB_MAX = 65_535;

function record(over: Partial<BuildRecord> & Pick<BuildRecord, 'pool'>): BuildRecord {
  return {
    specKey: 'aaaaaaaaaaaa',
    label: 'Dockerfile',
    jobId: `build-aaaaaaaaaaaa-sha-${over.pool}`,
    status: 'queued',
    queuedAt: 1_000,
    ...over,
  };
}

const x86 = (over: Partial<BuildRecord> = {}) => record({ pool: 'linux-x86_64', ...over });
const arm = (over: Partial<BuildRecord> = {}) => record({ pool: 'linux-arm64', ...over });
const done = (status: BuildRecord['status'], ms: number) => ({
  status,
  startedAt: 10_000,
  finishedAt: 10_000 + ms,
});
const row = (label: string, pool: string, status: string, time = '') =>
  `| [${label}](${BASE}/jobs/build-aaaaaaaaaaaa-sha-${pool}) | ${pool} | ${status} | ${time} |`;

describe('checkRunState', () => {
  it('is named deployability', () => {
    expect(CHECK_NAME).toBe('deployability');
  });

  it('reports queued builds, sorted by label and pool', () => {
    expect(checkRunState([x86(), arm()], BASE)).toEqual({
      status: 'queued',
      detailsUrl: `${BASE}/jobs/build-aaaaaaaaaaaa-sha-linux-arm64`,
      output: {
        title: '2 builds queued',
        summary: [
          HEADER,
          row('Dockerfile', 'linux-arm64', '⏳ queued'),
          row('Dockerfile', 'linux-x86_64', '⏳ queued'),
        ].join('\n'),
      },
      actions: [],
    });
    expect(checkRunState([x86()], BASE).output.title).toBe('1 build queued');
  });

  it('is in progress once one build runs, without times for unfinished builds', () => {
    const state = checkRunState([x86({ status: 'running', startedAt: 5 }), arm()], BASE);
    expect(state.status).toBe('in_progress');
    expect(state.conclusion).toBeUndefined();
    expect(state.output).toEqual({
      title: '1 running, 0 of 2 done',
      summary: [
        HEADER,
        row('Dockerfile', 'linux-arm64', '⏳ queued'),
        row('Dockerfile', 'linux-x86_64', '🔄 running'),
      ].join('\n'),
    });
  });

  it('counts running and finished builds when mixed', () => {
    const state = checkRunState(
      [
        x86({ status: 'running' }),
        arm({ ...done('success', 65_000) }),
        x86({ label: 'Dockerfile.api' }),
      ],
      BASE,
    );
    expect(state.status).toBe('in_progress');
    expect(state.output.title).toBe('1 running, 1 of 3 done');
    expect(state.output.summary.split('\n').slice(2)).toEqual([
      row('Dockerfile', 'linux-arm64', '✅ passed', '1m 05s'),
      row('Dockerfile', 'linux-x86_64', '🔄 running'),
      row('Dockerfile.api', 'linux-x86_64', '⏳ queued'),
    ]);
  });

  it('succeeds when every build passed', () => {
    expect(checkRunState([x86(done('success', 4_400)), arm(done('success', 600))], BASE)).toEqual({
      status: 'completed',
      conclusion: 'success',
      detailsUrl: `${BASE}/jobs/build-aaaaaaaaaaaa-sha-linux-arm64`,
      output: {
        title: '2 of 2 builds passed',
        summary: [
          HEADER,
          row('Dockerfile', 'linux-arm64', '✅ passed', '1s'),
          row('Dockerfile', 'linux-x86_64', '✅ passed', '4s'),
        ].join('\n'),
      },
      actions: [],
    });
  });

  it('fails with the error and the last 40 log lines of the failed build', () => {
    const log = Array.from({ length: 100 }, (_, i) => `#5 ${i + 1} output line`);
    const failed = x86({
      ...done('failure', 12_000),
      error: 'Build failed: process "/bin/sh -c make" did not complete successfully: exit code: 2',
      logTail: log,
    });
    const state = checkRunState([failed, arm(done('success', 1_000))], BASE);
    expect(state.status).toBe('completed');
    expect(state.conclusion).toBe('failure');
    expect(state.detailsUrl).toBe(`${BASE}/jobs/build-aaaaaaaaaaaa-sha-linux-x86_64`);
    expect(state.output.title).toBe('1 of 2 builds failed');
    expect(state.output.summary.split('\n').slice(2)).toEqual([
      row('Dockerfile', 'linux-arm64', '✅ passed', '1s'),
      row('Dockerfile', 'linux-x86_64', '❌ failed', '12s'),
    ]);
    expect(state.output.text).toBe(
      [
        '### Dockerfile on linux-x86_64: failed',
        '',
        '```',
        'Build failed: process "/bin/sh -c make" did not complete successfully: exit code: 2',
        '```',
        '',
        '```',
        ...log.slice(60),
        '```',
      ].join('\n'),
    );
    expect(state.output.text).not.toContain('#5 60 output line');
    expect(state.output.text).toContain('#5 61 output line\n');
  });

  it('fails rather than cancels when builds failed and others were cancelled', () => {
    const state = checkRunState(
      [
        x86({ ...done('failure', 1), error: 'Build failed: x' }),
        arm({ status: 'cancelled', error: 'superseded by 1234567' }),
      ],
      BASE,
    );
    expect(state.conclusion).toBe('failure');
    expect(state.output.title).toBe('1 of 2 builds failed');
    expect(state.output.text).toBe(
      [
        '### Dockerfile on linux-arm64: cancelled',
        '',
        '```',
        'superseded by 1234567',
        '```',
        '',
        '### Dockerfile on linux-x86_64: failed',
        '',
        '```',
        'Build failed: x',
        '```',
      ].join('\n'),
    );
  });

  it('is cancelled with the commit that replaced it', () => {
    const state = checkRunState(
      [
        x86({ status: 'cancelled', error: 'superseded by 6113728' }),
        arm({ status: 'cancelled', error: 'superseded by 6113728' }),
      ],
      BASE,
    );
    expect(state.status).toBe('completed');
    expect(state.conclusion).toBe('cancelled');
    expect(state.output.title).toBe('Cancelled: superseded by 6113728');
  });

  it('says "Cancelled:" once for a build the worker cancelled', () => {
    const error = cancelReason(new CancelledError('superseded by 6113728'));
    const state = checkRunState([x86({ status: 'cancelled', error })], BASE);
    expect(state.output.title).toBe('Cancelled: superseded by 6113728');
  });

  it('links the job page, with or without a trailing slash in the base URL', () => {
    const failed = x86({ ...done('failure', 1), jobId: 'build-abc-def-linux-x86_64' });
    for (const base of [BASE, `${BASE}/`, `${BASE}//`]) {
      expect(checkRunState([arm(), failed], base).detailsUrl).toBe(
        `${BASE}/jobs/build-abc-def-linux-x86_64`,
      );
    }
    expect(jobUrl('http://localhost:3000/deployer/', 'a b/c')).toBe(
      'http://localhost:3000/deployer/jobs/a%20b%2Fc',
    );
  });

  it('keeps every output field below 65535 characters with huge logs and errors', () => {
    const huge = 'y'.repeat(1_000);
    const records = Array.from({ length: 1_000 }, (_, i) =>
      x86({
        ...done('failure', 1),
        label: `docker/Dockerfile.${String(i).padStart(4, '0')}`,
        error: `Build failed: ${huge}`,
        logTail: Array.from({ length: 40 }, () => huge),
      }),
    );
    const { output } = checkRunState(records, BASE);
    expect(output.title).toBe('1000 of 1000 builds failed');
    expect(output.summary.length).toBeLessThan(GITHUB_MAX);
    expect(output.summary.endsWith('\n… (truncated)')).toBe(true);
    expect(output.text?.length).toBeLessThan(GITHUB_MAX);
    expect(output.text?.startsWith('### docker/Dockerfile.0000 on linux-x86_64: failed')).toBe(
      true,
    );
    expect(output.text?.endsWith('\n… (truncated)')).toBe(true);
  });

  it('survives 40 log lines of 14 MB each', () => {
    const line = 'y'.repeat(14_000_000);
    const failed = x86({ ...done('failure', 1), logTail: Array.from({ length: 40 }, () => line) });
    expect(checkRunState([failed], BASE).output.text?.length).toBeLessThan(GITHUB_MAX);
  });

  it('keeps the title below 65535 characters with a huge cancel reason', () => {
    const state = checkRunState([x86({ status: 'cancelled', error: 'z'.repeat(100_000) })], BASE);
    expect(state.output.title.length).toBeLessThan(GITHUB_MAX);
  });
});

describe('formatDuration', () => {
  it('rounds to seconds and shows minutes from 60 s', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(1_499)).toBe('1s');
    expect(formatDuration(59_499)).toBe('59s');
    expect(formatDuration(59_500)).toBe('1m 00s');
    expect(formatDuration(3_725_000)).toBe('62m 05s');
  });
});

describe('requested actions', () => {
  const failed = () => [x86(done('failure', 1_000)), arm(done('success', 1_000))];
  const ids = (state: { actions: { identifier: string }[] }) =>
    state.actions.map((a) => a.identifier);

  it('offers Rebuild after a failure, and nothing while builds run or after success', () => {
    expect(ids(checkRunState(failed(), BASE))).toEqual(['rebuild']);
    expect(ids(checkRunState([x86({ status: 'running' })], BASE))).toEqual([]);
    expect(ids(checkRunState([x86(done('success', 1))], BASE))).toEqual([]);
  });

  it('asks for an admin with action_required and Confirm while an operation waits', () => {
    const waiting = [{ jobId: 'deploy-x', description: 'update web to abc1234 (sha256:1)' }];
    const state = checkRunState([x86(done('success', 1))], BASE, { waiting });
    expect(state.status).toBe('completed');
    expect(state.conclusion).toBe('action_required');
    expect(state.detailsUrl).toBe(`${BASE}/jobs/deploy-x`);
    expect(state.output.title).toBe(
      'Waiting for an admin to confirm: update web to abc1234 (sha256:1)',
    );
    expect(state.output.summary).toContain('update web to abc1234');
    expect(ids(state)).toEqual(['confirm']);
  });

  it('keeps a failure a failure even when something else waits', () => {
    const waiting = [{ jobId: 'build-y', description: 'build y' }];
    const state = checkRunState(failed(), BASE, { waiting });
    expect(state.conclusion).toBe('failure');
    expect(ids(state)).toEqual(['confirm', 'rebuild']);
  });

  it('offers Roll back once the commit is deployed', () => {
    const state = checkRunState([x86(done('success', 1))], BASE, { deployedTo: ['prod/web'] });
    expect(state.conclusion).toBe('success');
    expect(ids(state)).toEqual(['rollback']);
  });

  it('never offers more than three buttons, within GitHub limits', () => {
    const state = checkRunState(failed(), BASE, {
      waiting: [{ jobId: 'j', description: 'd' }],
      deployedTo: ['prod/web'],
    });
    expect(state.actions.length).toBe(3);
    for (const a of state.actions) {
      expect(a.label.length).toBeLessThanOrEqual(20);
      expect(a.identifier.length).toBeLessThanOrEqual(20);
      expect(a.description.length).toBeLessThanOrEqual(40);
    }
  });
});

describe('untrusted text in the check run', () => {
  const markdown = new MarkdownIt({ html: true, linkify: true });
  // What a fork's build can print to close the block and write markdown of its own.
  const hostile = [
    '```',
    '# Deployed to production',
    '[approve](https://evil.example/phish) <img src=x onerror=alert(1)>',
    '````````',
    '~~~',
  ];

  it('keeps a log and an error that try to end their code block inside it', () => {
    const state = checkRunState(
      [
        x86({
          ...done('failure', 1_000),
          error: `Build failed: \`\`\`\n# Approved\n<a href="https://evil.example">x</a>`,
          logTail: hostile,
        }),
      ],
      BASE,
    );
    const html = markdown.render(state.output.text!);
    expect(html).not.toMatch(/<h1>|<a |<img/);
    const blocks = [...html.matchAll(/<pre><code>([\s\S]*?)<\/code><\/pre>/g)].map((m) => m[1]);
    expect(blocks).toHaveLength(2);
    expect(blocks[0]).toContain('# Approved');
    expect(blocks[1]).toContain('# Deployed to production');
    expect(blocks[1]).toContain('&lt;img src=x');
    expect(html.replace(/<pre>[\s\S]*?<\/pre>/g, '')).not.toMatch(/Approved|Deployed|evil/);
  });
});

describe('deploy states in the summary', () => {
  const markdown = new MarkdownIt({ html: true });
  const built = [x86(done('success', 1_000))];
  const digest = `sha256:${'ab'.repeat(32)}`;

  it('tells each unit of a deployment-branch commit, under the builds, sorted by name', () => {
    const state = checkRunState(built, BASE, {
      deploys: [
        { name: 'web', state: 'deployed', digest },
        { name: 'api', state: 'failed', reason: 'Deploy failed: host key of h:22 does not match' },
        { name: 'docs', state: 'pinned', by: 'alice', pinnedSha: 'c0ffee1234567' },
        { name: 'blog', state: 'superseded' },
        { name: 'www', state: 'deploying' },
      ],
    });
    expect(state.output.summary.split('\n\n')[1].split('\n')).toEqual([
      '| Deploy to | State |',
      '| --- | --- |',
      '| ` api ` | ❌ failed: ` Deploy failed: host key of h:22 does not match ` |',
      '| ` blog ` | ⏭️ superseded by a newer head |',
      "| ` docs ` | 📌 pinned to c0ffee1 by ` alice `'s rollback: not deployed |",
      `| \` web \` | ✅ deployed \` ${digest} \` |`,
      '| ` www ` | 🔄 deploying |',
    ]);
    // The run's conclusion is the build's, whatever the deploys did.
    expect(state.conclusion).toBe('success');
  });

  it('shows no deploy table for a commit nothing deploys', () => {
    expect(checkRunState(built, BASE, { deploys: [] }).output.summary).toBe(
      checkRunState(built, BASE).output.summary,
    );
  });

  it('keeps a failure reason in one cell of code, whatever it holds', () => {
    const reason = 'Deploy failed: ``x`` | # Approved\n<img src=x onerror=alert(1)> | `';
    const state = checkRunState(built, BASE, {
      deploys: [{ name: 'web', state: 'failed', reason }],
    });
    const html = markdown.render(state.output.summary);
    const cells = [...html.matchAll(/<td>([\s\S]*?)<\/td>/g)].map((m) => m[1]);
    expect(cells.slice(-2)).toEqual([
      '<code>web</code>',
      '❌ failed: <code>Deploy failed: ``x`` | # Approved &lt;img src=x onerror=alert(1)&gt; | `</code>',
    ]);
  });
});
