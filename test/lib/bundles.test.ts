import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../lib/handler-function';
import { PATIENT_RECORDS } from '../../localstack/fixtures/patient-records';
import { Synthesized, synthesize } from './support/synth';
import { handlerFunctionIds, principalRoles } from './support/template-lookup';

/** One Lambda function's bundle as `cdk synth` builds it: the modules its source map names, and its code. */
interface Bundle {
  /** The principal the function acts as: an agent's name, `api`, `signer` or `effects`. */
  readonly principal: string;
  /** Source files with code in the bundle, relative to the repository root. */
  readonly sources: readonly string[];
  readonly code: string;
}

/** The module of a tool: `read_patient_record` → `functions/tools/read-patient-record.ts`. */
const toolModule = (tool: string) => `functions/tools/${tool.replace(/_/g, '-')}.ts`;

/** What a patient's chart holds that must never be shipped: name, address, passcode, birth date, diagnosis. */
const CLASSIFIED_VALUES = PATIENT_RECORDS.flatMap((r) => [r.name, r.address, r.passcode, r.dateOfBirth, r.diagnosis]);

/**
 * DESIGN §3: classified data at rest lives sealed in the records table, never in a function bundle, and each agent's
 * bundle holds its own tools only. Judged on the bundles the stack really builds (esbuild through NodejsFunction, with
 * the stack's defines): the sources each source map names, and the bundled code itself.
 */
describe('the Lambda bundles', () => {
  let s: Synthesized;
  let bundles: Bundle[];

  beforeAll(() => {
    s = synthesize({ bundling: true });
    const byRole = new Map([...principalRoles(s)].map(([name, role]) => [role, name]));
    bundles = handlerFunctionIds(s.json.Resources)
      .map((id) => s.json.Resources[id])
      .map((fn) => {
        const asset = path.join(s.app.outdir, `asset.${String(fn.Properties!.Code.S3Key).replace(/\.zip$/, '')}`);
        const map = JSON.parse(readFileSync(path.join(asset, 'index.js.map'), 'utf8')) as { sources: string[] };
        return {
          principal: byRole.get(fn.Properties!.Role['Fn::GetAtt'][0])!,
          sources: map.sources.map((source) => path.relative(PROJECT_ROOT, path.resolve(asset, source))),
          code: readFileSync(path.join(asset, 'index.js'), 'utf8'),
        };
      });
  }, 300_000);

  it('builds one bundle per function, each for a known principal', () => {
    expect(bundles.map((b) => b.principal).sort()).toEqual([...s.topology.agentNames(), 'api', 'effects', 'sequencer', 'signer'].sort());
    // The source maps name the project's own modules, so the checks below look at real paths.
    for (const b of bundles) expect(b.sources).toContain('functions/kernel/labels.ts');
  });

  it('no Lambda bundle contains classified fixtures', () => {
    const found: string[] = [];
    for (const b of bundles) {
      for (const source of b.sources.filter((x) => x.startsWith('localstack/') || /patient-records/.test(x))) found.push(`${b.principal}: module ${source}`);
      for (const value of CLASSIFIED_VALUES.filter((v) => b.code.includes(v))) found.push(`${b.principal}: ${JSON.stringify(value)}`);
    }
    expect(found).toEqual([]);
  });

  it('each agent’s bundle holds only its own tools', () => {
    const toolModules = [...s.topology.tools.keys()].map(toolModule);
    const bundled = Object.fromEntries(bundles.map((b) => [b.principal, b.sources.filter((x) => toolModules.includes(x)).sort()]));
    const owned = Object.fromEntries(
      bundles.map((b) => [b.principal, (s.topology.agents.get(b.principal)?.tools ?? []).map(toolModule).sort()]),
    );
    expect(bundled).toEqual(owned);
    // The edge agent, on an external model, carries no code of the tools that read patient records.
    const edge = bundles.find((b) => b.principal === 'edge')!;
    expect(bundled.edge).toEqual(['functions/tools/lookup-public-info.ts', 'functions/tools/send-email.ts']);
    for (const text of ['No record for patient', 'nothing was prescribed', 'nothing was booked', 'must be a drug name']) expect(edge.code).not.toContain(text);
    expect(bundles.find((b) => b.principal === 'analyst')!.code).toContain('No record for patient');
  });

  it('publishes the built console (index.html, app.js, styles.css) and a config.json of deploy-time values, nothing else', () => {
    const [deployment] = Object.values(s.json.Resources).filter((r) => r.Type === 'Custom::CDKBucketDeployment');
    const keys = deployment.Properties!.SourceObjectKeys as string[];
    const files = keys.map((key) => readdirSync(path.join(s.app.outdir, `asset.${key.replace(/\.zip$/, '')}`)).sort());
    expect(files).toEqual([['app.js', 'index.html', 'styles.css'], ['config.json']]);
    const [built, config] = keys.map((key) => path.join(s.app.outdir, `asset.${key.replace(/\.zip$/, '')}`));
    // The page runs under the console's CSP (script-src and style-src 'self'): no inline script, style element or attribute.
    const html = readFileSync(path.join(built, 'index.html'), 'utf8');
    expect(html).toMatch(/<script src="app\.js"/);
    expect(html.match(/<script(?![^>]*\ssrc=)[^>]*>/g) ?? []).toEqual([]);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    // Classified fixtures stay out of the console too.
    const script = readFileSync(path.join(built, 'app.js'), 'utf8');
    expect(CLASSIFIED_VALUES.filter((v) => script.includes(v))).toEqual([]);
    expect(Object.keys(JSON.parse(readFileSync(path.join(config, 'config.json'), 'utf8'))).sort()).toEqual(['apiUrl', 'region', 'userPoolClientId']);
  });
});
