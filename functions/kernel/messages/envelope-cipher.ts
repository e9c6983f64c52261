import { createHash } from 'node:crypto';
import {
  AlgorithmSuiteIdentifier,
  CommitmentPolicy,
  KmsKeyringNode,
  KmsNodeClientSupplier,
  NodeAlgorithmSuite,
  NodeCachingMaterialsManager,
  NodeDefaultCryptographicMaterialsManager,
  NodeMaterialsManager,
  buildClient,
  getLocalCryptographicMaterialsCache,
} from '@aws-crypto/client-node';
import { DecryptCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import * as z from 'zod';
import { SecurityError } from '../errors';
import { LEVELS, Label, Level, formatLabel } from '../labels';
import type { RecentPlaintexts } from './recent-plaintexts';

/**
 * Envelope encryption of message bodies (DESIGN §3): one data key from KMS per message, under the key of the
 * message's level, with an encryption context binding sender, addressee, label, message id and command id,
 * so a ciphertext cannot be re-addressed, relabelled or spliced into another command.
 */

/**
 * AES_256_GCM_HKDF_SHA512_COMMIT_KEY: key-committing (a ciphertext decrypts under exactly one data key) but
 * without the default suite's ECDSA P-384 message signature. That signature's key is ephemeral, so it only
 * stops someone who holds the data key from forging a body; here IAM pins KMS Decrypt to
 * `kms:EncryptionContext:to` = the reader itself and GenerateDataKey to `from` = the sender itself, so only
 * sender and addressee ever hold the data key, and the signature would cost an ECDSA P-384 sign/verify per
 * message (~2 ms each on the emulator, DESIGN §3 measurements) for no protection.
 */
export const MESSAGE_SUITE = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;

/** SQS bodies are at most 256 KiB, so no honest plaintext is larger; bounds memory on hostile input. */
const MAX_BODY_BYTES = 256 * 1024;

/**
 * Every body is sealed as one frame: no honest plaintext exceeds {@link MAX_BODY_BYTES}, and one frame is one
 * AES-GCM pass, where the SDK's default (4 KiB) splits a 4 KiB body and its salt in two, each with its own IV, tag
 * and stream chunk. The frame length is in the header, so bodies sealed with other frame lengths still open.
 */
export const FRAME_LENGTH = MAX_BODY_BYTES;

const { encrypt, decrypt } = buildClient({
  commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
  // Every message has exactly one data key, wrapped by the key of its level.
  maxEncryptedDataKeys: 1,
});

/** Who and what a ciphertext is for; every field is bound into the encryption context. */
export interface MessageAddress {
  readonly from: string;
  readonly to: string;
  readonly label: Label;
  readonly messageId: string;
  readonly commandId: string;
}

export interface EnvelopeCipherProps {
  /** KMS client; every data key is generated or unwrapped through it, one call per message. */
  readonly kms: KMSClient;
  /** The KMS key of each level (DESIGN §3: one symmetric key per level). */
  readonly keyArns: Readonly<Record<Level, string>>;
  /**
   * Remembers what this function sealed for itself and what it opened, so reopening the same ciphertext under
   * the same context skips KMS. @default none: every open asks KMS
   */
  readonly recent?: RecentPlaintexts;
}

/**
 * The context key of a compartment: each compartment of a label travels as a key of its own, so IAM can deny
 * `kms:Decrypt` to a role not cleared for it whenever that key is present (a `Null` condition on
 * `kms:EncryptionContext:compartment-<NAME>`, DESIGN §3). Compartment names are upper-case letters, digits and `_`.
 */
export function compartmentContextKey(compartment: string): string {
  return `compartment-${compartment}`;
}

/** One context key per compartment of `label`, its value the compartment's name. */
function compartmentKeysOf(label: Label): Record<string, string> {
  return Object.fromEntries(label.compartments.map((c) => [compartmentContextKey(c), c]));
}

/** The encryption context of a message: exactly these five keys, and one per compartment of its label. */
export function encryptionContextOf(address: MessageAddress): Record<string, string> {
  return {
    from: address.from,
    to: address.to,
    label: formatLabel(address.label),
    messageId: address.messageId,
    commandId: address.commandId,
    ...compartmentKeysOf(address.label),
  };
}

/** Where a function's own state is sealed: its owner (sender and reader at once), its label and its command. */
export interface StateAddress {
  readonly owner: string;
  readonly label: Label;
  readonly commandId: string;
}

/** How long and how often one data key may seal state (DESIGN §3: data-key caching within safe limits). */
export const STATE_KEY_REUSE = { maxAgeMs: 60_000, maxMessages: 100 } as const;

/** The encryption context of sealed state (and one key per compartment): no message or command id, so that its data key may be reused. */
export function stateContextOf(address: StateAddress): Record<string, string> {
  return { from: address.owner, to: address.owner, label: formatLabel(address.label), purpose: 'state', ...compartmentKeysOf(address.label) };
}

/**
 * The sealer of classified records (`from` in their encryption context): the record seeder, locally the provisioning
 * code, on AWS the operator's seeding role. The `:` keeps it outside the grammar of agent names, so no agent's
 * GenerateDataKey grant (`from` = its own name) can ever seal a record.
 */
export const RECORD_SEALER = 'records:seeder';

/** A classified record at rest (DESIGN §3): its id, its label and the agent it is sealed for, all bound into its context. */
export interface RecordAddress {
  readonly recordId: string;
  readonly label: Label;
  /** The agent that may open this copy (`to`): the seeder seals a record once for each agent cleared to read it. */
  readonly reader: string;
}

/**
 * The encryption context of a record: from {@link RECORD_SEALER} to its reader, `purpose` = `record`, its label and id,
 * and one key per compartment. IAM lets only the addressee decrypt (`to`), at levels its clearance dominates, and
 * denies it every compartment it lacks (DESIGN §3), as for a message.
 */
export function recordContextOf(address: RecordAddress): Record<string, string> {
  return {
    from: RECORD_SEALER,
    to: address.reader,
    label: formatLabel(address.label),
    purpose: 'record',
    recordId: address.recordId,
    ...compartmentKeysOf(address.label),
  };
}

const stateBodySchema = z.object({ commandId: z.string(), body: z.string() }).strict();

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** How long a second open of the same message waits for the first one rather than asking KMS itself. */
const JOIN_OPEN_MS = 5_000;

/** KMS errors that mean "this ciphertext is not what it claims"; anything else is an infrastructure fault. */
const INTEGRITY_ERRORS = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

/** The bytes of canonical, padded base64 (what `Buffer#toString('base64')` writes), or undefined for anything else. */
function base64Bytes(text: unknown): Buffer | undefined {
  if (typeof text !== 'string') return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

/**
 * Seals and opens message bodies.
 *
 * @example
 * const cipher = new EnvelopeCipher({ kms, keyArns });
 * const ciphertext = await cipher.seal({ from: 'core', to: 'analyst', label, messageId, commandId, plaintext });
 * const body = await cipher.open({ from: 'core', to: 'analyst', label, messageId, commandId, ciphertext });
 */
export class EnvelopeCipher {
  private readonly kms: KMSClient;
  private readonly keyArns: Readonly<Record<Level, string>>;
  private readonly recent?: RecentPlaintexts;
  private readonly stateCache = getLocalCryptographicMaterialsCache<NodeAlgorithmSuite>(LEVELS.length * 2);
  private readonly stateManagers = new Map<Level, NodeCachingMaterialsManager>();
  /** One generator keyring per level: it holds only the key's ARN and the client. */
  private readonly generators = new Map<Level, KmsKeyringNode>();
  /**
   * Opens in progress, by level, context and the ciphertext's digest: a second open of the same bytes under the same
   * context (the receive pipeline after {@link EnvelopeCipher.prefetch}) waits for the first instead of asking KMS
   * again, unless the first has run for {@link JOIN_OPEN_MS} (a call frozen with its invocation is not waited on).
   */
  private readonly opening = new Map<string, { readonly since: number; readonly plaintext: Promise<Buffer> }>();

  constructor(props: EnvelopeCipherProps) {
    for (const level of LEVELS) {
      if (typeof props.keyArns[level] !== 'string' || props.keyArns[level].length === 0) {
        throw new Error(`EnvelopeCipher: no key for level ${level}`);
      }
    }
    this.kms = props.kms;
    this.keyArns = Object.freeze({ ...props.keyArns });
    this.recent = props.recent;
  }

  /** Encrypts `plaintext` under the key of `label.level` with the message's encryption context (one KMS call). */
  async seal(input: MessageAddress & { readonly plaintext: Uint8Array | string }): Promise<string> {
    const context = encryptionContextOf(input);
    const { result } = await encrypt(this.generator(input.label.level), input.plaintext, {
      encryptionContext: context,
      suiteId: MESSAGE_SUITE,
      frameLength: FRAME_LENGTH,
    });
    const ciphertext = result.toString('base64');
    // Only a value sealed for this function itself is read back by it; what it sends to others is not kept.
    if (input.from === input.to) this.recent?.remember(ciphertext, context, Buffer.from(input.plaintext));
    return ciphertext;
  }

  /**
   * Decrypts a body for its addressee (one KMS call). Only the key of the claimed label's level may unwrap
   * it, so a ciphertext made under another level's key fails (TAMPERED); a context that differs in any key
   * fails before KMS is asked (CONTEXT_MISMATCH); any integrity failure is TAMPERED.
   */
  open(input: MessageAddress & { readonly ciphertext: string }): Promise<Buffer> {
    return this.openUnder(input.ciphertext, encryptionContextOf(input), input.label.level, `message ${input.messageId}`);
  }

  /**
   * Seals state this function keeps for itself at rest (core's plan, a redacted task awaiting approval), bound
   * to its command. Its encryption context is {from, to: the owner, label, purpose: 'state'}, the same for every
   * command at a label, so the Encryption SDK's caching materials manager may reuse one data key for up to
   * STATE_KEY_REUSE.maxMessages seals within STATE_KEY_REUSE.maxAgeMs, in this function's memory only; the
   * command id is sealed inside, and {@link openState} refuses the state of another command.
   */
  async sealState(input: StateAddress & { readonly plaintext: Uint8Array | string }): Promise<string> {
    const context = stateContextOf(input);
    const body = Buffer.from(JSON.stringify({ commandId: input.commandId, body: Buffer.from(input.plaintext).toString('base64') }), 'utf8');
    const { result } = await encrypt(this.stateMaterials(input.label.level), body, {
      encryptionContext: context,
      suiteId: MESSAGE_SUITE,
      frameLength: FRAME_LENGTH,
      plaintextLength: body.length,
    });
    const ciphertext = result.toString('base64');
    this.recent?.remember(ciphertext, context, body);
    return ciphertext;
  }

  /** Opens what {@link sealState} sealed for this owner, label and command; another command's state is CONTEXT_MISMATCH. */
  async openState(input: StateAddress & { readonly ciphertext: string }): Promise<Buffer> {
    const sealed = await this.openUnder(input.ciphertext, stateContextOf(input), input.label.level, `state of command ${input.commandId}`);
    const parsed = stateBodySchema.safeParse(parseJson(sealed.toString('utf8')));
    if (!parsed.success) throw new SecurityError('TAMPERED', `state of command ${input.commandId} is not sealed state`);
    if (parsed.data.commandId !== input.commandId) {
      throw new SecurityError('CONTEXT_MISMATCH', `state sealed for command ${parsed.data.commandId} opened for ${input.commandId}`);
    }
    return Buffer.from(parsed.data.body, 'base64');
  }

  /**
   * Seals a classified record for one reader under the key of its label's level, with its id, label and reader in the
   * encryption context (one data key per copy, one KMS call). Only the record seeder's role may create such data keys
   * on AWS.
   */
  async sealRecord(input: RecordAddress & { readonly plaintext: Uint8Array | string }): Promise<string> {
    const { result } = await encrypt(this.generator(input.label.level), input.plaintext, {
      encryptionContext: recordContextOf(input),
      suiteId: MESSAGE_SUITE,
      frameLength: FRAME_LENGTH,
    });
    return result.toString('base64');
  }

  /**
   * Opens a record sealed by {@link sealRecord} as this id, label and reader (one KMS call); a record moved to another
   * id or reader, or relabelled, is CONTEXT_MISMATCH before KMS is asked, and KMS refuses a caller IAM does not let open
   * it (NOT_AUTHORIZED): another addressee, a level its clearance does not dominate, a compartment it lacks.
   */
  openRecord(input: RecordAddress & { readonly ciphertext: string }): Promise<Buffer> {
    return this.openUnder(input.ciphertext, recordContextOf(input), input.label.level, `record ${input.recordId}`);
  }

  /**
   * Starts opening a message ahead of the receive pipeline, so its KMS call overlaps other work (the delivery's
   * idempotency record). Nothing is returned and nothing is thrown: the pipeline opens the message again in its own
   * order and gets this open's outcome (from {@link RecentPlaintexts} when it succeeded), or asks KMS once more.
   */
  prefetch(input: MessageAddress & { readonly ciphertext: string }): void {
    try {
      this.open(input).catch(() => undefined);
    } catch {
      // Whatever fails here fails again, in order, in the receive pipeline.
    }
  }

  /** Decrypts `ciphertext` under the key of `level`, refusing any context but `expected`. */
  private openUnder(ciphertext: string, expected: Readonly<Record<string, string>>, level: Level, what: string): Promise<Buffer> {
    const bytes = base64Bytes(ciphertext);
    if (!bytes) return Promise.reject(new SecurityError('TAMPERED', 'ciphertext is not base64'));
    const recalled = this.recent?.recall(ciphertext, expected);
    if (recalled) return Promise.resolve(recalled);
    const key = `${level}\n${JSON.stringify(expected)}\n${createHash('sha256').update(bytes).digest('base64')}`;
    const inProgress = this.opening.get(key);
    if (inProgress && Date.now() - inProgress.since < JOIN_OPEN_MS) return inProgress.plaintext.then((plaintext) => Buffer.from(plaintext));
    const opened = this.decryptUnder(ciphertext, bytes, expected, level, what).finally(() => {
      if (this.opening.get(key)?.plaintext === opened) this.opening.delete(key);
    });
    this.opening.set(key, { since: Date.now(), plaintext: opened });
    return opened.then((plaintext) => Buffer.from(plaintext));
  }

  private async decryptUnder(ciphertext: string, bytes: Buffer, expected: Readonly<Record<string, string>>, level: Level, what: string): Promise<Buffer> {
    const faults: unknown[] = [];
    const keyring = new KmsKeyringNode({
      keyIds: [this.keyArn(level)],
      clientProvider: kmsAdapter(this.kms, faults),
    });
    let output;
    try {
      output = await decrypt(new ExpectedContextMaterialsManager(keyring, expected), bytes, {
        maxBodySize: MAX_BODY_BYTES,
      });
    } catch (err) {
      if (err instanceof SecurityError) throw err;
      const fault = faults[0] as { name?: string } | undefined;
      // IAM refusing this reader the key is a permanent denial, not a fault worth retrying.
      if (fault?.name === 'AccessDeniedException') {
        throw new SecurityError('NOT_AUTHORIZED', `KMS refused to unwrap ${what}`, { cause: fault });
      }
      // A throttled or unreachable KMS is not evidence of tampering: surface it so the message is retried.
      if (fault) throw fault;
      throw new SecurityError('TAMPERED', `${what} does not authenticate`, { cause: err });
    }
    if (output.messageHeader.suiteId !== MESSAGE_SUITE) {
      throw new SecurityError('TAMPERED', `${what} uses algorithm suite ${output.messageHeader.suiteId}`);
    }
    assertContext(output.messageHeader.encryptionContext, expected);
    this.recent?.remember(ciphertext, expected, output.plaintext);
    return output.plaintext;
  }

  /** The generator keyring of a level, made on first use. */
  private generator(level: Level): KmsKeyringNode {
    const arn = this.keyArn(level);
    let keyring = this.generators.get(level);
    if (!keyring) {
      keyring = new KmsKeyringNode({ generatorKeyId: arn, clientProvider: kmsAdapter(this.kms) });
      this.generators.set(level, keyring);
    }
    return keyring;
  }

  /** One caching materials manager per level, made on first use. */
  private stateMaterials(level: Level): NodeCachingMaterialsManager {
    const known = this.stateManagers.get(level);
    if (known) return known;
    const manager = new NodeCachingMaterialsManager({
      backingMaterials: new KmsKeyringNode({ generatorKeyId: this.keyArn(level), clientProvider: kmsAdapter(this.kms) }),
      cache: this.stateCache,
      partition: `state:${level}`,
      maxAge: STATE_KEY_REUSE.maxAgeMs,
      maxMessagesEncrypted: STATE_KEY_REUSE.maxMessages,
    });
    this.stateManagers.set(level, manager);
    return manager;
  }

  private keyArn(level: Level): string {
    const arn = (this.keyArns as Record<string, string | undefined>)[level];
    // Fail closed: a label whose level has no key is never encrypted under some other key.
    if (!arn) throw new SecurityError('SCHEMA', `no key for level ${JSON.stringify(level)}`);
    return arn;
  }
}

/** The header's context, without the SDK's reserved `aws-crypto-*` keys, must equal the expected one exactly. */
function assertContext(actual: Readonly<Record<string, string>>, expected: Readonly<Record<string, string>>): void {
  const own = Object.entries(actual).filter(([k]) => !k.startsWith('aws-crypto-'));
  const differs =
    own.length !== Object.keys(expected).length || own.some(([k, v]) => !Object.hasOwn(expected, k) || expected[k] !== v);
  if (differs) {
    const names = [...new Set([...own.map(([k]) => k), ...Object.keys(expected)])]
      .filter((k) => actual[k] !== expected[k])
      .sort();
    throw new SecurityError('CONTEXT_MISMATCH', `encryption context differs in ${names.join(', ')}`);
  }
}

/**
 * Checks the header's encryption context before the keyring asks KMS for the data key, so a re-addressed or
 * relabelled ciphertext is refused without a KMS call (DESIGN §3: the kernel re-checks before every KMS call).
 */
class ExpectedContextMaterialsManager implements NodeMaterialsManager {
  private readonly inner: NodeDefaultCryptographicMaterialsManager;

  constructor(
    keyring: KmsKeyringNode,
    private readonly expected: Readonly<Record<string, string>>,
  ) {
    this.inner = new NodeDefaultCryptographicMaterialsManager(keyring);
  }

  getEncryptionMaterials(): never {
    throw new Error('ExpectedContextMaterialsManager only decrypts');
  }

  decryptMaterials(request: Parameters<NodeMaterialsManager['decryptMaterials']>[0]) {
    assertContext(request.encryptionContext, this.expected);
    return this.inner.decryptMaterials(request);
  }
}

type KmsForKeyring = Exclude<ReturnType<KmsNodeClientSupplier>, false>;

/**
 * The keyring speaks the SDK's method-style interface; this routes its calls through the given client (so
 * its middleware, retries and endpoint apply). Non-integrity KMS errors are recorded in `faults`, because the
 * keyring folds every KMS error into one generic message.
 */
function kmsAdapter(client: KMSClient, faults?: unknown[]): () => KmsForKeyring {
  const record = (err: unknown) => {
    if (!INTEGRITY_ERRORS.has((err as { name?: string })?.name ?? '')) faults?.push(err);
    throw err;
  };
  const adapter: KmsForKeyring = {
    generateDataKey: (args) => client.send(new GenerateDataKeyCommand(args)),
    encrypt: (args) => client.send(new EncryptCommand(args)),
    decrypt: (args) => client.send(new DecryptCommand(args)).catch(record),
  };
  return () => adapter;
}
