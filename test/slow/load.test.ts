import type { CommandRequestBody } from '../../cli/api-client';
import { FaultCloud, FaultInjector, account, describeAccounting, topologyWith } from '../faults/support';
import { inParallel, latencies, peakInFlight, percentile } from './support';

/**
 * Load: 200 commands submitted at once through the HTTP API (4 users × 50, a mix of honest scenarios) against
 * one local cloud. Every command ends within a bounded time, every side effect happens once, every dead letter
 * has its ledger entry, and the ledger verifies.
 */
const PER_USER = 50;
/**
 * HTTP submissions in flight at once. The commands themselves all run concurrently (submitting 200 takes a
 * fraction of the time they take to run); a burst of 200 simultaneous requests was accepted too (in 24 s), but
 * that is close to API Gateway's 30 s, since every submission appends to the one ledger chain.
 */
const IN_FLIGHT = 20;
const BOUND_MS = 10 * 60_000;
const SECRET_MEDICAL = { level: 'SECRET', compartments: ['MEDICAL'] };
const CONFIDENTIAL = { level: 'CONFIDENTIAL', compartments: [] };
const UNCLASSIFIED = { level: 'UNCLASSIFIED', compartments: [] };

/** What each user asks, in turn: only commands that end without a human (no critical tools, pre-authorized declassification). */
const SCENARIOS: Record<string, ((i: number) => CommandRequestBody)[]> = {
  alice: [
    (i) => ({ text: `Ask the analyst to read_patient_record P-100${(i % 5) + 1} and summarise the diagnosis.`, classification: SECRET_MEDICAL }),
    (i) => ({ text: `Ask edge to send_email to visitors${i}@example.org about the new visiting hours.`, classification: UNCLASSIFIED, allow: ['send_email'] }),
    // A rule-built release one level down, no compartment dropped: the pre-authorization covers it (DESIGN §6).
    () => ({ text: `Call the tool edge with ${JSON.stringify({ task: 'Please lookup_public_info about parking for Patient John Smith.', release: { rule: 'car-park-level', fields: { level: '2' } } })}`, classification: CONFIDENTIAL, declassifyTo: 'UNCLASSIFIED' }),
  ],
  bob: [
    () => ({ text: 'Ask the scheduler what departments exist.', classification: CONFIDENTIAL }),
    (i) => ({ text: `Ask the scheduler to schedule_appointment for P-100${(i % 5) + 1} in cardiology.`, classification: CONFIDENTIAL, allow: ['schedule_appointment'] }),
    () => ({ text: 'Ask edge to lookup_public_info about the cafeteria.', classification: UNCLASSIFIED }),
  ],
  carol: [
    (i) => ({ text: `Ask the analyst to read_patient_record P-100${(i % 5) + 1} and list the medications.`, classification: SECRET_MEDICAL }),
    () => ({ text: 'Ask edge to lookup_public_info about visiting hours.', classification: UNCLASSIFIED }),
  ],
  dave: [
    (i) => ({ text: `Ask the analyst to read_patient_record P-100${(i % 5) + 1} and summarise the allergies.`, classification: SECRET_MEDICAL }),
    () => ({ text: 'What are the visiting hours?', classification: UNCLASSIFIED }),
  ],
};

let cloud: FaultCloud;
let faults: FaultInjector;
beforeAll(async () => {
  faults = FaultInjector.install(); // counts calls and the SDK's retries; injects nothing
  cloud = await FaultCloud.start({ topology: topologyWith({}) });
});
afterAll(async () => {
  faults?.uninstall();
  await cloud?.stop();
});

it('200 concurrent commands through the HTTP API all end, each effect once, and the ledger verifies', async () => {
  const bodies = Object.entries(SCENARIOS).flatMap(([user, scenarios]) =>
    Array.from({ length: PER_USER }, (_, i) => ({ user, body: scenarios[i % scenarios.length](i) })),
  );
  await Promise.all(Object.keys(SCENARIOS).map((u) => cloud.as(u))); // log in first: submissions start together
  const started = Date.now();
  const accepted = await inParallel(IN_FLIGHT, bodies, async ({ user, body }) => ({ user, body, commandId: await cloud.submit(user, body) }));
  const submittedMs = Date.now() - started;
  const owners = new Map(accepted.map((a) => [a.commandId, a.user]));
  const result = await account(cloud, owners, BOUND_MS);
  const elapsedMs = Date.now() - started;

  const wanted = accepted.flatMap((a) => (a.body.allow ?? []).map((tool) => `${a.commandId}|${tool}`)).sort();
  const done = result.effects.map((e) => `${e.commandId}|${e.tool}`).sort();
  const lat = latencies(result.ledger, owners);
  console.log(
    [
      `load: ${accepted.length} commands accepted in ${submittedMs} ms; all terminal after ${(elapsedMs / 1000).toFixed(1)} s ` +
        `→ ${(accepted.length / (elapsedMs / 1000)).toFixed(2)} commands/s`,
      `commands in flight at once (ledger): up to ${peakInFlight(result.ledger, owners)}`,
      `latency accepted→completed (ledger): p50 ${percentile(lat, 50)} ms, p95 ${percentile(lat, 95)} ms, max ${percentile(lat, 100)} ms`,
      describeAccounting(result),
      `AWS calls (attempts): ${JSON.stringify(faults.stats.attempts)}; calls retried by the SDK: ${faults.stats.absorbed}`,
      `invocation failures and receive errors logged: ${cloud.logs.length}${cloud.logs.length ? ` (first: ${cloud.logs[0].slice(0, 200)})` : ''}`,
    ].join('\n'),
  );
  expect(result.nonTerminal).toEqual([]);
  expect(Object.values(result.statuses).every((s) => s === 'completed')).toBe(true);
  expect(done).toEqual(wanted);
  expect(result.duplicateEffects).toEqual([]);
  expect(result.unledgered).toEqual([]);
  expect(result.verify).toMatchObject({ ok: true, firstBadSeq: null });
});
