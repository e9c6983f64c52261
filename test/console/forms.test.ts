import fc from 'fast-check';
import { describeCapability as kernelDescribe } from '../../functions/kernel/directives/capabilities';
import { parseAllow } from '../../cli/capabilities';
import { CapabilityError, describeCapability, parseCapabilities } from '../../console/src/capabilities';
import { ConfigError, parseConfig } from '../../console/src/config';

/** The console reads what people type as the CLI does, and reads its configuration strictly. */

describe("the console's Capabilities field", () => {
  const lines = [
    'send_email,prescribe',
    'prescribe',
    'send_email:to=frontdesk@st-aldric-hospital.example',
    'send_email:to=a@x.org|b@x.org,maxUses=2',
    'send_email:to~.+@x\\.org',
    'prescribe:patientId=P-1001,drug=Metformin,maxUses=1',
    '{"tool":"send_email","args":{"to":["a@x.org","b@x.org"]},"maxUses":2}',
    '[{"tool":"prescribe"},"send_email"]',
    '  schedule_appointment : patientId = P-1003 ',
  ];

  it.each(lines)('reads %s exactly as `agentsec ask --allow` does', (line) => {
    expect(parseCapabilities(line)).toEqual(parseAllow([line]));
  });

  it('reads one capability per line, blank lines ignored', () => {
    expect(parseCapabilities(`${lines[2]}\n\n  ${lines[4]}\n`)).toEqual(parseAllow([lines[2], lines[4]]));
    expect(parseCapabilities('  \n')).toEqual([]);
  });

  it.each(['send_email:to', 'send_email:=x', 'send_email:to=', 'prescribe:maxUses=two', 'send_email:1to=x', '{"tool":', ':to=x'])(
    'refuses %s, as the CLI does',
    (line) => {
      expect(() => parseCapabilities(line)).toThrow(CapabilityError);
      expect(() => parseAllow([line])).toThrow();
    },
  );

  it('agrees with the CLI on any capability written in its syntax', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/);
    const value = fc.stringMatching(/^[A-Za-z0-9@.\-]{1,12}$/);
    fc.assert(
      fc.property(fc.constantFrom('send_email', 'prescribe', 'schedule_appointment'), fc.dictionary(name, fc.array(value, { minLength: 1, maxLength: 3 }), { maxKeys: 3 }), (tool, args) => {
        const line = `${tool}:${Object.entries(args).map(([k, vs]) => `${k}=${vs.join('|')}`).join(',')}`;
        const console = () => parseCapabilities(line);
        let cli: unknown;
        try {
          cli = parseAllow([line]);
        } catch {
          expect(console).toThrow();
          return;
        }
        expect(console()).toEqual(cli);
      }),
    );
  });

  it('describes a capability in the words the CLI and the kernel use', () => {
    for (const c of parseAllow(lines).filter((e) => typeof e !== 'string')) expect(describeCapability(c)).toBe(kernelDescribe(c));
  });
});

describe("the console's config.json", () => {
  const good = { apiUrl: 'https://api.example.com/', region: 'eu-west-1', userPoolClientId: 'abc' };

  it('finds Cognito by region on AWS, and at the given endpoint on one machine', () => {
    expect(parseConfig(good)).toEqual({ ...good, apiUrl: 'https://api.example.com', cognitoEndpoint: 'https://cognito-idp.eu-west-1.amazonaws.com/' });
    expect(parseConfig({ ...good, cognitoEndpoint: 'http://localhost:4566' }).cognitoEndpoint).toBe('http://localhost:4566');
  });

  it.each([
    ['no apiUrl', { ...good, apiUrl: undefined }, /apiUrl is missing/],
    ['an apiUrl that is not http(s)', { ...good, apiUrl: 'javascript:alert(1)' }, /apiUrl is not an http/],
    ['a region that is not one', { ...good, region: 'evil.example.com/x' }, /not an AWS region/],
    ['no client', { ...good, userPoolClientId: '' }, /userPoolClientId is missing/],
    ['a cognitoEndpoint that is not a URL', { ...good, cognitoEndpoint: 'nope' }, /cognitoEndpoint is not a URL/],
    ['not an object', 'config', /is missing/],
  ])('refuses %s', (_what, json, message) => {
    expect(() => parseConfig(json)).toThrow(ConfigError);
    expect(() => parseConfig(json)).toThrow(message);
  });
});
