import { loadTopology } from '../../functions/kernel/topology/topology';
import { policyUtility } from '../../redteam/utility';

/** The settings table of the red team's utility report, decided by the signer's own policy functions. */
it('argument policies grant every benign call and refuse every argument hijack; weaker and stricter settings show their cost', () => {
  const rows = Object.fromEntries(policyUtility(loadTopology()).map((r) => [r.setting, r]));
  expect(rows['argument policies'].benignGranted).toBe(rows['argument policies'].benignCalls);
  expect(rows['argument policies'].hijacksRefused).toBe(rows['argument policies'].hijacks);
  expect(rows['tool names only'].benignGranted).toBe(rows['tool names only'].benignCalls);
  expect(rows['tool names only'].hijacksRefused).toBeLessThan(rows['tool names only'].hijacks);
  expect(rows['capability-named targets only'].benignGranted).toBeLessThan(rows['capability-named targets only'].benignCalls);
  expect(rows['capability-named targets only'].hijacksRefused).toBe(rows['capability-named targets only'].hijacks);
});
