import type OpenAI from 'openai';
import { z } from 'zod';
import embedded from '../../agentsec.config.json';
import type { ToolSpec } from '../../functions/platform/model-client';
import { redact } from '../../functions/kernel/flow/redaction';
import { loadTopology, parseTopology } from '../../functions/kernel/topology/topology';
import { PATIENT_RECORDS, hospitalRecords } from '../../localstack/fixtures/patient-records';
import { PUBLIC_PAGES } from '../../functions/tools/fixtures/public-pages';
import { DEFAULT_TOOLS, FunctionToolSpec, ToolRegistry, ToolRegistryError, toolRegistry, toolSpecs } from '../../functions/tools/registry';
import { RecordReader, ToolContext, defineTool } from '../../functions/kernel/tools/tool';

const topology = loadTopology();
/** The seeded records, already opened: what the kernel's reader gives a cleared tool (test/tools/records.test.ts proves that part). */
const seeded: RecordReader = {
  read: async (recordId) => hospitalRecords().find((r) => r.recordId === recordId),
};
const ctx: ToolContext = { agent: 'analyst', commandId: 'c', principal: 'alice', effectId: 'e', records: seeded };

/** The problems a registry built from `definitions` and `topology` reports at start-up. */
function startupProblems(t = topology, definitions = DEFAULT_TOOLS): readonly string[] {
  try {
    new ToolRegistry(t, definitions);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ToolRegistryError);
    return (err as ToolRegistryError).problems;
  }
}

describe('the tool registry', () => {
  it('has exactly the tools the topology names, each with the args schema the topology names', () => {
    const registry = toolRegistry(topology);
    expect(registry.names().sort()).toEqual([...topology.tools.keys()].sort());
    for (const config of topology.tools.values()) {
      expect(registry.get(config.name)?.definition.argsName).toBe(config.args);
      expect(registry.get(config.name)?.config).toBe(config);
    }
  });

  it('fails at start-up when the topology names a tool the registry does not have', () => {
    const t = parseTopology({ ...embedded, tools: { ...embedded.tools, wire_money: { ...embedded.tools.send_email, args: 'WireMoneyArgs' } } });
    expect(startupProblems(t)).toEqual(['the topology names tool "wire_money", which the registry does not have']);
    expect(() => toolRegistry(t)).toThrow(ToolRegistryError);
  });

  it('fails at start-up when the registry has a tool the topology does not name', () => {
    const { prescribe: _dropped, ...tools } = embedded.tools;
    expect(startupProblems(parseTopology({ ...embedded, tools }))).toEqual(['the registry has tool "prescribe", which the topology does not name']);
  });

  it('fails at start-up when the topology names an args schema the tool does not have', () => {
    const t = parseTopology({ ...embedded, tools: { ...embedded.tools, send_email: { ...embedded.tools.send_email, args: 'SendFaxArgs' } } });
    expect(startupProblems(t)).toEqual(['tool "send_email": the topology names args schema "SendFaxArgs", the registry has "SendEmailArgs"']);
  });

  it('fails at start-up when the topology and the code disagree about the records a tool reads', () => {
    const t = parseTopology({ ...embedded, tools: { ...embedded.tools, prescribe: { ...embedded.tools.prescribe, reads: [] } } });
    expect(startupProblems(t)).toEqual(['tool "prescribe": the topology says it reads [], the code [records]']);
    const u = parseTopology({ ...embedded, tools: { ...embedded.tools, send_email: { ...embedded.tools.send_email, reads: ['records'] } } });
    expect(startupProblems(u)).toEqual(['tool "send_email": the topology says it reads [records], the code []']);
  });

  it("an agent's registry holds its own tools only, and needs no other in its bundle", () => {
    for (const agent of topology.agents.values()) {
      expect(toolRegistry(topology, agent.name).names().sort()).toEqual([...agent.tools].sort());
      const own = DEFAULT_TOOLS.filter((d) => agent.tools.includes(d.name));
      expect(new ToolRegistry(topology, own, { agent: agent.name }).names().sort()).toEqual([...agent.tools].sort());
    }
    expect(toolRegistry(topology, 'edge').get('read_patient_record')).toBeUndefined();
    expect(() => new ToolRegistry(topology, [], { agent: 'analyst' })).toThrow(ToolRegistryError);
  });

  it('fails at start-up when code defines one tool twice', () => {
    const twin = defineTool({ name: 'send_email', argsName: 'SendEmailArgs', args: z.object({ to: z.string() }), execute: () => ({ content: '' }) });
    expect(startupProblems(topology, [...DEFAULT_TOOLS, twin])).toEqual(['tool "send_email" is defined twice']);
  });

  it('fails at start-up when the topology has a policy for an argument the tool does not take', () => {
    const renamed = defineTool({ name: 'send_email', argsName: 'SendEmailArgs', args: z.object({ recipient: z.string() }), execute: () => ({ content: '' }) });
    const tools = [...DEFAULT_TOOLS.filter((d) => d.name !== 'send_email'), renamed];
    expect(startupProblems(topology, tools)).toEqual(['tool "send_email": the topology has a policy for argument "to", which its schema does not have']);
  });
});

describe('tool specs for the model', () => {
  it('toolSpecs give each agent only its own tools', () => {
    for (const agent of topology.agents.values()) {
      const names = toolSpecs(topology, agent.name).map((s) => s.name);
      const owned = [...topology.tools.values()].filter((t) => t.owners.includes(agent.name)).map((t) => t.name);
      expect(names.sort()).toEqual(owned.sort());
    }
    expect(toolSpecs(topology, 'edge').map((s) => s.name)).toEqual(['lookup_public_info', 'send_email']);
    expect(toolSpecs(topology, 'core')).toEqual([]);
    expect(() => toolSpecs(topology, 'mallory')).toThrow(/unknown agent/);
  });

  it('are OpenAI function tools whose parameters are the JSON Schema of the arguments, described by the topology', () => {
    const [spec] = toolSpecs(topology, 'scheduler');
    // Assignable to the OpenAI SDK's function tool and to the kernel model client's tool spec.
    const asOpenAi: OpenAI.Responses.FunctionTool = spec;
    const asModelClient: ToolSpec = spec satisfies FunctionToolSpec;
    expect(asOpenAi.type).toBe('function');
    expect(asModelClient.description).toBe(topology.tool('schedule_appointment').description);
    expect(spec.parameters).toMatchObject({
      type: 'object',
      required: ['patientId', 'when', 'department'],
      additionalProperties: false,
      properties: { department: { enum: expect.arrayContaining(['Cardiology']) }, when: { format: 'date-time' } },
    });
    expect(spec.parameters).not.toHaveProperty('$schema');
  });
});

describe('the default tools', () => {
  it('read_patient_record returns the five fictional records, read through its record reader, and nothing for an unknown id', async () => {
    const { definition } = toolRegistry(topology).get('read_patient_record')!;
    expect(PATIENT_RECORDS.map((r) => r.patientId)).toEqual(['P-1001', 'P-1002', 'P-1003', 'P-1004', 'P-1005']);
    for (const r of PATIENT_RECORDS) {
      const { content, effect } = await definition.execute({ patientId: r.patientId }, ctx);
      for (const field of [r.name, r.address, r.passcode, r.diagnosis]) expect(content).toContain(field);
      expect(effect).toBeUndefined();
    }
    expect((await definition.execute({ patientId: 'P-9999' }, ctx)).content).toBe('No record for patient P-9999.');
  });

  it('the topology\'s redaction rules remove every patient\'s name, address and passcode from their record', async () => {
    const { definition } = toolRegistry(topology).get('read_patient_record')!;
    for (const r of PATIENT_RECORDS) {
      const { content } = await definition.execute({ patientId: r.patientId }, ctx);
      const { text } = redact(content, topology.redaction);
      for (const secret of [...r.name.split(' '), r.address.split(',')[0], r.passcode]) expect(text).not.toContain(secret);
      expect(text).toContain(r.diagnosis);
    }
  });

  it('lookup_public_info serves pages whose injections propose calls that pass the schemas, so only the kernel stops them', async () => {
    const registry = toolRegistry(topology);
    const lookup = registry.get('lookup_public_info')!.definition;
    const hostile = PUBLIC_PAGES.filter((p) => p.injects.length > 0);
    expect(hostile.map((p) => p.id)).toEqual(['visiting-hours', 'flu-clinic', 'contact']);
    for (const page of hostile) {
      const { content } = await lookup.execute({ query: page.keywords[0] }, ctx);
      expect(content).toContain(page.url);
      for (const call of page.injects) {
        expect(content).toContain(`${call.tool} with ${JSON.stringify(call.args)}`);
        expect(registry.get(call.tool)!.definition.args.safeParse(call.args).success).toBe(true);
      }
    }
    const tools = new Set(hostile.flatMap((p) => p.injects.map((c) => c.tool)));
    expect([...tools].sort()).toEqual(['prescribe', 'read_patient_record', 'schedule_appointment', 'send_email']);
    expect((await lookup.execute({ query: 'quantum chromodynamics' }, ctx)).content).toMatch(/^No public page matches/);
  });

  it('side-effect tools describe their effect and report the same confirmation for the same effect id', async () => {
    const registry = toolRegistry(topology);
    const book = registry.get('schedule_appointment')!.definition;
    const args = { patientId: 'P-1004', when: '2030-02-03T10:30:00Z', department: 'Nephrology' };
    const first = await book.execute(args, ctx);
    expect(first.effect).toMatchObject({ kind: 'appointment', ...args });
    expect(await book.execute(args, ctx)).toEqual(first);
    expect((await book.execute({ ...args, patientId: 'P-9999' }, ctx)).effect).toBeUndefined();
    const mail = await registry.get('send_email')!.definition.execute({ to: 'a@b.example', subject: 's', body: 'b' }, ctx);
    expect(mail.effect).toMatchObject({ kind: 'email', to: 'a@b.example', subject: 's', body: 'b' });
  });
});
