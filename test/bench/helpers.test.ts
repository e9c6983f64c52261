import { PRICES, costOf } from '../../bench/cost-model';
import { scalingChartSvg, scalingRows, svgToPng } from '../../bench/scaling';
import { BUDGETS, BudgetInputs, judge, overall } from '../../bench/budgets';
import { functionName, lambdaAssets } from '../../bench/bundles';
import { BenchResult, formatTable, jsonLine } from '../../bench/report';
import { completedCommandId, describeCall, tallyKmsCalls, timeByCall } from '../../bench/sdk-meter';
import { percentile, round, summarize } from '../../bench/stats';
import { callsByService } from '../../bench/end-to-end';

const passing: BudgetInputs = {
  hopOverheadUs: 250,
  kmsCallsPerHop: 2,
  e2eP50Ms: 300,
  baselineE2eP50Ms: 250,
  throughputRatioAt8: 1.4,
  bundleBytes: { Api: 1_000_000 },
  coldInitMs: { Api: 120 },
  ledgerAppendShort: { p50Ms: 5, requests: 1, itemsRead: 0 },
  ledgerAppendLong: { p50Ms: 6, requests: 1, itemsRead: 0 },
  ledgerCallsPerHop: 1,
  ledgerAppendPerSec: 500,
  ledgerSingleChainAppendPerSec: 60,
  ledgerUnvouchedP99Ms: 1800,
};

describe('benchmark statistics', () => {
  it('percentiles are nearest-rank samples that were observed', () => {
    const samples = [5, 1, 4, 2, 3];
    expect(percentile(samples, 50)).toBe(3);
    expect(percentile(samples, 99)).toBe(5);
    expect(percentile(samples, 20)).toBe(1);
    expect(summarize(samples)).toMatchObject({ n: 5, p50: 3, min: 1, max: 5 });
    expect(Number.isNaN(percentile([], 50))).toBe(true);
  });

  it('rounding turns what JSON cannot carry into null', () => {
    expect(round(1.26, 1)).toBe(1.3);
    expect(round(Number.NaN)).toBeNull();
  });
});

describe('KMS calls are attributed by their encryption context', () => {
  const call = (command: string, from?: string, to?: string, messageId?: string) => ({ command, from, to, messageId });

  it('a sealed and opened message is two transfer calls; opening it again is a reopen; own storage is self', () => {
    const tally = tallyKmsCalls([
      call('GenerateDataKey', 'api', 'core', 'm1'),
      call('Decrypt', 'api', 'core', 'm1'),
      call('GenerateDataKey', 'core', 'core', 'plan'),
      call('Decrypt', 'core', 'core', 'plan'),
      call('Decrypt', 'api', 'core', 'm1'),
      call('GetPublicKey'),
    ]);
    expect(tally.total).toBe(6);
    expect(tally.byPurpose).toEqual({ transfer: 2, self: 2, reopen: 1, other: 1 });
    expect(tally.byCommand).toEqual({ GenerateDataKey: 2, Decrypt: 3, GetPublicKey: 1 });
  });

  it('reads the command, sender, addressee and message from the call input', () => {
    const context = { from: 'core', to: 'analyst', label: 'SECRET', messageId: 'm', commandId: 'c' };
    expect(describeCall('kms', { EncryptionContext: context })).toEqual({ commandId: 'c', from: 'core', to: 'analyst', messageId: 'm' });
    const body = JSON.stringify({ id: 'm', from: 'core', to: 'auditor', commandId: 'c' });
    expect(describeCall('sqs', { MessageBody: body })).toEqual({ bodyBytes: body.length, commandId: 'c', from: 'core', to: 'auditor', messageId: 'm' });
    expect(describeCall('dynamodb', { TableName: 'bench-1a2b-ledger' })).toEqual({ table: 'bench-1a2b-ledger' });
    expect(describeCall('dynamodb', { TableName: 'bench-1a2b-ledger', Item: { chain: 'core#pending', seq: 1 } })).toEqual({ table: 'bench-1a2b-ledger', partition: 'core#pending' });
    expect(describeCall('dynamodb', { TableName: 'bench-1a2b-ledger', ExpressionAttributeValues: { ':chain': 'main' } })).toEqual({ table: 'bench-1a2b-ledger', partition: 'main' });
  });

  it('groups time by call and table without the cloud prefix', () => {
    const base = { phase: 'secure', startedAt: 0 };
    const out = timeByCall([
      { ...base, service: 'dynamodb', command: 'PutItem', table: 'bench-1a2b-ledger', ms: 3, error: 'ConditionalCheckFailedException' },
      { ...base, service: 'dynamodb', command: 'PutItem', table: 'bench-1a2b-ledger', ms: 2 },
    ]);
    expect(out).toEqual({ 'dynamodb:PutItem:ledger': { calls: 2, failed: 1, ms: 5 } });
  });
});

describe('the end of a command is the write that sets it completed', () => {
  const update = (expression: string, names: Record<string, string>, values: Record<string, unknown>) => ({
    Key: { commandId: 'c1' },
    UpdateExpression: expression,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  });

  it('a SET of status to completed ends the command, plain or marshalled', () => {
    expect(completedCommandId('UpdateItem', update('SET #updatedAt = :now, #p0_0 = :v0', { '#p0_0': 'status' }, { ':v0': 'completed' }))).toBe('c1');
    expect(completedCommandId('UpdateItem', { ...update('SET #s = :v', { '#s': 'status' }, { ':v': { S: 'completed' } }), Key: { commandId: { S: 'c1' } } })).toBe('c1');
  });

  it('a condition that mentions completed, or another attribute set to it, does not', () => {
    const running = update('SET #p0_0 = :v0', { '#p0_0': 'status', '#status': 'status' }, { ':v0': 'running', ':t0': 'completed' });
    expect(completedCommandId('UpdateItem', running)).toBeUndefined();
    expect(completedCommandId('UpdateItem', update('SET #p0_0.#p0_1 = :v0', { '#p0_0': 'subtasks', '#p0_1': 'status' }, { ':v0': 'completed' }))).toBeUndefined();
    expect(completedCommandId('PutItem', update('SET #s = :v', { '#s': 'status' }, { ':v': 'completed' }))).toBeUndefined();
  });
});

describe('budget verdicts', () => {
  it('every budget passes at or under its limit', () => {
    const verdicts = judge(passing);
    expect(verdicts.every((v) => v.pass === true)).toBe(true);
    expect(overall(verdicts)).toBe(true);
  });

  it('a budget over its limit fails the run', () => {
    const verdicts = judge({ ...passing, kmsCallsPerHop: 2.67, bundleBytes: { Api: BUDGETS.bundleBytes + 1 } });
    expect(verdicts.find((v) => v.budget === 'kmsCallsPerHop')?.pass).toBe(false);
    expect(verdicts.find((v) => v.budget === 'bundleBytes[Api]')?.pass).toBe(false);
    expect(overall(verdicts)).toBe(false);
  });

  it('the e2e budget compares secure to baseline p50', () => {
    const ratio = judge({ ...passing, e2eP50Ms: 400, baselineE2eP50Ms: 250 }).find((v) => v.budget.startsWith('e2e'));
    expect(ratio).toMatchObject({ value: 1.6, pass: false });
  });

  it('the scaling budget compares the plain pipeline to the secure one at concurrency 8', () => {
    expect(judge({ ...passing, throughputRatioAt8: 2.7 }).find((v) => v.budget.includes('concurrency 8'))).toMatchObject({ value: 2.7, pass: false });
  });

  it('a ledger append that reads more at the longer chain fails even when it is fast', () => {
    const verdicts = judge({ ...passing, ledgerAppendLong: { p50Ms: 5, requests: 2, itemsRead: 5000 } });
    expect(verdicts.find((v) => v.budget.startsWith('ledgerAppend'))?.pass).toBe(false);
  });

  it('the ledger budgets: at most one ledger call per hop, a 5x gain over one shared chain, a signed head within 5 s', () => {
    const verdicts = judge({ ...passing, ledgerCallsPerHop: 2.7, ledgerSingleChainAppendPerSec: 200, ledgerUnvouchedP99Ms: 5001 });
    expect(verdicts.find((v) => v.budget === 'ledgerCallsPerHop')).toMatchObject({ value: 2.7, pass: false });
    expect(verdicts.find((v) => v.budget === 'ledgerSingleChainAppendPerSec / ledgerAppendPerSec')).toMatchObject({ value: 0.4, pass: false });
    expect(verdicts.find((v) => v.budget === 'ledgerUnvouchedP99Ms')?.pass).toBe(false);
  });

  it('what was not measured is neither a pass nor a fail', () => {
    const verdicts = judge({ ...passing, bundleBytes: null, coldInitMs: null });
    expect(verdicts.find((v) => v.budget === 'bundleBytes')?.pass).toBeNull();
    expect(overall(verdicts)).toBeNull();
  });
});

describe('bundles from the synthesized template', () => {
  it('finds each Lambda function, its asset directory and its NODE_OPTIONS', () => {
    const template = {
      Resources: {
        ApiHandlerFunction426EBE6D: {
          Type: 'AWS::Lambda::Function',
          Metadata: { 'aws:asset:path': 'asset.abc' },
          Properties: { Environment: { Variables: { NODE_OPTIONS: '--enable-source-maps' } } },
        },
        Role: { Type: 'AWS::IAM::Role' },
        Upload: { Type: 'AWS::Lambda::Function', Metadata: { 'aws:asset:path': 'asset.py' }, Properties: { Runtime: 'python3.13' } },
      },
    };
    expect(lambdaAssets(template)).toEqual([{ logicalId: 'ApiHandlerFunction426EBE6D', asset: 'asset.abc', nodeOptions: '--enable-source-maps' }]);
    expect(functionName('AgentanalystHandlerFunction9D39B033')).toBe('Agentanalyst');
  });
});

/** One standard command's SDK calls, as `commandCost` tallies them. */
const SDK_CALLS = {
  'dynamodb:PutItem:ledger': { calls: 10, failed: 0, ms: 0 },
  'dynamodb:UpdateItem:commands': { calls: 4, failed: 0, ms: 0 },
  'dynamodb:TransactWriteItems:approvals': { calls: 1, failed: 0, ms: 0 },
  'dynamodb:GetItem:commands': { calls: 3, failed: 0, ms: 0 },
  'kms:GenerateDataKey': { calls: 6, failed: 0, ms: 0 },
  'kms:Decrypt': { calls: 6, failed: 0, ms: 0 },
  'kms:Sign': { calls: 1, failed: 0, ms: 0 },
  'sqs:SendMessage': { calls: 5, failed: 0, ms: 0 },
};

describe('AWS calls by service', () => {
  it('adds up the calls of each service and all of them', () => {
    expect(callsByService(SDK_CALLS)).toEqual({ dynamodb: 18, kms: 13, sqs: 5, total: 36 });
  });
});

describe('the report', () => {
  const result: BenchResult = {
    startedAt: '2030-01-01T00:00:00.000Z',
    durationS: 1,
    machine: { node: 'v20', cpus: 2, loadAverageStart: [1, 1, 1], loadAverageEnd: [1, 1, 1] },
    hopOverheadUs: 250,
    hopOverheadDirectiveUs: Number.NaN,
    kmsCallsPerHop: 2,
    e2eP50Ms: 300,
    e2eP99Ms: 400,
    baselineE2eP50Ms: 250,
    baselineE2eP99Ms: 300,
    e2eRatio: 1.2,
    throughputCommandsPerSec: 3,
    throughputConcurrency: 4,
    baselineThroughputCommandsPerSec: 4,
    bundleBytes: { Api: 1_000_000 },
    coldInitMs: { Api: 120 },
    ledgerAppendPerSec: 500,
    ledgerAppendWriters: 8,
    ledgerSingleChainAppendPerSec: 60,
    ledgerSealedPerSec: 150,
    emulatorPutsPerSec: 320,
    ledgerAppendP50Ms: { '100': 5, '50000': 6 },
    ledgerCallsPerHop: 1,
    scaling: [{ concurrency: 8, secureCommandsPerSec: 2, baselineCommandsPerSec: 4, throughputRatio: 2 }],
    throughputRatioAt8: 2,
    awsCallsPerCommand: { secure: { kms: 12, dynamodb: 38.8, sqs: 5, total: 55.8 }, baseline: { dynamodb: 12, sqs: 5, total: 17 } },
    costPer1000CommandsUsd: 0.05,
    baselineCostPer1000CommandsUsd: 0.01,
    ledgerWriterCallsPerHop: 1.17,
    ledgerSealedLogCallsPerHop: 1.4,
    ledgerUnvouchedP50Ms: 600,
    ledgerUnvouchedP99Ms: 1800,
    ledgerVerifyPerSec: 40_000,
    ledgerTreePerSec: 50_000,
    ledgerProofVerifyUs: 90,
    ledgerProofBytesAt1e6: 640,
    budgets: judge(passing),
    pass: true,
    errors: {},
    details: {},
  };

  it('--json is one line of JSON with every metric, budget and verdict', () => {
    const line = jsonLine(result);
    expect(line).not.toContain('\n');
    const parsed = JSON.parse(line);
    expect(parsed).toMatchObject({ kmsCallsPerHop: 2, hopOverheadDirectiveUs: null, pass: true, bundleBytes: { Api: 1_000_000 } });
    expect(parsed.budgets.length).toBeGreaterThan(5);
  });

  it('the table shows each budget with its verdict', () => {
    const table = formatTable(result);
    expect(table).toMatch(/kmsCallsPerHop\s+2\s+≤ 2\s+PASS/);
    expect(table).toMatch(/ledgerUnvouchedP99Ms\s+1,800 ms\s+≤ 5000 ms\s+PASS/);
    expect(table).toContain('overall: PASS');
  });

  it('the table shows the AWS calls per command by service for both pipelines', () => {
    const table = formatTable(result);
    expect(table).toMatch(/awsCallsPerCommand \(KMS \/ DynamoDB \/ SQS: all\)\s+12 \/ 38.8 \/ 5: 55.8/);
    expect(table).toMatch(/ {2}baseline\s+0 \/ 12 \/ 5: 17/);
  });
});

describe('the cost model', () => {
  it('prices each call at its published unit price, per 1,000 commands, with the arithmetic kept', () => {
    const cost = costOf(SDK_CALLS, { hops: 6, msPerHop: 100, apiRequests: 2 });
    const line = (item: string) => cost.lines.find((l) => l.item.startsWith(item))!;
    expect(line('DynamoDB writes').perCommand).toBe(10 + 4 + 4);
    expect(line('DynamoDB writes').per1000).toBeCloseTo(18 * 1000 * PRICES.dynamodbWrite, 12);
    expect(line('DynamoDB reads').perCommand).toBe(3);
    expect(line('KMS symmetric').perCommand).toBe(12);
    expect(line('KMS asymmetric').per1000).toBeCloseTo(1000 * PRICES.kmsAsymmetric, 12);
    expect(line('SQS').perCommand).toBe(15);
    expect(line('Lambda compute').perCommand).toBeCloseTo(6 * 0.1 * 0.5, 12);
    expect(cost.per1000).toBeCloseTo(cost.lines.reduce((s, l) => s + l.perCommand * 1000 * l.unitPrice, 0), 12);
  });
});

describe('the scaling plot', () => {
  it('draws both pipelines at every concurrency level as a PNG', () => {
    const at = (concurrency: number, perSec: number) => ({ concurrency, commands: 2, completed: 2, elapsedMs: 1, commandsPerSec: perSec, latency: { n: 2, p50: 1, p90: 1, p99: 1, mean: 1, min: 1, max: 1 } });
    const points = [1, 4, 8, 16].map((c) => ({ concurrency: c, secure: at(c, c / 2), baseline: at(c, c) }));
    const svg = scalingChartSvg(points as never, 'test');
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg.match(/<circle/g)).toHaveLength(8);
    const png = svgToPng(svg);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(scalingRows(points as never).map((r) => r.throughputRatio)).toEqual([2, 2, 2, 2]);
  });
});
