import { randomUUID } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DirectiveClaims, SignedDirective, argsDigest, newDirectiveNonce } from '../../../functions/kernel/directives/claims';
import { newDigestSalt } from '../../../functions/kernel/keyed-digest';
import { signDirective } from '../../../functions/kernel/directives/sign';
import { DirectiveVerifier } from '../../../functions/kernel/directives/verify';
import { isSecurityError } from '../../../functions/kernel/errors';
import { label } from '../../../functions/kernel/labels';
import { LedgerEntry } from '../../../functions/kernel/ledger/entry';
import { LedgerReader, LedgerWriter } from '../../../functions/kernel/ledger/ledger';
import { Outbox, OutboxRecord } from '../../../functions/stores/outbox';
import { SingleUseStore } from '../../../functions/kernel/messages/single-use';
import { TABLES } from '../../../functions/kernel/tables';
import { RunToolInput, ToolCall, ToolRunResult, runTool } from '../../../functions/kernel/tools/tool-runtime';
import { Topology, loadTopology } from '../../../functions/kernel/topology/topology';
import { toolRegistry } from '../../../functions/tools/registry';
import { EnvelopeCipher } from '../../../functions/kernel/messages/envelope-cipher';
import type { RecordAccess } from '../../../functions/kernel/tools/records';
import { RecordStore } from '../../../functions/stores/records';
import { hospitalRecords } from '../../../localstack/fixtures/patient-records';
import { seedRecords } from '../../../localstack/provision-records';
import { createLevelKeys, createSigningKey, createTable, documentClient, kms, unique } from '../../support/aws';

/** The real pieces the tool runtime uses, on the emulator: tables, the authority key and an impostor key. */
export class ToolRuntimeBed {
  private constructor(
    readonly topology: Topology,
    readonly kms: KMSClient,
    readonly doc: DynamoDBDocumentClient,
    readonly authorityKeyArn: string,
    readonly impostorKeyArn: string,
    readonly tables: { ledger: string; nonces: string; outbox: string },
    /** The hospital's records, sealed into a records table under fresh level keys, as provisioning seeds them. */
    readonly records: RecordAccess,
  ) {}

  static async create(topology: Topology = loadTopology()): Promise<ToolRuntimeBed> {
    const [authority, impostor, ledger, nonces, outbox, records, keyArns] = await Promise.all([
      createSigningKey(),
      createSigningKey(),
      createTable(unique('ledger'), TABLES.ledger.partitionKey, TABLES.ledger.sortKey.name),
      createTable(unique('nonces'), TABLES.nonces.partitionKey),
      createTable(unique('outbox'), TABLES.outbox.partitionKey),
      createTable(unique('records'), TABLES.records.partitionKey, TABLES.records.sortKey.name, 'S'),
      createLevelKeys(),
    ]);
    const doc = documentClient();
    await seedRecords({ kms: kms(), doc, keyArns, tableName: records, topology, records: hospitalRecords() });
    const access = { source: new RecordStore(doc, records, topology.compartments), cipher: new EnvelopeCipher({ kms: kms(), keyArns }) };
    return new ToolRuntimeBed(topology, kms(), doc, authority, impostor, { ledger, nonces, outbox }, access);
  }

  /** A fresh command served by `agent`, with its own ledger chain. */
  scenario(agent: string, principal = 'alice'): Scenario {
    return new Scenario(this, agent, principal);
  }
}

/** One command's view: run calls, sign directives for them, read back the ledger and the outbox. */
export class Scenario {
  readonly commandId = randomUUID();
  readonly messageId = randomUUID();
  /** The salt the calls of this scenario key their arguments' digest with, as an agent keeps it with its call. */
  readonly argsSalt = newDigestSalt();
  readonly ledger: LedgerWriter;
  readonly outbox: Outbox;
  readonly singleUse: SingleUseStore;
  readonly verifier: DirectiveVerifier;

  constructor(
    readonly bed: ToolRuntimeBed,
    readonly agent: string,
    readonly principal: string,
  ) {
    this.ledger = new LedgerWriter({ doc: bed.doc, tableName: bed.tables.ledger, chain: unique('chain') });
    this.outbox = new Outbox(bed.doc, bed.tables.outbox);
    this.singleUse = new SingleUseStore(bed.doc, bed.tables.nonces, 'analyst');
    this.verifier = new DirectiveVerifier({ kms: bed.kms, authorityKeyArn: bed.authorityKeyArn });
  }

  /** Claims the signer would issue for `call` on this command, with `overrides`. */
  claims(call: ToolCall, overrides: Partial<DirectiveClaims> = {}): DirectiveClaims {
    const now = Date.now();
    return {
      v: 1,
      id: randomUUID(),
      nonce: newDirectiveNonce(),
      kind: 'tool',
      issuedAt: now,
      expiresAt: now + this.bed.topology.runtime.directiveTtlSeconds * 1000,
      principal: this.principal,
      commandId: this.commandId,
      target: this.agent,
      tool: call.tool,
      argsDigest: argsDigest(call.args, this.argsSalt),
      label: label('CONFIDENTIAL'),
      ...overrides,
    };
  }

  /** A directive for `call` signed with the authority key (or `keyArn`). */
  sign(call: ToolCall, overrides: Partial<DirectiveClaims> = {}, keyArn = this.bed.authorityKeyArn): Promise<SignedDirective> {
    return signDirective(this.bed.kms, keyArn, this.claims(call, overrides));
  }

  run(call: ToolCall, options: Partial<RunToolInput> = {}): Promise<ToolRunResult> {
    return runTool({
      topology: this.bed.topology,
      agent: this.agent,
      call,
      commandId: this.commandId,
      messageId: this.messageId,
      principal: this.principal,
      argsSalt: this.argsSalt,
      verifier: this.verifier,
      singleUse: this.singleUse,
      outbox: this.outbox,
      ledger: this.ledger,
      registry: options.registry ?? toolRegistry(this.bed.topology),
      records: this.bed.records,
      ...options,
    });
  }

  /** Runs `call` and expects a refusal with `reason`; returns the refusal. */
  async refused(call: ToolCall, reason: string, options: Partial<RunToolInput> = {}): Promise<Error> {
    const err = await this.run(call, options).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!isSecurityError(err)) throw new Error(`expected a ${reason} refusal, got ${err === undefined ? 'success' : String(err)}`);
    expect(err.reason).toBe(reason);
    return err;
  }

  entries(): Promise<LedgerEntry[]> {
    return new LedgerReader({ doc: this.bed.doc, tableName: this.bed.tables.ledger, chain: this.ledger.chain }).readAll();
  }

  /** The outbox records of this command. */
  async effects(): Promise<OutboxRecord[]> {
    return (await this.outbox.list()).filter((r) => r.commandId === this.commandId);
  }
}

export const appointment: ToolCall = {
  tool: 'schedule_appointment',
  args: { patientId: 'P-1002', when: '2030-01-01T09:00:00Z', department: 'Cardiology' },
};
export const email: ToolCall = {
  tool: 'send_email',
  args: { to: 'gp@clinic.example', subject: 'Appointment', body: 'Your patient is booked for Monday.' },
};
export const prescription: ToolCall = { tool: 'prescribe', args: { patientId: 'P-1001', drug: 'Metformin', doseMg: 500 } };
