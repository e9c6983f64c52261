import type { KMSClient } from '@aws-sdk/client-kms';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsClientConfigFrom, createAwsClients } from '../platform/aws-clients';
import { DirectiveVerifier } from '../kernel/directives/verify';
import { EnvelopeCipher } from '../kernel/messages/envelope-cipher';
import { AgentSecEnvironment, readEnvironment, tableName } from '../platform/environment';
import { PendingLedgerWriter, type LedgerAppender } from '../kernel/ledger/pending';
import { ModelApiKey } from '../platform/model-api-key';
import { ModelClient } from '../platform/model-client';
import type { EffectLog } from '../kernel/tools/effects';
import { EffectGatewayTransport, GatewayEffectLog } from '../effects/client';
import { RecentPlaintexts } from '../kernel/messages/recent-plaintexts';
import { SignerClient } from '../signer/signer-client';
import { SingleUseStore } from '../kernel/messages/single-use';
import { AgentConfig, Topology, loadTopology } from '../kernel/topology/topology';
import { ToolRegistry, toolRegistry } from '../tools/registry';
import { RecordStore } from '../stores/records';

/** Everything an agent's kernel needs, built once per container from the environment and the topology. */
export interface AgentContext {
  readonly topology: Topology;
  readonly self: AgentConfig;
  readonly env: AgentSecEnvironment;
  readonly kms: KMSClient;
  readonly sqs: SQSClient;
  readonly doc: DynamoDBDocumentClient;
  readonly cipher: EnvelopeCipher;
  readonly ledger: LedgerAppender;
  readonly singleUse: SingleUseStore;
  readonly verifier: DirectiveVerifier;
  /** The outbox, through the effect gateway: the agent's role cannot write it (DESIGN §5). */
  readonly outbox: EffectLog;
  /** This agent's tools, checked against the topology at cold start (a mismatch stops the function). */
  readonly tools: ToolRegistry;
  /** The sealed records its tools may read (DESIGN §3); the kernel checks labels, KMS and IAM the rest. */
  readonly records: RecordStore;
  readonly model: ModelClient;
  readonly signer: SignerClient;
}

export interface AgentContextOptions {
  env?: NodeJS.ProcessEnv;
  topology?: Topology;
  /** How this agent reaches the signer (Lambda invoke on AWS, in-process in the local cloud). */
  signer: (env: AgentSecEnvironment, topology: Topology) => SignerClient;
  /** How this agent reaches the effect gateway (Lambda invoke on AWS, in-process in the local cloud). */
  effects: (env: AgentSecEnvironment, topology: Topology) => EffectGatewayTransport;
}

export function createAgentContext(options: AgentContextOptions): AgentContext {
  const rawEnv = options.env ?? process.env;
  const env = readEnvironment(rawEnv);
  const topology = options.topology ?? loadTopology(rawEnv.AGENTSEC_CONFIG);
  if (!env.AGENTSEC_AGENT) throw new Error('AGENTSEC_AGENT is not set: an agent function must know who it is');
  const self = topology.agent(env.AGENTSEC_AGENT);
  const { kms, sqs, doc } = createAwsClients(awsClientConfigFrom(rawEnv));
  const cipher = new EnvelopeCipher({ kms, keyArns: env.AGENTSEC_KEY_ARNS as never, recent: new RecentPlaintexts() });
  return {
    topology,
    self,
    env,
    kms,
    sqs,
    doc,
    cipher,
    ledger: new PendingLedgerWriter({ doc, tableName: tableName(env, 'ledger'), writer: self.name }),
    singleUse: new SingleUseStore(doc, tableName(env, 'nonces'), self.name),
    verifier: new DirectiveVerifier({ kms, authorityKeyArn: env.AGENTSEC_AUTHORITY_KEY_ARN }),
    outbox: new GatewayEffectLog({ transport: options.effects(env, topology), cipher, agent: self.name, clearance: self.clearance }),
    tools: toolRegistry(topology, self.name),
    records: new RecordStore(doc, tableName(env, 'records'), topology.compartments),
    model: modelClientOf(topology, self, env, rawEnv),
    signer: options.signer(env, topology),
  };
}

/** The agent's model client; its API key is the endpoint's secret when the stack passed one (on AWS), else `apiKeyEnv`. */
function modelClientOf(topology: Topology, self: AgentConfig, env: AgentSecEnvironment, rawEnv: NodeJS.ProcessEnv): ModelClient {
  const endpoint = topology.modelEndpoint(self.model);
  const apiKey = new ModelApiKey(endpoint, { env: rawEnv, secretArn: env.AGENTSEC_MODEL_SECRETS[endpoint.name] });
  return new ModelClient(endpoint, { env: rawEnv, apiKey });
}
