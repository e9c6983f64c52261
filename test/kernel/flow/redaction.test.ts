import { redact } from '../../../functions/kernel/flow/redaction';
import { loadTopology } from '../../../functions/kernel/topology/topology';

const rules = loadTopology().redaction;

describe('redaction before write-down', () => {
  it('removes patient names', () => {
    const out = redact('Patient John Smith was admitted on Monday.', rules);
    expect(out.text).not.toMatch(/John|Smith/);
    expect(out.applied.map((a) => a.rule)).toContain('patient-name');
  });

  it('removes names after an honorific', () => {
    expect(redact('Call Mrs. Alice Walker tomorrow.', rules).text).not.toMatch(/Alice|Walker/);
  });

  it('removes passcodes and door codes', () => {
    const out = redact('Ward B passcode: 4471-22; the door code is 9981.', rules);
    expect(out.text).not.toMatch(/4471|9981/);
  });

  it('removes street addresses', () => {
    expect(redact('She lives at 12 Elm Street near the park.', rules).text).not.toMatch(/12 Elm Street/);
  });

  it('leaves text without sensitive content unchanged', () => {
    const text = 'What are the visiting hours of the cardiology ward?';
    expect(redact(text, rules)).toEqual({ text, applied: [] });
  });

  it('is deterministic, so a directive can bind the digest of its output', () => {
    const text = 'Patient Jane Doe, 4 Oak Avenue, PIN 1234';
    expect(redact(text, rules)).toEqual(redact(text, rules));
  });

  it('reports counts, never the matched text', () => {
    const out = redact('Patient John Smith and patient Mary Jones', rules);
    expect(JSON.stringify(out.applied)).not.toMatch(/John|Mary/);
    expect(out.applied.find((a) => a.rule === 'patient-name')?.count).toBe(2);
  });
});
