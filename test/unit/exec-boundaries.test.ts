import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

interface Use {
  file: string;
  what: string;
}

/** Every module a file imports (static, dynamic or re-exported), and every `.modem` it touches. */
function usesIn(path: string): Use[] {
  const file = relative(root, path);
  const text = readFileSync(path, 'utf8');
  const imports = ts
    .preProcessFile(text, true, true)
    .importedFiles.map((f) => ({ file, what: f.fileName }));
  const modems: Use[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isPropertyAccessExpression(node) && node.name.text === 'modem')
      modems.push({ file, what: '.modem' });
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true));
  return [...imports, ...modems];
}

const uses = sourceFiles(join(root, 'src')).flatMap(usesIn);
const outside = (folder: string, matches: (what: string) => boolean) =>
  uses.filter((u) => matches(u.what) && !u.file.startsWith(folder));

describe('side-effect libraries stay in their own folder of src/exec', () => {
  it('finds the libraries where they belong (the scan sees imports at all)', () => {
    expect(uses).toContainEqual({ file: 'src/exec/ssh/connect.ts', what: 'ssh2' });
    expect(uses).toContainEqual({ file: 'src/exec/docker/client.ts', what: 'dockerode' });
  });

  it('imports ssh2 only in src/exec/ssh/', () => {
    expect(outside('src/exec/ssh/', (m) => m === 'ssh2' || m.startsWith('ssh2/'))).toEqual([]);
  });

  it('imports dockerode and docker-modem only in src/exec/docker/', () => {
    const docker = (m: string) => /^(dockerode|docker-modem)(\/|$)/.test(m);
    expect(outside('src/exec/docker/', docker)).toEqual([]);
  });

  it("reaches dockerode's modem (its request function) only in src/exec/docker/", () => {
    expect(outside('src/exec/docker/', (m) => m === '.modem')).toEqual([]);
  });
});
