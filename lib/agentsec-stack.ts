import { CfnOutput, DefaultStackSynthesizer, Fn, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { z } from 'zod';
import { environmentSchema } from '../functions/platform/environment';
import { Topology } from '../functions/kernel/topology/topology';
import { Actor } from './actor';
import { Agent } from './agent';
import {
  DECLASSIFIER,
  compartmentsOfUserTraffic,
  compartmentsOutside,
  levelsOfSealedRequests,
  levelsOfUserTraffic,
  levelsReadableBy,
  levelsSealedBySigner,
  levelsWritableBy,
  sendTargetsOf,
  serviceSendTargets,
} from './access-rules';
import { AuthorityKey } from './authority-key';
import { ClassifiedRecords } from './classified-records';
import { CommandApi } from './command-api';
import { ConsoleSite } from './console-site';
import { DataTables } from './data-tables';
import { EffectGateway } from './effect-gateway';
import { HandlerFunction } from './handler-function';
import { KeyAdministrators, checkBreakGlassRoleArn } from './key-policy';
import { Keyring } from './keyring';
import { ModelSecrets } from './model-secrets';
import { Operations } from './operations';
import { Signer } from './signer';
import { Sequencer } from './sequencer';

/** The stack name of DESIGN §10. */
export const STACK_NAME = 'AgentSec';

/** Environment variable names handlers read (functions/platform/environment.ts); the compiler checks each one. */
type HandlerEnvironment = Partial<Record<keyof z.input<typeof environmentSchema>, string>>;

export interface AgentSecStackProps extends StackProps {
  /** The topology the whole stack is generated from (`loadTopology()`). */
  readonly topology: Topology;
  /**
   * A break-glass role that administers every KMS key instead of the account root (with the CloudFormation
   * execution role, which stack updates need). @default the account: any IAM administrator may administer the keys
   */
  readonly keyAdministratorRoleArn?: string;
  /**
   * An address told of every alarm (`-c alarmEmail=ops@example.com`), through an encrypted SNS topic.
   * @default none: the alarms show in CloudWatch only
   */
  readonly alarmEmail?: string;
}

/**
 * AgentSec on AWS, generated from the topology (DESIGN §3, §9): the keyring, the authority key, the tables,
 * one agent per topology agent, the signer, the HTTP API and the operator console, with every permission granted
 * through the constructs' intent-named methods.
 */
export class AgentSecStack extends Stack {
  readonly keyring: Keyring;
  readonly authority: AuthorityKey;
  readonly data: DataTables;
  readonly agents: ReadonlyMap<string, Agent>;
  readonly signer: Signer;
  readonly effects: EffectGateway;
  readonly api: CommandApi;
  readonly sequencer: Sequencer;
  readonly console: ConsoleSite;
  readonly modelSecrets: ModelSecrets;
  readonly operations: Operations;

  constructor(scope: Construct, id: string, props: AgentSecStackProps) {
    super(scope, id, { description: 'AgentSec: LLM agents under labels, clearances, per-level keys and signed directives', ...props });
    const { topology } = props;

    const administrators = this.keyAdministrators(props.keyAdministratorRoleArn);
    this.keyring = new Keyring(this, 'Keyring', { administrators });
    this.authority = new AuthorityKey(this, 'Authority', { administrators });
    this.data = new DataTables(this, 'Data', { administrators });
    this.signer = new Signer(this, 'Signer');
    this.effects = new EffectGateway(this, 'Effects');
    // The console's distribution comes first: the API allows its origin, and its config.json names the API.
    this.console = new ConsoleSite(this, 'Console');
    this.api = new CommandApi(this, 'Api', { consoleOrigin: this.console.origin });
    this.console.publish({
      apiUrl: this.api.httpApi.apiEndpoint,
      region: this.region,
      userPoolClientId: this.api.userPoolClient.userPoolClientId,
    });
    this.sequencer = new Sequencer(this, 'Sequencer', { ledger: this.data.tables.ledger });
    this.agents = new Map(
      [...topology.agents.values()].map((agent) => [
        agent.name,
        new Agent(this, `Agent-${agent.name}`, { agent, runtime: topology.runtime }),
      ]),
    );

    // Keys (DESIGN §3): read what the clearance dominates, write at or above one's level, sign only as the signer.
    for (const agent of this.agents.values()) {
      this.keyring.grantRead(agent, levelsReadableBy(agent.config.clearance));
      this.keyring.grantWrite(agent, levelsWritableBy(agent.config));
      this.keyring.denyCompartments(agent, compartmentsOutside(agent.config.clearance, topology));
    }
    const userTraffic = levelsOfUserTraffic(topology);
    this.keyring.grantRead(this.api, userTraffic);
    this.keyring.grantWrite(this.api, userTraffic);
    if (topology.users.length > 0) this.keyring.denyCompartments(this.api, compartmentsOutside(compartmentsOfUserTraffic(topology), topology));
    this.keyring.grantWrite(this.signer, levelsSealedBySigner(topology));
    // The signer opens the requests agents and the API seal for it, to learn from KMS who asks (DESIGN §1, §5).
    // ...and the intents the API seals for it at each command's label (DESIGN §5): the levels of user traffic too.
    this.keyring.grantRead(this.signer, [...new Set([...levelsOfSealedRequests(topology), ...userTraffic])]);
    // The effect gateway opens the requests agents seal for it (DESIGN §5).
    this.keyring.grantRead(this.effects, levelsOfSealedRequests(topology));
    this.authority.grantSign(this.signer);
    for (const actor of this.actors()) this.authority.grantVerify(actor);

    // Queues (DESIGN §3): send rights along the topology's edges, and the service functions' fixed routes.
    for (const agent of this.agents.values()) {
      for (const target of sendTargetsOf(agent.config)) this.agent(target).grantSendTo(agent);
    }
    for (const service of [this.api, this.signer]) {
      for (const target of serviceSendTargets(service.actorName, topology)) this.agent(target).grantSendTo(service);
    }

    // Tables (DESIGN §4, §5, §7): each actor the least its duties need.
    for (const actor of this.actors()) this.data.grantLedgerAppend(actor);
    this.data.grantLedgerReading(this.api);
    this.data.grantCheckpointAnchor(this.signer);
    this.data.grantSequencing(this.sequencer);
    // After each batch the sequencer asks the signer for a signed tree head over it (DESIGN §7).
    this.signer.grantInvoke(this.sequencer);
    for (const agent of this.agents.values()) {
      this.data.grantSingleUseConsumption(agent);
      this.data.grantIdempotencyRecords(agent);
      if (agent.config.tools.length > 0) {
        this.data.grantContinuations(agent);
        this.effects.grantInvoke(agent);
      }
      this.signer.grantInvoke(agent);
    }
    // Recording the last approval asks the signer to decide (DESIGN §5).
    this.signer.grantInvoke(this.api);
    this.data.grantCommandProgress(this.agent(DECLASSIFIER));
    this.data.grantCommandIntake(this.api);
    this.data.grantIdempotencyKeyClaims(this.api);
    this.data.grantApprovalReading(this.api);
    this.data.grantCommandAuthorityCheck(this.signer);
    this.data.grantApprovalDecisions(this.signer);
    this.data.grantEffectRecording(this.effects);
    // Classified records (DESIGN §3): owners of a tool that reads them open what they are cleared for; only the seeder seals.
    const records = new ClassifiedRecords(this, 'Records', { keyring: this.keyring, data: this.data });
    for (const reader of topology.recordReaders()) records.grantRead(this.agent(reader.name));
    // Model API keys: each endpoint's secret is read by the agents whose model it is, and by no one else.
    this.modelSecrets = new ModelSecrets(this, 'ModelSecrets', { endpoints: topology.modelEndpoints.values(), administrators });
    for (const agent of this.agents.values()) this.modelSecrets.grantRead(agent);

    // Alarms on dead letters, the signer's and the sequencer's failures, and what the sequencer seals (issue 15).
    this.operations = new Operations(this, 'Operations', {
      agents: [...this.agents.values()],
      signer: this.signer,
      sequencer: this.sequencer,
      alarmEmail: props.alarmEmail,
      administrators,
    });

    this.configureEnvironments(topology);
    this.addOutputs();
  }

  /** Every function that acts under a name: the agents, the API, the signer and the effect gateway. */
  actors(): Actor[] {
    return [...this.agents.values(), this.api, this.signer, this.effects];
  }

  /** The named agent; an unknown name is a topology error, never skipped. */
  agent(name: string): Agent {
    const agent = this.agents.get(name);
    if (!agent) throw new Error(`the topology names unknown agent "${name}"`);
    return agent;
  }

  /**
   * The break-glass role and the role CloudFormation deploys as, or the account (the default). KMS refuses a key
   * policy that would lock out its writer, so the deployment role stays an administrator: whoever deploys the
   * stack can rewrite it, keys included.
   */
  private keyAdministrators(breakGlassRoleArn: string | undefined): KeyAdministrators | undefined {
    if (breakGlassRoleArn === undefined) return undefined;
    if (!(this.synthesizer instanceof DefaultStackSynthesizer)) {
      throw new Error('keyAdministratorRoleArn needs the default stack synthesizer (it names the CloudFormation execution role)');
    }
    return { breakGlassRoleArn: checkBreakGlassRoleArn(breakGlassRoleArn), deploymentRoleArn: Fn.sub(this.synthesizer.cloudFormationExecutionRoleArn) };
  }

  /** The variables of functions/platform/environment.ts for each function: only the queues it may send to. */
  private configureEnvironments(topology: Topology): void {
    const shared: HandlerEnvironment = {
      AGENTSEC_KEY_ARNS: Stack.of(this).toJsonString(this.keyring.keyArns()),
      AGENTSEC_AUTHORITY_KEY_ARN: this.authority.key.keyArn,
      ...this.data.tableNameEnvironment(),
    };
    const queueUrls = (targets: readonly string[]) =>
      Stack.of(this).toJsonString(Object.fromEntries(targets.map((t) => [t, this.agent(t).queue.queueUrl])));
    // Passkeys are bound to the console's origin (WebAuthn): the API registers them, the signer verifies votes (DESIGN §5).
    const webAuthn: HandlerEnvironment = { AGENTSEC_CONSOLE_ORIGIN: this.console.origin };
    const modelSecrets = (agent: Agent): HandlerEnvironment => {
      const secrets = this.modelSecrets.environmentOf(agent);
      return Object.keys(secrets).length > 0 ? { AGENTSEC_MODEL_SECRETS: Stack.of(this).toJsonString(secrets) } : {};
    };
    const apply = (handler: HandlerFunction, own: HandlerEnvironment) => {
      for (const [name, value] of Object.entries({ ...shared, ...own })) {
        if (value !== undefined) handler.setEnvironment(name, value);
      }
    };
    for (const agent of this.agents.values()) {
      apply(agent.handler, {
        AGENTSEC_AGENT: agent.actorName,
        AGENTSEC_QUEUE_URLS: queueUrls(sendTargetsOf(agent.config)),
        AGENTSEC_DLQ_URL: agent.deadLetterQueue.queueUrl,
        AGENTSEC_FAILED_QUEUE_URL: agent.failedQueue.queueUrl,
        AGENTSEC_SIGNER_FUNCTION: this.signer.functionName,
        ...(agent.config.tools.length > 0 ? { AGENTSEC_EFFECTS_FUNCTION: this.effects.functionName } : {}),
        ...modelSecrets(agent),
      });
    }
    apply(this.api.handler, {
      AGENTSEC_QUEUE_URLS: queueUrls(serviceSendTargets(this.api.actorName, topology)),
      AGENTSEC_SIGNER_FUNCTION: this.signer.functionName,
      AGENTSEC_USER_POOL_ID: this.api.userPool.userPoolId,
      AGENTSEC_USER_POOL_CLIENT_ID: this.api.userPoolClient.userPoolClientId,
      ...webAuthn,
    });
    apply(this.signer.handler, { AGENTSEC_QUEUE_URLS: queueUrls(serviceSendTargets(this.signer.actorName, topology)), ...webAuthn });
    apply(this.effects.handler, {});
    apply(this.sequencer.handler, { AGENTSEC_SIGNER_FUNCTION: this.signer.functionName });
  }

  private addOutputs(): void {
    const json = (value: unknown) => Stack.of(this).toJsonString(value);
    const byAgent = (pick: (a: Agent) => string) =>
      json(Object.fromEntries([...this.agents.values()].map((a) => [a.actorName, pick(a)])));
    new CfnOutput(this, 'ConsoleUrl', { value: this.console.url, description: 'The operator console (its origin: the WebAuthn origin)' });
    new CfnOutput(this, 'ApiUrl', { value: this.api.httpApi.apiEndpoint, description: 'Base URL of the HTTP API' });
    new CfnOutput(this, 'UserPoolId', { value: this.api.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: this.api.userPoolClient.userPoolClientId });
    new CfnOutput(this, 'Issuer', { value: this.api.issuer, description: 'Issuer of the ID tokens the API accepts' });
    new CfnOutput(this, 'Region', { value: Stack.of(this).region });
    new CfnOutput(this, 'QueueUrls', { value: byAgent((a) => a.queue.queueUrl), description: 'Queue URL by agent (JSON)' });
    new CfnOutput(this, 'DeadLetterQueueUrls', { value: byAgent((a) => a.deadLetterQueue.queueUrl), description: 'DLQ URL by agent (JSON)' });
    new CfnOutput(this, 'KeyArns', { value: json(this.keyring.keyArns()), description: 'Level key ARN by level (JSON)' });
    new CfnOutput(this, 'AuthorityKeyArn', { value: this.authority.key.keyArn });
    new CfnOutput(this, 'TableNames', { value: json(this.data.tableNameEnvironment()), description: 'Table name by environment variable (JSON)' });
    new CfnOutput(this, 'SignerFunctionName', { value: this.signer.functionName });
    if (this.operations.topic) new CfnOutput(this, 'AlarmTopicArn', { value: this.operations.topic.topicArn, description: 'The SNS topic every alarm notifies' });
  }
}
