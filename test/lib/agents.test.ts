import { formatLabel } from '../../functions/kernel/labels';
import { Synthesized, logicalIdOf, synthesize } from './support/synth';
import { customResourceProviders, handlerFunctionIds, principalRoles, tagOf } from './support/template-lookup';

/** DESIGN §9, §10: each agent a Lambda on its SQS queue, generated from the topology. */
describe('the agents', () => {
  let s: Synthesized;
  let roles: Map<string, string>;
  beforeAll(() => {
    s = synthesize();
    roles = principalRoles(s);
  });

  const functionOf = (role: string) => {
    const found = Object.entries(s.json.Resources).filter(
      ([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties!.Role?.['Fn::GetAtt']?.[0] === role,
    );
    expect(found).toHaveLength(1);
    return found[0];
  };

  it('tags each agent role with agentsec:agent and agentsec:clearance from the topology', () => {
    for (const agent of s.topology.agents.values()) {
      const role = s.json.Resources[roles.get(agent.name)!];
      expect(tagOf(role, 'agentsec:agent')).toBe(agent.name);
      expect(tagOf(role, 'agentsec:clearance')).toBe(formatLabel(agent.clearance));
    }
    expect(tagOf(s.json.Resources[roles.get('signer')!], 'agentsec:purpose')).toBe('signer');
  });

  it('runs every function on Node.js 24 on arm64 with JSON logs to its own log group', () => {
    const fns = handlerFunctionIds(s.json.Resources).map((id) => s.json.Resources[id]);
    expect(fns).toHaveLength(s.topology.agents.size + 4);
    // The one other function is the console's BucketDeployment handler, on the runtime aws-cdk-lib pins for it.
    const publisherRole = logicalIdOf(s.stack, s.stack.console.node.findChild('PublisherRole'));
    expect([...customResourceProviders(s.json.Resources)].map((id) => s.json.Resources[id].Properties!.Role)).toEqual([{ 'Fn::GetAtt': [publisherRole, 'Arn'] }]);
    for (const fn of fns) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) } },
      });
      expect(fn.Properties!.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    }
  });

  it('sizes each agent function from the topology', () => {
    for (const agent of s.topology.agents.values()) {
      const [, fn] = functionOf(roles.get(agent.name)!);
      expect(fn.Properties).toMatchObject({ MemorySize: agent.memoryMiB, Timeout: agent.timeoutSeconds });
    }
  });

  it('redrives each agent’s queue to its failed queue after maxReceiveCount, and that to its DLQ; all encrypted and TLS-only', () => {
    const { runtime } = s.topology;
    for (const agent of s.stack.agents.values()) {
      const inbox = s.json.Resources[logicalIdOf(s.stack, agent.queue)];
      const failed = s.json.Resources[logicalIdOf(s.stack, agent.failedQueue)];
      const dlq = logicalIdOf(s.stack, agent.deadLetterQueue);
      expect(inbox.Properties).toMatchObject({
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalIdOf(s.stack, agent.failedQueue), 'Arn'] }, maxReceiveCount: runtime.maxReceiveCount },
        VisibilityTimeout: runtime.visibilityTimeoutSeconds,
        MessageRetentionPeriod: runtime.messageRetentionDays * 86400,
        SqsManagedSseEnabled: true,
      });
      expect(failed.Properties).toMatchObject({
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: runtime.maxReceiveCount + runtime.failedMaxReceiveCount },
        VisibilityTimeout: runtime.visibilityTimeoutSeconds,
        SqsManagedSseEnabled: true,
      });
      for (const queue of [logicalIdOf(s.stack, agent.queue), logicalIdOf(s.stack, agent.failedQueue), dlq]) {
        s.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [{ Ref: queue }],
          PolicyDocument: { Statement: [{ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] },
        });
      }
    }
  });

  it('triggers each agent from its queue (its batch size and maximum concurrency) and from its failed queue, with partial batch failures', () => {
    for (const agent of s.stack.agents.values()) {
      const [fnId] = functionOf(roles.get(agent.actorName)!);
      s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: fnId },
        EventSourceArn: { 'Fn::GetAtt': [logicalIdOf(s.stack, agent.queue), 'Arn'] },
        BatchSize: agent.config.batchSize,
        ScalingConfig: { MaximumConcurrency: agent.config.maxConcurrency },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
      s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: fnId },
        EventSourceArn: { 'Fn::GetAtt': [logicalIdOf(s.stack, agent.failedQueue), 'Arn'] },
        BatchSize: 1,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    }
    // And the sequencer, from the ledger table's stream.
    s.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2 * s.topology.agents.size + 1);
  });

  it('runs one sequencer at a time (reserved concurrency 1) from the ledger table’s stream, from its oldest record, never skipping a failed batch', () => {
    const ledger = logicalIdOf(s.stack, s.stack.data.tables.ledger);
    expect(s.json.Resources[ledger].Properties!.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    const fnId = logicalIdOf(s.stack, s.stack.sequencer.handler.fn);
    expect(s.json.Resources[fnId].Properties).toMatchObject({ ReservedConcurrentExecutions: 1 });
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: fnId },
      EventSourceArn: { 'Fn::GetAtt': [ledger, 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      MaximumRetryAttempts: -1,
      BisectBatchOnFunctionError: false,
      ParallelizationFactor: 1,
    });
  });

  it('runs core.ts for the kernel agent, effector.ts for every other agent, api.ts and signer.ts', () => {
    const entries = Object.fromEntries([...s.stack.agents.values()].map((a) => [a.actorName, a.handler.entry]));
    expect(entries).toEqual(
      Object.fromEntries(s.topology.agentNames().map((n) => [n, n === 'core' ? 'functions/handlers/core.ts' : 'functions/handlers/effector.ts'])),
    );
    expect(s.stack.api.handler.entry).toBe('functions/handlers/api.ts');
    expect(s.stack.signer.handler.entry).toBe('functions/handlers/signer.ts');
  });
});
