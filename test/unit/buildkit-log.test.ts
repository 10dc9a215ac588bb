import { createRequire } from 'node:module';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { BuildkitLogFormatter, decodeTrace } from '../../src/exec/docker/buildkit-log.js';

const A = 'sha256:aaaa';
const B = 'sha256:bbbb';
const C = 'sha256:cccc';
const T0 = 1_700_000_000;

const at = (seconds: number, nanos = 0) => ({ seconds: T0 + seconds, nanos });
const msg = (text: string) => new TextEncoder().encode(text);
const log = (vertex: string, text: string, seconds: number, nanos = 0) => ({
  vertex,
  timestamp: at(seconds, nanos),
  msg: msg(text),
});

describe('BuildkitLogFormatter', () => {
  it('announces a started vertex once, numbered in order of appearance', () => {
    const f = new BuildkitLogFormatter();
    const first = { digest: A, name: '[internal] load build definition', started: at(0) };
    expect(f.format({ vertexes: [first] })).toEqual(['#1 [internal] load build definition']);
    // BuildKit repeats a vertex in every update that touches it.
    expect(f.format({ vertexes: [first, { digest: B, name: '[1/2] RUN make' }] })).toEqual([]);
    expect(f.format({ vertexes: [{ digest: B, name: '[1/2] RUN make', started: at(1) }] })).toEqual(
      ['#2 [1/2] RUN make'],
    );
  });

  it('joins log output split across messages into lines, timed from the vertex start', () => {
    const f = new BuildkitLogFormatter();
    f.format({ vertexes: [{ digest: A, name: '[1/2] RUN make', started: at(10) }] });
    expect(f.format({ logs: [log(A, 'compil', 10, 412_000_000)] })).toEqual([]);
    expect(f.format({ logs: [log(A, 'ing foo.c\r\nlinking', 11, 5_000_000)] })).toEqual([
      '#1 1.005 compiling foo.c',
    ]);
    expect(f.format({ logs: [log(A, ' foo\n\nok\n', 12, 250_000_000)] })).toEqual([
      '#1 2.250 linking foo',
      '#1 2.250 ',
      '#1 2.250 ok',
    ]);
  });

  it('keeps the output of parallel vertices apart', () => {
    const f = new BuildkitLogFormatter();
    f.format({
      vertexes: [
        { digest: A, name: 'a', started: at(0) },
        { digest: B, name: 'b', started: at(1) },
      ],
    });
    expect(
      f.format({ logs: [log(A, 'from ', 2), log(B, 'other\n', 2), log(A, 'a\n', 3)] }),
    ).toEqual(['#2 1.000 other', '#1 3.000 from a']);
  });

  it('finishes a vertex with DONE and its duration, flushing a last partial line', () => {
    const f = new BuildkitLogFormatter();
    f.format({ vertexes: [{ digest: A, name: '[2/2] COPY . .', started: at(5) }] });
    f.format({ logs: [log(A, 'no newline at the end', 5, 500_000_000)] });
    expect(
      f.format({
        vertexes: [{ digest: A, name: '[2/2] COPY . .', started: at(5), completed: at(6, 2e8) }],
      }),
    ).toEqual(['#1 no newline at the end', '#1 DONE 1.2s']);
    // Repeated completions are not printed twice.
    expect(f.format({ vertexes: [{ digest: A, started: at(5), completed: at(6, 2e8) }] })).toEqual(
      [],
    );
  });

  it('announces and finishes a vertex reported in one message', () => {
    const f = new BuildkitLogFormatter();
    expect(
      f.format({
        vertexes: [
          { digest: A, name: 'exporting to image', started: at(0), completed: at(0, 3e8) },
        ],
      }),
    ).toEqual(['#1 exporting to image', '#1 DONE 0.3s']);
  });

  it('marks cached steps CACHED', () => {
    const f = new BuildkitLogFormatter();
    const cached = { digest: B, name: '[1/3] FROM scratch', cached: true };
    expect(f.format({ vertexes: [{ ...cached, started: at(1), completed: at(1) }] })).toEqual([
      '#1 [1/3] FROM scratch',
      '#1 CACHED',
    ]);
  });

  it('reports a failed step with ERROR and its message', () => {
    const f = new BuildkitLogFormatter();
    const step = { digest: C, name: '[3/3] RUN false', started: at(0) };
    f.format({ vertexes: [step] });
    f.format({ logs: [log(C, 'about to fail', 0, 1e8)] });
    expect(
      f.format({
        vertexes: [
          {
            ...step,
            completed: at(1),
            error: 'process "/bin/sh -c false" did not complete successfully: exit code: 1',
          },
        ],
      }),
    ).toEqual([
      '#1 about to fail',
      '#1 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1',
    ]);
  });

  it('numbers a vertex first seen in a log', () => {
    const f = new BuildkitLogFormatter();
    expect(f.format({ logs: [log(B, 'early\n', 3)] })).toEqual(['#1 0.000 early']);
    expect(f.format({ vertexes: [{ digest: B, name: 'b', started: at(2) }] })).toEqual(['#1 b']);
  });

  it('prints the last logs of a vertex before its DONE when they arrive together', () => {
    const f = new BuildkitLogFormatter();
    f.format({ vertexes: [{ digest: A, name: 'RUN make', started: at(0) }] });
    f.format({ logs: [log(A, 'wor', 1)] });
    expect(
      f.format({
        vertexes: [{ digest: A, name: 'RUN make', started: at(0), completed: at(2, 5e8) }],
        logs: [log(A, 'ld\nlast\n', 2)],
      }),
    ).toEqual(['#1 2.000 world', '#1 2.000 last', '#1 DONE 2.5s']);
  });
});

describe('decodeTrace', () => {
  const proto = createRequire(import.meta.url).resolve('dockerode/lib/proto/buildkit_status.proto');
  const StatusResponse = protobuf.loadSync(proto).lookupType('moby.buildkit.v1.StatusResponse');
  const encode = (value: Record<string, unknown>): string =>
    Buffer.from(StatusResponse.encode(StatusResponse.fromObject(value)).finish()).toString(
      'base64',
    );

  it('decodes a moby.buildkit.trace aux value', () => {
    const trace = encode({
      vertexes: [
        {
          digest: A,
          name: '[1/2] RUN make',
          inputs: [B],
          started: { seconds: T0, nanos: 0 },
        },
      ],
      statuses: [{ ID: 'layer', vertex: A, current: 10, total: 20 }],
      logs: [
        { vertex: A, timestamp: { seconds: T0, nanos: 500_000_000 }, stream: 1, msg: msg('hi\n') },
      ],
    });
    const status = decodeTrace(trace);
    expect(status.vertexes).toEqual([
      { digest: A, name: '[1/2] RUN make', inputs: [B], started: { seconds: String(T0) } },
    ]);
    expect(status.logs).toHaveLength(1);
    const [entry] = status.logs!;
    expect({ ...entry, msg: Buffer.from(entry.msg).toString('utf8') }).toEqual({
      vertex: A,
      timestamp: { seconds: String(T0), nanos: 500_000_000 },
      stream: '1',
      msg: 'hi\n',
    });
    expect(new BuildkitLogFormatter().format(status)).toEqual(['#1 [1/2] RUN make', '#1 0.500 hi']);
  });

  it('decodes completion, cache and error flags that the formatter prints', () => {
    const f = new BuildkitLogFormatter();
    const lines = [
      encode({
        vertexes: [
          { digest: A, name: 'a', started: { seconds: T0 }, completed: { seconds: T0 + 3 } },
        ],
      }),
      encode({
        vertexes: [
          {
            digest: B,
            name: 'b',
            cached: true,
            started: { seconds: T0 },
            completed: { seconds: T0 },
          },
        ],
      }),
      encode({ vertexes: [{ digest: C, name: 'c', started: { seconds: T0 }, error: 'boom' }] }),
    ].flatMap((trace) => f.format(decodeTrace(trace)));
    expect(lines).toEqual(['#1 a', '#1 DONE 3.0s', '#2 b', '#2 CACHED', '#3 c', '#3 ERROR: boom']);
  });

  it('decodes an empty message to nothing to print', () => {
    expect(new BuildkitLogFormatter().format(decodeTrace(''))).toEqual([]);
  });
});
