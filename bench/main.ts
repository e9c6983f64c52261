import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { awsClientConfig, createAwsClients } from '../functions/platform/aws-clients';
import { loadTopology } from '../functions/kernel/topology/topology';
import { atomicConditionalWrites } from '../localstack/atomic-conditional-writes';
import { ApiClient } from '../cli/api-client';
import { login } from '../localstack/cognito';
import { LocalCloud, startLocalCloud } from '../localstack/local-cloud';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { LedgerReader } from '../functions/kernel/ledger/ledger';
import { PlainCloud, startPlainCloud } from './baseline/plain-cloud';
import { judge, overall } from './budgets';
import { BundleMeasurement, measureBundles, synthesize } from './bundles';
import { CommandCost, Throughput, callsByService, commandCost, measureLatency, measureThroughput } from './end-to-end';
import { HopOverheadResult, measureHopOverhead } from './hop-overhead';
import {
  AppendThroughput,
  LengthIndependence,
  PendingThroughput,
  TreeRate,
  UnvouchedWindow,
  VerifyRate,
  measureAppendThroughput,
  measurePendingLength,
  measurePendingThroughput,
  measureTree,
  measureVerify,
  unvouchedWindow,
} from './ledger-bench';
import { BenchResult, formatTable, jsonLine } from './report';
import { SdkMeter } from './sdk-meter';
import { CostModel, costOf } from './cost-model';
import { SCALING_LEVELS, ScalingPoint, commandsAt, scalingChartSvg, scalingRows, svgToPng } from './scaling';
import { round } from './stats';

/**
 * `npm run bench [-- --json] [--strict] [--quick] [--skip-bundles]`: the kernel's cost, in one run on this
 * machine, against the performance budgets. Progress goes to stderr; the table to stdout, or with `--json` one
 * JSON object on the last line of stdout. `--strict` exits 1 unless every budget passed; `--quick` is a smoke
 * run. It stops itself before ten minutes, reporting what it measured.
 */

const PROJECT_ROOT = path.resolve(__dirname, '..');
const TIME_LIMIT_MS = 9.5 * 60_000;
const THROUGHPUT_CONCURRENCY = 4;
const LEDGER_WRITERS = 8;

/** Sample sizes; `--quick` is a smoke run of the same phases. */
const SIZES = {
  full: { scalingPerUser: 2, hops: 2000, verify: 100_000, e2e: 30, warmup: 2, throughput: 24, appendsPerWriter: 25, pendingPerWriter: 100, longLog: 50_000, lengthSamples: 30, coldLoads: 5 },
  quick: { scalingPerUser: 1, hops: 200, verify: 10_000, e2e: 3, warmup: 1, throughput: 8, appendsPerWriter: 3, pendingPerWriter: 5, longLog: 2000, lengthSamples: 3, coldLoads: 2 },
};

interface Measured {
  hops?: HopOverheadResult;
  verify?: VerifyRate;
  tree?: TreeRate;
  bundles?: BundleMeasurement[];
  secure?: CommandCost;
  baseline?: CommandCost;
  throughput?: Throughput;
  baselineThroughput?: Throughput;
  appends?: AppendThroughput;
  pending?: PendingThroughput;
  length?: LengthIndependence;
  unvouched?: UnvouchedWindow;
  scaling?: ScalingPoint[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { json: { type: 'boolean' }, strict: { type: 'boolean' }, quick: { type: 'boolean' }, 'skip-bundles': { type: 'boolean' }, plot: { type: 'string' } },
  });
  const sizes = values.quick ? SIZES.quick : SIZES.full;
  const begin = Date.now();
  const startedAt = new Date().toISOString();
  const loadAverageStart = loadavg();
  const progress = (line: string) => process.stderr.write(`[bench ${((Date.now() - begin) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
  const topology = loadTopology();
  const measured: Measured = {};
  const errors: Record<string, string> = {};
  const handlerFailures: string[] = [];
  let clouds: { cloud?: LocalCloud; plain?: PlainCloud } = {};

  const finish = (): BenchResult => result(measured, errors, handlerFailures, { startedAt, begin, loadAverageStart });
  const output = (r: BenchResult) => {
    if (values.json) {
      process.stderr.write(`${formatTable(r)}\n`);
      process.stdout.write(`${jsonLine(r)}\n`);
    } else {
      process.stdout.write(`${formatTable(r)}\n`);
    }
  };
  const watchdog = setTimeout(() => {
    errors.timeLimit = `stopped after ${TIME_LIMIT_MS / 60_000} minutes; later phases not measured`;
    progress('time limit reached: reporting what was measured');
    output(finish());
    // The emulator this process started is stopped by its exit handler.
    process.exit(1);
  }, TIME_LIMIT_MS);
  watchdog.unref();

  const phase = async (name: string, run: () => Promise<void>) => {
    progress(`${name}…`);
    try {
      await run();
    } catch (err) {
      errors[name] = (err as Error).message.split('\n')[0];
      progress(`${name} failed: ${errors[name]}`);
    }
  };

  await phase('hop overhead', async () => {
    measured.hops = await measureHopOverhead({ topology, iterations: sizes.hops });
    progress(`  p50 ${measured.hops.plain.p50.toFixed(0)} µs per hop (seal ${measured.hops.parts.seal.toFixed(0)}, open ${measured.hops.parts.open.toFixed(0)}, ledger ${measured.hops.parts.ledger.toFixed(0)}, checks ${measured.hops.parts.checks.toFixed(0)})`);
  });
  await phase('ledger verify', async () => {
    measured.verify = measureVerify(sizes.verify);
    progress(`  ${sizes.verify} entries in ${measured.verify.ms.toFixed(0)} ms`);
  });
  await phase('ledger tree', async () => {
    measured.tree = measureTree(sizes.verify);
    progress(`  root over ${sizes.verify} entries in ${measured.tree.rootMs.toFixed(0)} ms; an inclusion proof (${measured.tree.proofHashes} hashes) checks in ${measured.tree.proofVerifyUs.toFixed(1)} µs`);
  });
  if (!values['skip-bundles']) {
    await phase('bundles', async () => {
      progress('  cdk synth into a temporary directory');
      const out = await synthesize(PROJECT_ROOT, 240_000);
      try {
        measured.bundles = await measureBundles(out, sizes.coldLoads, progress);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  }

  const meter = new SdkMeter();
  meter.install();
  await phase('local cloud', async () => {
    const id = randomUUID().slice(0, 6);
    const quiet = { error: (...a: unknown[]) => void handlerFailures.push(a.map(String).join(' ').slice(0, 300)), warn: () => undefined };
    clouds.cloud = await startLocalCloud({ prefix: `bench-${id}`, stateFile: false, logger: quiet, log: (l) => progress(`  ${l}`) });
    const { state } = clouds.cloud;
    clouds.plain = await startPlainCloud({ endpoint: state.endpoint, topology, modelUrl: state.modelUrl, prefix: `plain-${id}`, logger: quiet });
    progress(`  baseline: plain agents and API on ${clouds.plain.apiUrl}`);
  });

  if (clouds.cloud && clouds.plain) {
    const { state } = clouds.cloud;
    const alice = state.users.find((u) => u.username === 'alice')!;
    const secure = new ApiClient(state.apiUrl, (await login({ endpoint: state.endpoint, userPoolClientId: state.userPoolClientId, username: alice.username, password: alice.password })).token);
    const plain = new ApiClient(clouds.plain.apiUrl, 'unused');

    await phase('end to end', async () => {
      const runs = await measureLatency([{ name: 'secure', client: secure }, { name: 'baseline', client: plain }], { samples: sizes.e2e, warmup: sizes.warmup, pollMs: 500, meter, progress });
      measured.secure = commandCost(runs.secure, meter.of('secure'));
      // The secure cloud's sequencer and signer keep sealing and signing while a baseline command runs: only the
      // plain pipeline's own calls (its tables and queues) are the baseline's.
      const secureTables = new Set<string>(Object.values(state.tables));
      measured.baseline = commandCost(runs.baseline, meter.of('baseline').filter((c) => c.service !== 'kms' && !secureTables.has(c.table ?? '')));
      progress(`  p50 ${measured.secure.latency.p50.toFixed(0)} ms secure, ${measured.baseline.latency.p50.toFixed(0)} ms baseline; ${measured.secure.kms.total.toFixed(1)} KMS calls over ${measured.secure.hopsPerCommand.toFixed(1)} hops`);
    });
    await phase('throughput', async () => {
      meter.phase = 'throughput';
      const completion = (id: string) => meter.completion(id);
      measured.throughput = await measureThroughput(secure, { concurrency: THROUGHPUT_CONCURRENCY, total: sizes.throughput, pollMs: 500, completion });
      meter.phase = 'baseline-throughput';
      measured.baselineThroughput = await measureThroughput(plain, { concurrency: THROUGHPUT_CONCURRENCY, total: sizes.throughput, pollMs: 500, completion });
      meter.phase = 'idle';
      progress(`  ${measured.throughput.commandsPerSec.toFixed(2)} commands/s secure, ${measured.baselineThroughput.commandsPerSec.toFixed(2)} baseline, at concurrency ${THROUGHPUT_CONCURRENCY}`);
    });
    await phase('ledger window', async () => {
      // Every entry the end-to-end and throughput commands appended, and the signed heads the sequencer made over them;
      // measured before the scaling runs, which load the machine past what the system sustains.
      await clouds.cloud!.ledgerSettled();
      const entries = await new LedgerReader({ doc: createAwsClients(awsClientConfig({ endpoint: state.endpoint })).doc, tableName: state.tables.ledger }).readAll();
      measured.unvouched = unvouchedWindow(entries);
      const w = measured.unvouched;
      progress(`  ${w.vouched} of ${w.entries} appended entries under a signed head; unvouched p50 ${w.ms.p50.toFixed(0)} ms, p99 ${w.ms.p99.toFixed(0)} ms`);
    });
    await phase('scaling', async () => {
      const completion = (id: string) => meter.completion(id);
      const points: ScalingPoint[] = [];
      for (const concurrency of SCALING_LEVELS) {
        const total = commandsAt(concurrency, sizes.scalingPerUser);
        meter.phase = 'scaling';
        const secureAt = await measureThroughput(secure, { concurrency, total, pollMs: 500, completion });
        meter.phase = 'baseline-scaling';
        const baselineAt = await measureThroughput(plain, { concurrency, total, pollMs: 500, completion });
        meter.phase = 'idle';
        points.push({ concurrency, secure: secureAt, baseline: baselineAt });
        progress(`  concurrency ${concurrency}: ${secureAt.commandsPerSec.toFixed(2)} commands/s secure (p50 ${secureAt.latency.p50.toFixed(0)} ms), ${baselineAt.commandsPerSec.toFixed(2)} baseline (p50 ${baselineAt.latency.p50.toFixed(0)} ms)`);
      }
      measured.scaling = points;
      const file = path.resolve(values.plot ?? path.join(PROJECT_ROOT, 'reports', 'bench-scaling.png'));
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, svgToPng(scalingChartSvg(points, `Throughput by concurrency (${new Date().toISOString().slice(0, 10)}, ${cpus().length} CPUs, moto)`)));
      progress(`  plot: ${path.relative(process.cwd(), file)}`);
    });
    await phase('ledger append', async () => {
      const id = randomUUID().slice(0, 6);
      const config = awsClientConfig({ endpoint: state.endpoint });
      // The one-chain writer needs serialized puts (see ledger-bench.ts); pending writers never share a key.
      const serialized = atomicConditionalWrites(createAwsClients(config).doc);
      measured.appends = await measureAppendThroughput(serialized, clouds.plain!.ledgerTable, LEDGER_WRITERS, sizes.appendsPerWriter);
      progress(`  one shared chain: ${measured.appends.appendsPerSec.toFixed(0)} appends/s with ${LEDGER_WRITERS} writers; chain intact: ${measured.appends.chainIntact}`);
      serialized.destroy();
      const { doc, dynamo } = createAwsClients(config);
      const streams = new DynamoDBStreamsClient(config);
      measured.pending = await measurePendingThroughput(doc, dynamo, streams, `bench-${id}-pending`, LEDGER_WRITERS, sizes.pendingPerWriter);
      const p = measured.pending;
      progress(`  pending: ${p.appendsPerSec.toFixed(0)} appends/s with ${LEDGER_WRITERS} writers (the emulator's ceiling for plain puts: ${p.emulatorPutsPerSec.toFixed(0)}/s); sealed at ${p.sealedPerSec.toFixed(0)}/s; log intact: ${p.chainIntact}`);
      measured.length = await measurePendingLength(doc, dynamo, { short: `bench-${id}-len-short`, long: `bench-${id}-len-long` }, meter, { short: 100, long: sizes.longLog, samples: sizes.lengthSamples });
      const { short, long } = measured.length;
      progress(`  pending append p50 with ${short.length} / ${long.length} sealed entries: ${short.warm.p50.toFixed(1)} / ${long.warm.p50.toFixed(1)} ms (${short.requestsPerAppend} / ${long.requestsPerAppend} requests)`);
      streams.destroy();
      doc.destroy();
    });
  }

  progress('stopping');
  await clouds.plain?.stop();
  await clouds.cloud?.stop();
  clouds = {};
  meter.remove();
  clearTimeout(watchdog);
  const r = finish();
  output(r);
  process.exitCode = values.strict && r.pass !== true ? 1 : 0;
}

function result(m: Measured, errors: Record<string, string>, handlerFailures: string[], run: { startedAt: string; begin: number; loadAverageStart: number[] }): BenchResult {
  const bundleBytes = m.bundles ? Object.fromEntries(m.bundles.map((b) => [b.name, b.bundleBytes])) : null;
  const coldInitMs = m.bundles ? Object.fromEntries(m.bundles.map((b) => [b.name, round(b.coldInitMs, 0) ?? Number.NaN])) : null;
  const e2eP50Ms = m.secure?.latency.p50 ?? null;
  const baselineE2eP50Ms = m.baseline?.latency.p50 ?? null;
  const cost = (c: NonNullable<Measured['length']>['short']) => ({ p50Ms: c.warm.p50, requests: c.requestsPerAppend, itemsRead: c.itemsReadPerAppend });
  const short = m.length ? cost(m.length.short) : null;
  const long = m.length ? cost(m.length.long) : null;
  const unvouchedP99 = m.unvouched && m.unvouched.vouched > 0 ? m.unvouched.ms.p99 : null;
  const at8 = m.scaling && scalingRows(m.scaling).find((row) => row.concurrency === 8);
  const throughputRatioAt8 = at8 && Number.isFinite(at8.throughputRatio) ? at8.throughputRatio : null;
  const budgets = judge({
    throughputRatioAt8,
    hopOverheadUs: m.hops?.plain.p50 ?? null,
    kmsCallsPerHop: m.secure?.kmsCallsPerHop ?? null,
    e2eP50Ms,
    baselineE2eP50Ms,
    bundleBytes,
    coldInitMs,
    ledgerAppendShort: short,
    ledgerAppendLong: long,
    ledgerCallsPerHop: m.secure?.ledgerCallsPerHop ?? null,
    ledgerAppendPerSec: m.pending?.appendsPerSec ?? null,
    ledgerSingleChainAppendPerSec: m.appends?.appendsPerSec ?? null,
    ledgerUnvouchedP99Ms: unvouchedP99,
  });
  const r = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? null : round(v, digits));
  return {
    startedAt: run.startedAt,
    durationS: (Date.now() - run.begin) / 1000,
    machine: { node: process.version, cpus: cpus().length, loadAverageStart: run.loadAverageStart.map((l) => round(l, 2)!), loadAverageEnd: loadavg().map((l) => round(l, 2)!) },
    hopOverheadUs: r(m.hops?.plain.p50, 0),
    hopOverheadDirectiveUs: r(m.hops?.directive.p50, 0),
    kmsCallsPerHop: r(m.secure?.kmsCallsPerHop, 2),
    e2eP50Ms: r(e2eP50Ms),
    e2eP99Ms: r(m.secure?.latency.p99),
    baselineE2eP50Ms: r(baselineE2eP50Ms),
    baselineE2eP99Ms: r(m.baseline?.latency.p99),
    e2eRatio: e2eP50Ms !== null && baselineE2eP50Ms ? round(e2eP50Ms / baselineE2eP50Ms, 2) : null,
    throughputCommandsPerSec: r(m.throughput?.commandsPerSec, 2),
    throughputConcurrency: THROUGHPUT_CONCURRENCY,
    baselineThroughputCommandsPerSec: r(m.baselineThroughput?.commandsPerSec, 2),
    bundleBytes,
    coldInitMs,
    ledgerAppendPerSec: r(m.pending?.appendsPerSec, 0),
    ledgerAppendWriters: LEDGER_WRITERS,
    ledgerSingleChainAppendPerSec: r(m.appends?.appendsPerSec, 0),
    ledgerSealedPerSec: r(m.pending?.sealedPerSec, 0),
    emulatorPutsPerSec: r(m.pending?.emulatorPutsPerSec, 0),
    ledgerAppendP50Ms: m.length ? Object.fromEntries([m.length.short, m.length.long].map((c) => [String(c.length), r(c.warm.p50)])) : null,
    ledgerCallsPerHop: r(m.secure?.ledgerCallsPerHop, 2),
    ledgerWriterCallsPerHop: r(m.secure?.ledgerWriterCallsPerHop, 2),
    ledgerSealedLogCallsPerHop: r(m.secure?.sealedLogCallsPerHop, 2),
    ledgerUnvouchedP50Ms: m.unvouched && m.unvouched.vouched > 0 ? r(m.unvouched.ms.p50, 0) : null,
    ledgerUnvouchedP99Ms: r(unvouchedP99, 0),
    ledgerVerifyPerSec: r(m.verify?.entriesPerSec, 0),
    ledgerTreePerSec: r(m.tree?.entriesPerSec, 0),
    ledgerProofVerifyUs: r(m.tree?.proofVerifyUs, 1),
    ledgerProofBytesAt1e6: m.tree?.proofBytesAt1e6 ?? null,
    scaling: m.scaling ? scalingRows(m.scaling).map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, round(v, 2)]))) : null,
    throughputRatioAt8: throughputRatioAt8 === null ? null : round(throughputRatioAt8, 2),
    awsCallsPerCommand:
      m.secure && m.baseline
        ? { secure: roundAll(callsByService(m.secure.sdk)), baseline: roundAll(callsByService(m.baseline.sdk)) }
        : null,
    costPer1000CommandsUsd: m.secure ? round(priced(m.secure).per1000, 4) : null,
    baselineCostPer1000CommandsUsd: m.baseline ? round(priced(m.baseline).per1000, 4) : null,
    budgets,
    pass: overall(budgets),
    errors,
    details: {
      method: {
        hopOverhead: 'kernel send+receive pipeline timed in-process with KMS and DynamoDB stubbed (precomputed data keys), 4 KiB body',
        kmsCallsPerHop: 'KMS calls (SDK middleware, attributed by encryption context) / (SQS messages of the command + the result handed to the API)',
        e2e: 'POST /v1/commands to the GET that returns the result, issued as soon as the completing write succeeds (seen by the SDK meter); secure and baseline alternate, one command at a time',
        baseline: 'bench/baseline: same queues/tables definitions, model server, prompts and tools; plain JSON, no KMS, signatures, ledger, idempotency or authorizer',
        ledgerAppend: `${LEDGER_WRITERS} PendingLedgerWriters, each to its own partition (one put); the one-chain figure: ${LEDGER_WRITERS} LedgerWriters on one chain, PutItems serialized (atomicConditionalWrites) because moto's conditional writes are not atomic`,
        ledgerUnvouched: 'for each sealed entry of the end-to-end and throughput commands: the first checkpoint entry whose signed head covers it, minus the writer\'s append time',
        ledgerCallsPerHop: 'DynamoDB calls on the ledger table in each command\'s window, by partition: the agents\' pending partitions; all pending partitions (every writer); the sealed log (sequencer, signer); each over hops',
        coldInit: 'require(index.js) in fresh node processes with the function\'s NODE_OPTIONS; median',
      },
      hop: m.hops,
      cost: { method: 'bench/cost-model.ts: the calls per command priced at us-east-1 on-demand prices; SQS 3 requests per message; Lambda compute from p50 / hops at 512 MB; 2 HTTP API requests', secure: m.secure && priced(m.secure), baseline: m.baseline && priced(m.baseline) },
      secure: m.secure,
      baseline: m.baseline,
      throughput: m.throughput,
      baselineThroughput: m.baselineThroughput,
      bundles: m.bundles,
      ledgerAppend: m.pending,
      ledgerSingleChain: m.appends,
      ledgerLength: m.length,
      ledgerUnvouched: m.unvouched,
      ledgerVerify: m.verify,
      ledgerTree: m.tree,
      handlerFailures: handlerFailures.slice(0, 5),
      handlerFailureCount: handlerFailures.length,
    },
  };
}

/** A command's calls priced (bench/cost-model.ts): the submit and the read of its result are the API requests. */
function priced(cost: CommandCost): CostModel {
  return costOf(cost.sdk, { hops: cost.hopsPerCommand, msPerHop: cost.latency.p50 / Math.max(cost.hopsPerCommand, 1), apiRequests: 2 });
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

function roundAll(values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, round(v, 1) ?? Number.NaN]));
}
