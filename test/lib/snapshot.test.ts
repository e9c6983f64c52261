import { synthesize } from '../lib/support/synth';

/** Asset hashes depend on where the repository is checked out; everything else must not change unnoticed. */
function withoutAssetHashes(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(/[0-9a-f]{64}/g, '<asset-hash>');
  if (Array.isArray(value)) return value.map(withoutAssetHashes);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutAssetHashes(v)]));
  return value;
}

describe('the AgentSec template', () => {
  it('matches the reviewed snapshot (update with `npx jest test/lib/snapshot.test.ts -u` after reviewing the diff)', () => {
    expect(withoutAssetHashes(synthesize().json)).toMatchSnapshot();
  });
});
