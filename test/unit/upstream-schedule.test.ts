import { describe, expect, it } from 'vitest';
import { everyMs, upstreamSchedulerId } from '../../src/jobs/tasks/upstream.js';
import { upstreamMessage } from '../../src/jobs/update-origin.js';

describe('upstream schedule helpers', () => {
  it('checks every `everyDays` days, in milliseconds', () => {
    expect(everyMs({ everyDays: 7 })).toBe(604_800_000);
    expect(everyMs({ everyDays: 1 })).toBe(86_400_000);
    expect(everyMs({ everyDays: 0.5 })).toBe(43_200_000);
  });

  it('names a scheduler per image: stable, readable, without ":"', () => {
    const id = upstreamSchedulerId({ image: 'chocobozzz/peertube:production-bookworm' });
    expect(id).toMatch(/^upstream-chocobozzz-peertube-production-bookworm-[0-9a-f]{8}$/);
    expect(upstreamSchedulerId({ image: 'chocobozzz/peertube:production-bookworm' })).toBe(id);
    const local = upstreamSchedulerId({ image: '127.0.0.1:5000/acme/web:live' });
    expect(local).not.toContain(':');
    expect(local).toMatch(/^upstream-127\.0\.0\.1-5000-acme-web-live-[0-9a-f]{8}$/);
  });

  it('tells apart images whose slugs are the same', () => {
    expect(upstreamSchedulerId({ image: 'acme/web:live' })).not.toBe(
      upstreamSchedulerId({ image: 'acme/web-live' }),
    );
  });

  it('words the Slack message as the deploy job does, with the image for the commit', () => {
    expect(
      upstreamMessage({
        image: 'chocobozzz/peertube:production-bookworm',
        digest: `sha256:${'ab'.repeat(32)}`,
        service: 'infra_peertube',
        state: 'success',
        logUrl: 'https://deploy.ci.ocaml.org/jobs/upstream-x-1',
      }),
    ).toBe(
      'Deploy chocobozzz/peertube:production-bookworm@sha256:abababababab as infra_peertube: <https://deploy.ci.ocaml.org/jobs/upstream-x-1|success>',
    );
  });
});
