import { existsSync } from 'node:fs';
import { formatLabel } from '../functions/kernel/labels';
import type { LocalCloud } from '../localstack/local-cloud';
import { LocalResources, readLocalState } from '../localstack/local-state';
import { CliError } from './errors';
import { assertRunning } from './session';
import { localStateFile } from '../localstack/state-files';

export interface DevOptions {
  prefix?: string;
  compromised?: boolean;
  json?: boolean;
}

/** `agentsec dev`: the local cloud until Ctrl-C or SIGTERM, then a clean shutdown. */
export async function devCommand(opts: DevOptions): Promise<number> {
  const stateFile = localStateFile();
  await refuseSecondCloud(stateFile);
  // Progress goes to stderr under --json, so stdout carries exactly one JSON document per event.
  const say = (line: string) => (opts.json ? process.stderr : process.stdout).write(`${line}\n`);
  // Loaded on demand: it brings every handler, and the other commands should start fast.
  const { startLocalCloud } = require('../localstack/local-cloud') as typeof import('../localstack/local-cloud');
  say('Starting the AgentSec local cloud…');
  const cloud: LocalCloud = await startLocalCloud({
    ...(opts.prefix ? { prefix: opts.prefix } : {}),
    compromised: opts.compromised === true,
    log: (line) => say(`  ${line}`),
  });
  const { state } = cloud;
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ status: 'running', stateFile, apiUrl: state.apiUrl, consoleUrl: state.consoleUrl, endpoint: state.endpoint, modelUrl: state.modelUrl })}\n`,
    );
  } else {
    say(`Ready. API ${state.apiUrl}; state in ${stateFile}.`);
    say(`Console: ${state.consoleUrl} (sign in as a user below).`);
    say(`Users: ${state.users.map((u) => `${u.username} (${formatLabel(u.clearance)})`).join(', ')}; passwords are in the state file.`);
    say('Try: agentsec ask "Ask the analyst to read_patient_record for P-1001." --level SECRET --compartments MEDICAL --wait');
    say('Ctrl-C stops the cloud.');
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  // A second Ctrl-C during shutdown gives up waiting.
  const force = () => process.exit(130);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  say('Stopping…');
  await cloud.stop();
  if (opts.json) process.stdout.write(`${JSON.stringify({ status: 'stopped' })}\n`);
  else say('Stopped.');
  return 0;
}

/** Two clouds writing one state file would leave the CLI talking to whichever wrote last. */
async function refuseSecondCloud(stateFile: string): Promise<void> {
  if (!existsSync(stateFile)) return;
  let state: LocalResources;
  try {
    state = readLocalState(stateFile);
    await assertRunning(state);
  } catch {
    return; // a broken state file, or one left by a cloud that has stopped, is simply replaced
  }
  throw new CliError(`a local cloud is already running (API ${state.apiUrl}, state in ${stateFile}); stop it first`);
}
