import { capabilitySchema } from '../../functions/kernel/directives/capabilities';
import fc from 'fast-check';
import { LEVELS } from '../../functions/kernel/labels';
import { ApiFixture, apiFixture } from './support';

/**
 * Never a 5xx for bad input (DESIGN §10), and never a 202 unless the command is valid. The oracle below is
 * written from the contract, independently of the request schema it checks.
 */

let f: ApiFixture;

beforeAll(async () => {
  f = await apiFixture();
});

afterEach(async () => {
  await f.drainCoreQueue();
});

const COMPARTMENTS = ['MEDICAL', 'FINANCE'];
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const onlyKeys = (o: Record<string, unknown>, allowed: string[]) => Object.keys(o).every((k) => allowed.includes(k));

function isValidCommand(raw: string, tools: string[]): boolean {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return false;
  }
  if (!isPlainObject(v) || !onlyKeys(v, ['text', 'classification', 'allow', 'declassifyTo'])) return false;
  const { text, classification: c, allow, declassifyTo } = v;
  if (typeof text !== 'string' || text.trim() === '' || Buffer.byteLength(text, 'utf8') > 16384 || /\p{Cs}/u.test(text)) return false;
  if (!isPlainObject(c) || !onlyKeys(c, ['level', 'compartments']) || !(LEVELS as readonly unknown[]).includes(c.level)) return false;
  if (c.compartments !== undefined && !(Array.isArray(c.compartments) && c.compartments.every((x) => COMPARTMENTS.includes(x as string)))) {
    return false;
  }
  if (Array.isArray(c.compartments) && new Set(c.compartments).size !== c.compartments.length) return false;
  const allowed = (e: unknown) => tools.includes(e as string) || (capabilitySchema.safeParse(e).success && tools.includes((e as { tool: string }).tool));
  if (allow !== undefined && !(Array.isArray(allow) && allow.length <= 64 && allow.every(allowed))) return false;
  if (declassifyTo === undefined) return true;
  if (!(LEVELS as readonly unknown[]).includes(declassifyTo) && !isLabelObject(declassifyTo)) return false;
  // A pre-authorization must not be above the command's label: its level no higher, its compartments among the command's.
  const commandCompartments = (c.compartments ?? []) as string[];
  const d = typeof declassifyTo === 'string' ? { level: declassifyTo, compartments: commandCompartments } : (declassifyTo as { level: string; compartments?: string[] });
  return LEVELS.indexOf(d.level as never) <= LEVELS.indexOf(c.level as never) && (d.compartments ?? []).every((x) => commandCompartments.includes(x));
}

/** `{level, compartments?}` with a known level and known compartments: a whole label `declassifyTo` may be. */
function isLabelObject(d: unknown): boolean {
  if (!isPlainObject(d) || !onlyKeys(d, ['level', 'compartments']) || !(LEVELS as readonly unknown[]).includes(d.level)) return false;
  if (Array.isArray(d.compartments) && new Set(d.compartments).size !== d.compartments.length) return false;
  return d.compartments === undefined || (Array.isArray(d.compartments) && d.compartments.every((x) => COMPARTMENTS.includes(x as string)));
}

const someLevel = fc.oneof(fc.constantFrom(...LEVELS), fc.constantFrom('secret', 'COSMIC', ''), fc.jsonValue());
const someCompartments = fc.oneof(
  fc.array(fc.constantFrom(...COMPARTMENTS, 'NUCLEAR', 'medical', ''), { maxLength: 3 }),
  fc.jsonValue(),
);
const someText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', ' \t\n', 'x'.repeat(16384), 'x'.repeat(16385), 'a\ud800b'),
  fc.jsonValue(),
);

function commandBodies(tools: string[]) {
  const nearlyValid = fc
    .record(
      {
        text: someText,
        classification: fc.oneof(
          fc.record({ level: someLevel, compartments: someCompartments }, { requiredKeys: ['level'] }),
          fc.record({ level: someLevel, compartments: someCompartments, extra: fc.jsonValue() }),
          fc.jsonValue(),
        ),
        allow: fc.oneof(fc.array(fc.constantFrom(...tools, 'rm_rf', ''), { maxLength: 4 }), fc.jsonValue()),
        declassifyTo: someLevel,
        __proto__: fc.jsonValue(),
        owner: fc.string(),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o));
  const valid = fc
    .record(
      {
        text: fc.string({ minLength: 1, maxLength: 40 }),
        classification: fc.record({ level: fc.constantFrom(...LEVELS), compartments: fc.subarray(COMPARTMENTS) }, { requiredKeys: ['level'] }),
        allow: fc.subarray(tools),
        declassifyTo: fc.constantFrom(...LEVELS),
      },
      { requiredKeys: ['text', 'classification'] },
    )
    .map((o) => JSON.stringify(o));
  return fc.oneof(
    { weight: 3, arbitrary: valid },
    { weight: 6, arbitrary: nearlyValid },
    { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
  );
}

test('arbitrary command bodies never yield a 5xx, and yield a 202 exactly when the command is valid', async () => {
  const tools = [...f.topology.tools.keys()];
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(commandBodies(tools), async (body) => {
      const res = await f.call({ method: 'POST', path: '/v1/commands', claims: f.user('alice'), body });
      const valid = isValidCommand(body, tools);
      if (valid) accepted++;
      expect(res.status).toBe(valid ? 202 : 400);
      expect(res.headers['content-type']).toBe('application/json');
    }),
    { numRuns: 200 },
  );
  // The generator reaches both sides of the oracle.
  expect(accepted).toBeGreaterThan(5);
});

test('arbitrary requests (any route, method, claims, body, query) never yield a 5xx and always answer JSON', async () => {
  const users = f.topology.users.map((u) => f.user(u.username));
  const claims = fc.oneof(
    fc.constantFrom(...users),
    fc.dictionary(fc.constantFrom('cognito:username', 'custom:clearance', 'custom:compartments'), fc.string({ maxLength: 20 })),
  );
  const path = fc.oneof(
    fc.constantFrom('/v1/commands', '/v1/approvals', '/v1/audit', '/v1/audit/verify', '/', '/v1/commands/'),
    fc.oneof(fc.uuid(), fc.string({ maxLength: 20 }), fc.constant('%E0%A4%A')).map((id) => `/v1/commands/${id}`),
    fc.oneof(fc.uuid(), fc.string({ maxLength: 20 })).map((id) => `/v1/approvals/${id}`),
    fc.string({ maxLength: 30 }),
  );
  const body = fc.option(fc.oneof(fc.string({ maxLength: 40 }), fc.jsonValue().map((v) => JSON.stringify(v))), { nil: undefined });
  const query = fc.option(fc.dictionary(fc.constantFrom('since', 'limit', 'x'), fc.string({ maxLength: 6 })), { nil: undefined });
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'), path, claims, body, query, async (method, p, c, b, q) => {
      const res = await f.call({ method, path: p, claims: c, body: b, query: q });
      expect(res.status).toBeGreaterThanOrEqual(200);
      expect(res.status).toBeLessThan(500);
      expect(res.headers['content-type']).toBe('application/json');
    }),
    { numRuns: 200 },
  );
});
