import { createRequire } from 'node:module';
import protobuf from 'protobufjs';

// BuildKit reports progress as base64 protobuf StatusResponse messages in
// `moby.buildkit.trace` aux lines; dockerode ships the message definitions.
const require = createRequire(import.meta.url);
let statusType: protobuf.Type | undefined;
function statusResponse(): protobuf.Type {
  statusType ??= protobuf
    .loadSync(require.resolve('dockerode/lib/proto/buildkit_status.proto'))
    .lookupType('moby.buildkit.v1.StatusResponse');
  return statusType;
}

interface Timestamp {
  seconds?: string | number;
  nanos?: number;
}
interface Vertex {
  digest: string;
  name?: string;
  cached?: boolean;
  started?: Timestamp;
  completed?: Timestamp;
  error?: string;
}
interface VertexLog {
  vertex: string;
  timestamp?: Timestamp;
  msg: Uint8Array;
}
interface Status {
  vertexes?: Vertex[];
  logs?: VertexLog[];
}

export function decodeTrace(base64: string): Status {
  const type = statusResponse();
  return type.toObject(type.decode(Buffer.from(base64, 'base64')), { longs: String }) as Status;
}

const seconds = (t?: Timestamp): number => Number(t?.seconds ?? 0) + (t?.nanos ?? 0) / 1e9;

/**
 * Turns BuildKit status messages into lines like `docker build --progress=plain`
 * prints: `#3 [2/3] RUN make`, `#3 0.412 output…`, `#3 DONE 1.2s`.
 */
export class BuildkitLogFormatter {
  private readonly numbers = new Map<string, number>();
  private readonly announced = new Set<string>();
  private readonly finished = new Set<string>();
  private readonly startTimes = new Map<string, number>();
  private readonly partial = new Map<string, string>();

  format(status: Status): string[] {
    const lines: string[] = [];
    // Starts, then output, then completions: one message may carry all three.
    for (const v of status.vertexes ?? []) {
      if (v.started && !this.announced.has(v.digest)) {
        this.announced.add(v.digest);
        this.startTimes.set(v.digest, seconds(v.started));
        lines.push(`#${this.number(v.digest)} ${v.name ?? ''}`);
      }
    }
    for (const log of status.logs ?? []) {
      const n = this.number(log.vertex);
      const since =
        seconds(log.timestamp) - (this.startTimes.get(log.vertex) ?? seconds(log.timestamp));
      const text = (this.partial.get(log.vertex) ?? '') + Buffer.from(log.msg).toString('utf8');
      const parts = text.split(/\r?\n/);
      this.partial.set(log.vertex, parts.pop() ?? '');
      for (const part of parts) lines.push(`#${n} ${since.toFixed(3)} ${part}`);
    }
    for (const v of status.vertexes ?? []) {
      if ((v.completed || v.error) && !this.finished.has(v.digest)) {
        this.finished.add(v.digest);
        lines.push(...this.complete(v));
      }
    }
    return lines;
  }

  private complete(v: Vertex): string[] {
    const n = this.number(v.digest);
    const lines = this.flush(v.digest);
    if (v.error) lines.push(`#${n} ERROR: ${v.error}`);
    else if (v.cached) lines.push(`#${n} CACHED`);
    else {
      const took = seconds(v.completed) - (this.startTimes.get(v.digest) ?? seconds(v.started));
      lines.push(`#${n} DONE ${took.toFixed(1)}s`);
    }
    return lines;
  }

  private flush(digest: string): string[] {
    const rest = this.partial.get(digest);
    this.partial.delete(digest);
    return rest ? [`#${this.number(digest)} ${rest}`] : [];
  }

  private number(digest: string): number {
    let n = this.numbers.get(digest);
    if (n === undefined) {
      n = this.numbers.size + 1;
      this.numbers.set(digest, n);
    }
    return n;
  }
}
