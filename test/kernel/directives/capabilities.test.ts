import { capabilitySchema, describeCapability, misfit, namesValue, usesAllowed } from '../../../functions/kernel/directives/capabilities';
import { appearsInText } from '../../../functions/kernel/flow/integrity';
import { parseAllow } from '../../../cli/capabilities';

describe('capabilities: a call fits only what the capability says (DESIGN §5)', () => {
  const email = { tool: 'send_email', args: { to: 'frontdesk@hospital.example' } };

  it('an exact value fits that value only', () => {
    expect(misfit(email, 'send_email', { to: 'frontdesk@hospital.example', subject: 's', body: 'b' })).toBeUndefined();
    expect(misfit(email, 'send_email', { to: 'frontdesk@hospital.example.evil', subject: 's', body: 'b' })).toMatch(/value of to/);
    expect(misfit(email, 'send_email', { subject: 's', body: 'b' })).toMatch(/needs argument to/);
    expect(misfit(email, 'prescribe', { to: 'frontdesk@hospital.example' })).toMatch(/is for send_email/);
  });

  it('a pattern must match the whole value, not a part of it', () => {
    const cap = { tool: 'send_email', args: { to: { pattern: '[a-z]+@hospital\\.example' } } };
    expect(misfit(cap, 'send_email', { to: 'ward@hospital.example' })).toBeUndefined();
    expect(misfit(cap, 'send_email', { to: 'ward@hospital.example.evil.example' })).toBeDefined();
    expect(misfit(cap, 'send_email', { to: 'x ward@hospital.example' })).toBeDefined();
    expect(misfit(cap, 'send_email', { to: ['ward@hospital.example'] })).toBeDefined();
  });

  it('a number and its decimal text are the same value; nothing else converts', () => {
    const cap = { tool: 'prescribe', args: { doseMg: '500' } };
    expect(misfit(cap, 'prescribe', { doseMg: 500 })).toBeUndefined();
    expect(misfit(cap, 'prescribe', { doseMg: 5000 })).toBeDefined();
    expect(misfit({ tool: 'prescribe', args: { doseMg: 500 } }, 'prescribe', { doseMg: '500' })).toBeUndefined();
    expect(misfit({ tool: 'prescribe', args: { doseMg: 500 } }, 'prescribe', { doseMg: '' })).toBeDefined();
  });

  it('only an exact value or a list names a value; a pattern never does', () => {
    expect(namesValue(email, 'to', 'frontdesk@hospital.example')).toBe(true);
    expect(namesValue({ tool: 'send_email', args: { to: ['a@x.org', 'b@x.org'] } }, 'to', 'b@x.org')).toBe(true);
    expect(namesValue({ tool: 'send_email', args: { to: { pattern: '.*' } } }, 'to', 'a@x.org')).toBe(false);
    expect(namesValue({ tool: 'send_email' }, 'to', 'a@x.org')).toBe(false);
  });

  it('a critical capability is single-use unless it says otherwise; a high one is unlimited', () => {
    expect(usesAllowed({ tool: 'prescribe' }, 'critical')).toBe(1);
    expect(usesAllowed({ tool: 'prescribe', maxUses: 3 }, 'critical')).toBe(3);
    expect(usesAllowed({ tool: 'send_email' }, 'high')).toBeUndefined();
  });

  it('refuses malformed capabilities: unknown fields, bad patterns, zero uses', () => {
    expect(capabilitySchema.safeParse({ tool: 'send_email', args: { to: { pattern: '(' } } }).success).toBe(false);
    expect(capabilitySchema.safeParse({ tool: 'send_email', maxUses: 0 }).success).toBe(false);
    expect(capabilitySchema.safeParse({ tool: 'send_email', scope: 'all' }).success).toBe(false);
    expect(describeCapability({ tool: 'send_email', args: { to: ['a@x.org', 'b@x.org'] }, maxUses: 2 })).toBe('send_email(to=a@x.org|b@x.org) ×2');
  });
});

describe("integrity: a value is trusted when it appears in the user's own words as a whole token", () => {
  const text = 'Ask edge to email visitors@example.org, then prescribe for P-1003.';

  it.each([
    ['visitors@example.org', true],
    ['VISITORS@EXAMPLE.ORG', true],
    ['P-1003', true],
    ['isitors@example.org', false],
    ['visitors@example.or', false],
    ['P-100', false],
    ['example.org', false],
    ['', false],
    [' ', false],
  ])('%s → %s', (value, expected) => {
    expect(appearsInText(text, value)).toBe(expected);
  });

  it('compatibility forms and format characters in the text are folded; a value hiding them, or a look-alike letter, is never the value the user wrote', () => {
    expect(appearsInText('email ｖｉｓｉｔｏｒｓ@example.org', 'visitors@example.org')).toBe(true);
    expect(appearsInText('email visi\u200btors@example.org', 'visitors@example.org')).toBe(true);
    expect(appearsInText('email visitors@example.org', 'visi\u200btors@example.org')).toBe(false);
    expect(appearsInText('email visitors@example.org', 'ｖｉｓｉｔｏｒｓ@example.org')).toBe(false);
    expect(appearsInText('email visitors@example.org', 'v\u0456sitors@example.org')).toBe(false);
    expect(appearsInText('dose 1500 mg', 500)).toBe(false);
    expect(appearsInText('dose 500 mg', 500)).toBe(true);
    expect(appearsInText('anything', { to: 'x' })).toBe(false);
  });
});

describe('agentsec ask --allow: capabilities as people type them', () => {
  it('reads tool names, one capability per option, lists, patterns, uses and JSON', () => {
    expect(parseAllow(['send_email,prescribe'])).toEqual(['send_email', 'prescribe']);
    expect(parseAllow(['send_email:to=frontdesk@hospital.example'])).toEqual([{ tool: 'send_email', args: { to: 'frontdesk@hospital.example' } }]);
    expect(parseAllow(['send_email:to=a@x.org|b@x.org,maxUses=2'])).toEqual([{ tool: 'send_email', args: { to: ['a@x.org', 'b@x.org'] }, maxUses: 2 }]);
    expect(parseAllow(['send_email:to~.+@x\\.org'])).toEqual([{ tool: 'send_email', args: { to: { pattern: '.+@x\\.org' } } }]);
    expect(parseAllow(['{"tool":"prescribe","args":{"patientId":"P-1003"}}'])).toEqual([{ tool: 'prescribe', args: { patientId: 'P-1003' } }]);
  });

  it.each([
    ['send_email:to', /is not arg=value/],
    ['send_email:to=', /is not arg=value/],
    ['send_email:maxUses=two', /maxUses must be a whole number/],
    ['{"tool":', /is not JSON/],
    ['Send Email', /--allow/],
  ])('refuses %s with a sentence', (option, expected) => {
    expect(() => parseAllow([option])).toThrow(expected);
  });
});
