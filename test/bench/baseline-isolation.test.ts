import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** Source files under `dirs` that import anything from bench/ (where the security-off baseline lives). */
function importersOfTheBench(dirs: readonly string[]): string[] {
  const found: string[] = [];
  const visit = (file: string) => {
    if (statSync(file).isDirectory()) return readdirSync(file).forEach((f) => visit(path.join(file, f)));
    if (!/\.[cm]?[jt]s$/.test(file)) return;
    if (/(?:from\s+|import\s+|require\(\s*|import\(\s*)['"](?:[^'"]*\/)?bench\//.test(readFileSync(file, 'utf8'))) found.push(file);
  };
  dirs.forEach(visit);
  return found;
}

describe('the security-off baseline is a benchmark only', () => {
  it('no deployed code (bin, lib, functions) can reach the security-off baseline', () => {
    expect(importersOfTheBench(['bin', 'lib', 'functions'].map((d) => path.join(ROOT, d)))).toEqual([]);
  });

  it('an import of the baseline from deployed code would be found', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'agentsec-isolation-'));
    writeFileSync(path.join(dir, 'handler.ts'), "import { startPlainCloud } from '../../bench/baseline/plain-cloud';\n");
    expect(importersOfTheBench([dir])).toHaveLength(1);
  });
});
