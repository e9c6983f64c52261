import { label } from '../../functions/kernel/labels';
import { faultSuite, agentHandler, consuming, coreTask, lambdaContext, sqsRecord, topologyWith } from './support';

/**
 * The local cloud runs an agent's batches concurrently in one process (Lambda runs them in separate containers):
 * whatever holds one batch's results must belong to that invocation alone.
 */
const topology = topologyWith({});
const suite = faultSuite(topology);

it('overlapping invocations of one agent function each report exactly their own failed records (none is acknowledged by mistake)', async () => {
  const commandId = await suite.cloud.submit('alice', { text: 'What are the visiting hours?', classification: { level: 'UNCLASSIFIED', compartments: [] } });
  const task = (text: string) => coreTask(suite.cloud.state, topology, { to: 'edge', commandId, principal: 'alice', label: label('UNCLASSIFIED'), text });
  const [a1, a2, b1] = await Promise.all([task('Say hello.'), task('Say goodbye.'), task('Say thanks.')]);
  suite.faults.add(
    { name: 'a1 fails', fault: 'crash', service: 'dynamodb', when: consuming(a1.id) },
    { name: 'a2 is slow', fault: 'delay', delayMs: 1500, service: 'dynamodb', when: consuming(a2.id) },
  );
  const handler = agentHandler(suite.cloud.state, topology, 'edge');
  const [ra1, ra2, rb1] = [a1, a2, b1].map((m) => sqsRecord(JSON.stringify(m), { agent: 'edge' }));

  const first = handler({ Records: [ra1, ra2] }, lambdaContext('edge'));
  await new Promise((r) => setTimeout(r, 300)); // a1 has failed; a2 is still running
  const second = handler({ Records: [rb1] }, lambdaContext('edge'));

  expect((await first).batchItemFailures).toEqual([{ itemIdentifier: ra1.messageId }]);
  expect((await second).batchItemFailures).toEqual([]);
  expect(suite.faults.injected('a1 fails')).toBe(1);
});
