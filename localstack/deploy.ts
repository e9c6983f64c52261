import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT, STATE_DIR, waitForEndpoint } from './emulator';

/**
 * `npm run localstack:deploy`: bootstraps LocalStack and deploys the AgentSec stack into it with cdklocal,
 * writing the stack outputs to `.agentsec/localstack-outputs.json`. Start LocalStack first
 * (localstack/docker-compose.yml); it needs Docker and a LocalStack auth token.
 */
const endpoint = process.env.AWS_ENDPOINT_URL ?? 'http://localhost:4566';
const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
const outputs = path.join(STATE_DIR, 'localstack-outputs.json');

const env: NodeJS.ProcessEnv = {
  ...process.env,
  AWS_ENDPOINT_URL: endpoint,
  // cdklocal insists on an S3 endpoint when AWS_ENDPOINT_URL is set; on localhost the CDK CLI then uses
  // path-style S3 URLs, so no wildcard DNS (localhost.localstack.cloud) is needed.
  AWS_ENDPOINT_URL_S3: process.env.AWS_ENDPOINT_URL_S3 ?? endpoint,
  AWS_REGION: region,
  AWS_DEFAULT_REGION: region,
  // cdklocal drops every other AWS_* variable (so nothing reaches real AWS by mistake) unless allowlisted.
  AWS_ENVAR_ALLOWLIST: 'AWS_REGION,AWS_DEFAULT_REGION',
};

function cdklocal(args: string[]): void {
  console.log(`$ cdklocal ${args.join(' ')}`);
  const r = spawnSync('npx', ['--no', 'cdklocal', ...args], { cwd: PROJECT_ROOT, env, stdio: 'inherit' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`cdklocal ${args[0]} exited with ${r.status}`);
}

async function main(): Promise<void> {
  console.log(`waiting for LocalStack at ${endpoint} ...`);
  await waitForEndpoint(endpoint, 120_000);
  mkdirSync(STATE_DIR, { recursive: true });
  cdklocal(['bootstrap', `aws://unknown-account/${region}`]);
  cdklocal(['deploy', 'AgentSec', '--require-approval', 'never', '--outputs-file', outputs]);
  console.log(`stack outputs: ${path.relative(PROJECT_ROOT, outputs)}`);
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
