import { chmodSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalResources, readLocalState, writeLocalState } from '../../localstack/local-state';
import { TABLES } from '../../functions/kernel/tables';

const state: LocalResources = {
  endpoint: 'http://localhost:4566',
  region: 'us-east-1',
  apiUrl: 'http://localhost:8080',
  queues: { core: 'http://localhost:4566/123456789012/a-core' },
  failedQueues: { core: 'http://localhost:4566/123456789012/a-core-failed' },
  dlqs: { core: 'http://localhost:4566/123456789012/a-core-dlq' },
  keys: { UNCLASSIFIED: 'arn:u', CONFIDENTIAL: 'arn:c', SECRET: 'arn:s', TOP_SECRET: 'arn:t' },
  authorityKeyArn: 'arn:auth',
  tables: Object.fromEntries(Object.keys(TABLES).map((t) => [t, `a-${t}`])) as LocalResources['tables'],
  userPoolId: 'us-east-1_abc',
  userPoolClientId: 'client',
  modelUrl: 'http://localhost:8787/v1',
  consoleUrl: 'http://localhost:8081',
  users: [{ username: 'alice', password: 'pw', clearance: { level: 'SECRET', compartments: ['MEDICAL'] } }],
};

describe('the local cloud state file', () => {
  const dir = () => mkdtempSync(path.join(tmpdir(), 'agentsec-state-'));

  it('replacing a world-readable local.json leaves it readable by its owner only', () => {
    const file = path.join(dir(), 'local.json');
    writeFileSync(file, '{}', { mode: 0o644 });
    chmodSync(file, 0o644);
    writeLocalState(file, state);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(path.dirname(file))).toEqual(['local.json']);
    expect(readLocalState(file)).toEqual(state);
  });

  it('refuses to write or read a state that lacks a field DESIGN §10 requires', () => {
    const file = path.join(dir(), 'local.json');
    const { TOP_SECRET: _dropped, ...threeKeys } = state.keys;
    expect(() => writeLocalState(file, { ...state, keys: threeKeys } as LocalResources)).toThrow();
    writeFileSync(file, JSON.stringify({ ...state, userPoolClientId: undefined }));
    expect(() => readLocalState(file)).toThrow(/userPoolClientId/);
    writeFileSync(file, JSON.stringify({ ...state, users: [{ username: 'x', password: 'y', clearance: { level: 'COSMIC', compartments: [] } }] }));
    expect(() => readLocalState(file)).toThrow(/users\.0\.clearance\.level/);
    writeFileSync(file, 'not json');
    expect(() => readLocalState(file)).toThrow(/cannot read/);
  });
});
