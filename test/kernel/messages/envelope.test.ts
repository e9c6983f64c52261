import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { sha256Hex } from '../../../functions/kernel/canonical';
import { isSecurityError } from '../../../functions/kernel/errors';
import { MAX_MESSAGE_BYTES, messageIdTime, newMessageId, parseMessage } from '../../../functions/kernel/messages/envelope';

const valid = (): Record<string, unknown> => ({
  v: 1,
  id: newMessageId(),
  from: 'core',
  to: 'analyst',
  kind: 'task',
  label: { level: 'SECRET', compartments: ['MEDICAL'] },
  commandId: randomUUID(),
  principal: 'alice',
  ciphertext: Buffer.from('not really a ciphertext').toString('base64'),
  contentDigest: sha256Hex('body'),
  sentAt: new Date().toISOString(),
});

/** The SCHEMA refusal of `body`, or a failure when it parses or fails any other way. */
function schemaError(body: string): Error {
  try {
    parseMessage(body);
  } catch (err) {
    if (isSecurityError(err, 'SCHEMA')) return err;
    throw err;
  }
  throw new Error(`expected SCHEMA, but it parsed: ${body.slice(0, 200)}`);
}

describe('the message envelope schema', () => {
  it('parses a well-formed body', () => {
    const body = valid();
    expect(parseMessage(JSON.stringify(body))).toEqual(body);
  });

  it('refuses a body that is not JSON', () => {
    for (const body of ['', 'not json', '{"v":1', '\u0000', 'null', '[]', '42', '"x"']) schemaError(body);
  });

  it.each(Object.keys(valid()))('refuses a body without %s, naming the field', (field) => {
    const { [field]: _omitted, ...rest } = valid();
    expect(schemaError(JSON.stringify(rest)).message).toContain(field);
  });

  it('refuses unknown fields (strict)', () => {
    expect(schemaError(JSON.stringify({ ...valid(), priority: 'urgent' })).message).toContain('priority');
  });

  it('refuses another envelope version', () => {
    expect(schemaError(JSON.stringify({ ...valid(), v: 2 })).message).toContain('v');
  });

  it('refuses a directive message without a directive', () => {
    expect(schemaError(JSON.stringify({ ...valid(), kind: 'directive' })).message).toContain('directive');
  });

  it('refuses a malformed directive', () => {
    expect(schemaError(JSON.stringify({ ...valid(), directive: { claims: {}, signature: 'AAAA', keyId: 'k' } })).message).toContain('directive.claims');
  });

  it('refuses unknown kinds, levels and malformed labels, with the path', () => {
    expect(schemaError(JSON.stringify({ ...valid(), kind: 'command' })).message).toContain('kind');
    expect(schemaError(JSON.stringify({ ...valid(), label: { level: 'COSMIC', compartments: [] } })).message).toContain('label.level');
    expect(schemaError(JSON.stringify({ ...valid(), label: { level: 'SECRET' } })).message).toContain('label.compartments');
    expect(schemaError(JSON.stringify({ ...valid(), label: { level: 'SECRET', compartments: ['MEDICAL', 'FINANCE'] } })).message).toContain('label.compartments');
    expect(schemaError(JSON.stringify({ ...valid(), label: { level: 'SECRET', compartments: ['medical'] } })).message).toContain('label.compartments');
  });

  it('refuses malformed names, ids, digests, ciphertexts and times', () => {
    const cases: [string, unknown][] = [
      ['from', 'Core'],
      ['to', '../analyst'],
      ['id', randomUUID()], // a v4 id: message ids are v7
      ['commandId', 'not-a-uuid'],
      ['principal', 'alice smith'],
      ['contentDigest', sha256Hex('x').toUpperCase()],
      ['ciphertext', 'not base64!'],
      ['sentAt', 'yesterday'],
    ];
    for (const [field, value] of cases) expect(schemaError(JSON.stringify({ ...valid(), [field]: value })).message).toContain(field);
  });

  it('refuses a body larger than SQS allows', () => {
    schemaError(JSON.stringify({ ...valid(), ciphertext: 'A'.repeat(MAX_MESSAGE_BYTES + 4) }));
  });

  it('never throws anything but SCHEMA for arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (body) => {
        schemaError(body);
      }),
      { numRuns: 200 },
    );
  });

  it('never throws anything but SCHEMA for arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        schemaError(JSON.stringify(value));
      }),
      { numRuns: 500 },
    );
  });

  it('either parses or refuses with SCHEMA when any field of a good body is replaced by arbitrary JSON', () => {
    const fields = Object.keys(valid());
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.jsonValue(), (field, value) => {
        try {
          parseMessage(JSON.stringify({ ...valid(), [field]: value }));
        } catch (err) {
          if (!isSecurityError(err, 'SCHEMA')) throw err;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('message ids are UUIDv7 whose timestamp is their creation time', () => {
    const at = Date.UTC(2031, 5, 1);
    const id = newMessageId(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(messageIdTime(id)).toBe(at);
    expect(newMessageId(at)).not.toBe(id);
  });
});
